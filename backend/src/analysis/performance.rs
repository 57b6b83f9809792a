//! Model performance from predictions and their ground truth, and its judgement against
//! the reference's: accuracy and macro-averaged precision, recall and F1 for
//! classification (as scikit-learn's `average="macro"` over the classes seen in labels or
//! predictions, 0 where a class was never predicted or never true), MAE and RMSE for
//! regression.

use keel_shared::drift::{FeatureKind, FeatureValue};
use keel_shared::monitoring::{MIN_LABELLED_ROWS, MetricValue, PerformanceMetrics, Task, lower_is_better};
use rustc_hash::FxHashMap;

use super::column::Column;
use super::drift::category_key;

/// The task the labels imply, as Evidently types a target column: numbers on a scale
/// (decimals, or integers with more than 5 distinct values) are regression.
pub fn task_of(labels: &Column) -> Task {
    match super::drift::inferred_kind(labels, labels) {
        FeatureKind::Numeric => Task::Regression,
        FeatureKind::Categorical => Task::Classification,
    }
}

/// The metrics of (prediction, label) pairs; pairs where either is missing (or, for
/// regression, not a number) are left out.
pub fn metrics(task: Task, pairs: &[(&FeatureValue, &FeatureValue)]) -> PerformanceMetrics {
    let metric = |name: &str, value: f64| MetricValue { name: name.to_owned(), value };
    let (labelled_rows, metrics) = match task {
        Task::Classification => {
            let mut classes: FxHashMap<(u8, u64, &str), usize> = FxHashMap::default();
            // Per class: true positives, predicted, actual.
            let mut counts: Vec<[u64; 3]> = Vec::new();
            let mut class_of = |key| {
                let next = classes.len();
                *classes.entry(key).or_insert(next)
            };
            let (mut rows, mut correct) = (0, 0);
            for (prediction, label) in pairs {
                let (Some(predicted), Some(actual)) = (category_key(prediction), category_key(label)) else { continue };
                let (predicted, actual) = (class_of(predicted), class_of(actual));
                counts.resize(counts.len().max(predicted.max(actual) + 1), [0; 3]);
                rows += 1;
                counts[predicted][1] += 1;
                counts[actual][2] += 1;
                if predicted == actual {
                    correct += 1;
                    counts[actual][0] += 1;
                }
            }
            let ratio = |part: u64, whole: u64| if whole == 0 { 0.0 } else { part as f64 / whole as f64 };
            let classes = counts.len().max(1) as f64;
            let (mut precision, mut recall, mut f1) = (0.0, 0.0, 0.0);
            for [true_positives, predicted, actual] in &counts {
                let (p, r) = (ratio(*true_positives, *predicted), ratio(*true_positives, *actual));
                precision += p / classes;
                recall += r / classes;
                f1 += if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) } / classes;
            }
            let accuracy = ratio(correct, rows);
            (
                rows,
                vec![
                    metric("accuracy", accuracy),
                    metric("precision", precision),
                    metric("recall", recall),
                    metric("f1", f1),
                ],
            )
        }
        Task::Regression => {
            let number = |value: &FeatureValue| match value {
                FeatureValue::Integer(integer) => Some(*integer as f64),
                FeatureValue::Float(float) if float.is_finite() => Some(*float),
                _ => None,
            };
            let (mut rows, mut absolute, mut squared) = (0_u64, 0.0, 0.0);
            for (prediction, label) in pairs {
                let (Some(prediction), Some(label)) = (number(prediction), number(label)) else { continue };
                rows += 1;
                absolute += (prediction - label).abs();
                squared += (prediction - label).powi(2);
            }
            let n = rows.max(1) as f64;
            (rows, vec![metric("mae", absolute / n), metric("rmse", (squared / n).sqrt())])
        }
    };
    PerformanceMetrics { task, labelled_rows, metrics }
}

