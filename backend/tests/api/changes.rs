//! Change requests through the API: four eyes on every path, approvals bound to what they
//! saw, evidence gates, conflicts and holds, emergencies on the driven clock, the registry
//! moved atomically, and deployments reported as PagerDuty Change Events.

use keel_shared::auth::Role;
use keel_shared::models::{ModelSummary, RiskTier};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, StoreKind, TestApp, expect_error, spawn_app};
use crate::on_both_stores;

async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("sent")
}

async fn create(app: &TestApp, client: &reqwest::Client, body: Value) -> Value {
    let response = send(client.post(app.url("/api/changes")).json(&body)).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    response.json().await.expect("change")
}

async fn to(app: &TestApp, client: &reqwest::Client, id: &str, status: &str) -> reqwest::Response {
    send(client.post(app.url(&format!("/api/changes/{id}/transitions"))).json(&json!({ "to": status }))).await
}

async fn decide(app: &TestApp, client: &reqwest::Client, id: &str, decision: &str, comment: &str) -> reqwest::Response {
    let body = json!({ "decision": decision, "comment": comment });
    send(client.post(app.url(&format!("/api/changes/{id}/approvals"))).json(&body)).await
}

async fn ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn detail(app: &TestApp, id: &str) -> Value {
    ok(app.get(&format!("/api/changes/{id}")).await).await
}

async fn stage_of(app: &TestApp, model: &ModelSummary, tag: &str) -> String {
    let versions: Value = ok(app.get(&format!("/api/models/{}/versions", model.id)).await).await;
    let items = versions.as_array().or_else(|| versions["items"].as_array()).expect("versions").clone();
    let version = items.iter().find(|version| version["tag"] == tag).expect("the version");
    version["stage"].as_str().expect("stage").to_owned()
}

const PASSWORD: &str = "a-long-test-password";

/// Creates a user of `role` and returns their name.
async fn person(app: &TestApp, role: Role) -> String {
    let username = format!("{role}-{}", uuid::Uuid::now_v7().simple());
    let response =
        app.post_json("/api/users", &json!({ "username": username, "role": role, "password": PASSWORD })).await;
    assert_eq!(response.status(), 201);
    username
}

/// A model with v1 in production and v2 in staging.
async fn model_with_candidate(app: &TestApp, name: &str, tier: RiskTier) -> ModelSummary {
    let model = app.create_model(name, tier).await;
    app.create_version(&model, "v1", "production").await;
    app.create_version(&model, "v2", "staging").await;
    model
}

fn canary(model: &ModelSummary) -> Value {
    json!({ "kind": "promotion", "type": "normal", "model_id": model.id, "version": "v2", "target_stage": "canary",
            "title": "Canary v2", "description": "10 % of traffic", "rollback_plan": "back to staging" })
}

