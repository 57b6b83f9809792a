//! Drift monitoring for two demo models: a reference per production version, a day of
//! feature rows (labels arriving 15 minutes late), a row every 10 seconds from then on,
//! and an evaluation every five minutes. `credit-risk-scoring` sees the data it was
//! validated on; `churn-propensity`'s customers spend more and buy the premium plan more
//! as the day goes on, and its predictions get worse.

use std::collections::BTreeMap;

use chrono::Utc;
use keel_shared::ModelId;
use keel_shared::drift::FeatureValue;
use keel_shared::monitoring::{MonitoringSettings, PREDICTION_COLUMN, TARGET_COLUMN};

use super::unit_noise;
use crate::dataset_drift::Dataset;
use crate::monitoring::evaluation::evaluate;
use crate::monitoring::reference;
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::monitoring::{NewReference, ValidFeatureRow};

struct Monitored {
    name: &'static str,
    /// Its production version.
    version: &'static str,
    /// Whether its data drifts.
    drifts: bool,
}

const MONITORED: &[Monitored] = &[
    Monitored { name: "credit-risk-scoring", version: "v1.1.0", drifts: false },
    Monitored { name: "churn-propensity", version: "v3.0.2", drifts: true },
];
const REFERENCE_ROWS: u64 = 5_000;
const ROW_EVERY_MILLIS: i64 = 10_000;
const LABEL_DELAY_MILLIS: i64 = 15 * 60_000;

/// One simulated prediction: features, the model's output and the truth.
fn row(model: &str, seed: u64, drift: f64) -> (BTreeMap<String, FeatureValue>, FeatureValue, FeatureValue) {
    let noise = |salt: u64| unit_noise(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ salt);
    // Box–Muller: a standard normal from two uniforms.
    let normal = |salt: u64| (-2.0 * (1.0 - noise(salt)).ln()).sqrt() * (std::f64::consts::TAU * noise(salt + 1)).cos();
    let mut features = BTreeMap::new();
    let wrong = noise(99) < 0.09 + 0.3 * drift;
    if model == "churn-propensity" {
        let tenure = (24.0 + 14.0 * normal(1)).clamp(1.0, 120.0).round() as i64;
        let spend = (650.0 * (1.0 + 0.6 * drift) * (0.25 * normal(3)).exp() * 10.0).round() / 10.0;
        let calls = (noise(5) * noise(6) * 9.0) as i64;
        let premium_share = 0.2 + 0.35 * drift;
        let plan = if noise(7) < premium_share {
            "premium"
        } else if noise(8) < 0.5 {
            "plus"
        } else {
            "basic"
        };
        features.insert("tenure_months".into(), FeatureValue::Integer(tenure));
        features.insert("monthly_spend_czk".into(), FeatureValue::Float(spend));
        features.insert("support_calls".into(), FeatureValue::Integer(calls));
        features.insert("plan".into(), FeatureValue::Text(plan.into()));
        let churns = i64::from(calls >= 4 || tenure < 6);
        let predicted = if wrong { 1 - churns } else { churns };
        (features, FeatureValue::Integer(predicted), FeatureValue::Integer(churns))
    } else {
        let income = (52_000.0 * (0.35 * normal(1)).exp()).round();
        let loan = (180_000.0 * (0.6 * normal(3)).exp()).round();
        let age = (41.0 + 11.0 * normal(5)).clamp(18.0, 80.0).round() as i64;
        const EMPLOYMENT: [&str; 4] = ["employed", "employed", "self-employed", "retired"];
        features.insert("monthly_income_czk".into(), FeatureValue::Float(income));
        features.insert("loan_amount_czk".into(), FeatureValue::Float(loan));
        features.insert("age".into(), FeatureValue::Integer(age));
        features.insert("employment".into(), FeatureValue::Text(EMPLOYMENT[(noise(7) * 4.0) as usize].into()));
        let defaults = i64::from(loan / income > 6.0 && noise(8) < 0.7);
        let predicted = if wrong { 1 - defaults } else { defaults };
        (features, FeatureValue::Integer(predicted), FeatureValue::Integer(defaults))
    }
}

/// How far the drifting model's data has moved at `ts`: 0 a day ago, 1 now.
fn drift_at(drifts: bool, ts: i64, now: i64) -> f64 {
    if drifts { (1.0 - (now - ts) as f64 / 86_400_000.0).clamp(0.0, 1.0) } else { 0.0 }
}

