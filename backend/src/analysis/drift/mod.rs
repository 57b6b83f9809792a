//! Data drift of one feature, computed as Evidently 0.7 computes it
//! (`evidently/legacy/calculations/stattests/`), so a team moving from Evidently sees the
//! same numbers: `tests/fixtures/drift/` holds values Evidently and scipy produced, and
//! the tests agree with them to a relative 1e-9.
//!
//! A `Feature` is a reference and a current sample of one kind, with missing values left
//! out; `Feature::new` infers the kind as Evidently does, `default_method` picks the test
//! Evidently would pick, and `Feature::value` computes any method's statistic. `report`
//! answers one feature's drift request (the API's, and each column of `keel drift`).

pub mod categorical;
pub mod kolmogorov;
pub mod ks;
pub mod numeric;
pub mod profile;
mod quantiles;

use keel_shared::drift::{DriftMethod, DriftMethodResult, DriftResponse, FeatureKind, FeatureValue, MethodThreshold};
use numeric::NumericReference;
use rustc_hash::FxHashMap;

use super::column::{Column, MISSING, Values, distinct_up_to};

/// Evidently's `NUMBER_UNIQUE_AS_CATEGORICAL`: integer features with at most this many
/// distinct values are categories.
const MAX_INTEGER_CATEGORIES: usize = 5;

/// One feature's two samples, without missing values.
#[derive(Debug, Clone, PartialEq)]
pub enum Feature {
    Numeric {
        reference: NumericReference,
        current: Vec<f64>,
    },
    /// Counts per category, in the categories' sorted order.
    Categorical {
        reference: Vec<u64>,
        current: Vec<u64>,
    },
}

/// One feature's drift request answered (the API's): `Feature::new`, then `Feature::report`.
pub fn report(
    reference: &[FeatureValue],
    current: &[FeatureValue],
    kind: Option<FeatureKind>,
    methods: Option<&[DriftMethod]>,
    thresholds: &[MethodThreshold],
) -> Result<DriftResponse, FeatureError> {
    Feature::new(&Column::from_values(reference), &Column::from_values(current), kind)?.report(methods, thresholds)
}

/// Why two samples cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    #[error("give at least one method, or leave methods out for the default")]
    NoMethods,
    #[error("a threshold must be a number of at least 0")]
    BadThreshold(usize),
    #[error("the {0} sample has no values (nulls and non-finite numbers are left out)")]
    Empty(Sample),
    #[error("a numeric feature holds only numbers: {sample}[{index}] is {value}")]
    NotNumeric { sample: Sample, index: usize, value: String },
    #[error("{} compares numeric features only; this one is categorical", .0.name())]
    NumericOnly(DriftMethod),
    #[error("the values span a range wider than a 64-bit float holds: they cannot be binned")]
    RangeTooWide,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    Reference,
    Current,
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sample::Reference => "reference",
            Sample::Current => "current",
        })
    }
}

impl FeatureError {
    /// The request field at fault, as the API names it.
    pub fn field(&self) -> String {
        match self {
            FeatureError::NoMethods | FeatureError::NumericOnly(_) => "methods".to_string(),
            FeatureError::BadThreshold(index) => format!("thresholds[{index}].threshold"),
            FeatureError::Empty(sample) => sample.to_string(),
            FeatureError::RangeTooWide => "current".to_string(),
            FeatureError::NotNumeric { sample, index, .. } => format!("{sample}[{index}]"),
        }
    }
}

impl Feature {
    /// The feature as `kind`, or as Evidently would type it: by the current sample's
    /// pandas dtype — decimals (and integers mixed with nulls or decimals) numeric,
    /// integers categorical when the reference has at most 5 distinct values, booleans,
    /// strings and mixtures categorical.
    pub fn new(reference: &Column, current: &Column, kind: Option<FeatureKind>) -> Result<Feature, FeatureError> {
        let kind = kind.unwrap_or_else(|| inferred_kind(reference, current));
        let feature = match kind {
            FeatureKind::Numeric => {
                let reference = numbers(reference, Sample::Reference)?;
                let current = numbers(current, Sample::Current)?;
                if reference.is_empty() {
                    return Err(FeatureError::Empty(Sample::Reference));
                }
                let reference = NumericReference::new(reference);
                let ((reference_low, reference_high), (current_low, current_high)) =
                    (reference.extremes(), extremes(&current));
                let (low, high) = (reference_low.min(current_low), reference_high.max(current_high));
                if !(high - low).is_finite() {
                    return Err(FeatureError::RangeTooWide);
                }
                Feature::Numeric { reference, current }
            }
            FeatureKind::Categorical => {
                let (reference, current) = category_counts(reference, current);
                Feature::Categorical { reference, current }
            }
        };
        let (reference_count, current_count) = feature.counts();
        if reference_count == 0 {
            return Err(FeatureError::Empty(Sample::Reference));
        }
        if current_count == 0 {
            return Err(FeatureError::Empty(Sample::Current));
        }
        Ok(feature)
    }

