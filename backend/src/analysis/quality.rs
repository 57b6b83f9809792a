//! Data quality of one feature, current against reference: how much is missing, how
//! much the reference never showed (numbers outside its range, categories it lacks),
//! how many distinct values each holds, and whether the two look like different types.
//! Whatever needs the values counted comes from the drift `Feature`, which has counted
//! them already.

use keel_shared::drift::FeatureQuality;
use rustc_hash::FxHashSet;

use super::column::Column;
use super::drift::Feature;

/// Distinct values are counted up to this many: enough to see a category appear or
/// vanish, cheap for continuous numbers (where every value is distinct anyway).
pub const MAX_COUNTED_DISTINCT: usize = 1_000;

/// What quality checks need of a sample beyond its drift comparison (a stored reference
/// keeps it).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleSummary {
    /// Share of nulls and non-finite numbers.
    pub missing_share: f64,
    /// "numbers", "text", "booleans" or "mixed values"; `None` when nothing is present.
    pub value_type: Option<String>,
}

impl SampleSummary {
    pub fn of(column: &Column) -> SampleSummary {
        let missing_share = if column.is_empty() { 0.0 } else { column.missing() as f64 / column.len() as f64 };
        SampleSummary { missing_share, value_type: column.value_type().map(|found| found.name().to_owned()) }
    }
}

/// The quality of a feature's current values against its reference's; `feature` is their
/// drift comparison, when they could be compared (without it, only the missing shares
/// and types are known).
pub fn feature_quality(reference: &SampleSummary, current: &Column, feature: Option<&Feature>) -> FeatureQuality {
    let (unseen_share_current, distinct_reference, distinct_current) = match feature {
        Some(Feature::Categorical { reference, current }) => {
            let unseen: u64 =
                reference.iter().zip(current).filter(|(seen, _)| **seen == 0).map(|(_, count)| count).sum();
            let used = |counts: &[u64]| counts.iter().filter(|count| **count > 0).count().min(MAX_COUNTED_DISTINCT);
            (Some(unseen as f64 / current.iter().sum::<u64>() as f64), Some(used(reference)), Some(used(current)))
        }
        Some(Feature::Numeric { reference, current }) => {
            let (low, high) = reference.extremes();
            let unseen = current.iter().filter(|value| **value < low || **value > high).count();
            let distinct = |values: &[f64]| {
                let mut seen = FxHashSet::default();
                for value in values {
                    // -0.0 and 0.0 are one value.
                    seen.insert((value + 0.0).to_bits());
                    if seen.len() == MAX_COUNTED_DISTINCT {
                        break;
                    }
                }
                seen.len()
            };
            (Some(unseen as f64 / current.len() as f64), Some(distinct(reference.values())), Some(distinct(current)))
        }
        None => (None, None, None),
    };
    let current = SampleSummary::of(current);
    let (reference_type, current_type) = (reference.value_type.as_deref(), current.value_type.as_deref());
    FeatureQuality {
        missing_share_reference: reference.missing_share,
        missing_share_current: current.missing_share,
        unseen_share_current,
        distinct_reference,
        distinct_current,
        type_mismatch: (reference_type.is_some() && current_type.is_some() && reference_type != current_type).then(
            || format!("reference holds {}, current {}", reference_type.unwrap_or(""), current_type.unwrap_or("")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use keel_shared::drift::{FeatureKind, FeatureValue};

    use super::*;

    fn quality(reference: &str, current: &str, kind: FeatureKind) -> FeatureQuality {
        let values =
            |json: &str| Column::from_values(&serde_json::from_str::<Vec<FeatureValue>>(json).expect("values"));
        let (reference, current) = (values(reference), values(current));
        let feature = Feature::new(&reference, &current, Some(kind)).expect("comparable");
        feature_quality(&SampleSummary::of(&reference), &current, Some(&feature))
    }

    #[test]
    fn numbers_outside_the_reference_range_and_missing_values_are_counted() {
        let quality = quality("[1, 2, 3, null]", "[0.5, 2, 4, 5, null]", FeatureKind::Numeric);
        assert_eq!(quality.missing_share_reference, 0.25);
        assert_eq!(quality.missing_share_current, 0.2);
        assert_eq!(quality.unseen_share_current, Some(0.75), "0.5, 4 and 5 of the 4 present values");
        assert_eq!((quality.distinct_reference, quality.distinct_current), (Some(3), Some(4)));
        assert_eq!(quality.type_mismatch, None);
    }

    #[test]
    fn new_categories_and_a_change_of_type_are_reported() {
        let quality = quality(r#"["a", "b", "a"]"#, r#"["a", "c", "c", 7]"#, FeatureKind::Categorical);
        assert_eq!(quality.unseen_share_current, Some(0.75));
        assert_eq!((quality.distinct_reference, quality.distinct_current), (Some(2), Some(3)));
        assert_eq!(quality.type_mismatch.as_deref(), Some("reference holds text, current mixed values"));
    }

    #[test]
    fn values_that_cannot_be_compared_still_show_what_is_missing() {
        let reference = Column::from_values(&serde_json::from_str::<Vec<FeatureValue>>("[1.5, 2.5]").expect("values"));
        let current = Column::from_values(&[FeatureValue::Missing, FeatureValue::Float(f64::NAN)]);
        let quality = feature_quality(&SampleSummary::of(&reference), &current, None);
        assert_eq!(quality.missing_share_current, 1.0);
        assert_eq!((quality.unseen_share_current, quality.distinct_current), (None, None));
    }
}