/// References, settings and a day of rows for the monitored demo models; then, the first
/// time, an evaluation for each past hour of that day (so the score charts show the drift
/// developing), and one now, so the drift pages are full from the first visit.
pub async fn backfill(store: &Store) -> anyhow::Result<()> {
    let now = Utc::now().timestamp_millis();
    let models = store.resolve_models(MONITORED.iter().map(|model| model.name)).await?;
    for monitored @ Monitored { name, version, .. } in MONITORED {
        let Some(id) = models.get(*name) else { continue };
        let model_id = ModelId(id.clone());
        if store.reference_summaries(&model_id).await?.is_empty() {
            // Churn's drift shows hour by hour; the steady credit model is judged on a
            // day of rows, or its ~50 labelled defaults an hour swing precision past the
            // 10 % tolerance by chance.
            let settings = MonitoringSettings {
                window_minutes: if monitored.drifts { 60 } else { 24 * 60 },
                evaluate_every_minutes: 5,
                freshness_sla_minutes: 10,
                ..MonitoringSettings::default()
            };
            store.set_monitoring_settings(&model_id, &settings, &Actor::system()).await?;
            save_reference(store, &model_id, name, version).await?;
        }
        write_rows(store, &model_id, monitored, now - 86_400_000, now).await?;
        let evaluated_before = store.latest_drift_run(&model_id).await?.is_some();
        let past_hours = if evaluated_before { 0 } else { 23 };
        for hours_ago in (0..=past_hours).rev() {
            let at = Utc::now() - chrono::Duration::hours(hours_ago);
            if let Err(error) = evaluate(store, &Actor::system(), &model_id, Some(version), at).await {
                tracing::warn!(%error, model = name, "a demo drift evaluation failed");
            }
        }
    }
    Ok(())
}

/// Stores a reference of `REFERENCE_ROWS` simulated, labelled rows for `version`.
pub(super) async fn save_reference(store: &Store, model_id: &ModelId, name: &str, version: &str) -> anyhow::Result<()> {
    let rows: Vec<BTreeMap<String, FeatureValue>> = (0..REFERENCE_ROWS)
        .map(|seed| {
            let (mut features, prediction, truth) = row(name, seed ^ 0xfeed, 0.0);
            features.insert(PREDICTION_COLUMN.into(), prediction);
            features.insert(TARGET_COLUMN.into(), truth);
            features
        })
        .collect();
    let dataset = Dataset::from_rows(&rows);
    let parts = reference::build(&dataset).map_err(|errors| anyhow::anyhow!("demo reference: {errors:?}"))?;
    let reference = NewReference {
        version,
        source: "upload: validation-set.csv".into(),
        rows: REFERENCE_ROWS,
        duplicate_rows: dataset.duplicate_rows as u64,
        columns: parts.columns,
        baseline: parts.baseline,
    };
    store.save_reference(model_id, reference, &Actor::system()).await?;
    Ok(())
}

/// Keeps feature rows (and, 15 minutes later, their labels) flowing every 10 seconds.
pub async fn run(store: Store) -> anyhow::Result<()> {
    let models = store.resolve_models(MONITORED.iter().map(|model| model.name)).await?;
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(10));
    let mut last = Utc::now().timestamp_millis();
    loop {
        ticker.tick().await;
        let now = Utc::now().timestamp_millis();
        for monitored in MONITORED {
            let Some(id) = models.get(monitored.name) else { continue };
            let model_id = ModelId(id.clone());
            if let Err(error) = write_rows(&store, &model_id, monitored, last, now).await {
                tracing::warn!(%error, "the demo simulator could not store its feature rows");
            }
        }
        last = now;
    }
}

/// Rows on the 10-second grid in `[from, now)`, and the labels of rows 15 minutes old by
/// `now`. Prediction ids come from the time, so writing a moment again changes nothing.
async fn write_rows(
    store: &Store,
    model_id: &ModelId,
    Monitored { name, version, drifts }: &Monitored,
    from: i64,
    now: i64,
) -> anyhow::Result<()> {
    let first = from.div_euclid(ROW_EVERY_MILLIS) * ROW_EVERY_MILLIS + ROW_EVERY_MILLIS;
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for ts in (first..now).step_by(ROW_EVERY_MILLIS as usize) {
        let (features, prediction, truth) = row(name, ts as u64, drift_at(*drifts, ts, now));
        let prediction_id = format!("demo-{ts}");
        if ts <= now - LABEL_DELAY_MILLIS {
            labels.push((prediction_id.clone(), serde_json::to_string(&truth)?));
        }
        rows.push(ValidFeatureRow {
            prediction_id,
            version: (*version).to_owned(),
            observed_at: ts,
            features: serde_json::to_string(&features)?,
            prediction: Some(serde_json::to_string(&prediction)?),
        });
    }
    // Rows of earlier calls whose labels are due now.
    let due = (first - LABEL_DELAY_MILLIS..(now - LABEL_DELAY_MILLIS).min(first)).step_by(ROW_EVERY_MILLIS as usize);
    for ts in due {
        let (_, _, truth) = row(name, ts as u64, drift_at(*drifts, ts, now));
        labels.push((format!("demo-{ts}"), serde_json::to_string(&truth)?));
    }
    store.insert_feature_rows(model_id, &rows).await?;
    store.upsert_labels(model_id, &labels).await?;
    Ok(())
}
