//! Telemetry through the JSON ingest endpoint and back out of the series query.

use chrono::{DateTime, Duration, DurationRound, Utc};
use keel_shared::models::{ModelSummary, RiskTier};
use keel_shared::telemetry::{IngestResponse, SeriesResponse};
use serde_json::{Value, json};

use crate::helpers::{StoreKind, TestApp, expect_error, spawn_app};
use crate::on_both_stores;

async fn push(app: &TestApp, client: &reqwest::Client, points: Value, key: Option<&str>) -> reqwest::Response {
    let mut request = client.post(app.url("/api/ingest")).json(&json!({ "points": points }));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.expect("sent")
}

async fn series(app: &TestApp, model: &ModelSummary, query: &str) -> SeriesResponse {
    let response = app.get(&format!("/api/models/{}/series?{query}", model.id)).await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.expect("series")
}

/// The start of the hour before now, so all test points are in the past.
fn hour_start() -> DateTime<Utc> {
    (Utc::now() - Duration::hours(1)).duration_trunc(Duration::hours(1)).expect("truncate")
}

fn window(from: DateTime<Utc>, buckets: u32) -> String {
    let to = from + Duration::hours(1);
    format!("from={}&to={}&buckets={buckets}", from.format("%Y-%m-%dT%H:%M:%SZ"), to.format("%Y-%m-%dT%H:%M:%SZ"))
}

async fn pushed_points_come_back_as_bucketed_statistics(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let client = app.ingest_client().await;
    let start = hour_start();
    // 600 latencies, 1..=600 ms, one every 6 s over the hour; two label sets, sent out of order.
    let mut points: Vec<Value> = (1..=600)
        .map(|i| {
            json!({
                "model": "churn", "version": "v3", "metric": "latency_ms",
                "labels": { "region": if i % 2 == 0 { "cz" } else { "sk" } },
                "ts": (start + Duration::seconds(6 * (i - 1))).timestamp_millis(), "value": i as f64,
            })
        })
        .collect();
    points.reverse();
    let response = push(&app, &client, Value::Array(points), None).await;
    assert_eq!(response.status(), 200);
    let body: IngestResponse = response.json().await.expect("answer");
    assert_eq!((body.accepted, body.rejected.len()), (600, 0));

    let whole = series(&app, &model, &format!("metric=latency_ms&{}", window(start, 1))).await;
    let bucket = &whole.buckets[0];
    assert_eq!(bucket.count, 600);
    assert_eq!((bucket.min, bucket.max, bucket.avg), (Some(1.0), Some(600.0), Some(300.5)));
    for (estimate, exact) in [(bucket.p50, 300.0), (bucket.p95, 570.0), (bucket.p99, 594.0)] {
        let estimate = estimate.expect("quantile");
        assert!((estimate - exact).abs() <= 0.01 * exact, "{estimate} vs {exact}");
    }

    let halves = series(&app, &model, &format!("metric=latency_ms&{}", window(start, 2))).await;
    let counts: Vec<u64> = halves.buckets.iter().map(|bucket| bucket.count).collect();
    assert_eq!(counts, [300, 300]);
    assert_eq!(halves.buckets[1].min, Some(301.0));

    let metrics: Vec<String> =
        app.get(&format!("/api/models/{}/metrics", model.id)).await.json().await.expect("metrics");
    assert_eq!(metrics, ["latency_ms"]);
    expect_error(app.get("/api/models/missing/metrics").await, 404).await;

    let other = series(&app, &model, &format!("metric=accuracy&{}", window(start, 3))).await;
    assert!(other.buckets.iter().all(|bucket| bucket.count == 0 && bucket.avg.is_none()));
}

