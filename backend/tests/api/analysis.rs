//! `POST /api/analysis/drift`: two samples in, the statistics scipy and Evidently would
//! compute out. Nothing is stored, so one store is enough.

use keel_shared::drift::{DriftMethod, DriftResponse, FeatureKind};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::helpers::{StoreKind, TestApp, expect_error, spawn_app};

#[derive(Deserialize)]
struct Fixtures {
    cases: Vec<NumericCase>,
}

/// A case of the committed Evidently/scipy fixtures.
#[derive(Deserialize)]
struct NumericCase {
    reference: Vec<f64>,
    current: Vec<f64>,
    ks_p_value: f64,
    psi: f64,
    wasserstein_norm: f64,
}

fn shifted_normal_case() -> NumericCase {
    let fixtures: Fixtures = serde_json::from_str(include_str!("../fixtures/drift/numeric.json")).expect("fixtures");
    fixtures.cases.into_iter().next().expect("the first case: normal vs shifted normal")
}

async fn drift(app: &TestApp, body: &Value) -> DriftResponse {
    let response = app.post_json("/api/analysis/drift", body).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("a DriftResponse")
}

fn assert_close(ours: f64, theirs: f64) {
    assert!(((ours - theirs) / theirs).abs() <= 1e-9, "{ours} here, {theirs} from scipy/Evidently");
}

#[tokio::test]
async fn a_small_numeric_sample_gets_evidentlys_default_test() {
    let app = spawn_app(StoreKind::Sqlite).await;
    let case = shifted_normal_case();
    let report = drift(&app, &json!({ "reference": case.reference, "current": case.current })).await;
    assert_eq!(report.kind, FeatureKind::Numeric);
    assert_eq!((report.reference_count, report.current_count), (200, 300));
    assert_eq!(report.results.len(), 1);
    let ks = report.results[0];
    assert_eq!(ks.method, DriftMethod::Ks, "a reference of at most 1,000 numbers: Kolmogorov–Smirnov");
    assert_close(ks.value, case.ks_p_value);
    assert_eq!(ks.threshold, 0.05);
    assert_eq!(ks.drifted, ks.value <= 0.05);
    assert_eq!(report.drifted, ks.drifted);
}

#[tokio::test]
async fn chosen_methods_are_judged_against_the_given_thresholds() {
    let app = spawn_app(StoreKind::Sqlite).await;
    let case = shifted_normal_case();
    let report = drift(
        &app,
        &json!({
            "reference": case.reference, "current": case.current,
            "methods": ["psi", "wasserstein"],
            "thresholds": [{ "method": "wasserstein", "threshold": 1000.0 }],
        }),
    )
    .await;
    let [psi, wasserstein] = report.results[..] else { panic!("two results: {:?}", report.results) };
    assert_eq!((psi.method, psi.threshold), (DriftMethod::Psi, 0.1));
    assert_close(psi.value, case.psi);
    assert_eq!(psi.drifted, case.psi >= 0.1);
    assert_eq!(
        (wasserstein.method, wasserstein.threshold, wasserstein.drifted),
        (DriftMethod::Wasserstein, 1000.0, false)
    );
    assert_close(wasserstein.value, case.wasserstein_norm);
}

#[tokio::test]
async fn strings_are_categories_and_nulls_are_left_out() {
    let app = spawn_app(StoreKind::Sqlite).await;
    let reference: Vec<Value> = (0..90).map(|i| json!(["red", "green", "blue"][i % 3])).chain([Value::Null]).collect();
    let current: Vec<Value> = (0..60).map(|i| json!(if i < 50 { "red" } else { "blue" })).collect();
    let report = drift(&app, &json!({ "reference": reference, "current": current })).await;
    assert_eq!(report.kind, FeatureKind::Categorical);
    assert_eq!((report.reference_count, report.current_count), (90, 60));
    assert_eq!(report.results[0].method, DriftMethod::ChiSquare);
    assert!(report.results[0].value < 1e-6 && report.drifted, "{:?}", report.results);
}

#[tokio::test]
async fn bad_requests_name_the_field_at_fault() {
    let app = spawn_app(StoreKind::Sqlite).await;
    let cases = [
        (json!({ "reference": ["a", "b"], "current": ["a"], "methods": ["ks"] }), "methods", "numeric features only"),
        (json!({ "reference": [1.5, 2.5], "current": [1.5, "x"], "kind": "numeric" }), "current[1]", "the text \"x\""),
        (json!({ "reference": [null], "current": [1.5] }), "reference", "no values"),
        (json!({ "reference": [1.5], "current": [1.5], "methods": [] }), "methods", "at least one method"),
        (json!({ "reference": [1.5], "current": [1.5], "methods": ["t-test"] }), "methods[0]", "unknown variant"),
        (json!({ "reference": [-1e308, 0.0], "current": [1e308] }), "current", "wider than a 64-bit float"),
        (
            json!({ "reference": [1.5], "current": [1.5], "thresholds": [{ "method": "psi", "threshold": -1 }] }),
            "thresholds[0].threshold",
            "at least 0",
        ),
    ];
    for (body, field, message) in cases {
        let error = expect_error(app.post_json("/api/analysis/drift", &body).await, 422).await;
        let reason = error.fields.get(field).unwrap_or_else(|| panic!("{body}: no message for {field}: {error:?}"));
        assert!(reason.contains(message), "{body}: {reason}");
    }
    let malformed = app.client.post(app.url("/api/analysis/drift")).header("content-type", "application/json");
    expect_error(malformed.body("{\"reference\": [1,").send().await.expect("sent"), 400).await;
}

#[tokio::test]
async fn whole_samples_may_exceed_the_usual_body_limit_up_to_64_mib() {
    let app = spawn_app(StoreKind::Sqlite).await;
    // 100,000 numbers per sample: about 3.8 MB of JSON, over the 1 MiB of other routes.
    let sample = |offset: f64| -> Vec<f64> { (0..100_000).map(|i| f64::from(i) * 1.000_001 + offset).collect() };
    let body = json!({ "reference": sample(0.0), "current": sample(0.5), "methods": ["ks"] });
    assert!(body.to_string().len() > keel_backend::BODY_LIMIT_BYTES * 3);
    let report = drift(&app, &body).await;
    assert_eq!((report.reference_count, report.current_count), (100_000, 100_000));

    let oversized = format!(r#"{{"reference": [{}1], "current": [1]}}"#, "1,".repeat(34 * 1024 * 1024));
    let response = app
        .client
        .post(app.url("/api/analysis/drift"))
        .header("content-type", "application/json")
        .body(oversized)
        .send()
        .await
        .expect("sent");
    let error = expect_error(response, 413).await;
    assert!(error.detail.contains("67108864 bytes"), "{error:?}");
}
