//! Group fairness of a binary classifier with Fairlearn 0.15's definitions: per group the
//! selection rate and the true and false positive rates (sklearn's confusion matrix
//! normalised by row, an empty row giving 0); between groups the difference (max − min)
//! and the ratio (min / max, NaN when max is 0) of each; equalized odds takes the worse of
//! the TPR and FPR figures (`agg="worst_case"`), in Fairlearn's order (TPR first, so a NaN
//! TPR ratio wins as Python's `min` lets it).

use keel_shared::evidence::{AttributeFairness, FairnessThresholds, GroupRates};
use rustc_hash::FxHashMap;

/// Counts of one group: rows, predicted positives, and the confusion cells.
#[derive(Debug, Clone, Copy, Default)]
struct GroupCounts {
    rows: u64,
    predicted_positive: u64,
    true_positive: u64,
    /// Rows whose truth is positive.
    positives: u64,
    false_positive: u64,
    /// Rows whose truth is negative.
    negatives: u64,
}

/// The rates and between-group figures of one attribute. `truth` and `prediction` are
/// 0/1; `groups[i]` is row i's group index into `names`.
pub fn attribute_fairness(
    attribute: &str,
    truth: &[bool],
    prediction: &[bool],
    groups: &[u32],
    names: &[String],
    thresholds: &FairnessThresholds,
) -> AttributeFairness {
    let mut counts = vec![GroupCounts::default(); names.len()];
    for ((&truth, &prediction), &group) in truth.iter().zip(prediction).zip(groups) {
        let cell = &mut counts[group as usize];
        cell.rows += 1;
        cell.predicted_positive += u64::from(prediction);
        if truth {
            cell.positives += 1;
            cell.true_positive += u64::from(prediction);
        } else {
            cell.negatives += 1;
            cell.false_positive += u64::from(prediction);
        }
    }
    let rate =
        |numerator: u64, denominator: u64| if denominator == 0 { 0.0 } else { numerator as f64 / denominator as f64 };
    let mut rates: Vec<GroupRates> = names
        .iter()
        .zip(&counts)
        .filter(|(_, counts)| counts.rows > 0)
        .map(|(name, counts)| GroupRates {
            group: name.clone(),
            count: counts.rows,
            selection_rate: rate(counts.predicted_positive, counts.rows),
            true_positive_rate: rate(counts.true_positive, counts.positives),
            false_positive_rate: rate(counts.false_positive, counts.negatives),
        })
        .collect();
    rates.sort_by(|a, b| a.group.cmp(&b.group));
    let spread = |values: Vec<f64>| -> (f64, Option<f64>) {
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        if values.is_empty() {
            return (0.0, None);
        }
        (max - min, (max != 0.0).then(|| min / max))
    };
    let (dp_difference, dp_ratio) = spread(rates.iter().map(|group| group.selection_rate).collect());
    let (tpr_difference, tpr_ratio) = spread(rates.iter().map(|group| group.true_positive_rate).collect());
    let (fpr_difference, fpr_ratio) = spread(rates.iter().map(|group| group.false_positive_rate).collect());
    // Python's max/min over [tpr, fpr]: the first unless the second compares greater/less.
    let equalized_odds_difference = if fpr_difference > tpr_difference { fpr_difference } else { tpr_difference };
    let equalized_odds_ratio = match (tpr_ratio, fpr_ratio) {
        (Some(tpr), Some(fpr)) => Some(if fpr < tpr { fpr } else { tpr }),
        (Some(tpr), None) => Some(tpr),
        (None, _) => None,
    };
    let four_fifths_violated = dp_ratio.is_some_and(|ratio| ratio < 0.8);
    let mut breaches = Vec::new();
    if dp_difference > thresholds.max_demographic_parity_difference {
        breaches.push(format!(
            "demographic parity difference {dp_difference:.3} is above {}",
            thresholds.max_demographic_parity_difference
        ));
    }
    if dp_ratio.is_some_and(|ratio| ratio < thresholds.min_demographic_parity_ratio) {
        breaches.push(format!(
            "demographic parity ratio {:.3} is below {} (the four-fifths rule at 0.8)",
            dp_ratio.unwrap_or_default(),
            thresholds.min_demographic_parity_ratio
        ));
    }
    if equalized_odds_difference > thresholds.max_equalized_odds_difference {
        breaches.push(format!(
            "equalized odds difference {equalized_odds_difference:.3} is above {}",
            thresholds.max_equalized_odds_difference
        ));
    }
    AttributeFairness {
        attribute: attribute.to_owned(),
        groups: rates,
        demographic_parity_difference: dp_difference,
        demographic_parity_ratio: dp_ratio,
        equalized_odds_difference,
        equalized_odds_ratio,
        equal_opportunity_difference: tpr_difference,
        four_fifths_violated,
        breaches,
    }
}

/// Group indices of a column of labels, and the labels in first-seen order.
pub fn group_indices<'a>(values: impl Iterator<Item = &'a str>) -> (Vec<u32>, Vec<String>) {
    let mut index: FxHashMap<&'a str, u32> = FxHashMap::default();
    let mut names = Vec::new();
    let groups = values
        .map(|value| {
            *index.entry(value).or_insert_with(|| {
                names.push(value.to_owned());
                u32::try_from(names.len() - 1).unwrap_or(u32::MAX)
            })
        })
        .collect();
    (groups, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_figures_follow_fairlearn() {
        // Group a: 2 of 4 selected, TPR 1/2, FPR 1/2; group b: 1 of 2 selected, TPR 1, FPR 0.
        let truth = [true, true, false, false, true, false];
        let prediction = [true, false, true, false, true, false];
        let (groups, names) = group_indices(["a", "a", "a", "a", "b", "b"].into_iter());
        let result = attribute_fairness("g", &truth, &prediction, &groups, &names, &FairnessThresholds::default());
        assert_eq!(result.groups[0].selection_rate, 0.5);
        assert_eq!(result.demographic_parity_difference, 0.0);
        assert_eq!(result.equal_opportunity_difference, 0.5);
        assert_eq!(result.equalized_odds_difference, 0.5);
        assert_eq!(result.equalized_odds_ratio, Some(0.0));
        assert!(!result.four_fifths_violated);
    }

    #[test]
    fn a_ratio_of_all_zero_rates_is_nan_as_in_fairlearn() {
        let (groups, names) = group_indices(["a", "b"].into_iter());
        let result =
            attribute_fairness("g", &[false, false], &[false, false], &groups, &names, &FairnessThresholds::default());
        assert_eq!(result.demographic_parity_ratio, None);
        assert_eq!(result.equalized_odds_ratio, None);
    }
}