async fn four_eyes_count_distinct_people_and_implementing_moves_the_registry(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = model_with_candidate(&app, "scoring", RiskTier::Minimal).await;
    let engineer = app.client_as(Role::Engineer).await;
    let (adam, petra) = (app.client_as(Role::Approver).await, app.client_as(Role::Approver).await);

    // An admin requests: a minimal-tier promotion is medium risk and needs two approvals.
    let change = create(&app, &app.client, canary(&model)).await;
    let id = change["id"].as_str().expect("id").to_owned();
    assert_eq!((change["status"].as_str(), change["risk"].as_str()), (Some("draft"), Some("medium")));
    assert_eq!(change["policy"]["requirement"]["approvals"], 2);
    let early = expect_error(decide(&app, &adam, &id, "approve", "").await, 409).await;
    assert!(early.detail.contains("only a submitted change"), "{early:?}");
    ok(to(&app, &app.client, &id, "submitted").await).await;

    let own = expect_error(decide(&app, &app.client, &id, "approve", "mine").await, 403).await;
    assert!(own.detail.contains("you requested"), "{own:?}");
    expect_error(decide(&app, &engineer, &id, "approve", "").await, 403).await;
    let (token, _) = app.token(&["read", "evidence", "ingest"]).await;
    let by_token = reqwest::Client::new()
        .post(app.url(&format!("/api/changes/{id}/approvals")))
        .bearer_auth(&token)
        .json(&json!({ "decision": "approve" }));
    expect_error(send(by_token).await, 403).await;

    let once = ok(decide(&app, &adam, &id, "approve", "looks right").await).await;
    let twice = ok(decide(&app, &adam, &id, "approve", "again").await).await;
    assert_eq!((once["approvals_counted"].as_u64(), twice["approvals_counted"].as_u64()), (Some(1), Some(1)));
    assert_eq!(twice["status"], "submitted", "the same person approving twice counts once");
    let approval = &twice["approvals"][0];
    assert_eq!(approval["change_digest"], twice["change_digest"]);
    assert_eq!(approval["change_digest"].as_str().map(str::len), Some(64), "SHA-256 hex");

    // Implementing before the policy is met is refused; the second approver approves it.
    let early = expect_error(to(&app, &engineer, &id, "implemented").await, 409).await;
    assert!(early.detail.contains("may move to: scheduled") || early.detail.contains("cannot move"), "{early:?}");
    let approved = ok(decide(&app, &petra, &id, "approve", "").await).await;
    assert_eq!(approved["status"], "approved", "approved by itself once the policy is met");
    expect_error(to(&app, &adam, &id, "implemented").await, 403).await;
    let implemented = ok(to(&app, &engineer, &id, "implemented").await).await;
    assert_eq!(implemented["status"], "implemented");
    assert_eq!(stage_of(&app, &model, "v2").await, "canary");
    let timeline = implemented["timeline"].as_array().expect("timeline");
    assert!(timeline.iter().any(|entry| entry["text"].as_str().is_some_and(|text| text.contains("Registry moved"))));
    let illegal = expect_error(to(&app, &engineer, &id, "approved").await, 409).await;
    assert!(illegal.detail.contains("reached by approvals"), "{illegal:?}");
    let audit: Value = ok(app.get("/api/audit?action=change.transition").await).await;
    assert!(audit["total"].as_u64().expect("total") >= 2, "{audit}");
    let stage_audit: Value = ok(app.get("/api/audit?action=version.stage").await).await;
    assert!(
        stage_audit["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|entry| entry["changes"]["stage"]["after"] == "canary")
    );
}

async fn the_implementers_own_approval_does_not_count(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = model_with_candidate(&app, "pricing", RiskTier::Minimal).await;
    let engineer = app.client_as(Role::Engineer).await;
    let adam = app.client_as(Role::Approver).await;
    let id = create(&app, &engineer, canary(&model)).await["id"].as_str().expect("id").to_owned();
    ok(to(&app, &engineer, &id, "submitted").await).await;
    ok(decide(&app, &adam, &id, "approve", "").await).await;
    let approved = ok(decide(&app, &app.client, &id, "approve", "as admin").await).await;
    assert_eq!(approved["status"], "approved");
    let refused = expect_error(to(&app, &app.client, &id, "implemented").await, 409).await;
    assert!(refused.detail.contains("other than its requester and implementer"), "{refused:?}");
    assert_eq!(stage_of(&app, &model, "v2").await, "staging", "nothing moved");
    ok(to(&app, &engineer, &id, "implemented").await).await;
}

async fn an_edit_or_a_drift_breach_voids_the_approvals_and_a_rejection_needs_a_reason(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = model_with_candidate(&app, "churn", RiskTier::Minimal).await;
    let engineer = app.client_as(Role::Engineer).await;
    let adam = app.client_as(Role::Approver).await;
    let id = create(&app, &engineer, canary(&model)).await["id"].as_str().expect("id").to_owned();
    ok(to(&app, &engineer, &id, "submitted").await).await;
    let approved = ok(decide(&app, &adam, &id, "approve", "").await).await;
    let digest = approved["change_digest"].clone();

    let edited = ok(send(
        engineer.patch(app.url(&format!("/api/changes/{id}"))).json(&json!({ "description": "25 % of traffic" })),
    )
    .await)
    .await;
    assert_ne!(edited["change_digest"], digest, "the digest follows the content");
    assert_eq!(edited["approvals_counted"], 0);
    assert!(edited["approvals"][0]["voided"].as_str().is_some_and(|reason| reason.contains("edited")), "{edited}");
    assert!(edited["timeline"].as_array().expect("timeline").iter().any(|entry| entry["kind"] == "approvals_voided"));

    // A drift evaluation of the candidate that finds dataset drift voids them too.
    ok(decide(&app, &adam, &id, "approve", "again").await).await;
    let mut reference = String::from("age\n");
    for i in 0..300 {
        reference.push_str(&format!("{}\n", 30.0 + f64::from(i % 20)));
    }
    let upload = app
        .client
        .put(app.url(&format!("/api/models/{}/versions/v2/reference", model.id)))
        .header("content-type", "text/csv")
        .body(reference);
    assert_eq!(send(upload).await.status(), 201);
    let rows: Vec<Value> = (0..200)
        .map(|i| json!({ "prediction_id": format!("c{i}"), "version": "v2", "features": { "age": 70.0 + f64::from(i % 20) } }))
        .collect();
    let ingest = app.ingest_client().await;
    let pushed =
        send(ingest.post(app.url(&format!("/api/models/{}/features", model.id))).json(&json!({ "rows": rows }))).await;
    assert_eq!(pushed.status(), 200);
    let run =
        ok(app.post_json(&format!("/api/models/{}/drift/runs", model.id), &json!({ "version": "v2" })).await).await;
    assert_eq!(run["report"]["drifted"], true, "{run}");
    let voided = detail(&app, &id).await;
    assert_eq!(voided["approvals_counted"], 0);
    let reason = voided["approvals"][1]["voided"].as_str().expect("voided").to_owned();
    assert!(reason.contains("dataset drift"), "{reason}");

    let reasonless = expect_error(decide(&app, &adam, &id, "reject", " ").await, 422).await;
    assert!(reasonless.fields.contains_key("comment"), "{reasonless:?}");
    let rejected = ok(decide(&app, &adam, &id, "reject", "drifted against its reference").await).await;
    assert_eq!(rejected["status"], "rejected");
}

async fn an_emergency_is_implemented_at_once_and_its_retro_approval_is_overdue_after_a_day(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("fraud", RiskTier::Minimal).await;
    app.create_version(&model, "v1", "production").await;
    app.create_version(&model, "v2", "production").await;
    let (engineer_name, adam_name) = (person(&app, Role::Engineer).await, person(&app, Role::Approver).await);
    let engineer = app.signed_in_client(&engineer_name, PASSWORD).await;
    // An emergency rollback, e.g. during a SEV1: production goes back to v1 at once.
    let rollback = json!({ "kind": "rollback", "type": "emergency", "model_id": model.id, "title": "Roll back v2" });
    let change = create(&app, &engineer, rollback).await;
    let id = change["id"].as_str().expect("id").to_owned();
    assert_eq!(change["version"], "v1", "the rollback target by default");
    let sev1 = json!({ "title": "Fraud model blocks every payment", "severity": "sev1", "model": model.id });
    assert_eq!(app.post_json("/api/incidents", &sev1).await.status(), 201);
    let implemented = ok(to(&app, &engineer, &id, "implemented").await).await;
    assert_eq!(implemented["conflicts"][0]["kind"], "open_sev1");
    assert_eq!(implemented["conflicts"][0]["blocking"], false, "an emergency goes ahead");
    assert_eq!(
        (stage_of(&app, &model, "v1").await, stage_of(&app, &model, "v2").await),
        ("production".into(), "archived".into())
    );
    assert_eq!(implemented["retro_overdue"], false);

    let early = expect_error(to(&app, &engineer, &id, "verified").await, 409).await;
    assert!(early.detail.contains("retrospective approval"), "{early:?}");
    let implemented_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(implemented["implemented_at"].clone()).expect("a time");
    assert_eq!(detail(&app, &id).await["retro_due_by"], json!(implemented_at + chrono::Duration::hours(24)));
    app.clock.advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1)).expect("a manual clock");
    // A day later every session has ended: everyone signs in again.
    let admin = app.signed_in_client("admin", ADMIN_PASSWORD).await;
    let engineer = app.signed_in_client(&engineer_name, PASSWORD).await;
    let adam = app.signed_in_client(&adam_name, PASSWORD).await;
    let overdue: Value = ok(send(admin.get(app.url(&format!("/api/changes/{id}")))).await).await;
    assert_eq!(overdue["retro_overdue"], true);
    let listed: Value = ok(send(admin.get(app.url("/api/changes?status=implemented"))).await).await;
    assert_eq!(listed["items"][0]["retro_overdue"], true);
    let approved = ok(decide(&app, &adam, &id, "approve", "right call").await).await;
    assert_eq!((approved["status"].as_str(), approved["retro_overdue"].as_bool()), (Some("implemented"), Some(false)));
    ok(to(&app, &engineer, &id, "verified").await).await;
}