    /// The statistics asked for (or Evidently's default one), each judged against its
    /// threshold (the one given, or Evidently's default).
    pub fn report(
        &self,
        methods: Option<&[DriftMethod]>,
        thresholds: &[MethodThreshold],
    ) -> Result<DriftResponse, FeatureError> {
        if methods.is_some_and(<[DriftMethod]>::is_empty) {
            return Err(FeatureError::NoMethods);
        }
        if let Some(index) = thresholds.iter().position(|given| !given.threshold.is_finite() || given.threshold < 0.0) {
            return Err(FeatureError::BadThreshold(index));
        }
        let default = [self.default_method()];
        let methods = methods.unwrap_or(&default);
        let mut results = Vec::with_capacity(methods.len());
        for method in methods.iter().copied() {
            let value = self.value(method)?;
            let threshold = thresholds
                .iter()
                .rev()
                .find(|given| given.method == method)
                .map_or(method.default_threshold(), |given| given.threshold);
            results.push(DriftMethodResult { method, value, threshold, drifted: method.drifted(value, threshold) });
        }
        let (reference_count, current_count) = self.counts();
        Ok(DriftResponse {
            kind: self.kind(),
            reference_count,
            current_count,
            drifted: results.iter().any(|result| result.drifted),
            results,
        })
    }

    pub fn kind(&self) -> FeatureKind {
        match self {
            Feature::Numeric { .. } => FeatureKind::Numeric,
            Feature::Categorical { .. } => FeatureKind::Categorical,
        }
    }

    /// How many values each sample holds.
    pub fn counts(&self) -> (usize, usize) {
        match self {
            Feature::Numeric { reference, current } => (reference.len(), current.len()),
            Feature::Categorical { reference, current } => {
                (reference.iter().sum::<u64>() as usize, current.iter().sum::<u64>() as usize)
            }
        }
    }

    /// The test Evidently runs when none is chosen: with a reference of at most 1,000
    /// values, chi-square (z for two values) on categories and on numbers with at most 5
    /// distinct values, else KS; with a larger reference, Jensen–Shannon on categories and
    /// on numbers with at most 5 distinct values, else Wasserstein.
    pub fn default_method(&self) -> DriftMethod {
        let distinct = match self {
            Feature::Categorical { reference, .. } => reference.len(),
            Feature::Numeric { reference, current } => {
                distinct_up_to(reference.values().iter().chain(current).copied(), MAX_INTEGER_CATEGORIES + 1)
            }
        };
        let few_values = self.kind() == FeatureKind::Categorical || distinct <= MAX_INTEGER_CATEGORIES;
        match (self.counts().0 <= 1000, few_values) {
            (true, true) if distinct > 2 => DriftMethod::ChiSquare,
            (true, true) => DriftMethod::Z,
            (true, false) => DriftMethod::Ks,
            (false, true) => DriftMethod::JensenShannon,
            (false, false) => DriftMethod::Wasserstein,
        }
    }

    /// The method's statistic for this feature. Chi-square and the z-test compare numbers
    /// as categories, one per distinct value.
    pub fn value(&self, method: DriftMethod) -> Result<f64, FeatureError> {
        match self {
            Feature::Numeric { reference, current } => Ok(match method {
                DriftMethod::Ks => ks::ks_2samp(reference, current).p_value,
                DriftMethod::Psi => numeric::psi(reference, current),
                DriftMethod::Wasserstein => numeric::wasserstein_norm(reference, current),
                DriftMethod::JensenShannon => numeric::jensen_shannon(reference, current),
                DriftMethod::KlDivergence => numeric::kl_divergence(reference, current),
                DriftMethod::Hellinger => numeric::hellinger(reference, current),
                DriftMethod::ChiSquare | DriftMethod::Z => {
                    let (reference, current) = numeric::value_counts(reference, current);
                    let as_counts =
                        |counts: Vec<usize>| -> Vec<u64> { counts.into_iter().map(|count| count as u64).collect() };
                    categorical_value(method, &as_counts(reference), &as_counts(current))?
                }
            }),
            Feature::Categorical { reference, current } => categorical_value(method, reference, current),
        }
    }
}

