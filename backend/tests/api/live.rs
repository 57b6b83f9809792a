//! The live stream (`GET /api/live`) and model health: status from signals and
//! thresholds, status events, resuming with Last-Event-ID, the fleet overview.

use std::time::Duration;

use chrono::Utc;
use keel_shared::health::{FleetResponse, HealthStatus, ModelHealth};
use keel_shared::live::LiveEvent;
use keel_shared::models::{ModelSummary, RiskTier};
use serde_json::json;

use crate::helpers::{StoreKind, TestApp, expect_error, spawn_app, spawn_replica};
use crate::on_both_stores;

/// Reads Server-Sent Events off a streaming response.
pub(crate) struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

/// One SSE message: (id, event, data).
type Message = (Option<String>, String, String);

impl EventStream {
    pub(crate) async fn open(app: &TestApp, last_event_id: Option<&str>) -> Self {
        let mut request = app.client.get(app.url("/api/live")).header("accept-encoding", "gzip");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("connected");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert!(response.headers().get("content-encoding").is_none(), "an event stream must not be compressed");
        assert_eq!(response.headers()["x-accel-buffering"], "no");
        Self { response, buffer: String::new() }
    }

    /// The next message, skipping keep-alive comments; panics after 10 s.
    async fn next(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let frame: String = self.buffer.drain(..end + 2).collect();
                    let (mut id, mut event, mut data) = (None, String::new(), String::new());
                    for line in frame.lines() {
                        if let Some(value) = line.strip_prefix("id:") {
                            id = Some(value.trim().to_owned());
                        } else if let Some(value) = line.strip_prefix("event:") {
                            event = value.trim().to_owned();
                        } else if let Some(value) = line.strip_prefix("data:") {
                            data.push_str(value.trim_start());
                        }
                    }
                    if !event.is_empty() {
                        return (id, event, data);
                    }
                    continue;
                }
                let chunk = self.response.chunk().await.expect("stream open").expect("stream not ended");
                self.buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
            }
        })
        .await
        .expect("an event within 10 s")
    }

    /// The next message's data if one comes within half a second.
    async fn next_data_or_nothing(&mut self) -> Option<String> {
        tokio::time::timeout(Duration::from_millis(500), self.next()).await.ok().map(|(_, _, data)| data)
    }

    /// The next message of kind `event` for `model`, skipping others.
    pub(crate) async fn next_for(&mut self, event: &str, model: &ModelSummary) -> (Option<String>, LiveEvent) {
        loop {
            let (id, kind, data) = self.next().await;
            let parsed: LiveEvent = serde_json::from_str(&data).expect("a LiveEvent");
            let model_id = match &parsed {
                LiveEvent::Points { model_id, .. }
                | LiveEvent::Drift { model_id, .. }
                | LiveEvent::Stage { model_id, .. } => Some(model_id),
                LiveEvent::Status { health, .. } => Some(&health.model_id),
                LiveEvent::Incident { incident, .. } => incident.model.as_ref(),
                LiveEvent::Change { summary, .. } => Some(&summary.model_id),
                LiveEvent::Business { model_id, .. } => model_id.as_ref(),
                LiveEvent::Resync => None,
            };
            if kind == event && model_id == Some(&model.id) {
                return (id, parsed);
            }
        }
    }
}

async fn push(app: &TestApp, client: &reqwest::Client, model: &str, metric: &str, value: f64) {
    let point = json!({ "model": model, "metric": metric, "ts": Utc::now().timestamp_millis(), "value": value });
    let response = client.post(app.url("/api/ingest")).json(&json!({ "points": [point] })).send().await.expect("sent");
    assert_eq!(response.status(), 200);
}

async fn fleet_health(app: &TestApp, model: &ModelSummary) -> ModelHealth {
    let all: Vec<ModelHealth> = app.get("/api/fleet/health").await.json().await.expect("health list");
    all.into_iter().find(|health| health.model_id == model.id).expect("the model is on the board")
}

async fn ingested_points_reach_subscribers_and_missed_events_are_replayed(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let client = app.ingest_client().await;
    let mut stream = EventStream::open(&app, None).await;

    push(&app, &client, "churn", "latency_ms", 12.0).await;
    let (first_id, event) = stream.next_for("points", &model).await;
    let LiveEvent::Points { metrics, points, .. } = event else { panic!("not a points event") };
    assert_eq!((metrics, points), (vec!["latency_ms".to_owned()], 1));
    let first_id = first_id.expect("events carry ids");

    // Events published while a client was away are replayed when it comes back.
    push(&app, &client, "churn", "accuracy", 0.9).await;
    let mut resumed = EventStream::open(&app, Some(&first_id)).await;
    let (_, event) = resumed.next_for("points", &model).await;
    assert!(matches!(event, LiveEvent::Points { ref metrics, .. } if metrics == &["accuracy"]), "{event:?}");

    // An id this server never issued: the client must reload what it shows.
    let mut stale = EventStream::open(&app, Some("1000000")).await;
    assert_eq!(stale.next().await.1, "resync");

    let data = EventStream::open(&app, Some("not-a-number")).await.next_data_or_nothing().await;
    assert_eq!(data, None, "a malformed Last-Event-ID is a fresh subscription");
}