/// One sentence per metric of `current` worse than `baseline` by more than `tolerance`
/// (a share of the baseline); nothing when too few rows are labelled to tell.
pub fn degradation(current: &PerformanceMetrics, baseline: &PerformanceMetrics, tolerance: f64) -> Vec<String> {
    if current.task != baseline.task || (current.labelled_rows as usize) < MIN_LABELLED_ROWS {
        return Vec::new();
    }
    let mut reasons = Vec::new();
    for now in &current.metrics {
        let Some(then) = baseline.metrics.iter().find(|then| then.name == now.name) else { continue };
        let worse_by = if lower_is_better(&now.name) { now.value - then.value } else { then.value - now.value };
        if worse_by > tolerance * then.value.abs() && worse_by > 0.0 {
            let percent = if then.value == 0.0 { f64::INFINITY } else { worse_by / then.value.abs() * 100.0 };
            reasons.push(format!(
                "{} {:.3} is {percent:.0} % worse than the reference's {:.3} (tolerance {:.0} %)",
                now.name,
                now.value,
                then.value,
                tolerance * 100.0
            ));
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(json: &str) -> Vec<FeatureValue> {
        serde_json::from_str(json).expect("values")
    }

    fn value(metrics: &PerformanceMetrics, name: &str) -> f64 {
        metrics.metrics.iter().find(|metric| metric.name == name).expect("metric").value
    }

    #[test]
    fn classification_metrics_are_scikit_learns_macro_averages() {
        // sklearn: accuracy 0.5; precision_score(average="macro") = (1/2 + 1/2 + 0) / 3;
        // recall (1/2 + 1/1 + 0/1) / 3; f1 (1/2 + 2/3 + 0) / 3.
        let predictions = values(r#"["a", "a", "b", "b", null, "d"]"#);
        let labels = values(r#"["a", "b", "b", "c", "a", null]"#);
        let pairs: Vec<_> = predictions.iter().zip(&labels).collect();
        let metrics = metrics(Task::Classification, &pairs);
        assert_eq!(metrics.labelled_rows, 4);
        assert_eq!(value(&metrics, "accuracy"), 0.5);
        assert!((value(&metrics, "precision") - 1.0 / 3.0).abs() < 1e-12);
        assert!((value(&metrics, "recall") - 0.5).abs() < 1e-12);
        assert!((value(&metrics, "f1") - (0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn regression_metrics_and_the_task_implied_by_labels() {
        let predictions = values("[1.0, 2.0, 4.0]");
        let labels = values("[1.0, 3.0, 2.0]");
        let pairs: Vec<_> = predictions.iter().zip(&labels).collect();
        let metrics = metrics(Task::Regression, &pairs);
        assert_eq!(value(&metrics, "mae"), 1.0);
        assert!((value(&metrics, "rmse") - (5.0_f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(task_of(&Column::from_values(&labels)), Task::Regression);
        assert_eq!(task_of(&Column::from_values(&values("[0, 1, 1, 0]"))), Task::Classification);
    }

    #[test]
    fn a_metric_worse_than_the_tolerance_is_degradation() {
        let with = |accuracy: f64, rmse: f64, rows: u64| PerformanceMetrics {
            task: Task::Classification,
            labelled_rows: rows,
            metrics: vec![
                MetricValue { name: "accuracy".into(), value: accuracy },
                MetricValue { name: "rmse".into(), value: rmse },
            ],
        };
        let baseline = with(0.9, 1.0, 1000);
        assert!(degradation(&with(0.82, 1.05, 100), &baseline, 0.1).is_empty(), "within 10 %");
        assert_eq!(
            degradation(&with(0.72, 1.2, 100), &baseline, 0.1),
            [
                "accuracy 0.720 is 20 % worse than the reference's 0.900 (tolerance 10 %)",
                "rmse 1.200 is 20 % worse than the reference's 1.000 (tolerance 10 %)"
            ]
        );
        assert!(degradation(&with(0.1, 9.0, 19), &baseline, 0.1).is_empty(), "too few labels to judge");
    }
}
