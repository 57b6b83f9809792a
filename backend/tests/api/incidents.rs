//! Alerting and incidents through the API: rules on a driven clock, one incident per
//! fingerprint, the lifecycle's refusals, SLAs and escalation, runbooks, postmortems,
//! Art. 73, silences, and Alertmanager and PagerDuty events.

use std::time::Duration;

use keel_shared::auth::Role;
use keel_shared::models::{ModelSummary, RiskTier};
use serde_json::{Value, json};

use crate::helpers::{StoreKind, TestApp, expect_error, spawn_app};
use crate::on_both_stores;

/// Polls `check` until it gives a value (at most 20 s: the background jobs answer within
/// a second or two once the clock has moved).
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..400 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn push(app: &TestApp, client: &reqwest::Client, model: &str, metric: &str, value: f64) {
    let point = json!({ "model": model, "metric": metric, "ts": app.clock.now_millis(), "value": value });
    let response = client.post(app.url("/api/ingest")).json(&json!({ "points": [point] })).send().await.expect("sent");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("answer");
    assert_eq!(answer["rejected"], json!([]), "{answer}");
}

async fn incidents(app: &TestApp, query: &str) -> Vec<Value> {
    let body: Value = app.get(&format!("/api/incidents?{query}")).await.json().await.expect("list");
    body["items"].as_array().expect("items").clone()
}

