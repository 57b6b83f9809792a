//! A reference column kept for comparisons with live data: everything the statistics
//! and the data-quality checks need, and nothing else.
//!
//! Numbers are kept sorted, all of them up to `MAX_STORED_VALUES`; a larger reference
//! keeps that many evenly spaced order statistics (the smallest and largest included)
//! with its true size and spread. Its distribution function then differs from the full
//! sample's by less than 1 / 99,999 anywhere, so KS statistics, bin shares (PSI,
//! Jensen–Shannon, KL, Hellinger) and Wasserstein's integrand move by at most that
//! much; sample sizes (KS p-values, Sturges bin counts, the choice of test) are the
//! full sample's. Categories are kept exactly, as counts.

use keel_shared::drift::{FeatureKind, FeatureValue};
use keel_shared::monitoring::{HistogramBin, ReferenceColumnSummary};
use serde::{Deserialize, Serialize};

use super::numeric::NumericReference;
use super::{Feature, FeatureError, Sample, extremes, inferred_kind, numbers, weighted_category_counts};
use crate::analysis::column::Column;
use crate::analysis::quality::SampleSummary;

/// Numbers of one reference column stored exactly; beyond, order statistics.
pub const MAX_STORED_VALUES: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceColumn {
    pub summary: SampleSummary,
    pub values: ReferenceValues,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReferenceValues {
    Numeric {
        /// Values the reference had (nulls left out).
        count: u64,
        std: f64,
        /// Ascending; all values, or `MAX_STORED_VALUES` order statistics.
        kept: Vec<f64>,
    },
    /// Each category with its count, in sorted order.
    Categorical(Vec<(FeatureValue, u64)>),
}

/// The JSON part of a stored column (numbers' kept values are stored as bytes beside it).
#[derive(Serialize, Deserialize)]
struct StoredSummary {
    kind: FeatureKind,
    missing_share: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    std: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    categories: Option<Vec<(FeatureValue, u64)>>,
}

impl ReferenceColumn {
    /// The column's values prepared for storage, typed as Evidently would type them on
    /// their own (see `Feature::new`) unless `kind` is given.
    pub fn new(values: &Column, kind: Option<FeatureKind>) -> Result<ReferenceColumn, FeatureError> {
        let summary = SampleSummary::of(values);
        let kind = kind.unwrap_or_else(|| inferred_kind(values, values));
        let values = match kind {
            FeatureKind::Numeric => {
                let numbers = numbers(values, Sample::Reference)?;
                if numbers.is_empty() {
                    return Err(FeatureError::Empty(Sample::Reference));
                }
                let count = numbers.len() as u64;
                let prepared = NumericReference::new(numbers);
                ReferenceValues::Numeric { count, std: prepared.std(), kept: prepared.kept(MAX_STORED_VALUES) }
            }
            FeatureKind::Categorical => {
                let counts = values.value_counts();
                let counts: Vec<(FeatureValue, u64)> =
                    weighted_category_counts(counts.iter().map(|(value, count)| (value, *count)), std::iter::empty())
                        .into_iter()
                        .map(|(value, count, _)| (value.clone(), count))
                        .collect();
                if counts.is_empty() {
                    return Err(FeatureError::Empty(Sample::Reference));
                }
                ReferenceValues::Categorical(counts)
            }
        };
        Ok(ReferenceColumn { summary, values })
    }

    pub fn kind(&self) -> FeatureKind {
        match self.values {
            ReferenceValues::Numeric { .. } => FeatureKind::Numeric,
            ReferenceValues::Categorical(_) => FeatureKind::Categorical,
        }
    }

    /// The current values against this reference.
    pub fn compare(&self, current: &Column) -> Result<Feature, FeatureError> {
        let feature = match &self.values {
            ReferenceValues::Numeric { count, std, kept } => {
                let current = numbers(current, Sample::Current)?;
                let (low, high) = extremes(&current);
                let (low, high) = (low.min(kept[0]), high.max(kept[kept.len() - 1]));
                if !(high - low).is_finite() {
                    return Err(FeatureError::RangeTooWide);
                }
                Feature::Numeric {
                    reference: NumericReference::from_kept(kept.clone(), *count as usize, *std),
                    current,
                }
            }
            ReferenceValues::Categorical(counts) => {
                let stored = counts.iter().map(|(value, count)| (value, *count));
                let current = current.value_counts();
                let (reference, current) =
                    weighted_category_counts(stored, current.iter().map(|(value, count)| (value, *count)))
                        .into_iter()
                        .map(|(_, reference, current)| (reference, current))
                        .unzip();
                Feature::Categorical { reference, current }
            }
        };
        if feature.counts().1 == 0 {
            return Err(FeatureError::Empty(Sample::Current));
        }
        Ok(feature)
    }

    /// The column as stored: a JSON summary and, for numbers, the kept values as
    /// little-endian f64s.
    pub fn to_stored(&self) -> (String, Vec<u8>) {
        let mut stored = StoredSummary {
            kind: self.kind(),
            missing_share: self.summary.missing_share,
            value_type: self.summary.value_type.clone(),
            count: None,
            std: None,
            categories: None,
        };
        let bytes = match &self.values {
            ReferenceValues::Numeric { count, std, kept } => {
                (stored.count, stored.std) = (Some(*count), Some(*std));
                kept.iter().flat_map(|value| value.to_le_bytes()).collect()
            }
            ReferenceValues::Categorical(counts) => {
                stored.categories = Some(counts.clone());
                Vec::new()
            }
        };
        (serde_json::to_string(&stored).unwrap_or_default(), bytes)
    }

    /// The column `to_stored` wrote; `None` if the parts do not fit together.
    pub fn from_stored(summary: &str, bytes: &[u8]) -> Option<ReferenceColumn> {
        let stored: StoredSummary = serde_json::from_str(summary).ok()?;
        let values = match stored.kind {
            FeatureKind::Numeric => {
                let kept: Vec<f64> = bytes
                    .chunks_exact(8)
                    .map(|chunk| f64::from_le_bytes(chunk.try_into().unwrap_or_default()))
                    .collect();
                if kept.is_empty() || !bytes.len().is_multiple_of(8) {
                    return None;
                }
                ReferenceValues::Numeric { count: stored.count?, std: stored.std?, kept }
            }
            FeatureKind::Categorical => ReferenceValues::Categorical(stored.categories?),
        };
        let summary = SampleSummary { missing_share: stored.missing_share, value_type: stored.value_type };
        Some(ReferenceColumn { summary, values })
    }

    /// Reference and current shares over the same bins, for drawing them over each other:
    /// `HISTOGRAM_BINS` equal-width bins over both samples' range, or the categories
    /// (the `HISTOGRAM_BINS - 1` largest in either sample, the rest as "other").
    pub fn histogram(&self, current: &Column) -> Vec<HistogramBin> {
        match &self.values {
            ReferenceValues::Numeric { kept, .. } => {
                let Ok(current) = numbers(current, Sample::Current) else { return Vec::new() };
                let (low, high) = extremes(&current);
                let (low, high) = (low.min(kept[0]), high.max(kept[kept.len() - 1]));
                let width = (high - low) / HISTOGRAM_BINS as f64;
                if !width.is_finite() {
                    return Vec::new();
                }
                let bin = |value: f64| {
                    if width == 0.0 { 0 } else { (((value - low) / width) as usize).min(HISTOGRAM_BINS - 1) }
                };
                let bins = if width == 0.0 { 1 } else { HISTOGRAM_BINS };
                let shares = |values: &[f64]| {
                    let mut counts = vec![0.0; bins];
                    values.iter().for_each(|value| counts[bin(*value)] += 1.0);
                    counts.iter().map(|count| count / values.len().max(1) as f64).collect::<Vec<f64>>()
                };
                let (reference, current) = (shares(kept), shares(&current));
                (0..bins)
                    .map(|index| {
                        let start = low + width * index as f64;
                        HistogramBin {
                            label: format!("{} – {}", short_number(start), short_number(start + width)),
                            reference: reference[index],
                            current: current[index],
                        }
                    })
                    .collect()
            }
            ReferenceValues::Categorical(counts) => {
                let stored = counts.iter().map(|(value, count)| (value, *count));
                let current = current.value_counts();
                let counted = weighted_category_counts(stored, current.iter().map(|(value, count)| (value, *count)));
                let totals =
                    counted.iter().fold((0, 0), |(a, b), (_, reference, current)| (a + reference, b + current));
                let share = |count: u64, total: u64| count as f64 / total.max(1) as f64;
                let mut bins: Vec<HistogramBin> = counted
                    .into_iter()
                    .map(|(value, reference, current)| HistogramBin {
                        label: category_label(value),
                        reference: share(reference, totals.0),
                        current: share(current, totals.1),
                    })
                    .collect();
                bins.sort_by(|a, b| b.reference.max(b.current).total_cmp(&a.reference.max(a.current)));
                if bins.len() > HISTOGRAM_BINS {
                    let rest = bins.split_off(HISTOGRAM_BINS - 1);
                    bins.push(HistogramBin {
                        label: format!("{} others", rest.len()),
                        reference: rest.iter().map(|bin| bin.reference).sum(),
                        current: rest.iter().map(|bin| bin.current).sum(),
                    });
                }
                bins
            }
        }
    }

    /// A stored column as lists show it, from its JSON summary and the length of its
    /// stored values alone (the values themselves need not be read).
    pub fn summary_of_stored(name: String, summary: &str, stored_bytes: u64) -> Option<ReferenceColumnSummary> {
        let stored: StoredSummary = serde_json::from_str(summary).ok()?;
        let (values, stored_values, categories) = match (stored.kind, stored.categories) {
            (FeatureKind::Numeric, _) => (stored.count?, Some(stored_bytes / 8), None),
            (FeatureKind::Categorical, categories) => {
                let categories = categories?;
                (categories.iter().map(|(_, count)| count).sum(), None, Some(categories.len() as u64))
            }
        };
        Some(ReferenceColumnSummary { name, kind: stored.kind, values, stored_values, categories })
    }
}

/// Bars of a histogram overlay.
pub const HISTOGRAM_BINS: usize = 20;

fn category_label(value: &FeatureValue) -> String {
    match value {
        FeatureValue::Missing => "null".to_owned(),
        FeatureValue::Bool(flag) => flag.to_string(),
        FeatureValue::Integer(integer) => integer.to_string(),
        FeatureValue::Float(float) => float.to_string(),
        FeatureValue::Text(text) => text.clone(),
    }
}

/// A bin edge for people: four significant digits.
fn short_number(value: f64) -> String {
    if value == 0.0 {
        "0".to_owned()
    } else if (1e-3..1e6).contains(&value.abs()) {
        let decimals = (3 - value.abs().log10().floor() as i32).clamp(0, 6) as usize;
        let text = format!("{value:.decimals$}");
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
    } else {
        format!("{value:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use keel_shared::drift::DriftMethod;

    use super::*;

    fn values(json: &str) -> Column {
        Column::from_values(&serde_json::from_str::<Vec<FeatureValue>>(json).expect("values"))
    }

    fn numbers(values: impl Iterator<Item = f64>) -> Column {
        Column::from_values(&values.map(FeatureValue::Float).collect::<Vec<_>>())
    }

    #[test]
    fn a_stored_reference_gives_the_numbers_of_the_raw_one() {
        let reference = numbers((0..5_000).map(|i| ((i * 7919) % 5_000) as f64 / 37.0));
        let current = numbers((0..3_000).map(|i| i as f64 / 29.0 + 3.0));
        let raw = Feature::new(&reference, &current, None).expect("raw");
        let column = ReferenceColumn::new(&reference, None).expect("column");
        let (summary, bytes) = column.to_stored();
        let stored = ReferenceColumn::from_stored(&summary, &bytes).expect("decodes");
        assert_eq!(stored, column);
        let from_store = stored.compare(&current).expect("stored");
        for method in [DriftMethod::Ks, DriftMethod::Psi, DriftMethod::Wasserstein, DriftMethod::JensenShannon] {
            assert_eq!(from_store.value(method), raw.value(method), "{method:?}");
        }
    }

    #[test]
    fn categories_are_counted_once_and_compared_by_value() {
        let column = ReferenceColumn::new(&values(r#"["b", "a", "b", null, "c"]"#), None).expect("column");
        assert_eq!(column.summary.missing_share, 0.2);
        let ReferenceValues::Categorical(counts) = &column.values else { panic!("categorical") };
        let names: Vec<_> = counts.iter().map(|(value, count)| (value.clone(), *count)).collect();
        assert_eq!(
            names,
            [
                (FeatureValue::Text("a".into()), 1),
                (FeatureValue::Text("b".into()), 2),
                (FeatureValue::Text("c".into()), 1)
            ]
        );
        let current = values(r#"["a", "d", "d"]"#);
        let from_store = column.compare(&current).expect("compare");
        let raw = Feature::new(&values(r#"["b", "a", "b", null, "c"]"#), &current, None).expect("raw");
        assert_eq!(from_store, raw);
    }

    #[test]
    fn a_large_reference_keeps_order_statistics_within_the_documented_tolerance() {
        let n = 250_000;
        let reference = numbers((0..n).map(|i| ((i as u64 * 2_654_435_761) % 1_000_003) as f64));
        let current = numbers((0..20_000).map(|i| i as f64 * 40.0 + 100.0));
        let column = ReferenceColumn::new(&reference, None).expect("column");
        let (summary, bytes) = column.to_stored();
        let listed = ReferenceColumn::summary_of_stored("x".into(), &summary, bytes.len() as u64).expect("summary");
        assert_eq!((listed.values, listed.stored_values), (n as u64, Some(MAX_STORED_VALUES as u64)));
        let compact = column.compare(&current).expect("compact");
        let exact = Feature::new(&reference, &current, Some(FeatureKind::Numeric)).expect("exact");
        assert_eq!(compact.counts(), exact.counts(), "sample sizes are the full reference's");
        let statistic = |feature: &Feature| {
            let Feature::Numeric { reference, current } = feature else { panic!("numeric") };
            super::super::ks::ks_2samp(reference, current).statistic
        };
        let tolerance = 1.0 / (MAX_STORED_VALUES - 1) as f64;
        assert!((statistic(&compact) - statistic(&exact)).abs() <= tolerance);
        for method in [DriftMethod::Psi, DriftMethod::JensenShannon, DriftMethod::Wasserstein] {
            let (compact, exact) = (compact.value(method).expect("compact"), exact.value(method).expect("exact"));
            assert!((compact - exact).abs() <= 1e-3 * exact.abs().max(1e-3), "{method:?}: {compact} vs {exact}");
        }
    }

    #[test]
    fn histograms_share_bins_and_keep_the_largest_categories() {
        let column = ReferenceColumn::new(&values("[0.0, 1.0, 2.0, 3.0]"), None).expect("column");
        let bins = column.histogram(&values("[3.0, 4.0]"));
        assert_eq!(bins.len(), HISTOGRAM_BINS);
        assert_eq!((bins[0].label.as_str(), bins[0].reference, bins[0].current), ("0 – 0.2", 0.25, 0.0));
        assert_eq!((bins[19].label.as_str(), bins[19].reference, bins[19].current), ("3.8 – 4", 0.0, 0.5));
        let sums = bins.iter().fold((0.0, 0.0), |(a, b), bin| (a + bin.reference, b + bin.current));
        assert_eq!(sums, (1.0, 1.0));

        let many = Column::from_values(&(0..30).map(|i| FeatureValue::Text(format!("c{i:02}"))).collect::<Vec<_>>());
        let column = ReferenceColumn::new(&many, Some(FeatureKind::Categorical)).expect("column");
        let bins = column.histogram(&values(r#"["c05", "c05", "new"]"#));
        assert_eq!(bins.len(), HISTOGRAM_BINS);
        assert_eq!((bins[0].label.as_str(), bins[0].current), ("c05", 2.0 / 3.0));
        assert_eq!(bins[1].label, "new");
        assert_eq!(bins[19].label, "12 others");
    }

    #[test]
    fn stored_parts_that_do_not_fit_are_refused() {
        assert_eq!(ReferenceColumn::from_stored(r#"{"kind":"numeric","missing_share":0}"#, &[0; 8]), None);
        assert_eq!(
            ReferenceColumn::from_stored(r#"{"kind":"numeric","missing_share":0,"count":1,"std":0}"#, &[]),
            None
        );
        assert_eq!(ReferenceColumn::from_stored("not json", &[]), None);
    }
}
