//! OTLP/HTTP metrics at `/v1/metrics`, in protobuf and JSON, back out of the series query.

use std::io::Write;

use chrono::{Duration, DurationRound, Utc};
use keel_backend::ingest::otlp::messages::{
    AnyValue, ExportMetricsServiceRequest, ExportMetricsServiceResponse, Gauge, KeyValue, Metric, MetricData,
    NumberDataPoint, NumberValue, Resource, ResourceMetrics, ScopeMetrics, Value,
};
use keel_shared::models::{ModelSummary, RiskTier};
use keel_shared::telemetry::SeriesResponse;
use prost::Message;
use serde_json::json;

use crate::helpers::{StoreKind, TestApp, expect_error, spawn_app};
use crate::on_both_stores;

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }) }
}

fn gauge_point(nanos: u64, value: f64, attributes: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint { attributes, time_unix_nano: nanos, value: Some(NumberValue::AsDouble(value)) }
}

/// An export from a service named `churn` with three accuracy points: one for it, one
/// naming an unknown model, one NaN.
fn export(nanos: u64) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: vec![attribute("service.name", "churn")] }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "accuracy".into(),
                    data: Some(MetricData::Gauge(Gauge {
                        data_points: vec![
                            gauge_point(nanos, 0.93, vec![attribute("model_version", "v2")]),
                            gauge_point(nanos, 0.5, vec![attribute("model_id", "ghost")]),
                            gauge_point(nanos, f64::NAN, vec![]),
                        ],
                    })),
                }],
            }],
        }],
    }
}

async fn accuracy(app: &TestApp, model: &ModelSummary) -> SeriesResponse {
    let response = app.get(&format!("/api/models/{}/series?metric=accuracy&buckets=1", model.id)).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("series")
}

fn minutes_ago(minutes: i64) -> u64 {
    let at = (Utc::now() - Duration::minutes(minutes)).duration_trunc(Duration::seconds(1)).expect("truncate");
    u64::try_from(at.timestamp_nanos_opt().expect("in range")).expect("after 1970")
}

async fn protobuf_exports_report_partial_success_and_resends_replace(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let client = app.ingest_client().await;
    let body = export(minutes_ago(5)).encode_to_vec();
    for attempt in 0..2 {
        let response = client
            .post(app.url("/v1/metrics"))
            .header("content-type", "application/x-protobuf")
            .body(body.clone())
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200, "attempt {attempt}");
        assert_eq!(response.headers()["content-type"], "application/x-protobuf");
        let answer = ExportMetricsServiceResponse::decode(response.bytes().await.expect("body")).expect("protobuf");
        let partial = answer.partial_success.expect("two points were rejected");
        assert_eq!(partial.rejected_data_points, 2);
        assert_eq!(partial.error_message, "unknown model 'ghost'; value NaN is not a finite number");
    }
    // Sent twice (as exporters do on flush and shutdown), stored once.
    let stored = accuracy(&app, &model).await;
    assert_eq!((stored.buckets[0].count, stored.buckets[0].max), (1, Some(0.93)));

    let garbage = client
        .post(app.url("/v1/metrics"))
        .header("content-type", "application/x-protobuf")
        .body(vec![0xff_u8, 0xff, 0xff])
        .send()
        .await
        .expect("sent");
    let error = expect_error(garbage, 400).await;
    assert!(error.detail.contains("not an OTLP ExportMetricsServiceRequest in protobuf"), "{}", error.detail);
    let text = client.post(app.url("/v1/metrics")).header("content-type", "text/plain").body("x").send().await;
    expect_error(text.expect("sent"), 415).await;
}

async fn json_exports_with_string_integers_and_gzip_are_stored(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let client = app.ingest_client().await;
    let nanos = minutes_ago(3);
    let body = json!({ "resourceMetrics": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "checkout" } }] },
        "scopeMetrics": [{ "scope": { "name": "model-server", "version": "1.0" }, "metrics": [{
            "name": "accuracy", "unit": "1", "sum": { "aggregationTemporality": 2, "isMonotonic": false,
                "dataPoints": [{ "timeUnixNano": nanos.to_string(), "startTimeUnixNano": "1", "asInt": "1",
                                 "attributes": [{ "key": "model_id", "value": { "stringValue": "churn" } }] }] }
        }] }]
    }] });
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(body.to_string().as_bytes()).expect("compress");
    let response = client
        .post(app.url("/v1/metrics"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip.finish().expect("compress"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.expect("json"), json!({}));
    let stored = accuracy(&app, &model).await;
    assert_eq!((stored.buckets[0].count, stored.buckets[0].max), (1, Some(1.0)));

    let partial = client
        .post(app.url("/v1/metrics"))
        .json(&json!({ "resourceMetrics": [{ "scopeMetrics": [{ "metrics": [
            { "name": "accuracy", "gauge": { "dataPoints": [{ "timeUnixNano": nanos.to_string(), "asDouble": 0.9 }] } }
        ] }] }] }))
        .send()
        .await
        .expect("sent");
    assert_eq!(partial.status(), 200);
    let answer: serde_json::Value = partial.json().await.expect("json");
    assert_eq!(
        answer,
        json!({ "partialSuccess": {
            "rejectedDataPoints": "1",
            "errorMessage": "metric 'accuracy': no model_id attribute and no service.name"
        } })
    );
    let wrong_shape = client.post(app.url("/v1/metrics")).json(&json!({ "resourceMetrics": 7 })).send().await;
    expect_error(wrong_shape.expect("sent"), 400).await;
    let broken_gzip = client
        .post(app.url("/v1/metrics"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body("not gzip")
        .send()
        .await;
    expect_error(broken_gzip.expect("sent"), 400).await;
}

on_both_stores!(
    protobuf_exports_report_partial_success_and_resends_replace,
    json_exports_with_string_integers_and_gzip_are_stored,
);