async fn freeze_windows_and_incident_holds_block_implementation(store: StoreKind) {
    let app = spawn_app(store).await;
    // A high-risk model: a canary promotion is high risk and needs 2 + 1 approvals, one
    // of them from the approver role.
    let model = model_with_candidate(&app, "credit", RiskTier::High).await;
    let engineer = app.client_as(Role::Engineer).await;
    let (adam, petra) = (app.client_as(Role::Approver).await, app.client_as(Role::Approver).await);
    let id = create(&app, &engineer, canary(&model)).await["id"].as_str().expect("id").to_owned();
    let other = create(&app, &engineer, canary(&model)).await;
    assert_eq!(other["conflicts"][0]["kind"], "same_version", "{other}");
    assert_eq!(other["conflicts"][0]["blocking"], false);
    let lowered = send(
        engineer
            .patch(app.url(&format!("/api/changes/{id}")))
            .json(&json!({ "risk": "low", "risk_reason": "shadow traffic only" })),
    )
    .await;
    let lowered = expect_error(lowered, 422).await;
    assert!(
        lowered.detail.contains("never below medium")
            || lowered.fields.values().any(|message| message.contains("never below medium")),
        "{lowered:?}"
    );
    ok(to(&app, &engineer, &id, "submitted").await).await;
    for approver in [&adam, &petra, &app.client] {
        ok(decide(&app, approver, &id, "approve", "").await).await;
    }
    let approved = detail(&app, &id).await;
    assert_eq!(
        (approved["status"].as_str(), approved["policy"]["requirement"]["approvals"].as_u64()),
        (Some("approved"), Some(3))
    );

    let now = app.clock.now();
    let freeze = json!({ "windows": [{ "name": "Month-end close", "starts_at": now - chrono::Duration::hours(1), "ends_at": now + chrono::Duration::hours(1) }] });
    expect_error(send(engineer.put(app.url("/api/changes/freeze-windows")).json(&freeze)).await, 403).await;
    ok(app.put_json("/api/changes/freeze-windows", &freeze).await).await;
    let frozen = expect_error(to(&app, &engineer, &id, "implemented").await, 409).await;
    assert!(frozen.detail.contains("Month-end close"), "{frozen:?}");
    ok(app.put_json("/api/changes/freeze-windows", &json!({ "windows": [] })).await).await;

    // An Art. 73 serious incident not yet reported holds the version's evidence.
    // SEV3, raised to SEV2 for the high-risk tier: a hold of its own, not a SEV1.
    let incident = json!({ "title": "Wrong denials", "severity": "sev3", "model": model.id });
    let incident = ok(app.post_json("/api/incidents", &incident).await).await;
    let serious_path = format!("/api/incidents/{}/serious", incident["id"].as_str().expect("id"));
    ok(app.put_json(&serious_path, &json!({ "categories": ["other_serious"], "aware_at": now })).await).await;
    let held = expect_error(to(&app, &engineer, &id, "implemented").await, 409).await;
    assert!(held.detail.contains("serious incident"), "{held:?}");
    let reported = json!({ "categories": ["other_serious"], "aware_at": now, "reported_at": now });
    ok(app.put_json(&serious_path, &reported).await).await;

    let sev1 = json!({ "title": "Scores missing", "severity": "sev1", "model": model.id });
    let sev1 = ok(app.post_json("/api/incidents", &sev1).await).await;
    let held = expect_error(to(&app, &engineer, &id, "implemented").await, 409).await;
    assert!(held.detail.contains("SEV1"), "{held:?}");
    assert_eq!(stage_of(&app, &model, "v2").await, "staging");
    let cancel = json!({ "to": "cancelled" });
    ok(app.post_json(&format!("/api/incidents/{}/transitions", sev1["id"].as_str().expect("id")), &cancel).await).await;
    ok(to(&app, &engineer, &id, "implemented").await).await;
    assert_eq!(stage_of(&app, &model, "v2").await, "canary");
}