async fn health_follows_signals_and_thresholds(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("fraud", RiskTier::High).await;
    let client = app.ingest_client().await;
    // A new model is evaluated by the next sweep; until points arrive it has no data.
    let mut stream = EventStream::open(&app, None).await;
    push(&app, &client, "fraud", "accuracy", 0.7).await;
    let (_, event) = stream.next_for("status", &model).await;
    let LiveEvent::Status { health, .. } = event else { panic!("not a status event") };
    assert_eq!(health.status, HealthStatus::Critical);
    assert_eq!(health.reasons, ["accuracy 70.0 % is below 75.0 %"]);
    assert_eq!(fleet_health(&app, &model).await.status, HealthStatus::Critical);

    // Looser thresholds take effect at once, with an audit entry.
    let path = format!("/api/models/{}/health-thresholds", model.id);
    let loosened =
        app.put_json(&path, &json!({ "accuracy_degraded_below": 0.72, "accuracy_critical_below": 0.6 })).await;
    assert_eq!(loosened.status(), 200);
    let health: ModelHealth = loosened.json().await.expect("health");
    assert_eq!((health.status, health.thresholds.accuracy_critical_below), (HealthStatus::Degraded, 0.6));
    let (_, event) = stream.next_for("status", &model).await;
    assert!(matches!(event, LiveEvent::Status { previous: Some(HealthStatus::Critical), .. }), "{event:?}");
    let audit: serde_json::Value =
        app.get("/api/audit?action=model.health_thresholds").await.json().await.expect("audit");
    assert_eq!(audit["items"][0]["changes"]["accuracy_critical_below"]["after"], "0.6");

    let inverted =
        app.put_json(&path, &json!({ "accuracy_degraded_below": 0.5, "accuracy_critical_below": 0.6 })).await;
    let error = expect_error(inverted, 422).await;
    assert_eq!(error.fields.keys().collect::<Vec<_>>(), ["accuracy_critical_below"]);
    let typo = app.put_json(&path, &json!({ "acuracy_degraded_below": 0.5 })).await;
    expect_error(typo, 422).await;
    expect_error(app.put_json("/api/models/missing/health-thresholds", &json!({})).await, 404).await;
}

async fn fleet_tiles_carry_health_and_sparklines(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("demand", RiskTier::Minimal).await;
    app.create_model("quiet", RiskTier::Minimal).await;
    let client = app.ingest_client().await;
    push(&app, &client, "demand", "accuracy", 0.9).await;
    push(&app, &client, "demand", "latency_ms", 40.0).await;

    let fleet: FleetResponse = app.get("/api/fleet").await.json().await.expect("fleet");
    assert_eq!(fleet.total, 2);
    let names: Vec<&str> = fleet.tiles.iter().map(|tile| tile.model.name.as_str()).collect();
    assert_eq!(names, ["demand", "quiet"]);
    let demand = &fleet.tiles[0];
    assert_eq!(demand.model.id, model.id);
    let sparkline = |metric: &str| demand.sparklines.iter().find(|line| line.metric == metric).expect("sparkline");
    assert_eq!(sparkline("accuracy").values.len(), 48);
    assert_eq!(sparkline("accuracy").values.iter().flatten().collect::<Vec<_>>(), [&0.9]);
    let p95 = *sparkline("latency_ms").values.iter().flatten().next().expect("a latency value");
    assert!((p95 - 40.0).abs() <= 0.4, "p95 {p95} within the sketch's 1 %");
    assert!(sparkline("requests_per_second").values.iter().all(Option::is_none));
    let quiet = fleet.tiles[1].health.as_ref().expect("evaluated at start or by the sweep");
    assert_eq!(quiet.status, HealthStatus::NoData);
}

