//! Drift monitoring of a live model: its reference profiles (one per version), the feature
//! rows and ground-truth labels it reports, its monitoring settings, and the evaluation
//! runs that compare the recent rows with the reference.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::drift::{DatasetDriftReport, DriftMethod, FeatureKind, FeatureValue};
use crate::telemetry::TimestampInput;

/// The reference dataset's column holding the ground truth (Evidently's default name).
pub const TARGET_COLUMN: &str = "target";
/// The reference dataset's column holding the model's output; live rows send it as
/// `prediction`, and it is compared for drift like a feature.
pub const PREDICTION_COLUMN: &str = "prediction";
/// Fewer labelled rows than this in the window are too few to judge performance on.
pub const MIN_LABELLED_ROWS: usize = 20;

/// How a model is monitored. Every field has a default, so `{}` means "the defaults".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringSettings {
    /// The current window: rows observed in the last this many minutes.
    pub window_minutes: u32,
    /// How often the scheduler evaluates a model that has a reference and rows.
    pub evaluate_every_minutes: u32,
    /// Feature rows must keep arriving: a gap longer than this breaches freshness.
    pub freshness_sla_minutes: u32,
    /// A performance metric worse than the reference's by more than this share (0.1 =
    /// 10 %, Evidently's default test tolerance) makes the model degraded.
    pub performance_tolerance: f64,
    /// Per feature, a method and threshold other than Evidently's default choice.
    pub features: Vec<FeatureRule>,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        Self {
            window_minutes: 24 * 60,
            evaluate_every_minutes: 60,
            freshness_sla_minutes: 60,
            performance_tolerance: 0.1,
            features: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureRule {
    pub feature: String,
    pub method: DriftMethod,
    /// Default: the method's Evidently default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

impl MonitoringSettings {
    /// Problems with the settings, by field.
    pub fn validate(&self) -> crate::validation::FieldErrors {
        let mut errors = crate::validation::FieldErrors::new();
        let week = 7 * 24 * 60;
        for (field, value, max) in [
            ("window_minutes", self.window_minutes, 90 * 24 * 60),
            ("evaluate_every_minutes", self.evaluate_every_minutes, week),
            ("freshness_sla_minutes", self.freshness_sla_minutes, week),
        ] {
            if !(1..=max).contains(&value) {
                errors.insert(field.into(), format!("must be between 1 and {max} minutes"));
            }
        }
        if !(0.0..=1.0).contains(&self.performance_tolerance) {
            errors.insert("performance_tolerance".into(), "must be a share between 0 and 1, e.g. 0.1 for 10 %".into());
        }
        for (index, rule) in self.features.iter().enumerate() {
            if rule.feature.trim().is_empty() {
                errors.insert(format!("features[{index}].feature"), "name the feature".into());
            }
            if rule.threshold.is_some_and(|threshold| !(threshold.is_finite() && threshold >= 0.0)) {
                errors.insert(format!("features[{index}].threshold"), "must be a number of at least 0".into());
            }
        }
        errors
    }
}

/// One row of `POST /api/models/{id}/features`: what the model saw for one prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureRowInput {
    /// The caller's id of the prediction; labels refer to it. A row resent with the same
    /// id is stored once.
    pub prediction_id: String,
    /// The version's tag; default: the version in production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Unix milliseconds or RFC 3339; default: when the row arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<TimestampInput>,
    /// Feature name → value (`null`, boolean, number or string).
    pub features: BTreeMap<String, FeatureValue>,
    /// The model's output for these features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<FeatureValue>,
}

/// One label of `POST /api/models/{id}/labels`: the ground truth of a prediction, which
/// may arrive long after it. A label sent again for the same prediction replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelInput {
    pub prediction_id: String,
    pub label: FeatureValue,
}

/// `POST /api/models/{id}/features` and `…/labels`: each item is checked on its own; bad
/// ones are listed (by position), the rest kept.
pub type BatchResponse = crate::telemetry::IngestResponse;

/// `POST /api/models/{id}/versions/{tag}/reference/window`: make the rows the version
/// saw in this time window its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceWindowRequest {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// What a model learns from its ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Labels are categories: accuracy, precision, recall, F1.
    Classification,
    /// Labels are numbers on a scale: MAE, RMSE.
    Regression,
}