async fn detail(app: &TestApp, id: &str) -> Value {
    let response = app.get(&format!("/api/incidents/{id}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("incident")
}

async fn rule_state(app: &TestApp, rule: &str) -> Option<String> {
    let body: Value = app.get(&format!("/api/alert-rules/{rule}")).await.json().await.expect("rule");
    body["instances"]
        .as_array()
        .and_then(|instances| instances.first())
        .map(|instance| instance["state"].as_str().expect("state").to_owned())
}

/// A rule on a metric the health judgement does not read, so only this rule fires.
async fn queue_rule(app: &TestApp, model: &ModelSummary, for_seconds: u32) -> String {
    let rule = json!({
        "name": "Queue too deep",
        "scope": { "model": model.id },
        "signal": { "kind": "metric", "metric": "queue_depth", "aggregation": "avg", "window_minutes": 1 },
        "condition": { "op": "above", "threshold": 100.0, "recovery": 50.0 },
        "for_seconds": for_seconds,
        "severity": "sev3"
    });
    let response = app.post_json("/api/alert-rules", &rule).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("rule");
    created["id"].as_str().expect("id").to_owned()
}

async fn a_rule_fires_only_after_its_pending_period_opens_one_incident_and_resolves_it_on_recovery(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("queue", RiskTier::Limited).await;
    let rule = queue_rule(&app, &model, 120).await;
    let ingest = app.ingest_client().await;

    push(&app, &ingest, "queue", "queue_depth", 400.0).await;
    eventually("the rule to be pending", || async {
        (rule_state(&app, &rule).await.as_deref() == Some("pending")).then_some(())
    })
    .await;
    assert!(incidents(&app, "").await.is_empty(), "pending opens nothing");

    app.clock.advance(chrono::Duration::seconds(130)).expect("advance");
    push(&app, &ingest, "queue", "queue_depth", 420.0).await;
    let opened = eventually("the incident", || async { incidents(&app, "status=open").await.into_iter().next() }).await;
    assert_eq!(opened["title"], "Queue too deep on queue");
    assert_eq!(opened["severity"], "sev3");
    assert_eq!(opened["status"], "triage");
    assert_eq!(opened["model"], json!(model.id));

    // Still breaching, and hovering between the recovery line and the threshold: one incident.
    // (Windows are whole minutes of rollups: steps of over two minutes leave one point in each.)
    for value in [300.0, 80.0, 90.0] {
        app.clock.advance(chrono::Duration::seconds(130)).expect("advance");
        push(&app, &ingest, "queue", "queue_depth", value).await;
        tokio::task::yield_now().await;
    }
    eventually("the rule to have seen the last point", || async {
        let body: Value = app.get(&format!("/api/alert-rules/{rule}")).await.json().await.ok()?;
        (body["rule"]["firing"] == 1).then_some(())
    })
    .await;
    assert_eq!(incidents(&app, "").await.len(), 1, "hysteresis: no second incident");

    app.clock.advance(chrono::Duration::seconds(130)).expect("advance");
    push(&app, &ingest, "queue", "queue_depth", 10.0).await;
    let id = opened["id"].as_str().expect("id").to_owned();
    let resolved = eventually("the incident to resolve", || async {
        let incident = detail(&app, &id).await;
        (incident["status"] == "resolved").then_some(incident)
    })
    .await;
    let kinds: Vec<&str> = resolved["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|entry| entry["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds.first(), Some(&"opened"));
    assert!(kinds.contains(&"alert_resolved"), "{kinds:?}");
    let history: Value = app.get(&format!("/api/alert-rules/{rule}")).await.json().await.expect("rule");
    let changes: Vec<String> = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .rev()
        .map(|entry| format!("{}→{}", entry["from"].as_str().expect("from"), entry["to"].as_str().expect("to")))
        .collect();
    assert_eq!(changes, ["normal→pending", "pending→firing", "firing→normal"]);
}

async fn a_late_point_in_an_older_minute_reaches_the_kept_windows(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("late", RiskTier::Minimal).await;
    let rule = json!({
        "name": "Queue too deep",
        "scope": { "model": model.id },
        "signal": { "kind": "metric", "metric": "queue_depth", "aggregation": "avg", "window_minutes": 10 },
        "condition": { "op": "above", "threshold": 100.0 },
        "severity": "sev3"
    });
    let created: Value = app.post_json("/api/alert-rules", &rule).await.json().await.expect("rule");
    let rule = created["id"].as_str().expect("id").to_owned();
    let ingest = app.ingest_client().await;
    push(&app, &ingest, "late", "queue_depth", 1000.0).await;
    let opened = eventually("the incident", || async { incidents(&app, "status=open").await.into_iter().next() }).await;
    // Four minutes late: older than the newest minute the job read, inside the window;
    // the average drops below the line and the unacknowledged incident resolves.
    let late =
        json!({ "model": "late", "metric": "queue_depth", "ts": app.clock.now_millis() - 240_000, "value": -3000.0 });
    let response = ingest.post(app.url("/api/ingest")).json(&json!({ "points": [late] })).send().await.expect("sent");
    assert_eq!(response.status(), 200);
    let id = opened["id"].as_str().expect("id").to_owned();
    eventually("the incident to resolve", || async { (detail(&app, &id).await["status"] == "resolved").then_some(()) })
        .await;
    assert_eq!(rule_state(&app, &rule).await, None, "back to normal");
}

async fn an_acknowledged_incident_stays_open_when_its_rule_recovers(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("queue", RiskTier::Limited).await;
    let rule = queue_rule(&app, &model, 0).await;
    let ingest = app.ingest_client().await;
    push(&app, &ingest, "queue", "queue_depth", 400.0).await;
    let opened = eventually("the incident", || async { incidents(&app, "status=open").await.into_iter().next() }).await;
    let id = opened["id"].as_str().expect("id").to_owned();
    let acknowledged =
        app.post_json(&format!("/api/incidents/{id}/transitions"), &json!({ "to": "investigating" })).await;
    assert_eq!(acknowledged.status(), 200);

    app.clock.advance(chrono::Duration::seconds(130)).expect("advance");
    push(&app, &ingest, "queue", "queue_depth", 5.0).await;
    eventually("the recovery on the timeline", || async {
        let incident = detail(&app, &id).await;
        incident["timeline"].as_array()?.iter().any(|entry| entry["kind"] == "alert_resolved").then_some(())
    })
    .await;
    assert_eq!(detail(&app, &id).await["status"], "investigating", "the responder resolves");
    assert_eq!(rule_state(&app, &rule).await, None, "the rule is back to normal");
}

async fn the_bell_counts_what_changed_since_i_last_opened_it(store: StoreKind) {
    let app = spawn_app(store).await;
    let password = "a-long-test-password";
    let user = json!({ "username": "erin", "role": "engineer", "password": password });
    assert_eq!(app.post_json("/api/users", &user).await.status(), 201);
    let erin = app.signed_in_client("erin", password).await;
    let id = open_by_hand(&app, &app.client, None, "sev3").await;
    assert_eq!(app.patch_json(&format!("/api/incidents/{id}"), &json!({ "assignee": "erin" })).await.status(), 200);
    let bell = || async {
        let response = erin.get(app.url("/api/notifications")).send().await.expect("sent");
        let items: Vec<Value> = response.json().await.expect("notifications");
        items
            .iter()
            .map(|item| (item["id"].as_str().expect("id").to_owned(), item["unread"] == true))
            .collect::<Vec<_>>()
    };
    assert_eq!(bell().await, [(id.clone(), true)], "assigned and never opened");
    let read = erin.post(app.url(&format!("/api/incidents/{id}/read"))).send().await.expect("sent");
    assert_eq!(read.status(), 204);
    assert_eq!(bell().await, [(id.clone(), false)], "opened as it stands");
    let comment =
        app.post_json(&format!("/api/incidents/{id}/comments"), &json!({ "text": "Paging the data team" })).await;
    assert_eq!(comment.status(), 201);
    assert_eq!(bell().await, [(id.clone(), true)], "changed since erin opened it");
    let unknown = erin.post(app.url("/api/incidents/no-such-incident/read")).send().await.expect("sent");
    assert_eq!(unknown.status(), 404);
}

async fn a_silenced_firing_is_recorded_but_opens_nothing(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("queue", RiskTier::Limited).await;
    let rule = queue_rule(&app, &model, 0).await;
    let now = app.clock.now();
    let silence = json!({
        "model": model.id, "starts_at": now - chrono::Duration::minutes(1), "ends_at": now + chrono::Duration::hours(1),
        "reason": "planned queue migration"
    });
    assert_eq!(app.post_json("/api/silences", &silence).await.status(), 201);
    push(&app, &app.ingest_client().await, "queue", "queue_depth", 400.0).await;
    let history = eventually("the silenced firing", || async {
        let body: Value = app.get(&format!("/api/alert-rules/{rule}")).await.json().await.ok()?;
        body["history"].as_array().filter(|history| !history.is_empty()).cloned()
    })
    .await;
    assert_eq!(history[0]["to"], "firing");
    assert_eq!(history[0]["silenced"], true);
    assert!(incidents(&app, "").await.is_empty());
}

async fn open_by_hand(app: &TestApp, client: &reqwest::Client, model: Option<&ModelSummary>, severity: &str) -> String {
    let body = json!({ "title": "Scores look wrong", "severity": severity, "model": model.map(|model| &model.id), "impact": "Pricing is off" });
    let response = client.post(app.url("/api/incidents")).json(&body).send().await.expect("sent");
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("incident");
    created["id"].as_str().expect("id").to_owned()
}

async fn the_lifecycle_refuses_illegal_moves_and_closing_a_sev2_needs_its_postmortem(store: StoreKind) {
    let app = spawn_app(store).await;
    let engineer = app.client_as(Role::Engineer).await;
    let id = open_by_hand(&app, &engineer, None, "sev2").await;
    let transition = |client: reqwest::Client, to: &'static str| {
        let url = app.url(&format!("/api/incidents/{id}/transitions"));
        async move { client.post(url).json(&json!({ "to": to })).send().await.expect("sent") }
    };

    let refused = expect_error(transition(engineer.clone(), "closed").await, 409).await;
    assert_eq!(
        refused.detail,
        "an incident in triage cannot move to closed; from triage it may move to: investigating, mitigated, resolved, cancelled"
    );
    for role in [Role::Viewer, Role::Approver] {
        expect_error(transition(app.client_as(role).await, "investigating").await, 403).await;
    }
    let approver = app.client_as(Role::Approver).await;
    let comment = approver
        .post(app.url(&format!("/api/incidents/{id}/comments")))
        .json(&json!({ "text": "Seen by risk" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(comment.status(), 201, "approvers comment");

    app.clock.advance(chrono::Duration::minutes(3)).expect("advance");
    assert_eq!(transition(engineer.clone(), "investigating").await.status(), 200);
    assert_eq!(transition(engineer.clone(), "resolved").await.status(), 200);
    let refused = expect_error(transition(engineer.clone(), "closed").await, 409).await;
    assert!(refused.detail.contains("needs its postmortem"), "{}", refused.detail);

    let postmortem = json!({
        "summary": "Stale features", "impact": "Two hours of wrong prices", "root_cause": "A failed backfill",
        "action_items": [{ "text": "Alert on backfill failures", "owner": "eva", "due": "2027-01-15" }]
    });
    assert_eq!(
        engineer
            .put(app.url(&format!("/api/incidents/{id}/postmortem")))
            .json(&postmortem)
            .send()
            .await
            .expect("sent")
            .status(),
        200
    );
    let markdown = app.get(&format!("/api/incidents/{id}/postmortem.md")).await.text().await.expect("markdown");
    assert!(markdown.contains("## Root cause\n\nA failed backfill"), "{markdown}");
    assert!(markdown.contains("- [ ] Alert on backfill failures — eva (due 2027-01-15)"), "{markdown}");
    assert_eq!(transition(engineer.clone(), "closed").await.status(), 200);
    let refused = expect_error(transition(engineer.clone(), "investigating").await, 409).await;
    assert!(refused.detail.contains("final"), "{}", refused.detail);

    let closed = detail(&app, &id).await;
    let texts: Vec<&str> = closed["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|entry| entry["text"].as_str().expect("text"))
        .collect();
    assert!(texts.contains(&"Triage → Investigating") && texts.contains(&"Resolved → Closed"), "{texts:?}");
    assert!(texts.contains(&"Seen by risk"));
    let stats: Value = app.get("/api/incidents/stats").await.json().await.expect("stats");
    assert_eq!(stats["incidents"], 1);
    let mtta = stats["mtta_seconds"].as_f64().expect("a mean");
    assert!(
        (180.0..190.0).contains(&mtta),
        "acknowledged three minutes (and the test's own time) after detection: {mtta}"
    );
}

async fn an_unacknowledged_incident_escalates_at_its_deadline(store: StoreKind) {
    let app = spawn_app(store).await;
    let engineer = app.client_as(Role::Engineer).await;
    let id = open_by_hand(&app, &engineer, None, "sev1").await;
    let waiting: Vec<Value> =
        engineer.get(app.url("/api/notifications")).send().await.expect("sent").json().await.expect("list");
    assert!(waiting.is_empty(), "nothing is escalated before the deadline");

    app.clock.advance(chrono::Duration::minutes(6)).expect("advance");
    let escalated = eventually("the escalation", || async {
        let incident = detail(&app, &id).await;
        (incident["escalation_level"] == 1).then_some(incident)
    })
    .await;
    assert!(escalated["timeline"].as_array().expect("timeline").iter().any(|entry| entry["kind"] == "escalated"));
    let waiting: Vec<Value> =
        engineer.get(app.url("/api/notifications")).send().await.expect("sent").json().await.expect("list");
    assert_eq!(waiting.len(), 1, "the bell shows it");
}

async fn a_runbook_checklist_is_ticked_onto_the_timeline_and_high_risk_models_get_art_73(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("credit", RiskTier::High).await;
    let runbook = json!({ "title": "Scoring incident", "body": "# Steps\n- [ ] Freeze the model\n- [ ] Tell risk", "severity": "sev2" });
    assert_eq!(app.post_json("/api/runbooks", &runbook).await.status(), 201);
    let id = open_by_hand(&app, &app.client, Some(&model), "sev3").await;
    let opened = detail(&app, &id).await;
    assert_eq!(opened["severity"], "sev2", "a high-risk model's incident is one level worse");
    assert_eq!(opened["runbook"]["steps"][1]["text"], "Tell risk");

    let ticked =
        app.post_json(&format!("/api/incidents/{id}/runbook-steps"), &json!({ "step": 0, "done": true })).await;
    assert_eq!(ticked.status(), 200);
    let ticked: Value = ticked.json().await.expect("incident");
    assert_eq!(ticked["runbook"]["steps"][0]["done"], true);
    assert!(
        ticked["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .any(|entry| entry["text"] == "Runbook step done: Freeze the model")
    );
    expect_error(
        app.post_json(&format!("/api/incidents/{id}/runbook-steps"), &json!({ "step": 9, "done": true })).await,
        422,
    )
    .await;

    let serious =
        json!({ "categories": ["other_serious", "critical_infrastructure"], "aware_at": "2026-03-01T10:00:00Z" });
    let marked: Value =
        app.put_json(&format!("/api/incidents/{id}/serious"), &serious).await.json().await.expect("incident");
    assert_eq!(marked["serious"]["deadline"], "2026-03-03T10:00:00Z", "the shortest deadline: 2 days");
    let report = app.get(&format!("/api/incidents/{id}/serious-report.md")).await.text().await.expect("report");
    assert!(
        report.contains("- Report due: 2026-03-03T10:00:00+00:00") && report.contains("- System: credit"),
        "{report}"
    );

    let limited = app.create_model("churn", RiskTier::Limited).await;
    let other = open_by_hand(&app, &app.client, Some(&limited), "sev3").await;
    expect_error(app.put_json(&format!("/api/incidents/{other}/serious"), &serious).await, 409).await;
}

async fn alertmanager_alert(status: &str, fingerprint: &str, model: &str) -> Value {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "status": status, "receiver": "keel",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
        "alerts": [{
            "status": status, "fingerprint": fingerprint, "startsAt": "2026-12-01T10:00:00Z",
            "labels": { "alertname": "HighLatency", "model_id": model, "severity": "critical" },
            "annotations": { "summary": "p99 latency above 2 s" }
        }]
    })
}

async fn alertmanager_notifications_open_one_incident_per_fingerprint_and_resolve_it(store: StoreKind) {
    let app = spawn_app(store).await;
    app.create_model("pricing", RiskTier::Limited).await;
    let created: Value = app
        .post_json("/api/integrations", &json!({ "name": "prod alertmanager", "kind": "alertmanager" }))
        .await
        .json()
        .await
        .expect("key");
    let key = created["key"].as_str().expect("key").to_owned();
    let send = |body: Value, key: String| {
        let url = app.url("/api/integrations/alertmanager");
        async move { reqwest::Client::new().post(url).bearer_auth(key).json(&body).send().await.expect("sent") }
    };

    for _ in 0..2 {
        assert_eq!(send(alertmanager_alert("firing", "a1b2", "pricing").await, key.clone()).await.status(), 200);
    }
    let open = incidents(&app, "status=open").await;
    assert_eq!(open.len(), 1, "the repeat attaches to the open incident");
    assert_eq!(open[0]["severity"], "sev1");
    assert_eq!(open[0]["source"], "alertmanager");
    assert_eq!(open[0]["model_name"], "pricing");
    assert_eq!(open[0]["title"], "p99 latency above 2 s on pricing");

    assert_eq!(send(alertmanager_alert("resolved", "a1b2", "pricing").await, key.clone()).await.status(), 200);
    assert_eq!(incidents(&app, "status=resolved").await.len(), 1, "nobody acknowledged: resolved by the sender");

    // A model Keel does not know: a fleet-wide incident naming it, never a 4xx.
    assert_eq!(send(alertmanager_alert("firing", "c3", "unknown-model").await, key.clone()).await.status(), 200);
    let fleet = incidents(&app, "status=open").await;
    assert_eq!(fleet[0]["model"], Value::Null);
    assert_eq!(fleet[0]["model_name"], "unknown-model");

    expect_error(send(alertmanager_alert("firing", "x", "pricing").await, "keel_int_wrong".into()).await, 401).await;
    let mut old = alertmanager_alert("firing", "x", "pricing").await;
    old["version"] = json!("3");
    expect_error(send(old, key).await, 422).await;
}

async fn pagerduty_events_follow_dedup_key_semantics(store: StoreKind) {
    let app = spawn_app(store).await;
    app.create_model("pricing", RiskTier::Limited).await;
    let created: Value = app
        .post_json("/api/integrations", &json!({ "name": "pd", "kind": "pagerduty" }))
        .await
        .json()
        .await
        .expect("key");
    let key = created["key"].as_str().expect("key").to_owned();
    let enqueue = |body: Value| {
        let url = app.url("/v2/enqueue");
        async move { reqwest::Client::new().post(url).json(&body).send().await.expect("sent") }
    };
    let trigger = json!({
        "routing_key": key, "event_action": "trigger", "dedup_key": "pricing-latency",
        "payload": { "summary": "Latency high", "source": "pricing", "severity": "error" }
    });
    let answer = enqueue(trigger.clone()).await;
    assert_eq!(answer.status(), 202);
    let body: Value = answer.json().await.expect("answer");
    assert_eq!(body, json!({ "status": "success", "message": "Event processed", "dedup_key": "pricing-latency" }));
    assert_eq!(enqueue(trigger.clone()).await.status(), 202);
    let open = incidents(&app, "status=open").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["severity"], "sev2");

    let ack = json!({ "routing_key": key, "event_action": "acknowledge", "dedup_key": "pricing-latency" });
    assert_eq!(enqueue(ack).await.status(), 202);
    assert_eq!(incidents(&app, "status=investigating").await.len(), 1);
    let resolve = json!({ "routing_key": key, "event_action": "resolve", "dedup_key": "pricing-latency" });
    assert_eq!(enqueue(resolve).await.status(), 202);
    assert_eq!(incidents(&app, "status=investigating").await.len(), 1, "acknowledged: the responder resolves");

    let invalid =
        enqueue(json!({ "routing_key": key, "event_action": "trigger", "payload": { "summary": "x" } })).await;
    assert_eq!(invalid.status(), 400);
    let body: Value = invalid.json().await.expect("answer");
    assert_eq!(body["status"], "invalid event");
    assert_eq!(
        body["errors"],
        json!(["'payload.source' is missing or blank", "'payload.severity' is missing or blank"])
    );
    let unknown = enqueue(json!({ "routing_key": "nope", "event_action": "resolve", "dedup_key": "d" })).await;
    assert_eq!(unknown.status(), 400);
}

async fn the_service_levels_are_set_once_and_new_incidents_take_their_deadlines(store: StoreKind) {
    let app = spawn_app(store).await;
    let mut policy: Value = app.get("/api/sla").await.json().await.expect("policy");
    assert_eq!(policy["sev3"], json!({ "acknowledge_seconds": 3600, "resolve_seconds": 259_200 }));
    policy["sev3"]["acknowledge_seconds"] = json!(1_800);
    assert_eq!(app.put_json("/api/sla", &policy).await.status(), 200);
    let id = open_by_hand(&app, &app.client, None, "sev3").await;
    let opened = detail(&app, &id).await;
    let detected = chrono::DateTime::parse_from_rfc3339(opened["detected_at"].as_str().expect("time")).expect("time");
    let due = chrono::DateTime::parse_from_rfc3339(opened["acknowledge_by"].as_str().expect("time")).expect("time");
    assert_eq!((due - detected).num_seconds(), 1_800);

    policy["sev1"]["resolve_seconds"] = json!(30 * 86_400);
    let refused = expect_error(app.put_json("/api/sla", &policy).await, 422).await;
    assert_eq!(refused.fields["sev1"], "SEV1 may not get more time than SEV2");
}

/// What a webhook receiver got: headers and body of each request.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(reqwest::header::HeaderMap, String)>>>;

/// A webhook receiver on loopback that answers 500 to its first two requests.
async fn flaky_receiver() -> (String, Received) {
    let received: Received = std::sync::Arc::default();
    let log = received.clone();
    let handler = move |headers: axum::http::HeaderMap, body: String| {
        let log = log.clone();
        async move {
            let mut log = log.lock().expect("log");
            let mut copied = reqwest::header::HeaderMap::new();
            for name in ["x-keel-signature", "x-keel-timestamp", "content-type"] {
                if let Some(value) = headers.get(name) {
                    copied.insert(name, value.to_str().expect("ascii").parse().expect("header"));
                }
            }
            log.push((copied, body));
            if log.len() <= 2 { axum::http::StatusCode::INTERNAL_SERVER_ERROR } else { axum::http::StatusCode::OK }
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/hook", axum::routing::post(handler))).await
    });
    (format!("http://{address}/hook"), received)
}

async fn an_escalation_webhook_is_signed_and_retried_on_the_schedule(store: StoreKind) {
    let app = spawn_app(store).await;
    let (url, received) = flaky_receiver().await;
    let user = json!({ "username": "oncall", "role": "engineer", "password": "a-long-test-password" });
    assert_eq!(app.post_json("/api/users", &user).await.status(), 201);
    let chains = json!({ "fleet": [{ "users": ["oncall"], "webhook_url": url }] });
    assert_eq!(app.put_json("/api/escalation", &chains).await.status(), 200);
    let bad = json!({ "fleet": [{ "users": ["nobody"] }] });
    assert_eq!(
        expect_error(app.put_json("/api/escalation", &bad).await, 422).await.fields["fleet[0].users"],
        "'nobody' is not an active user"
    );
    let id = open_by_hand(&app, &app.client, None, "sev1").await;
    let count = || received.lock().expect("log").len();

    app.clock.advance(chrono::Duration::minutes(6)).expect("advance");
    eventually("the first attempt", || async { (count() == 1).then_some(()) }).await;
    let delivery = eventually("the retry to be scheduled", || async {
        let incident = detail(&app, &id).await;
        let delivery = incident["deliveries"][0].clone();
        (delivery["attempts"] == 1).then_some(delivery)
    })
    .await;
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["last_error"], "answered 500 Internal Server Error");
    let next = chrono::DateTime::parse_from_rfc3339(delivery["next_attempt_at"].as_str().expect("time")).expect("time");
    let wait = (next.to_utc() - app.clock.now()).num_milliseconds();
    assert!((0..=1_000).contains(&wait), "the first retry waits 1 s: {wait} ms");

    app.clock.advance(chrono::Duration::seconds(1)).expect("advance");
    eventually("the second attempt", || async { (count() == 2).then_some(()) }).await;
    let next = eventually("the second retry to be scheduled", || async {
        let delivery = detail(&app, &id).await["deliveries"][0].clone();
        (delivery["attempts"] == 2).then(|| delivery["next_attempt_at"].as_str().map(str::to_owned)).flatten()
    })
    .await;
    let wait =
        (chrono::DateTime::parse_from_rfc3339(&next).expect("time").to_utc() - app.clock.now()).num_milliseconds();
    assert!((3_000..=5_000).contains(&wait), "the second retry waits 5 s: {wait} ms");
    assert_eq!(count(), 2, "nothing is sent before its time");
    app.clock.advance(chrono::Duration::seconds(5)).expect("advance");
    eventually("the third attempt", || async { (count() == 3).then_some(()) }).await;
    let delivered = eventually("the delivery", || async {
        let incident = detail(&app, &id).await;
        (incident["deliveries"][0]["status"] == "delivered").then_some(incident)
    })
    .await;
    assert!(
        delivered["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .any(|entry| entry["text"] == format!("Webhook delivered to {url} (attempt 3)"))
    );

    let secret: Value = app.get("/api/escalation/signing-secret").await.json().await.expect("secret");
    let (headers, body) = received.lock().expect("log")[2].clone();
    let expected = keel_backend::alerting::webhooks::signature(secret["secret"].as_str().expect("secret"), &body);
    assert_eq!(headers["x-keel-signature"].to_str().expect("header"), expected);
    assert!(headers["x-keel-timestamp"].to_str().expect("header").parse::<i64>().is_ok());
    let payload: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(payload["event"], "incident.escalated");
    assert_eq!(payload["level"], 1);
    assert_eq!(payload["incident"]["id"], json!(id));
    let oncall = app.signed_in_client("oncall", "a-long-test-password").await;
    let waiting: Vec<Value> =
        oncall.get(app.url("/api/notifications")).send().await.expect("sent").json().await.expect("list");
    assert_eq!(waiting.len(), 1, "the chain's user sees it in the bell");
}

on_both_stores!(
    the_bell_counts_what_changed_since_i_last_opened_it,
    a_late_point_in_an_older_minute_reaches_the_kept_windows,
    an_escalation_webhook_is_signed_and_retried_on_the_schedule,
    the_service_levels_are_set_once_and_new_incidents_take_their_deadlines,
    a_rule_fires_only_after_its_pending_period_opens_one_incident_and_resolves_it_on_recovery,
    an_acknowledged_incident_stays_open_when_its_rule_recovers,
    a_silenced_firing_is_recorded_but_opens_nothing,
    the_lifecycle_refuses_illegal_moves_and_closing_a_sev2_needs_its_postmortem,
    an_unacknowledged_incident_escalates_at_its_deadline,
    a_runbook_checklist_is_ticked_onto_the_timeline_and_high_risk_models_get_art_73,
    alertmanager_notifications_open_one_incident_per_fingerprint_and_resolve_it,
    pagerduty_events_follow_dedup_key_semantics,
);