/// Uploads every piece of evidence a first production promotion of `tag` needs.
async fn provide_evidence(app: &TestApp, model: &ModelSummary, tag: &str, approver: &reqwest::Client) {
    let mut reference = String::from("age,prediction,target\n");
    for i in 0..200 {
        reference.push_str(&format!("{},{},{}\n", 30 + i % 20, i % 2, if i % 10 == 0 { 1 - i % 2 } else { i % 2 }));
    }
    let upload = app
        .client
        .put(app.url(&format!("/api/models/{}/versions/{tag}/reference", model.id)))
        .header("content-type", "text/csv")
        .body(reference);
    assert_eq!(send(upload).await.status(), 201);
    let (token, _) = app.token(&["evidence"]).await;
    let junit = r#"<testsuites><testsuite name="ci" tests="2"><testcase classname="model" name="auc"/><testcase classname="model" name="calibration"/></testsuite></testsuites>"#;
    let response = send(
        reqwest::Client::new()
            .put(app.url(&format!("/api/models/{}/versions/{tag}/evidence/junit", model.id)))
            .bearer_auth(&token)
            .header("content-type", "application/xml")
            .body(junit),
    )
    .await;
    assert_eq!(ok(response).await["tests"], 2);
    let mut evaluation = String::from("truth,prediction,gender\n");
    for i in 0..400 {
        evaluation.push_str(&format!("{},{},{}\n", i % 2, (i / 2) % 2, if (i / 4) % 2 == 0 { "f" } else { "m" }));
    }
    let fairness = app
        .client
        .put(app.url(&format!(
            "/api/models/{}/versions/{tag}/fairness?truth=truth&prediction=prediction&attributes=gender",
            model.id
        )))
        .header("content-type", "text/csv")
        .body(evaluation);
    let review = ok(send(fairness).await).await;
    assert_eq!(review["passed"], true, "{review}");
    let signed = send(
        approver
            .post(app.url(&format!("/api/models/{}/versions/{tag}/fairness/sign-off", model.id)))
            .json(&json!({ "comment": "balanced" })),
    )
    .await;
    ok(signed).await;
    let sections: serde_json::Map<String, Value> = keel_shared::evidence::MODEL_CARD_SECTIONS
        .iter()
        .map(|(key, label)| ((*key).to_owned(), json!(format!("{label} of {tag}"))))
        .collect();
    ok(app
        .put_json(&format!("/api/models/{}/versions/{tag}/model-card", model.id), &json!({ "sections": sections }))
        .await)
    .await;
    let attestations: serde_json::Map<String, Value> = keel_shared::evidence::READINESS_ITEMS
        .iter()
        .map(|(key, ..)| ((*key).to_owned(), json!("agreed in the go-live review")))
        .collect();
    ok(app.put_json(&format!("/api/models/{}/readiness", model.id), &json!({ "attestations": attestations })).await)
        .await;
}