/// A reference profile as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceSummary {
    pub model_id: crate::ModelId,
    pub version: String,
    /// Where it came from: an uploaded file, or a time window of live rows.
    pub source: String,
    pub rows: u64,
    /// Rows that repeat an earlier row exactly.
    pub duplicate_rows: u64,
    pub columns: Vec<ReferenceColumnSummary>,
    /// Present when the reference holds `target` and `prediction` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<PerformanceMetrics>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceColumnSummary {
    pub name: String,
    pub kind: FeatureKind,
    /// Values kept (nulls left out).
    pub values: u64,
    /// For numbers: how many are stored exactly; fewer than `values` when the reference
    /// is kept as evenly spaced order statistics (see `MAX_STORED_VALUES` in the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_values: Option<u64>,
    /// For categories: how many distinct ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<u64>,
}

/// Performance metrics of predictions against labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceMetrics {
    pub task: Task,
    /// Rows with both a prediction and a label.
    pub labelled_rows: u64,
    /// For classification `accuracy`, `precision`, `recall`, `f1` (macro averages over
    /// the classes); for regression `mae`, `rmse`.
    pub metrics: Vec<MetricValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    pub name: String,
    pub value: f64,
}

/// Whether lower values of a metric are better.
pub fn lower_is_better(metric: &str) -> bool {
    matches!(metric, "mae" | "rmse")
}

/// The live window's performance judged against the reference's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceReport {
    pub current: PerformanceMetrics,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<PerformanceMetrics>,
    /// One sentence per metric worse than the baseline beyond the tolerance.
    pub degraded: Vec<String>,
}

/// Are feature rows still arriving?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Freshness {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_row_at: Option<DateTime<Utc>>,
    pub sla_minutes: u32,
    /// No row yet, or none within the SLA.
    pub breached: bool,
}

/// A compared column's reference and current distributions over the same bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureHistogram {
    pub feature: String,
    pub bins: Vec<HistogramBin>,
}

/// One bar pair of a histogram overlay: the share of each sample in a bin (numbers) or
/// category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramBin {
    pub label: String,
    pub reference: f64,
    pub current: f64,
}

/// One evaluation of a model version's recent rows against its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRun {
    pub id: String,
    pub model_id: crate::ModelId,
    pub version: String,
    pub evaluated_at: DateTime<Utc>,
    pub window_from: DateTime<Utc>,
    pub window_to: DateTime<Utc>,
    /// Feature rows in the window.
    pub current_rows: u64,
    pub report: DatasetDriftReport,
    /// Per compared column, reference and current shares over the same bins.
    pub histograms: Vec<FeatureHistogram>,
    /// Present when rows of the window have labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<PerformanceReport>,
    pub freshness: Freshness,
}

impl DriftRun {
    /// Why this run makes the model degraded: performance worse than its reference.
    pub fn degradation(&self) -> &[String] {
        self.performance.as_ref().map_or(&[], |performance| &performance.degraded)
    }
}

/// `GET /api/models/{id}/drift`: what the drift page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftOverview {
    pub settings: MonitoringSettings,
    /// One per version with a reference, newest first.
    pub references: Vec<ReferenceSummary>,
    /// The latest run, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<DriftRun>,
    /// As of now (the latest run's is as of its evaluation).
    pub freshness: Freshness,
}

/// `POST /api/models/{id}/drift/runs` (on demand).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvaluateRequest {
    /// Default: the version in production if it has a reference, else the newest
    /// version that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `GET /api/models/{id}/drift/history?feature=…`: one feature's score, run by run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftHistory {
    pub feature: String,
    /// Oldest first.
    pub points: Vec<DriftHistoryPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftHistoryPoint {
    pub evaluated_at: DateTime<Utc>,
    pub version: String,
    pub method: DriftMethod,
    pub value: f64,
    pub threshold: f64,
    pub drifted: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftHistoryQuery {
    pub feature: String,
    /// Most recent runs to include, 1–1000 (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_take_defaults_and_name_bad_fields() {
        let parsed: MonitoringSettings = serde_json::from_str(r#"{"window_minutes": 60}"#).expect("parses");
        assert_eq!(parsed.freshness_sla_minutes, 60);
        assert!(parsed.validate().is_empty());
        let bad = MonitoringSettings {
            window_minutes: 0,
            performance_tolerance: 1.5,
            features: vec![FeatureRule { feature: " ".into(), method: DriftMethod::Psi, threshold: Some(-1.0) }],
            ..MonitoringSettings::default()
        };
        assert_eq!(
            bad.validate().keys().collect::<Vec<_>>(),
            ["features[0].feature", "features[0].threshold", "performance_tolerance", "window_minutes"]
        );
        assert!(serde_json::from_str::<MonitoringSettings>(r#"{"window": 1}"#).is_err());
    }
}
