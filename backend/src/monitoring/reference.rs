//! A version's reference built from a dataset: every column but the target kept as the
//! statistics need it (`ReferenceColumn`), and, when the dataset holds the ground truth
//! (`target`) and the model's output (`prediction`), the performance baseline.

use keel_shared::drift::FeatureValue;
use keel_shared::monitoring::{PREDICTION_COLUMN, PerformanceMetrics, TARGET_COLUMN};
use keel_shared::validation::FieldErrors;

use crate::analysis::column::Column;
use crate::analysis::drift::profile::ReferenceColumn;
use crate::analysis::performance;
use crate::dataset_drift::Dataset;

/// What a dataset gives a reference.
#[derive(Debug)]
pub struct ReferenceParts {
    pub columns: Vec<(String, ReferenceColumn)>,
    pub baseline: Option<PerformanceMetrics>,
}

/// The reference's columns and its baseline, or what is wrong with the dataset, by column.
pub fn build(dataset: &Dataset) -> Result<ReferenceParts, FieldErrors> {
    let mut errors = FieldErrors::new();
    if dataset.rows() == 0 {
        errors.insert("rows".into(), "the reference has no rows".into());
        return Err(errors);
    }
    let mut columns = Vec::new();
    for (name, values) in dataset.names.iter().zip(&dataset.columns) {
        if name == TARGET_COLUMN {
            continue;
        }
        match ReferenceColumn::new(values, None) {
            Ok(column) => columns.push((name.clone(), column)),
            Err(error) => {
                errors.insert(format!("columns.{name}"), error.to_string());
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if columns.is_empty() {
        errors.insert("columns".into(), format!("the reference has no columns besides '{TARGET_COLUMN}'"));
        return Err(errors);
    }
    let baseline = match (dataset.column(PREDICTION_COLUMN), dataset.column(TARGET_COLUMN)) {
        (Some(predictions), Some(labels)) => {
            let values =
                |column: &Column| -> Vec<FeatureValue> { (0..column.len()).map(|row| column.value(row)).collect() };
            let (predictions, label_values) = (values(predictions), values(labels));
            let pairs: Vec<(&FeatureValue, &FeatureValue)> = predictions.iter().zip(&label_values).collect();
            Some(performance::metrics(performance::task_of(labels), &pairs)).filter(|metrics| metrics.labelled_rows > 0)
        }
        _ => None,
    };
    Ok(ReferenceParts { columns, baseline })
}

#[cfg(test)]
mod tests {
    use keel_shared::monitoring::Task;

    use super::*;

    #[test]
    fn the_target_gives_a_baseline_and_is_not_a_feature() {
        let csv = "age,city,prediction,target\n31,Brno,1,1\n45,Praha,0,1\n27,Brno,0,0\n52,Ostrava,1,1\n";
        let dataset = Dataset::from_csv(csv.as_bytes()).expect("csv");
        let ReferenceParts { columns, baseline } = build(&dataset).expect("reference");
        let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["age", "city", "prediction"]);
        let baseline = baseline.expect("baseline");
        assert_eq!((baseline.task, baseline.labelled_rows), (Task::Classification, 4));
        assert_eq!(baseline.metrics[0].value, 0.75, "accuracy");
    }

    #[test]
    fn a_column_without_values_is_named() {
        let dataset = Dataset::from_csv("a,b\n1.5,\n2.5,\n".as_bytes()).expect("csv");
        let errors = build(&dataset).expect_err("b is empty");
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["columns.b"]);
        let no_rows = Dataset::from_csv("a,b\n".as_bytes()).expect("csv");
        assert!(build(&no_rows).expect_err("no rows").contains_key("rows"));
    }
}
