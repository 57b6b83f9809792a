//! Data drift: the statistical methods, their default thresholds and which way each one
//! points (Evidently 0.7's defaults, so results are comparable), and the stateless
//! `POST /api/analysis/drift` exchange.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::models::UnknownVariant;

/// How a feature's values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// Numbers on a scale (Evidently's "num").
    Numeric,
    /// Labels: strings, booleans, or integers with few distinct values (Evidently's "cat").
    Categorical,
}

/// A drift statistic. The comment names Evidently's name for the same test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftMethod {
    /// Two-sample Kolmogorov–Smirnov p-value, numeric only ("ks").
    Ks,
    /// Population Stability Index ("psi").
    Psi,
    /// Wasserstein distance over the reference's standard deviation, numeric only ("wasserstein").
    Wasserstein,
    /// Jensen–Shannon distance ("jensenshannon").
    JensenShannon,
    /// Kullback–Leibler divergence ("kl_div").
    KlDivergence,
    /// Hellinger distance ("hellinger").
    Hellinger,
    /// Pearson's chi-square p-value ("chisquare").
    ChiSquare,
    /// Two-proportion z-test p-value ("z").
    Z,
}

impl DriftMethod {
    pub const ALL: [DriftMethod; 8] = [
        DriftMethod::Ks,
        DriftMethod::Psi,
        DriftMethod::Wasserstein,
        DriftMethod::JensenShannon,
        DriftMethod::KlDivergence,
        DriftMethod::Hellinger,
        DriftMethod::ChiSquare,
        DriftMethod::Z,
    ];

    /// The name used in the API and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DriftMethod::Ks => "ks",
            DriftMethod::Psi => "psi",
            DriftMethod::Wasserstein => "wasserstein",
            DriftMethod::JensenShannon => "jensen_shannon",
            DriftMethod::KlDivergence => "kl_divergence",
            DriftMethod::Hellinger => "hellinger",
            DriftMethod::ChiSquare => "chi_square",
            DriftMethod::Z => "z",
        }
    }

    /// Whether the value is a p-value (small means drift) rather than a distance.
    pub fn is_p_value(self) -> bool {
        matches!(self, DriftMethod::Ks | DriftMethod::ChiSquare | DriftMethod::Z)
    }

    /// Evidently's default threshold.
    pub fn default_threshold(self) -> f64 {
        if self.is_p_value() { 0.05 } else { 0.1 }
    }

    /// Whether `value` means drift at `threshold`, with Evidently's comparisons: a
    /// distance at or above the threshold; a KS p-value at or below it; a chi-square or z
    /// p-value below it.
    pub fn drifted(self, value: f64, threshold: f64) -> bool {
        match self {
            DriftMethod::Ks => value <= threshold,
            DriftMethod::ChiSquare | DriftMethod::Z => value < threshold,
            _ => value >= threshold,
        }
    }
}

impl FromStr for DriftMethod {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|method| method.name() == s).ok_or_else(|| UnknownVariant {
            given: s.to_owned(),
            expected: &["ks", "psi", "wasserstein", "jensen_shannon", "kl_divergence", "hellinger", "chi_square", "z"],
        })
    }
}

/// One value of a feature as a client sends it: JSON `null`, a boolean, an integer, a
/// decimal number or a string. Integers and decimals are told apart as pandas does, which
/// matters when the feature's kind is inferred.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FeatureValue {
    Missing,
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(String),
}

