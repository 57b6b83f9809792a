//! Drift monitoring end to end: a version's reference uploaded (CSV, JSON) or taken from a
//! past window, live feature rows and late labels pushed with an ingest token, an
//! evaluation run, its score history, and the model's status.

use std::time::Duration;

use keel_shared::drift::{DriftMethod, DriftResponse};
use keel_shared::health::{HealthStatus, ModelHealth};
use keel_shared::live::LiveEvent;
use keel_shared::models::{ModelSummary, RiskTier};
use keel_shared::monitoring::{BatchResponse, DriftHistory, DriftOverview, DriftRun, ReferenceSummary, Task};
use serde_json::{Value, json};

use crate::helpers::{StoreKind, TestApp, expect_error, spawn_app};
use crate::live::EventStream;
use crate::on_both_stores;

/// A deterministic spread of `n` values around `center`.
fn ages(n: usize, center: f64) -> Vec<f64> {
    (0..n).map(|i| center + ((i * 37) % 101) as f64 * 0.3 - 15.0).collect()
}

const CITIES: [&str; 3] = ["Brno", "Praha", "Ostrava"];

/// 400 rows: age, city, the model's prediction and the truth (right 9 times in 10).
fn reference_csv() -> String {
    let mut csv = String::from("age,city,prediction,target\n");
    for (i, age) in ages(400, 40.0).iter().enumerate() {
        let prediction = i % 2;
        let target = if i % 10 == 0 { 1 - prediction } else { prediction };
        csv.push_str(&format!("{age},{},{prediction},{target}\n", CITIES[i % 3]));
    }
    csv
}

async fn monitored_model(app: &TestApp, name: &str) -> ModelSummary {
    let model = app.create_model(name, RiskTier::Limited).await;
    app.create_version(&model, "v1", "production").await;
    model
}

async fn upload(app: &TestApp, model: &ModelSummary, tag: &str, content_type: &str, body: String) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/models/{}/versions/{tag}/reference?filename=train.csv", model.id)))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("sent")
}

async fn push(client: &reqwest::Client, app: &TestApp, path: &str, body: &Value) -> BatchResponse {
    let response = client.post(app.url(path)).json(body).send().await.expect("sent");
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("a batch response")
}

async fn evaluate(app: &TestApp, model: &ModelSummary) -> reqwest::Response {
    app.post_json(&format!("/api/models/{}/drift/runs", model.id), &json!({})).await
}