fn categorical_value(method: DriftMethod, reference: &[u64], current: &[u64]) -> Result<f64, FeatureError> {
    Ok(match method {
        DriftMethod::Ks | DriftMethod::Wasserstein => return Err(FeatureError::NumericOnly(method)),
        DriftMethod::Psi => categorical::psi(reference, current),
        DriftMethod::JensenShannon => categorical::jensen_shannon(reference, current),
        DriftMethod::KlDivergence => categorical::kl_divergence(reference, current),
        DriftMethod::Hellinger => categorical::hellinger(reference, current),
        DriftMethod::ChiSquare => categorical::chi_square_p_value(reference, current),
        DriftMethod::Z => categorical::z_p_value(reference, current),
    })
}

/// Evidently's column typing (`_get_column_type`), applied to the current sample as
/// pandas would type it: text or booleans make it categorical; decimals or missing values
/// (float64) numeric; integers alone (int64) categorical when the reference has at most
/// 5 distinct values (`nunique`, or the current's when the reference has none).
pub(crate) fn inferred_kind(reference: &Column, current: &Column) -> FeatureKind {
    let sample = if current.is_empty() { reference } else { current };
    if let Values::Categories { .. } = sample.values() {
        return FeatureKind::Categorical;
    }
    if !sample.integers_only() {
        return FeatureKind::Numeric;
    }
    let limit = MAX_INTEGER_CATEGORIES + 1;
    let distinct = match reference.distinct_up_to(limit) {
        0 => current.distinct_up_to(limit),
        count => count,
    };
    if distinct <= MAX_INTEGER_CATEGORIES { FeatureKind::Categorical } else { FeatureKind::Numeric }
}

/// The sample's numbers without nulls and non-finite values (Evidently drops both);
/// booleans are 0 and 1, text is refused.
fn numbers(column: &Column, sample: Sample) -> Result<Vec<f64>, FeatureError> {
    match column.values() {
        Values::Numbers(numbers) if column.missing() == 0 => Ok(numbers.clone()),
        Values::Numbers(numbers) => {
            let mut present = Vec::with_capacity(numbers.len() - column.missing());
            present.extend(numbers.iter().copied().filter(|number| !number.is_nan()));
            Ok(present)
        }
        Values::Categories { codes, categories } => {
            let as_number = |value: &FeatureValue| match value {
                FeatureValue::Bool(flag) => Some(f64::from(u8::from(*flag))),
                FeatureValue::Integer(integer) => Some(*integer as f64),
                FeatureValue::Float(float) => Some(*float),
                FeatureValue::Missing | FeatureValue::Text(_) => None,
            };
            let numbers: Vec<Option<f64>> = categories.iter().map(as_number).collect();
            let mut values = Vec::with_capacity(codes.len());
            for (index, &code) in codes.iter().enumerate().filter(|(_, code)| **code != MISSING) {
                match numbers[code as usize] {
                    Some(number) => values.push(number),
                    None => {
                        let value = match &categories[code as usize] {
                            FeatureValue::Text(text) => format!("the text {text:?}"),
                            other => format!("{other:?}"),
                        };
                        return Err(FeatureError::NotNumeric { sample, index, value });
                    }
                }
            }
            Ok(values)
        }
    }
}

/// A category, borrowed from the values: numbers compare by value (1 and 1.0 are one
/// category, as in pandas).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Category<'a> {
    Bool(bool),
    Number(f64),
    Text(&'a str),
}

