//! Alerting benchmark: one evaluation cycle of 10,000 rules (1,000 models × 10 fleet-wide
//! metric rules over 5-minute windows of minute rollups) on SQLite. Goal: < 100 ms. Two
//! rule sets: a mix of aggregations as rules use them (avg, max, min, count, rate, p95,
//! p99, avg, max, p50), and the worst case, every rule a p95.
//! Run with `cargo bench -p keel-backend --bench alerting`; results in docs/benchmarks.md.

use criterion::{Criterion, criterion_group, criterion_main};
use keel_backend::alerting::{Kept, evaluate_rules};
use keel_backend::health::HealthBoard;
use keel_backend::ingest::writer::points_events;
use keel_backend::store::Store;
use keel_backend::store::audit::Actor;
use keel_backend::store::telemetry::{SeriesKey, ValidPoint};
use keel_shared::ModelId;
use keel_shared::alerting::{Aggregation, AlertRuleSpec, Condition, NoDataPolicy, RuleScope, Signal};
use keel_shared::incidents::Severity;
use keel_shared::models::RiskTier;
use keel_shared::validation::NewModel;

const MODELS: usize = 1_000;
const METRICS: usize = 10;
/// Minutes of points per model and metric inside the rules' 5-minute window.
const MINUTES: i64 = 5;

fn cycle(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let directory = std::env::temp_dir().join(format!("keel-bench-alerting-{}", std::process::id()));
    let store = runtime.block_on(async {
        let store = Store::connect(&format!("sqlite://{}/keel.db?mode=rwc", directory.display())).await.expect("store");
        store.migrate().await.expect("migrate");
        let now = store.clock().now_millis();
        for model in 0..MODELS {
            let new = NewModel {
                name: format!("model-{model:04}"),
                description: String::new(),
                owner: "bench".into(),
                use_case: "bench".into(),
                risk_tier: RiskTier::Minimal,
            };
            let created = store.create_model(&new, &Actor::system()).await.expect("model");
            let points: Vec<ValidPoint> = (0..METRICS)
                .flat_map(|metric| {
                    let model_id = created.id.0.clone();
                    (0..MINUTES).map(move |minute| ValidPoint {
                        series: SeriesKey {
                            model_id: model_id.clone(),
                            metric: format!("metric_{metric}"),
                            labels: "{}".into(),
                        },
                        ts: now - minute * 60_000 - 1_000,
                        value: (model * 7 + metric) as f64 % 100.0,
                    })
                })
                .collect();
            let refs: Vec<&ValidPoint> = points.iter().collect();
            store.write_points(&refs, &[], &points_events(&refs)).await.expect("points");
        }
        store
    });
    let board = HealthBoard::default();
    let mut group = c.benchmark_group("alerting");
    group.sample_size(20);
    let mixed = [
        Aggregation::Avg,
        Aggregation::Max,
        Aggregation::Min,
        Aggregation::Count,
        Aggregation::Rate,
        Aggregation::P95,
        Aggregation::P99,
        Aggregation::Avg,
        Aggregation::Max,
        Aggregation::P50,
    ];
    let ids: Vec<ModelId> =
        runtime.block_on(store.model_facts()).expect("models").into_iter().map(|model| model.id).collect();
    let metrics: Vec<String> = (0..METRICS).map(|metric| format!("metric_{metric}")).collect();
    for (label, aggregations) in [("mixed aggregations", mixed), ("every rule p95", [Aggregation::P95; METRICS])] {
        runtime.block_on(replace_rules(&store, &aggregations));
        // The first cycle stores every rule's state; the measured ones are the steady state.
        let first = runtime.block_on(evaluate_rules(&store, &board, &mut Kept::default())).expect("cycle");
        assert_eq!(first.evaluated, MODELS * METRICS);
        group.bench_function(
            format!("one cycle: 10,000 rules (1,000 models × 10), {label}, windows and states read whole (SQLite)"),
            |b| {
                b.to_async(&runtime).iter(|| async { evaluate_rules(&store, &board, &mut Kept::default()).await });
            },
        );
        // As the job runs: windows kept from the last cycle, and 100 of the 1,000 models
        // announced new points of every metric since (their windows are read again).
        let mut kept = Kept::default();
        runtime.block_on(evaluate_rules(&store, &board, &mut kept)).expect("cycle");
        let mut next = 0;
        group.bench_function(format!("one cycle: 10,000 rules (1,000 models × 10), {label}, kept windows and states, 100 models with new points (SQLite)"), |b| {
            b.iter(|| {
                for model in ids.iter().cycle().skip(next).take(100) {
                    kept.points_stored(model, &metrics);
                }
                next = (next + 100) % ids.len();
                runtime.block_on(evaluate_rules(&store, &board, &mut kept)).expect("cycle")
            });
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&directory);
}

/// Turns every rule off, then adds one fleet-wide rule per metric with these aggregations.
async fn replace_rules(store: &Store, aggregations: &[Aggregation; METRICS]) {
    for rule in store.alert_rules().await.expect("rules") {
        store
            .update_alert_rule(&rule.id, &AlertRuleSpec { enabled: false, ..rule.spec }, &Actor::system())
            .await
            .expect("off");
    }
    for (metric, aggregation) in aggregations.iter().enumerate() {
        let rule = AlertRuleSpec {
            name: format!("metric_{metric} high"),
            description: String::new(),
            scope: RuleScope::default(),
            signal: Signal::Metric {
                metric: format!("metric_{metric}"),
                aggregation: *aggregation,
                window_minutes: MINUTES as u32,
            },
            condition: Condition::Above { threshold: 1_000.0, recovery: None },
            for_seconds: 0,
            keep_firing_for_seconds: 0,
            severity: Severity::Sev3,
            no_data: NoDataPolicy::KeepState,
            min_rows: 30,
            runbook: None,
            enabled: true,
        };
        store.create_alert_rule(&rule, &Actor::system()).await.expect("rule");
    }
}

criterion_group!(benches, cycle);
criterion_main!(benches);