/// `POST /api/analysis/drift`: one feature's reference and current values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRequest {
    /// The values the model was validated on. `null`s are left out of every statistic.
    pub reference: Vec<FeatureValue>,
    /// The values seen now.
    pub current: Vec<FeatureValue>,
    /// Default: inferred as Evidently does (decimals numeric; strings and booleans
    /// categorical; integers categorical when the reference has at most 5 distinct values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FeatureKind>,
    /// Default: the one method Evidently would choose for these samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<DriftMethod>>,
    /// Per method, a threshold other than Evidently's default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<MethodThreshold>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MethodThreshold {
    pub method: DriftMethod,
    pub threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftResponse {
    /// The kind the feature was compared as (given or inferred).
    pub kind: FeatureKind,
    /// Values compared after `null`s (and non-finite numbers) were left out.
    pub reference_count: usize,
    pub current_count: usize,
    /// Whether any of the methods found drift.
    pub drifted: bool,
    pub results: Vec<DriftMethodResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriftMethodResult {
    pub method: DriftMethod,
    /// The statistic: a p-value for `ks`, `chi_square` and `z`, otherwise a distance.
    pub value: f64,
    pub threshold: f64,
    pub drifted: bool,
}

/// Evidently's dataset rule: the dataset drifts when at least this share of its compared
/// columns drift.
pub const DATASET_DRIFT_SHARE: f64 = 0.5;

/// Drift between two tabular datasets, column by column (`keel drift --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetDriftReport {
    pub columns: Vec<ColumnDrift>,
    /// Columns compared and columns that drifted (columns that could not be compared
    /// count for neither).
    pub compared_columns: usize,
    pub drifted_columns: usize,
    /// Whether `drifted_columns / compared_columns` reaches `DATASET_DRIFT_SHARE`.
    pub drifted: bool,
    /// Columns of one dataset that the other lacks: not compared.
    pub only_in_reference: Vec<String>,
    pub only_in_current: Vec<String>,
    /// Rows that repeat an earlier row exactly, in each dataset.
    #[serde(default)]
    pub duplicate_rows_reference: usize,
    #[serde(default)]
    pub duplicate_rows_current: usize,
}

impl DatasetDriftReport {
    /// The report over these columns: how many were compared and drifted, and
    /// Evidently's dataset verdict.
    pub fn new(
        columns: Vec<ColumnDrift>,
        only_in_reference: Vec<String>,
        only_in_current: Vec<String>,
        duplicate_rows_reference: usize,
        duplicate_rows_current: usize,
    ) -> DatasetDriftReport {
        let compared_columns = columns.iter().filter(|column| column.report.is_some()).count();
        let drifted_columns =
            columns.iter().filter(|column| column.report.as_ref().is_some_and(|report| report.drifted)).count();
        DatasetDriftReport {
            drifted: compared_columns > 0 && drifted_columns as f64 / compared_columns as f64 >= DATASET_DRIFT_SHARE,
            columns,
            compared_columns,
            drifted_columns,
            only_in_reference,
            only_in_current,
            duplicate_rows_reference,
            duplicate_rows_current,
        }
    }
}

/// Data quality of one feature, current against reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureQuality {
    /// Shares of nulls (and non-finite numbers) in each sample.
    pub missing_share_reference: f64,
    pub missing_share_current: f64,
    /// Share of the current sample's present values the reference never showed: numbers
    /// outside its range, categories it lacks. Like the distinct counts, only known when
    /// the samples could be compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unseen_share_current: Option<f64>,
    /// Distinct values in each sample, counted up to 1,000 (1,000 means "at least").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_reference: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_current: Option<usize>,
    /// Set when the two samples hold different types of value, e.g. numbers and text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_mismatch: Option<String>,
}

/// One column: its report, or why it could not be compared, and its data quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    pub column: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<FeatureQuality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<DriftResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_parse() {
        for method in DriftMethod::ALL {
            let json = serde_json::to_string(&method).expect("serialise");
            assert_eq!(json, format!("\"{}\"", method.name()));
            assert_eq!(method.name().parse::<DriftMethod>(), Ok(method));
        }
    }

    #[test]
    fn comparisons_follow_evidently() {
        assert!(DriftMethod::Ks.drifted(0.05, 0.05), "KS: p ≤ threshold");
        assert!(!DriftMethod::ChiSquare.drifted(0.05, 0.05), "chi-square: p < threshold");
        assert!(DriftMethod::Psi.drifted(0.1, 0.1), "distances: ≥ threshold");
    }

    #[test]
    fn values_keep_integers_apart_from_decimals() {
        let values: Vec<FeatureValue> = serde_json::from_str(r#"[1, 1.0, "a", true, null]"#).expect("parse");
        assert_eq!(
            values,
            [
                FeatureValue::Integer(1),
                FeatureValue::Float(1.0),
                FeatureValue::Text("a".into()),
                FeatureValue::Bool(true),
                FeatureValue::Missing
            ]
        );
    }
}