async fn evidence_gates_a_first_production_promotion_and_a_failure_midway_changes_nothing(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("onboarding", RiskTier::Minimal).await;
    app.create_version(&model, "v1", "staging").await;
    let engineer = app.client_as(Role::Engineer).await;
    let (adam, petra) = (app.client_as(Role::Approver).await, app.client_as(Role::Approver).await);
    let promotion = json!({ "kind": "promotion", "model_id": model.id, "version": "v1", "title": "Go live with v1" });
    let id = create(&app, &engineer, promotion).await["id"].as_str().expect("id").to_owned();
    ok(to(&app, &engineer, &id, "submitted").await).await;
    let gates = detail(&app, &id).await["evidence"].as_array().expect("evidence").clone();
    let kinds: Vec<&str> = gates.iter().map(|item| item["kind"].as_str().expect("kind")).collect();
    assert_eq!(kinds, ["validation", "tests", "fairness", "model_card", "drift", "readiness"]);
    assert_eq!(gates[1]["status"], "missing");
    let blocked = expect_error(decide(&app, &adam, &id, "approve", "").await, 409).await;
    assert!(
        blocked.detail.contains("Test results is missing") && blocked.detail.contains("evidence-scoped token"),
        "{blocked:?}"
    );

    provide_evidence(&app, &model, "v1", &petra).await;
    let gates = detail(&app, &id).await["evidence"].as_array().expect("evidence").clone();
    for gate in &gates {
        assert_eq!(gate["status"], "pass", "{gate}");
    }
    let first = ok(decide(&app, &adam, &id, "approve", "").await).await;
    // New evidence after an approval voids it: the approval was bound to the old evidence.
    let junit =
        r#"<testsuite name="ci"><testcase name="auc"><failure message="0.61 &lt; 0.7"/></testcase></testsuite>"#;
    let upload = app.client.put(app.url(&format!("/api/models/{}/versions/v1/evidence/junit", model.id))).body(junit);
    ok(send(upload).await).await;
    let after = detail(&app, &id).await;
    assert_ne!(after["evidence_digest"], first["evidence_digest"]);
    assert_eq!(after["approvals_counted"], 0);
    assert_eq!(after["evidence"][1]["status"], "fail");
    let passing = r#"<testsuite name="ci"><testcase name="auc"/></testsuite>"#;
    let upload = app.client.put(app.url(&format!("/api/models/{}/versions/v1/evidence/junit", model.id))).body(passing);
    ok(send(upload).await).await;
    ok(decide(&app, &adam, &id, "approve", "").await).await;
    assert_eq!(ok(decide(&app, &petra, &id, "approve", "").await).await["status"], "approved");

    // The model is re-tiered as prohibited meanwhile: implementing fails in the registry
    // move, and the change's state, the audit trail and the registry stay as they were.
    let audit_before: Value = ok(app.get("/api/audit").await).await;
    ok(app.patch_json(&format!("/api/models/{}", model.id), &json!({ "risk_tier": "prohibited" })).await).await;
    let audit_between: Value = ok(app.get("/api/audit").await).await;
    expect_error(to(&app, &engineer, &id, "implemented").await, 422).await;
    let audit_after: Value = ok(app.get("/api/audit").await).await;
    assert_eq!(audit_after["total"], audit_between["total"], "no audit entry of a failed implementation");
    assert!(audit_between["total"].as_u64() > audit_before["total"].as_u64());
    assert_eq!(detail(&app, &id).await["status"], "approved");
    assert_eq!(stage_of(&app, &model, "v1").await, "staging");
    let frozen = detail(&app, &id).await;
    assert_eq!(frozen["tier"], "minimal", "tier frozen at submission");

    ok(app.patch_json(&format!("/api/models/{}", model.id), &json!({ "risk_tier": "minimal" })).await).await;
    ok(to(&app, &engineer, &id, "implemented").await).await;
    assert_eq!(stage_of(&app, &model, "v1").await, "production");
    let rolled = ok(to(&app, &engineer, &id, "rolled_back").await).await;
    assert_eq!(rolled["status"], "rolled_back");
    assert_eq!(stage_of(&app, &model, "v1").await, "staging", "a first promotion rolls back out of production");
}