async fn a_reference_and_live_rows_give_a_run_with_drift_quality_performance_and_history(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = monitored_model(&app, "credit-scoring").await;
    let response = upload(&app, &model, "v1", "text/csv", reference_csv()).await;
    assert_eq!(response.status(), 201);
    let reference: ReferenceSummary = response.json().await.expect("summary");
    assert_eq!((reference.rows, reference.source.as_str()), (400, "upload: train.csv"));
    let names: Vec<&str> = reference.columns.iter().map(|column| column.name.as_str()).collect();
    assert_eq!(names, ["age", "city", "prediction"], "the target is the baseline's, not a feature");
    let baseline = reference.baseline.expect("a baseline from prediction and target");
    assert_eq!(
        (baseline.task, baseline.metrics[0].name.as_str(), baseline.metrics[0].value),
        (Task::Classification, "accuracy", 0.9)
    );

    // Live rows: ages shifted by 12 years, cities as before, one bad row; then resent.
    let ingest = app.ingest_client().await;
    let current_ages = ages(300, 52.0);
    let mut rows: Vec<Value> = current_ages
        .iter()
        .enumerate()
        .map(|(i, age)| {
            json!({ "prediction_id": format!("p{i}"), "features": { "age": age, "city": CITIES[i % 3] }, "prediction": i % 2 })
        })
        .collect();
    rows.push(json!({ "prediction_id": "bad", "features": { "age": { "years": 3 } } }));
    let path = format!("/api/models/{}/features", model.id);
    let pushed = push(&ingest, &app, &path, &json!({ "rows": rows })).await;
    assert_eq!((pushed.accepted, pushed.rejected.len(), pushed.rejected[0].index), (300, 1, 300));
    push(&ingest, &app, &path, &json!({ "rows": &rows[..300] })).await;
    // Labels arrive later: the model is now right only half the time.
    let labels: Vec<Value> = (0..300)
        .map(|i| json!({ "prediction_id": format!("p{i}"), "label": if i % 4 < 2 { i % 2 } else { 1 - i % 2 } }))
        .collect();
    let labelled = push(&ingest, &app, &format!("/api/models/{}/labels", model.id), &json!({ "labels": labels })).await;
    assert_eq!(labelled.accepted, 300);

    let mut events = EventStream::open(&app, None).await;
    let response = evaluate(&app, &model).await;
    assert_eq!(response.status(), 201);
    let run: DriftRun = response.json().await.expect("a run");
    // What alerting hears.
    let (_, event) = events.next_for("drift", &model).await;
    let LiveEvent::Drift { run_id, drifted_columns, degradation, freshness_breached, .. } = event else {
        panic!("a drift event: {event:?}")
    };
    assert_eq!((run_id, drifted_columns, freshness_breached), (run.id.clone(), run.report.drifted_columns, false));
    assert_eq!(degradation, run.degradation());
    assert_eq!((run.version.as_str(), run.current_rows), ("v1", 300), "the resent rows were stored once");
    let column = |name: &str| run.report.columns.iter().find(|column| column.column == name).expect(name);
    let age = column("age").report.clone().expect("age compared");
    assert!(age.drifted, "{age:?}");
    assert!(!column("city").report.as_ref().expect("city compared").drifted);
    assert_eq!(run.report.compared_columns, 3);
    let quality = column("age").quality.clone().expect("quality");
    assert!(quality.unseen_share_current.expect("unseen") > 0.3, "ages beyond the reference's range");
    assert_eq!(run.histograms.len(), 3);
    assert!(!run.freshness.breached);
    let performance = run.performance.clone().expect("labels arrived");
    assert_eq!(performance.current.labelled_rows, 300);
    assert_eq!(performance.current.metrics[0].value, 0.5);
    assert!(
        performance.degraded[0].starts_with("accuracy 0.500 is 44 % worse than the reference's 0.900"),
        "{:?}",
        performance.degraded
    );

    // The stored reference gives the numbers the stateless endpoint gives for the raw samples.
    let stateless = app
        .post_json(
            "/api/analysis/drift",
            &json!({ "reference": ages(400, 40.0), "current": current_ages, "methods": [age.results[0].method] }),
        )
        .await;
    let stateless: DriftResponse = stateless.json().await.expect("stateless");
    assert_eq!(stateless.results[0].value, age.results[0].value);
    assert_eq!(age.results[0].method, DriftMethod::Ks, "Evidently's choice for 400 reference values");

    let overview: DriftOverview =
        app.get(&format!("/api/models/{}/drift", model.id)).await.json().await.expect("overview");
    assert_eq!(overview.latest.as_ref().map(|latest| &latest.id), Some(&run.id));
    assert_eq!(overview.references.len(), 1);
    let history: DriftHistory =
        app.get(&format!("/api/models/{}/drift/history?feature=age", model.id)).await.json().await.expect("history");
    assert_eq!(history.points.len(), 1);
    assert_eq!((history.points[0].value, history.points[0].drifted), (age.results[0].value, true));

    // With telemetry arriving, the worse performance makes the model degraded.
    let point = json!({ "points": [{ "model": model.name, "metric": "latency_ms", "ts": chrono::Utc::now().timestamp_millis(), "value": 20.0 }] });
    assert_eq!(ingest.post(app.url("/api/ingest")).json(&point).send().await.expect("sent").status(), 200);
    evaluate(&app, &model).await;
    let mut health = None;
    for _ in 0..50 {
        let board: Vec<ModelHealth> = app.get("/api/fleet/health").await.json().await.expect("health");
        health =
            board.into_iter().find(|health| health.model_id == model.id && health.status == HealthStatus::Degraded);
        if health.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health = health.expect("degraded within five seconds");
    assert!(health.reasons.iter().any(|reason| reason.starts_with("accuracy 0.500")), "{:?}", health.reasons);
}

async fn references_come_from_json_or_a_past_window_and_bad_uploads_are_explained(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = monitored_model(&app, "churn").await;
    let rows = json!([{ "tenure": 3.5, "plan": "basic" }, { "tenure": 12.25, "plan": "pro" }, { "tenure": 3.5, "plan": "basic" }]);
    let response = upload(&app, &model, "v1", "application/json", rows.to_string()).await;
    assert_eq!(response.status(), 201);
    let summary: ReferenceSummary = response.json().await.expect("summary");
    assert_eq!((summary.rows, summary.duplicate_rows, summary.baseline), (3, 1, None));

    let error = expect_error(upload(&app, &model, "v9", "text/csv", "a\n1\n".into()).await, 404).await;
    assert!(error.detail.contains("no version 'v9'"), "{error:?}");
    expect_error(upload(&app, &model, "v1", "text/plain", "a\n1\n".into()).await, 415).await;
    let error = expect_error(upload(&app, &model, "v1", "text/csv", "a,b\n1.5,\n2.5,\n".into()).await, 422).await;
    assert!(error.fields.contains_key("columns.b"), "{error:?}");
    let error = expect_error(upload(&app, &model, "v1", "text/csv", "a,b\n1,2\n3\n".into()).await, 422).await;
    assert!(error.fields.contains_key("body"), "{error:?}");
    // Two columns of one name would clash in every evaluation of the version.
    let error = expect_error(upload(&app, &model, "v1", "text/csv", "a,b,a\n1,2,3\n".into()).await, 422).await;
    assert!(error.fields["body"].contains("'a' twice"), "{error:?}");
    // Too wide to profile and store in one write: refused before anything is written.
    let header: Vec<String> = (0..1_001).map(|column| format!("c{column}")).collect();
    let row = vec!["1"; 1_001].join(",");
    let wide = format!("{}\n{row}\n", header.join(","));
    let error = expect_error(upload(&app, &model, "v1", "text/csv", wide).await, 422).await;
    assert!(error.fields["body"].contains("at most 1000 columns"), "{error:?}");
    let error = expect_error(upload(&app, &model, "v1", "application/json", r#"[{"a": [1]}]"#.into()).await, 422).await;
    assert!(error.fields.keys().any(|field| field.starts_with("[0]")), "{error:?}");

    // Rows from two hours ago, labelled, become the reference of the same version.
    let ingest = app.ingest_client().await;
    let then = chrono::Utc::now() - chrono::Duration::hours(2);
    let rows: Vec<Value> = (0..50)
        .map(|i| json!({ "prediction_id": format!("old{i}"), "ts": then.timestamp_millis(), "features": { "tenure": f64::from(i) / 2.0 }, "prediction": f64::from(i) }))
        .collect();
    push(&ingest, &app, &format!("/api/models/{}/features", model.id), &json!({ "rows": rows })).await;
    let labels: Vec<Value> =
        (0..50).map(|i| json!({ "prediction_id": format!("old{i}"), "label": f64::from(i) + 1.5 })).collect();
    push(&ingest, &app, &format!("/api/models/{}/labels", model.id), &json!({ "labels": labels })).await;
    let window =
        |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| json!({ "from": from, "to": to });
    let path = format!("/api/models/{}/versions/v1/reference/window", model.id);
    let response =
        app.post_json(&path, &window(then - chrono::Duration::minutes(5), then + chrono::Duration::minutes(5))).await;
    assert_eq!(response.status(), 201);
    let summary: ReferenceSummary = response.json().await.expect("summary");
    assert_eq!(summary.rows, 50);
    assert!(summary.source.starts_with("window: "), "{}", summary.source);
    let baseline = summary.baseline.expect("labels give a baseline");
    assert_eq!(
        (baseline.task, baseline.metrics[0].name.as_str(), baseline.metrics[0].value),
        (Task::Regression, "mae", 1.5)
    );
    let error = expect_error(app.post_json(&path, &window(then, then - chrono::Duration::minutes(1))).await, 422).await;
    assert!(error.fields.contains_key("to"));
    let unknown = path.replace("/v1/", "/v9/");
    let error =
        expect_error(app.post_json(&unknown, &window(then, then + chrono::Duration::minutes(1))).await, 404).await;
    assert!(error.detail.contains("no version 'v9'"), "{error:?}");
    let empty = window(then - chrono::Duration::days(3), then - chrono::Duration::days(2));
    let error = expect_error(app.post_json(&path, &empty).await, 422).await;
    assert!(error.fields["from"].contains("no feature rows"), "{error:?}");

    // Nothing in the current window (the default day ends now; the rows are two hours old
    // and inside it), then with a one-hour window: nothing to evaluate.
    assert_eq!(evaluate(&app, &model).await.status(), 201);
    let settings = json!({ "window_minutes": 60 });
    assert_eq!(app.put_json(&format!("/api/models/{}/monitoring", model.id), &settings).await.status(), 200);
    let error = expect_error(evaluate(&app, &model).await, 409).await;
    assert!(error.detail.contains("no feature rows"), "{error:?}");
    let unmonitored = app.create_model("unmonitored", RiskTier::Minimal).await;
    let error = expect_error(evaluate(&app, &unmonitored).await, 404).await;
    assert!(error.detail.contains("no reference"), "{error:?}");
}

async fn settings_are_validated_and_a_feature_rule_picks_the_method(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = monitored_model(&app, "fraud").await;
    let path = format!("/api/models/{}/monitoring", model.id);
    let error =
        expect_error(app.put_json(&path, &json!({ "window_minutes": 0, "performance_tolerance": 2 })).await, 422).await;
    assert_eq!(error.fields.keys().collect::<Vec<_>>(), ["performance_tolerance", "window_minutes"]);
    expect_error(app.put_json(&path, &json!({ "windw": 5 })).await, 422).await;
    let rule =
        json!({ "features": [{ "feature": "age", "method": "psi", "threshold": 0.5 }], "freshness_sla_minutes": 5 });
    assert_eq!(app.put_json(&path, &rule).await.status(), 200);
    let stored: Value = app.get(&path).await.json().await.expect("settings");
    assert_eq!(
        (stored["features"][0]["method"].as_str(), stored["window_minutes"].as_u64()),
        (Some("psi"), Some(1440))
    );
    // The audit log names the settings that moved, and only those.
    let audit: Value = app.get("/api/audit?action=model.monitoring_settings").await.json().await.expect("audit");
    let changes = &audit["items"][0]["changes"];
    assert_eq!(
        (changes["freshness_sla_minutes"]["before"].as_str(), changes["freshness_sla_minutes"]["after"].as_str()),
        (Some("60"), Some("5"))
    );
    assert!(changes["features"]["after"].as_str().is_some_and(|after| after.contains("psi")), "{changes}");
    assert!(changes.get("window_minutes").is_none(), "{changes}");

    assert_eq!(upload(&app, &model, "v1", "text/csv", reference_csv()).await.status(), 201);
    let rows: Vec<Value> = ages(200, 41.0)
        .iter()
        .enumerate()
        .map(|(i, age)| json!({ "prediction_id": format!("r{i}"), "features": { "age": age, "city": CITIES[i % 3] } }))
        .collect();
    push(&app.ingest_client().await, &app, &format!("/api/models/{}/features", model.id), &json!({ "rows": rows }))
        .await;
    let run: DriftRun = evaluate(&app, &model).await.json().await.expect("run");
    let age = run.report.columns.iter().find(|column| column.column == "age").and_then(|column| column.report.clone());
    let result = age.expect("age compared").results[0];
    assert_eq!((result.method, result.threshold, result.drifted), (DriftMethod::Psi, 0.5, false));
    assert_eq!(run.report.only_in_reference, ["prediction"], "no live row carried a prediction");
    assert!(run.performance.is_none(), "no labels");
}

/// 50 live rows of `age` for the model's production version.
async fn push_ages(app: &TestApp, model: &ModelSummary) {
    let rows: Vec<Value> = ages(50, 40.0)
        .iter()
        .enumerate()
        .map(|(i, age)| json!({ "prediction_id": format!("s{i}"), "features": { "age": age } }))
        .collect();
    push(&app.ingest_client().await, app, &format!("/api/models/{}/features", model.id), &json!({ "rows": rows }))
        .await;
}

async fn the_scheduler_evaluates_each_referenced_version_once_per_cadence(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = monitored_model(&app, "pricing").await;
    assert_eq!(upload(&app, &model, "v1", "text/csv", reference_csv()).await.status(), 201);
    let idle = app.create_model("idle", RiskTier::Minimal).await;
    app.create_version(&idle, "v1", "production").await;
    assert_eq!(upload(&app, &idle, "v1", "text/csv", reference_csv()).await.status(), 201);
    push_ages(&app, &model).await;

    // The scheduler's pass, on the app's own database.
    let store = keel_backend::store::Store::connect(&app.database_url).await.expect("store");
    let history = |model: &ModelSummary| format!("/api/models/{}/drift/history?feature=age", model.id);
    keel_backend::monitoring::scheduler::run_due(&store).await.expect("first pass");
    let after_first: DriftHistory = app.get(&history(&model)).await.json().await.expect("history");
    assert_eq!(after_first.points.len(), 1, "evaluated once");
    let idle_history: DriftHistory = app.get(&history(&idle)).await.json().await.expect("history");
    assert!(idle_history.points.is_empty(), "a version without rows is skipped");
    keel_backend::monitoring::scheduler::run_due(&store).await.expect("second pass");
    let after_second: DriftHistory = app.get(&history(&model)).await.json().await.expect("history");
    assert_eq!(after_second.points.len(), 1, "not due again within the hour");
}

async fn replicas_share_the_scheduled_evaluations(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = monitored_model(&app, "pricing").await;
    assert_eq!(upload(&app, &model, "v1", "text/csv", reference_csv()).await.status(), 201);
    push_ages(&app, &model).await;

    // Two replicas' scheduler passes at the same moment, each with its own connections.
    let (first, second) = tokio::join!(
        keel_backend::store::Store::connect(&app.database_url),
        keel_backend::store::Store::connect(&app.database_url)
    );
    let (first, second) = (first.expect("store"), second.expect("store"));
    let (one, other) = tokio::join!(
        keel_backend::monitoring::scheduler::run_due(&first),
        keel_backend::monitoring::scheduler::run_due(&second)
    );
    one.expect("first replica's pass");
    other.expect("second replica's pass");
    let history: DriftHistory =
        app.get(&format!("/api/models/{}/drift/history?feature=age", model.id)).await.json().await.expect("history");
    assert_eq!(history.points.len(), 1, "evaluated by one replica only");
}

on_both_stores!(
    the_scheduler_evaluates_each_referenced_version_once_per_cadence,
    replicas_share_the_scheduled_evaluations,
    a_reference_and_live_rows_give_a_run_with_drift_quality_performance_and_history,
    references_come_from_json_or_a_past_window_and_bad_uploads_are_explained,
    settings_are_validated_and_a_feature_rule_picks_the_method,
);
