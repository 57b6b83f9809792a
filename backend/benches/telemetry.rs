//! Telemetry benchmarks: the quantile sketch, and durable ingest into the embedded store.
//! Run with `cargo bench -p keel-backend --bench telemetry`; results in docs/benchmarks.md.

use std::collections::HashMap;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use keel_backend::analysis::rollups::into_buckets;
use keel_backend::analysis::sketch::QuantileSketch;
use keel_backend::ingest::otlp;
use keel_backend::ingest::writer::points_events;
use keel_backend::ingest::{validate_point, validate_points};
use keel_backend::store::Store;
use keel_backend::store::audit::Actor;
use keel_backend::store::rollups::Resolution;
use keel_backend::store::telemetry::{SeriesKey, ValidPoint};
use keel_shared::models::{ModelSummary, RiskTier};
use keel_shared::validation::NewModel;
use serde_json::json;

fn sketch(c: &mut Criterion) {
    let values: Vec<f64> = (0..100_000).map(|i| ((i * 7919) % 100_000) as f64 / 10.0 + 0.1).collect();
    let mut group = c.benchmark_group("sketch");
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("add 100k values", |b| {
        b.iter(|| {
            let mut sketch = QuantileSketch::new();
            values.iter().for_each(|value| sketch.add(*value));
            sketch
        });
    });
    let mut full = QuantileSketch::new();
    values.iter().for_each(|value| full.add(*value));
    group.throughput(Throughput::Elements(1));
    group.bench_function("merge two sketches", |b| b.iter(|| full.clone().merge(&full)));
    group.bench_function("p99 of a sketch", |b| b.iter(|| full.quantile(0.99)));
    let bytes = full.to_bytes();
    group.bench_function("decode a sketch", |b| b.iter(|| QuantileSketch::from_bytes(&bytes)));
    group.finish();
}

/// Batches of 10,000 points over 10 series, spread over 10 minutes, as one request.
fn batch(model_id: &str, round: i64) -> Vec<ValidPoint> {
    (0..10_000)
        .map(|i| ValidPoint {
            series: SeriesKey {
                model_id: model_id.to_owned(),
                metric: "latency_ms".into(),
                labels: format!(r#"{{"replica":"{}"}}"#, i % 10),
            },
            ts: 1_800_000_000_000 + round * 600_000 + i64::from(i) * 60,
            value: f64::from(i % 500) + 0.5,
        })
        .collect()
}

/// A fresh SQLite store in a directory of its own (removed by the caller) with one model.
async fn bench_store(name: &str) -> (std::path::PathBuf, Store, ModelSummary) {
    let directory = std::env::temp_dir().join(format!("keel-bench-{name}-{}", std::process::id()));
    let store = Store::connect(&format!("sqlite://{}/keel.db?mode=rwc", directory.display())).await.expect("store");
    store.migrate().await.expect("migrate");
    let model = NewModel {
        name: name.into(),
        description: String::new(),
        owner: "bench".into(),
        use_case: "bench".into(),
        risk_tier: RiskTier::Minimal,
    };
    let model = store.create_model(&model, &Actor::system()).await.expect("model");
    (directory, store, model)
}

fn ingest(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (directory, store, model) = runtime.block_on(bench_store("bench"));

    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    let mut round = 0;
    group.bench_function("write 10k points (SQLite, durable)", |b| {
        b.to_async(&runtime).iter_batched(
            || {
                round += 1;
                batch(&model.id.0, round)
            },
            |points| {
                let store = store.clone();
                async move {
                    let refs: Vec<&ValidPoint> = points.iter().collect();
                    store.write_points(&refs, &[], &points_events(&refs)).await.expect("write");
                }
            },
            BatchSize::LargeInput,
        );
    });
    let models = HashMap::from([("bench".to_owned(), model.id.0.clone())]);
    let raw: Vec<serde_json::Value> = (0..10_000)
        .map(|i| {
            json!({ "model": "bench", "metric": "latency_ms", "labels": { "replica": (i % 10).to_string() },
                         "ts": 1_800_000_000_000_i64 + i * 60, "value": 12.5 })
        })
        .collect();
    group.bench_function("validate 10k JSON points", |b| {
        b.iter_batched(|| raw.clone(), |raw| validate_points(raw, &models, 1_800_000_000_000), BatchSize::LargeInput);
    });
    let otlp = otlp_body(10_000);
    group.bench_function("decode and check 10k OTLP protobuf points", |b| {
        b.iter(|| {
            let request = otlp::decode(&otlp, otlp::Encoding::Protobuf).expect("decodes");
            let points: Vec<ValidPoint> = otlp::data_points(request)
                .into_iter()
                .flat_map(|outcome| outcome.expect("valid"))
                .map(|point| validate_point(point, &models, 1_800_000_000_000).expect("valid"))
                .collect();
            points
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(directory);
}

/// An OTLP export of `points` gauge points over 10 series, as an SDK sends it.
fn otlp_body(points: usize) -> Vec<u8> {
    use keel_backend::ingest::otlp::messages::*;
    use prost::Message;
    let attribute = |key: &str, value: String| KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value)) }),
    };
    let data_points = (0..points)
        .map(|i| NumberDataPoint {
            attributes: vec![attribute("replica", (i % 10).to_string())],
            time_unix_nano: (1_799_000_000_000 + i as u64 * 60) * 1_000_000,
            value: Some(NumberValue::AsDouble(12.5)),
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: vec![attribute("service.name", "bench".into())] }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "latency_ms".into(),
                    data: Some(MetricData::Gauge(Gauge { data_points })),
                }],
            }],
        }],
    }
    .encode_to_vec()
}

/// The 30-day chart of issue 4 without HTTP: 500 buckets from the store's rollups of
/// one series holding 10 M raw points (hourly rollups caught up, as in steady state).
fn query(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (directory, store, model) = runtime.block_on(bench_store("query"));
    const DAY: i64 = 86_400_000;
    // Ending now: hours in the future are not rolled up yet.
    let to = chrono::Utc::now().timestamp_millis();
    let from = to - 30 * DAY;
    let step = 30 * DAY / 10_000_000;
    let series = SeriesKey { model_id: model.id.0.clone(), metric: "latency_ms".into(), labels: "{}".into() };
    runtime.block_on(async {
        for chunk in 0..1_000_i64 {
            let points: Vec<ValidPoint> = (0..10_000_i64)
                .map(|i| {
                    let n = chunk * 10_000 + i;
                    ValidPoint { series: series.clone(), ts: from + n * step, value: 20.0 + (n % 97) as f64 }
                })
                .collect();
            let refs: Vec<&ValidPoint> = points.iter().collect();
            store.write_points(&refs, &[], &[]).await.expect("write");
        }
        keel_backend::ingest::upkeep::roll_up(&store).await;
    });
    let mut group = c.benchmark_group("query");
    group.bench_function("500 buckets over 30 days of 10M points (hourly rollups)", |b| {
        b.to_async(&runtime).iter(|| async {
            let rollups =
                store.metric_rollups(&model.id.0, "latency_ms", from, to, Resolution::Hour).await.expect("rollups");
            into_buckets(rollups, from, to, 500)
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(directory);
}

criterion_group!(benches, sketch, ingest, query);
criterion_main!(benches);
