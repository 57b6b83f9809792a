//! Data quality of one feature, current against reference: how much is missing, how
//! much the reference never showed (numbers outside its range, categories it lacks),
//! how many distinct values each holds, and whether the two look like different types.

use keel_shared::drift::{FeatureKind, FeatureQuality, FeatureValue};
use rustc_hash::FxHashSet;

use super::drift::Category;

/// Distinct values are counted up to this many: enough to see a category appear or
/// vanish, cheap for continuous numbers (where every value is distinct anyway).
pub const MAX_COUNTED_DISTINCT: usize = 1_000;

pub fn feature_quality(reference: &[FeatureValue], current: &[FeatureValue], kind: FeatureKind) -> FeatureQuality {
    let missing_share = |values: &[FeatureValue]| {
        if values.is_empty() {
            return 0.0;
        }
        values.iter().filter(|value| is_missing(value)).count() as f64 / values.len() as f64
    };
    let present_current = current.iter().filter(|value| !is_missing(value)).count();
    let unseen = match kind {
        FeatureKind::Numeric => {
            let numbers = |values: &[FeatureValue]| -> Vec<f64> { values.iter().filter_map(number).collect() };
            let reference = numbers(reference);
            let (low, high) = reference
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| (low.min(*value), high.max(*value)));
            numbers(current).iter().filter(|value| **value < low || **value > high).count()
        }
        FeatureKind::Categorical => {
            let known: FxHashSet<_> = reference.iter().filter_map(category).collect();
            current.iter().filter_map(category).filter(|value| !known.contains(value)).count()
        }
    };
    let (reference_type, current_type) = (value_type(reference), value_type(current));
    FeatureQuality {
        missing_share_reference: missing_share(reference),
        missing_share_current: missing_share(current),
        unseen_share_current: if present_current == 0 { 0.0 } else { unseen as f64 / present_current as f64 },
        distinct_reference: distinct(reference),
        distinct_current: distinct(current),
        type_mismatch: (reference_type.is_some() && current_type.is_some() && reference_type != current_type).then(
            || format!("reference holds {}, current {}", reference_type.unwrap_or(""), current_type.unwrap_or("")),
        ),
    }
}

fn is_missing(value: &FeatureValue) -> bool {
    match value {
        FeatureValue::Missing => true,
        FeatureValue::Float(float) => !float.is_finite(),
        _ => false,
    }
}

fn number(value: &FeatureValue) -> Option<f64> {
    match value {
        FeatureValue::Integer(integer) => Some(*integer as f64),
        FeatureValue::Float(float) if float.is_finite() => Some(*float),
        FeatureValue::Bool(flag) => Some(f64::from(u8::from(*flag))),
        _ => None,
    }
}

/// A value as a category key (numbers by value: 1 and 1.0 are one).
fn category(value: &FeatureValue) -> Option<(u8, u64, &str)> {
    Category::of(value).map(Category::key)
}

fn distinct(values: &[FeatureValue]) -> usize {
    let mut seen = FxHashSet::default();
    for key in values.iter().filter_map(category) {
        seen.insert(key);
        if seen.len() >= MAX_COUNTED_DISTINCT {
            break;
        }
    }
    seen.len()
}

/// "numbers", "text", "booleans" or "mixed values"; `None` when nothing is present.
fn value_type(values: &[FeatureValue]) -> Option<&'static str> {
    let mut found = None;
    for value in values {
        let kind = match value {
            FeatureValue::Missing => continue,
            FeatureValue::Float(float) if !float.is_finite() => continue,
            FeatureValue::Integer(_) | FeatureValue::Float(_) => "numbers",
            FeatureValue::Text(_) => "text",
            FeatureValue::Bool(_) => "booleans",
        };
        match found {
            None => found = Some(kind),
            Some(earlier) if earlier != kind => return Some("mixed values"),
            Some(_) => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(json: &str) -> Vec<FeatureValue> {
        serde_json::from_str(json).expect("values")
    }

    #[test]
    fn numbers_outside_the_reference_range_and_missing_values_are_counted() {
        let quality =
            feature_quality(&values("[1, 2, 3, null]"), &values("[0.5, 2, 4, 5, null]"), FeatureKind::Numeric);
        assert_eq!(quality.missing_share_reference, 0.25);
        assert_eq!(quality.missing_share_current, 0.2);
        assert_eq!(quality.unseen_share_current, 0.75, "0.5, 4 and 5 of the 4 present values");
        assert_eq!((quality.distinct_reference, quality.distinct_current), (3, 4));
        assert_eq!(quality.type_mismatch, None);
    }

    #[test]
    fn new_categories_and_a_change_of_type_are_reported() {
        let quality =
            feature_quality(&values(r#"["a", "b", "a"]"#), &values(r#"["a", "c", "c", 7]"#), FeatureKind::Categorical);
        assert_eq!(quality.unseen_share_current, 0.75);
        assert_eq!(quality.type_mismatch.as_deref(), Some("reference holds text, current mixed values"));
    }
}