/// Two replicas on one database: a client of one sees points ingested through the
/// other, and each replica judges the model's health itself, the change stored and
/// announced once.
async fn replicas_pass_live_events_to_each_other_and_announce_a_change_once(store: StoreKind) {
    let first = spawn_app(store).await;
    let second = spawn_replica(&first).await;
    let model = first.create_model("shared", RiskTier::Minimal).await;
    let client = first.ingest_client().await;
    let mut stream = EventStream::open(&second, None).await;

    push(&first, &client, "shared", "accuracy", 0.7).await;
    let (_, event) = stream.next_for("points", &model).await;
    assert!(matches!(event, LiveEvent::Points { ref metrics, points: 1, .. } if metrics == &["accuracy"]), "{event:?}");
    let (_, event) = stream.next_for("status", &model).await;
    assert!(matches!(event, LiveEvent::Status { ref health, .. } if health.status == HealthStatus::Critical));
    // The second replica judges the model itself, from the points event it relayed.
    let judged = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let all: Vec<ModelHealth> = second.get("/api/fleet/health").await.json().await.expect("health list");
            match all.into_iter().find(|health| health.model_id == model.id) {
                Some(health) => return health,
                None => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    assert_eq!(judged.await.expect("judged within 10 s").status, HealthStatus::Critical);
    while let Some(data) = stream.next_data_or_nothing().await {
        let event: LiveEvent = serde_json::from_str(&data).expect("a LiveEvent");
        assert!(
            !matches!(event, LiveEvent::Status { ref health, .. } if health.model_id == model.id),
            "the change was announced twice: {event:?}"
        );
    }

    // And the other way round.
    let mut stream = EventStream::open(&first, None).await;
    push(&second, &second.ingest_client().await, "shared", "latency_ms", 30.0).await;
    let (_, event) = stream.next_for("points", &model).await;
    assert!(matches!(event, LiveEvent::Points { ref metrics, .. } if metrics == &["latency_ms"]), "{event:?}");
}

on_both_stores!(
    ingested_points_reach_subscribers_and_missed_events_are_replayed,
    health_follows_signals_and_thresholds,
    fleet_tiles_carry_health_and_sparklines,
    replicas_pass_live_events_to_each_other_and_announce_a_change_once,
    resuming_after_a_restart_delivers_the_missed_events_exactly_once,
    silence_turns_into_no_data_when_the_clock_moves_on,
    a_client_resuming_from_a_pruned_event_is_told_to_resync,
);

/// Events are kept 24 hours: a day later (the clock moved, the retention job ran) a
/// client resuming from an event that is gone must reload instead of missing some.
async fn a_client_resuming_from_a_pruned_event_is_told_to_resync(store: StoreKind) {
    let mut app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let client = app.ingest_client().await;
    let mut stream = EventStream::open(&app, None).await;
    push(&app, &client, "churn", "latency_ms", 12.0).await;
    let (first, _) = stream.next_for("points", &model).await;
    let first = first.expect("an id");
    push(&app, &client, "churn", "latency_ms", 13.0).await;
    stream.next_for("points", &model).await;
    assert!(EventStream::open(&app, Some(&first)).await.next_data_or_nothing().await.is_some(), "kept for now");

    app.clock.advance(chrono::Duration::hours(25)).expect("a manual clock");
    // A day later the session has expired too.
    app.client = app.signed_in_client("admin", crate::helpers::ADMIN_PASSWORD).await;
    // The retention job runs as the clock moves; the newest event stays, so numbering goes on.
    let pruned = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let mut resumed = EventStream::open(&app, Some(&first)).await;
            if resumed.next().await.1 == "resync" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    pruned.await.expect("pruned within 10 s");
}

/// Events are numbered by the store, so a client that reconnects to a restarted server
/// (or another replica) with its `Last-Event-ID` gets what it missed, each once, in order.
async fn resuming_after_a_restart_delivers_the_missed_events_exactly_once(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let mut stream = EventStream::open(&app, None).await;
    push(&app, &app.ingest_client().await, "churn", "latency_ms", 12.0).await;
    let (seen, _) = stream.next_for("points", &model).await;
    let seen = seen.expect("events carry ids");
    drop(stream);
    app.kill().await;

    let restarted = spawn_replica(&app).await;
    let client = restarted.ingest_client().await;
    for metric in ["accuracy", "error_rate", "throughput"] {
        push(&restarted, &client, "churn", metric, 0.5).await;
    }
    let mut resumed = EventStream::open(&restarted, Some(&seen)).await;
    let mut ids = Vec::new();
    let mut metrics = Vec::new();
    for _ in 0..3 {
        let (id, event) = resumed.next_for("points", &model).await;
        let LiveEvent::Points { metrics: these, .. } = event else { panic!("not a points event") };
        ids.push(id.expect("an id").parse::<i64>().expect("a number"));
        metrics.extend(these);
    }
    assert_eq!(metrics, ["accuracy", "error_rate", "throughput"], "in order");
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]) && ids[0] > seen.parse().expect("a number"));
    while let Some(data) = resumed.next_data_or_nothing().await {
        let event: LiveEvent = serde_json::from_str(&data).expect("a LiveEvent");
        assert!(!matches!(event, LiveEvent::Points { .. }), "delivered twice: {event:?}");
    }
}

/// Time comes from the app's clock: moving it past the silence limit makes a model that
/// reported a minute ago "no data" at once, without waiting for it.
async fn silence_turns_into_no_data_when_the_clock_moves_on(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("quiet-soon", RiskTier::Minimal).await;
    let mut stream = EventStream::open(&app, None).await;
    push(&app, &app.ingest_client().await, "quiet-soon", "accuracy", 0.95).await;
    // (After the "no data" it was registered with.)
    while !matches!(stream.next_for("status", &model).await.1, LiveEvent::Status { ref health, .. } if health.status == HealthStatus::Healthy)
    {
    }

    app.clock.advance(chrono::Duration::minutes(16)).expect("a manual clock");
    let (_, event) = stream.next_for("status", &model).await;
    let LiveEvent::Status { previous, health } = event else { panic!("not a status event") };
    assert_eq!((previous, health.status), (Some(HealthStatus::Healthy), HealthStatus::NoData));
}