async fn reported_deployments_are_covered_by_a_change_or_flagged(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = model_with_candidate(&app, "ranking", RiskTier::Minimal).await;
    let engineer = app.client_as(Role::Engineer).await;
    let adam = app.client_as(Role::Approver).await;
    let low = json!({ "kind": "configuration", "model_id": model.id, "version": "v2", "title": "Raise the threshold", "type": "standard" });
    let id = create(&app, &engineer, low).await["id"].as_str().expect("id").to_owned();
    ok(to(&app, &engineer, &id, "submitted").await).await;
    ok(decide(&app, &adam, &id, "approve", "").await).await;
    ok(to(&app, &engineer, &id, "implemented").await).await;
    let key = ok(app.post_json("/api/integrations", &json!({ "name": "ci", "kind": "pagerduty" })).await).await;
    let key = key["key"].as_str().expect("key").to_owned();
    let event = |version: &str| json!({ "routing_key": key, "payload": { "summary": format!("Deployed ranking {version}"), "source": "gitlab", "custom_details": { "model_id": "ranking", "model_version": version } } });
    let covered = send(reqwest::Client::new().post(app.url("/v2/change/enqueue")).json(&event("v2"))).await;
    assert_eq!(covered.status(), 202);
    assert_eq!(ok(covered).await["status"], "success");
    let timeline = detail(&app, &id).await["timeline"].as_array().expect("timeline").clone();
    assert!(timeline.iter().any(|entry| entry["kind"] == "deployment"), "{timeline:?}");
    let uncovered = send(reqwest::Client::new().post(app.url("/v2/change/enqueue")).json(&event("v9"))).await;
    assert_eq!(uncovered.status(), 202);
    let deployments: Value = ok(app.get(&format!("/api/models/{}/deployments", model.id)).await).await;
    let unauthorised = &deployments[0];
    assert_eq!((unauthorised["version"].as_str(), unauthorised["change_id"].as_str()), (Some("v9"), None));
    let incident = unauthorised["incident_id"].as_str().expect("an incident");
    let opened = ok(app.get(&format!("/api/incidents/{incident}")).await).await;
    assert!(opened["title"].as_str().expect("title").starts_with("Unauthorised change"), "{opened}");
    let bad = send(
        reqwest::Client::new().post(app.url("/v2/change/enqueue")).json(&json!({ "routing_key": key, "payload": {} })),
    )
    .await;
    assert_eq!(bad.status(), 400);
    let refused = expect_error(
        send(engineer.post(app.url("/api/changes")).json(
            &json!({ "kind": "promotion", "type": "standard", "model_id": model.id, "version": "v2", "title": "x" }),
        ))
        .await,
        422,
    )
    .await;
    assert!(refused.fields.contains_key("type"), "a standard change must be low risk: {refused:?}");
}

on_both_stores!(
    four_eyes_count_distinct_people_and_implementing_moves_the_registry,
    the_implementers_own_approval_does_not_count,
    an_edit_or_a_drift_breach_voids_the_approvals_and_a_rejection_needs_a_reason,
    an_emergency_is_implemented_at_once_and_its_retro_approval_is_overdue_after_a_day,
    freeze_windows_and_incident_holds_block_implementation,
    evidence_gates_a_first_production_promotion_and_a_failure_midway_changes_nothing,
    reported_deployments_are_covered_by_a_change_or_flagged,
);