async fn resent_points_and_retried_requests_do_not_count_twice(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let client = app.ingest_client().await;
    let start = hour_start();
    let points = |value: f64| {
        json!([
            { "model": "churn", "metric": "errors_total", "ts": start.timestamp_millis(), "value": value },
            { "model": model.id.0, "metric": "errors_total", "ts": start.timestamp_millis() + 1000, "value": value },
        ])
    };
    assert_eq!(push(&app, &client, points(1.0), None).await.status(), 200);
    // An exporter resending the same points (OTLP flush and shutdown do) changes nothing...
    assert_eq!(push(&app, &client, points(1.0), None).await.status(), 200);
    let once = series(&app, &model, &format!("metric=errors_total&{}", window(start, 1))).await;
    assert_eq!((once.buckets[0].count, once.buckets[0].avg), (2, Some(1.0)));

    // ...and a retried request with the same Idempotency-Key is answered from the record.
    let first = push(&app, &client, points(5.0), Some("batch-42")).await;
    assert_eq!(first.status(), 200);
    let first_body = first.text().await.expect("body");
    let retry = push(&app, &client, points(9.0), Some("batch-42")).await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.text().await.expect("body"), first_body);
    let after = series(&app, &model, &format!("metric=errors_total&{}", window(start, 1))).await;
    assert_eq!((after.buckets[0].count, after.buckets[0].avg), (2, Some(5.0)), "the retry's points were not stored");
}