impl<'a> Category<'a> {
    fn of(value: &'a FeatureValue) -> Option<Category<'a>> {
        match value {
            FeatureValue::Missing => None,
            FeatureValue::Bool(flag) => Some(Category::Bool(*flag)),
            FeatureValue::Integer(integer) => Some(Category::Number(*integer as f64)),
            // Evidently drops infinities with the NaNs.
            FeatureValue::Float(float) if !float.is_finite() => None,
            FeatureValue::Float(float) => Some(Category::Number(*float)),
            FeatureValue::Text(text) => Some(Category::Text(text)),
        }
    }

    /// A hashable identity (-0.0 and 0.0 are one number).
    fn key(self) -> (u8, u64, &'a str) {
        match self {
            Category::Bool(flag) => (0, u64::from(flag), ""),
            Category::Number(number) => (1, (number + 0.0).to_bits(), ""),
            Category::Text(text) => (2, 0, text),
        }
    }
}

/// The identity of a value as a category (1 and 1.0 are one); `None` for missing values.
pub(crate) fn category_key(value: &FeatureValue) -> Option<(u8, u64, &str)> {
    Category::of(value).map(Category::key)
}

/// Counts per category in both samples, categories in sorted order (booleans, then
/// numbers, then strings) — the order Evidently's z-test uses to pick the first one.
fn category_counts(reference: &Column, current: &Column) -> (Vec<u64>, Vec<u64>) {
    let (reference, current) = (reference.value_counts(), current.value_counts());
    let reference = reference.iter().map(|(value, count)| (value, *count));
    weighted_category_counts(reference, current.iter().map(|(value, count)| (value, *count)))
        .into_iter()
        .map(|(_, reference, current)| (reference, current))
        .unzip()
}

/// Each category of two samples of values with weights (1 for a raw value, its count for
/// a stored category) in sorted order, with its first value and its count in each.
fn weighted_category_counts<'a>(
    reference: impl Iterator<Item = (&'a FeatureValue, u64)>,
    current: impl Iterator<Item = (&'a FeatureValue, u64)>,
) -> Vec<(&'a FeatureValue, u64, u64)> {
    let mut index: FxHashMap<(u8, u64, &str), usize> = FxHashMap::default();
    let mut distinct: Vec<(Category<'_>, &FeatureValue, [u64; 2])> = Vec::new();
    let mut count = |sample: usize, value: &'a FeatureValue, weight: u64| {
        let Some(category) = Category::of(value) else { return };
        let slot = *index.entry(category.key()).or_insert_with(|| {
            distinct.push((category, value, [0, 0]));
            distinct.len() - 1
        });
        distinct[slot].2[sample] += weight;
    };
    reference.for_each(|(value, weight)| count(0, value, weight));
    current.for_each(|(value, weight)| count(1, value, weight));
    distinct.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    distinct.into_iter().map(|(_, value, [reference, current])| (value, reference, current)).collect()
}

/// The smallest and the largest of finite values (∞ and −∞ for none), eight at a time
/// so the compiler can use vector instructions.
pub(super) fn extremes(values: &[f64]) -> (f64, f64) {
    let (mut low, mut high) = ([f64::INFINITY; 8], [f64::NEG_INFINITY; 8]);
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for lane in 0..8 {
            low[lane] = if chunk[lane] < low[lane] { chunk[lane] } else { low[lane] };
            high[lane] = if chunk[lane] > high[lane] { chunk[lane] } else { high[lane] };
        }
    }
    let low = low.iter().chain(rest).fold(f64::INFINITY, |low, value| low.min(*value));
    let high = high.iter().chain(rest).fold(f64::NEG_INFINITY, |high, value| high.max(*value));
    (low, high)
}

/// Walks two sorted samples together: each distinct value of either, with how many
/// values of each sample are ≤ it (every copy of a value is passed at once).
fn merged_steps<'a>(u: &'a [f64], v: &'a [f64]) -> impl Iterator<Item = (f64, usize, usize)> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let value = match (u.get(i), v.get(j)) {
            (Some(a), Some(b)) => a.min(*b),
            (Some(a), None) => *a,
            (None, Some(b)) => *b,
            (None, None) => return None,
        };
        while i < u.len() && u[i] <= value {
            i += 1;
        }
        while j < v.len() && v[j] <= value {
            j += 1;
        }
        Some((value, i, j))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use serde::Deserialize;
    use serde::de::DeserializeOwned;

    use super::*;

    #[derive(Deserialize)]
    struct Fixtures<Case> {
        generated_by: String,
        cases: Vec<Case>,
    }

    /// The cases of a fixture file written by `tests/fixtures/drift/generate.py`.
    pub(crate) fn fixtures<Case: DeserializeOwned>(json: &str) -> Vec<Case> {
        let fixtures: Fixtures<Case> = serde_json::from_str(json).expect("fixtures");
        assert!(fixtures.generated_by.starts_with("evidently 0.7"), "{}", fixtures.generated_by);
        fixtures.cases
    }

    pub(crate) fn assert_agrees(statistic: &str, case: &str, ours: f64, theirs: f64) {
        let relative = if theirs == 0.0 { ours.abs() } else { ((ours - theirs) / theirs).abs() };
        assert!(
            relative <= 1e-9,
            "{statistic} of '{case}': {ours} here, {theirs} from Evidently/scipy (relative {relative:e})"
        );
    }

    #[derive(Deserialize)]
    struct ColumnCase {
        name: String,
        reference: Vec<FeatureValue>,
        current: Vec<FeatureValue>,
        /// Only in column_types.json.
        #[serde(default)]
        column_type: String,
        default_method: String,
    }

    #[test]
    fn kinds_and_default_methods_are_evidentlys() {
        let evidently_name = |method: DriftMethod| match method {
            DriftMethod::JensenShannon => "jensenshannon",
            DriftMethod::ChiSquare => "chisquare",
            other => other.name(),
        };
        let cases = fixtures::<ColumnCase>(include_str!("../../../tests/fixtures/drift/column_types.json"));
        let categorical = fixtures::<ColumnCase>(include_str!("../../../tests/fixtures/drift/categorical.json"));
        for case in cases.iter().chain(&categorical) {
            let (reference, current) = (Column::from_values(&case.reference), Column::from_values(&case.current));
            let feature = Feature::new(&reference, &current, None).expect("feature");
            if !case.column_type.is_empty() {
                let kind = match feature.kind() {
                    FeatureKind::Numeric => "num",
                    FeatureKind::Categorical => "cat",
                };
                assert_eq!(kind, case.column_type, "type of '{}'", case.name);
            }
            assert_eq!(evidently_name(feature.default_method()), case.default_method, "method of '{}'", case.name);
        }
    }

    #[test]
    fn missing_values_are_left_out_and_empty_samples_refused() {
        let values =
            |json: &str| Column::from_values(&serde_json::from_str::<Vec<FeatureValue>>(json).expect("values"));
        let feature = Feature::new(&values("[1.5, null, 2.5]"), &values("[null, 3.5]"), None).expect("feature");
        assert_eq!(feature.counts(), (2, 1));
        assert_eq!(Feature::new(&values("[1.5]"), &values("[null]"), None), Err(FeatureError::Empty(Sample::Current)));
        assert_eq!(
            Feature::new(&values("[1.5]"), &values(r#"[2.5, "x"]"#), Some(FeatureKind::Numeric))
                .map_err(|error| error.to_string()),
            Err("a numeric feature holds only numbers: current[1] is the text \"x\"".to_string())
        );
    }

    #[test]
    fn awkward_samples_give_an_answer_or_a_reason_never_a_panic() {
        let awkward = [0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, 7.0, 7.0, 0.5, 3.0, f64::MAX, f64::MIN_POSITIVE];
        let mut state = 3_u64;
        let mut next = move |bound: usize| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as usize % bound
        };
        for _ in 0..400 {
            let mut sample = || -> Vec<FeatureValue> {
                let length = 1 + next(60);
                (0..length)
                    .map(|_| match next(7) {
                        0 => FeatureValue::Missing,
                        1 => FeatureValue::Integer(next(5) as i64),
                        2 => FeatureValue::Text(["a", "b", ""][next(3)].to_owned()),
                        3 | 4 => FeatureValue::Float(next(1000) as f64 * 0.37),
                        _ => FeatureValue::Float(awkward[next(awkward.len())]),
                    })
                    .collect()
            };
            let (reference, current) = (sample(), sample());
            for kind in [None, Some(FeatureKind::Numeric), Some(FeatureKind::Categorical)] {
                match report(&reference, &current, kind, Some(&DriftMethod::ALL), &[]) {
                    Ok(report) => {
                        for result in report.results {
                            assert!(!result.value.is_nan(), "{result:?} for {reference:?} vs {current:?}");
                        }
                    }
                    Err(error) => assert!(!error.to_string().is_empty()),
                }
            }
        }
    }

    #[test]
    fn numeric_only_methods_refuse_categories() {
        let values =
            |json: &str| Column::from_values(&serde_json::from_str::<Vec<FeatureValue>>(json).expect("values"));
        let feature = Feature::new(&values(r#"["a", "b"]"#), &values(r#"["a"]"#), None).expect("feature");
        assert_eq!(feature.value(DriftMethod::Ks), Err(FeatureError::NumericOnly(DriftMethod::Ks)));
    }
}