async fn bad_points_are_rejected_one_by_one_and_the_rest_kept(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let client = app.ingest_client().await;
    let start = hour_start();
    let ts = start.timestamp_millis();
    let future = (Utc::now() + Duration::hours(2)).timestamp_millis();
    let labels: serde_json::Map<String, Value> = (0..17).map(|i| (format!("l{i}"), json!("x"))).collect();
    let response = push(
        &app,
        &client,
        json!([
            { "model": "churn", "metric": "accuracy", "ts": ts, "value": 0.91 },
            { "model": "churn", "metric": "accuracy", "ts": future, "value": 0.5 },
            { "model": "ghost", "metric": "accuracy", "ts": ts, "value": 0.5 },
            { "model": "churn", "metric": "accuracy", "ts": ts, "value": "NaN" },
            { "model": "churn", "metric": "accuracy", "ts": ts + 1, "value": 0.5, "labels": labels },
            { "model": "churn", "metric": "accuracy", "ts": ts + 2, "value": 0.93 },
        ]),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: IngestResponse = response.json().await.expect("answer");
    assert_eq!(body.accepted, 2);
    let indexes: Vec<usize> = body.rejected.iter().map(|rejected| rejected.index).collect();
    assert_eq!(indexes, [1, 2, 3, 4]);
    assert_eq!(body.rejected[1].reason, "unknown model 'ghost'");
    assert_eq!(body.rejected[3].reason, "17 labels; at most 16 are allowed");
    let stored = series(&app, &model, &format!("metric=accuracy&{}", window(start, 1))).await;
    assert_eq!(stored.buckets[0].count, 2);

    let error = expect_error(
        client
            .post(app.url("/api/ingest"))
            .header("content-type", "application/json")
            .body("{\"points\": [")
            .send()
            .await
            .expect("sent"),
        400,
    )
    .await;
    assert!(error.detail.starts_with("request body is not valid JSON"));
    let error = expect_error(app.get(&format!("/api/models/{}/series?metric=&buckets=0", model.id)).await, 422).await;
    assert_eq!(error.fields.keys().collect::<Vec<_>>(), ["buckets", "metric"]);
    expect_error(app.get("/api/models/missing/series?metric=accuracy").await, 404).await;
}

async fn prometheus_pushes_are_stored_per_sample(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("fraud-detection", RiskTier::High).await;
    let client = app.ingest_client().await;
    let start = hour_start();
    let ts = start.timestamp_millis();
    // What prometheus_client's push_to_gateway sends, with explicit timestamps.
    let text = format!(
        "# HELP predictions_total Predictions served\n# TYPE predictions_total counter\n\
         predictions_total{{model_version=\"v2\"}} 1027.0 {ts}\n\
         predictions_created{{model_version=\"v2\"}} 1.7e9 {ts}\n\
         score{{model_id=\"ghost\"}} 0.5 {ts}\n\
         drift_score NaN {ts}\n\
         broken{{x=1}} 2\n"
    );
    let response = client
        .put(app.url("/metrics/job/fraud-detection/region/cz"))
        .header("content-type", "text/plain; version=0.0.4")
        .body(text)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let body: IngestResponse = response.json().await.expect("answer");
    assert_eq!(body.accepted, 2);
    let rejected: Vec<(usize, &str)> = body.rejected.iter().map(|r| (r.index, r.reason.as_str())).collect();
    assert_eq!(
        rejected,
        [
            (5, "unknown model 'ghost'"),
            (6, "value NaN is not a finite number"),
            (7, "the value of label 'x' must be quoted"),
        ]
    );
    let stored = series(&app, &model, &format!("metric=predictions_total&{}", window(start, 1))).await;
    assert_eq!((stored.buckets[0].count, stored.buckets[0].max), (1, Some(1027.0)));

    let protobuf = client
        .post(app.url("/metrics/job/fraud-detection"))
        .header("content-type", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily")
        .body(vec![1_u8, 2, 3])
        .send()
        .await
        .expect("sent");
    expect_error(protobuf, 415).await;
    let odd = client.post(app.url("/metrics/job/fraud-detection/region")).body("up 1\n").send().await.expect("sent");
    expect_error(odd, 400).await;
}

/// A day of hourly buckets, ending at the start of the current hour.
fn day_of_hours() -> (DateTime<Utc>, String) {
    let to = Utc::now().duration_trunc(Duration::hours(1)).expect("truncate");
    let from = to - Duration::hours(24);
    let query = format!(
        "metric=latency_ms&from={}&to={}&buckets=24",
        from.format("%Y-%m-%dT%H:%M:%SZ"),
        to.format("%Y-%m-%dT%H:%M:%SZ")
    );
    (from, query)
}

async fn long_ranges_read_hourly_rollups_that_follow_late_and_resent_points(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let client = app.ingest_client().await;
    let (from, query) = day_of_hours();
    // Two series, a point every 10 minutes for the day: 6 per series per hour.
    let points: Vec<Value> = (0..144)
        .flat_map(|i| {
            let ts = (from + Duration::minutes(10 * i)).timestamp_millis();
            ["cz", "sk"].map(|region| {
                json!({ "model": "churn", "metric": "latency_ms", "labels": { "region": region }, "ts": ts, "value": (i % 6) as f64 })
            })
        })
        .collect();
    assert_eq!(push(&app, &client, Value::Array(points), None).await.status(), 200);

    // Before the rollup task has run the hours are read from their minutes; after, from the hourly rollups.
    let from_minutes = series(&app, &model, &query).await;
    let store = keel_backend::store::Store::connect(&app.database_url).await.expect("connect");
    keel_backend::ingest::upkeep::roll_up(&store).await;
    assert_eq!(store.roll_up_hours(10).await.expect("roll up"), 0, "nothing is left to roll up");
    let from_hours = series(&app, &model, &query).await;
    assert_eq!(from_hours, from_minutes);
    assert!(from_hours.buckets.iter().all(|bucket| bucket.count == 12 && bucket.avg == Some(2.5)));

    // A late point and a resent one change their hour at once, before the next rollup.
    let late = json!([
        { "model": "churn", "metric": "latency_ms", "labels": { "region": "cz" }, "ts": (from + Duration::minutes(65)).timestamp_millis(), "value": 100.0 },
        { "model": "churn", "metric": "latency_ms", "labels": { "region": "cz" }, "ts": (from + Duration::minutes(120)).timestamp_millis(), "value": 50.0 },
    ]);
    assert_eq!(push(&app, &client, late, None).await.status(), 200);
    let changed = series(&app, &model, &query).await;
    assert_eq!((changed.buckets[1].count, changed.buckets[1].max), (13, Some(100.0)));
    assert_eq!((changed.buckets[2].count, changed.buckets[2].max), (12, Some(50.0)), "the resent point replaced");
    keel_backend::ingest::upkeep::roll_up(&store).await;
    assert_eq!(series(&app, &model, &query).await, changed);

    // Past the raw-point retention only rollups are left, and charts do not change.
    let pruned = store.prune_raw_points(Utc::now().timestamp_millis()).await.expect("prune");
    assert!(pruned >= 144, "{pruned} minutes pruned");
    assert_eq!(series(&app, &model, &query).await, changed);
}

on_both_stores!(
    long_ranges_read_hourly_rollups_that_follow_late_and_resent_points,
    prometheus_pushes_are_stored_per_sample,
    pushed_points_come_back_as_bucketed_statistics,
    resent_points_and_retried_requests_do_not_count_twice,
    bad_points_are_rejected_one_by_one_and_the_rest_kept,
);
