//! Drift between two tabular datasets, as `keel drift` reports it: CSV files with a
//! header row are read into columns (cells typed as pandas' `read_csv` types them), each
//! column both files share is compared as `analysis::drift::report` compares one
//! feature, and the dataset drifts when at least half of the compared columns do
//! (Evidently's `DataDriftPreset` rule).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use keel_shared::drift::{
    ColumnDrift, DATASET_DRIFT_SHARE, DatasetDriftReport, DriftMethod, FeatureKind, FeatureValue, MethodThreshold,
};

use crate::analysis::column::{Column, ColumnBuilder};
use crate::analysis::cores::on_both;
use crate::analysis::drift::{Feature, FeatureError};
use crate::analysis::quality::{MAX_COUNTED_DISTINCT, SampleSummary, feature_quality};

/// A table read column by column.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub names: Vec<String>,
    /// The columns' values, typed, in the order of `names`.
    pub columns: Vec<Column>,
    /// Rows that repeat an earlier row cell for cell.
    pub duplicate_rows: usize,
}

/// The cells pandas reads as missing by default (`na_values`).
const MISSING_MARKERS: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null",
];

impl Dataset {
    /// Reads CSV with a header row. A row with more or fewer cells than the header is an
    /// error naming its line.
    pub fn from_csv(reader: impl Read) -> Result<Dataset, String> {
        let mut csv = csv::ReaderBuilder::new().has_headers(true).from_reader(reader);
        let names: Vec<String> = csv
            .headers()
            .map_err(|error| format!("cannot read the header row: {error}"))?
            .iter()
            .map(str::to_owned)
            .collect();
        if names.is_empty() || names.iter().all(String::is_empty) {
            return Err("the file has no header row".into());
        }
        let mut seen = rustc_hash::FxHashSet::default();
        if let Some(duplicate) = names.iter().find(|name| !seen.insert(name.as_str())) {
            return Err(format!("the header row names the column '{duplicate}' twice; column names must be unique"));
        }
        let mut columns: Vec<ColumnBuilder> = names.iter().map(|_| ColumnBuilder::default()).collect();
        let mut rows_seen = rustc_hash::FxHashSet::default();
        let mut duplicate_rows = 0;
        for record in csv.records() {
            let record = record.map_err(|error| error.to_string())?;
            for (column, cell) in columns.iter_mut().zip(record.iter()) {
                push_cell(column, cell);
            }
            // The unit separator cannot be confused with cell text.
            if !rows_seen.insert(record.iter().collect::<Vec<_>>().join("\u{1f}")) {
                duplicate_rows += 1;
            }
        }
        Ok(Dataset { names, columns: columns.into_iter().map(ColumnBuilder::finish).collect(), duplicate_rows })
    }

    /// Rows given as objects (name → value), e.g. JSON: the columns in order of first
    /// appearance; a row without a column holds a null there.
    pub fn from_rows(rows: &[BTreeMap<String, FeatureValue>]) -> Dataset {
        let mut names: Vec<String> = Vec::new();
        let mut known = rustc_hash::FxHashSet::default();
        for name in rows.iter().flat_map(BTreeMap::keys) {
            if known.insert(name.as_str()) {
                names.push(name.clone());
            }
        }
        let columns = names
            .iter()
            .map(|name| {
                let mut column = ColumnBuilder::with_capacity(rows.len());
                rows.iter().for_each(|row| column.push(row.get(name).unwrap_or(&FeatureValue::Missing)));
                column.finish()
            })
            .collect();
        let mut rows_seen = rustc_hash::FxHashSet::default();
        let duplicate_rows =
            rows.iter().filter(|row| !rows_seen.insert(serde_json::to_string(row).unwrap_or_default())).count();
        Dataset { names, columns, duplicate_rows }
    }

    /// How many rows the table has.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names.iter().position(|candidate| candidate == name).map(|index| &self.columns[index])
    }
}

/// A cell as pandas would type it: missing, boolean, integer, decimal or text.
fn push_cell(column: &mut ColumnBuilder, cell: &str) {
    let trimmed = cell.trim();
    if MISSING_MARKERS.contains(&trimmed) {
        return column.missing();
    }
    match trimmed {
        "True" | "TRUE" | "true" => return column.boolean(true),
        "False" | "FALSE" | "false" => return column.boolean(false),
        _ => {}
    }
    if let Ok(integer) = trimmed.parse::<i64>() {
        return column.number(integer as f64, true);
    }
    match trimmed.parse::<f64>() {
        Ok(float) => column.number(float, false),
        Err(_) => column.text(cell),
    }
}

/// What to compare and how.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Default: every column both datasets have, in the reference's order.
    pub columns: Option<Vec<String>>,
    /// Default: Evidently's choice per column.
    pub methods: Option<Vec<DriftMethod>>,
    /// Columns to compare as categories whatever their values look like.
    pub categorical: Vec<String>,
}

/// Compares the datasets column by column, two at a time; `progress` hears each column's
/// name as it starts, with the number of columns to compare. A named column missing from
/// either dataset is an error; a column that cannot be compared (no values, text in a
/// numeric column) is reported with its reason and the quality of its values.
pub fn compare(
    reference: &Dataset,
    current: &Dataset,
    comparison: &Comparison,
    progress: impl FnMut(&str, usize) + Send,
) -> Result<DatasetDriftReport, String> {
    let names: Vec<String> = match &comparison.columns {
        Some(names) => {
            for name in names {
                for (dataset, label) in [(reference, "reference"), (current, "current")] {
                    if dataset.column(name).is_none() {
                        return Err(format!("the {label} dataset has no column '{name}'"));
                    }
                }
            }
            names.clone()
        }
        None => reference.names.iter().filter(|name| current.column(name).is_some()).cloned().collect(),
    };
    let only_in = |dataset: &Dataset, other: &Dataset| -> Vec<String> {
        dataset.names.iter().filter(|name| other.column(name).is_none()).cloned().collect()
    };
    let pairs: Vec<(&String, &Column, &Column)> =
        names.iter().filter_map(|name| Some((name, reference.column(name)?, current.column(name)?))).collect();
    // Columns are independent: two workers (this machine's cores) take them in turn.
    let next = AtomicUsize::new(0);
    let progress = Mutex::new(progress);
    let compare_next = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some((name, reference, current)) = pairs.get(index) else { return done };
            if let Ok(mut progress) = progress.lock() {
                progress(name, pairs.len());
            }
            let kind = comparison.categorical.contains(name).then_some(FeatureKind::Categorical);
            let feature = Feature::new(reference, current, kind);
            let summary = SampleSummary::of(reference);
            done.push((index, column_drift(name, feature, &summary, current, comparison.methods.as_deref(), &[])));
        }
    };
    let (mut columns, theirs) = on_both(compare_next, compare_next);
    columns.extend(theirs);
    columns.sort_by_key(|(index, _)| *index);
    let columns: Vec<ColumnDrift> = columns.into_iter().map(|(_, column)| column).collect();
    Ok(DatasetDriftReport::new(
        columns,
        only_in(reference, current),
        only_in(current, reference),
        reference.duplicate_rows,
        current.duplicate_rows,
    ))
}

/// One column's drift report (or why it has none) and data quality: `feature` is the
/// comparison of its values, `reference` what quality needs of the reference's.
pub fn column_drift(
    name: &str,
    feature: Result<Feature, FeatureError>,
    reference: &SampleSummary,
    current: &Column,
    methods: Option<&[DriftMethod]>,
    thresholds: &[MethodThreshold],
) -> ColumnDrift {
    let quality = Some(feature_quality(reference, current, feature.as_ref().ok()));
    let (report, error) = match feature.and_then(|feature| feature.report(methods, thresholds)) {
        Ok(report) => (Some(report), None),
        Err(error) => (None, Some(error.to_string())),
    };
    ColumnDrift { column: name.to_owned(), quality, report, error }
}

/// The report as a table for a terminal.
pub fn render(report: &DatasetDriftReport) -> String {
    let mut rows = vec![["column", "kind", "method", "value", "threshold", "drift"].map(str::to_owned)];
    for column in &report.columns {
        match (&column.report, &column.error) {
            (Some(result), _) => {
                let kind = match result.kind {
                    FeatureKind::Numeric => "numeric",
                    FeatureKind::Categorical => "categorical",
                };
                for (index, method) in result.results.iter().enumerate() {
                    let name = if index == 0 { column.column.clone() } else { String::new() };
                    let kind = if index == 0 { kind } else { "" };
                    rows.push([
                        name,
                        kind.to_owned(),
                        method.method.name().to_owned(),
                        format_value(method.value),
                        format_value(method.threshold),
                        if method.drifted { "DRIFT".to_owned() } else { "-".to_owned() },
                    ]);
                }
            }
            (None, error) => rows.push([
                column.column.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                format!("not compared: {}", error.as_deref().unwrap_or("unknown reason")),
            ]),
        }
    }
    let mut table = aligned(&rows);
    for (names, label) in [(&report.only_in_reference, "reference"), (&report.only_in_current, "current")] {
        if !names.is_empty() {
            table.push_str(&format!("Only in the {label} dataset (not compared): {}\n", names.join(", ")));
        }
    }
    let share = if report.compared_columns == 0 {
        0.0
    } else {
        100.0 * report.drifted_columns as f64 / report.compared_columns as f64
    };
    table.push_str(&format!(
        "Dataset drift: {} of {} columns drifted ({share:.0} %) — {} (drift from {:.0} %)\n",
        report.drifted_columns,
        report.compared_columns,
        if report.drifted { "DRIFT" } else { "no drift" },
        DATASET_DRIFT_SHARE * 100.0,
    ));
    table.push_str(&quality_table(report));
    table
}

/// The data-quality lines: missing shares, values the reference never showed, distinct
/// counts, type changes; then duplicate rows.
fn quality_table(report: &DatasetDriftReport) -> String {
    let percent = |share: f64| format!("{:.1} %", share * 100.0);
    let mut rows =
        vec![["column", "missing ref → cur", "unseen in reference", "distinct ref → cur", "types"].map(str::to_owned)];
    for column in &report.columns {
        if let Some(quality) = &column.quality {
            rows.push([
                column.column.clone(),
                format!("{} → {}", percent(quality.missing_share_reference), percent(quality.missing_share_current)),
                quality.unseen_share_current.map_or_else(|| "-".to_owned(), percent),
                format!("{} → {}", distinct(quality.distinct_reference), distinct(quality.distinct_current)),
                quality.type_mismatch.clone().unwrap_or_else(|| "same".to_owned()),
            ]);
        }
    }
    let mut table = String::from("\nData quality\n");
    table.push_str(&aligned(&rows));
    table.push_str(&format!(
        "Duplicate rows: {} in the reference, {} in the current dataset\n",
        report.duplicate_rows_reference, report.duplicate_rows_current
    ));
    table
}

/// A distinct count, "1000+" where counting stopped, "-" where unknown.
fn distinct(count: Option<usize>) -> String {
    match count {
        None => "-".to_owned(),
        Some(count) if count >= MAX_COUNTED_DISTINCT => format!("{count}+"),
        Some(count) => count.to_string(),
    }
}

/// Rows of cells as left-aligned columns two spaces apart.
fn aligned<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> =
        (0..N).map(|cell| rows.iter().map(|row| row[cell].chars().count()).max().unwrap_or(0)).collect();
    let mut table = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        table.push_str(cells.join("  ").trim_end());
        table.push('\n');
    }
    table
}

/// Four significant digits, or scientific notation for tiny p-values.
fn format_value(value: f64) -> String {
    if value != 0.0 && value.abs() < 1e-4 { format!("{value:.3e}") } else { format!("{value:.4}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(csv: &str) -> Dataset {
        Dataset::from_csv(csv.as_bytes()).expect("csv")
    }

    #[test]
    fn cells_are_typed_as_pandas_reads_them() {
        let table = dataset("a,b,c,d\n1,1.5,yes,True\nNA,,no,false\n1,1.5,yes,True\n");
        assert_eq!(table.duplicate_rows, 1);
        assert_eq!(table.names, ["a", "b", "c", "d"]);
        let first_two = |column: &Column| [column.value(0), column.value(1)];
        assert_eq!(first_two(&table.columns[0]), [FeatureValue::Integer(1), FeatureValue::Missing]);
        assert!(!table.columns[0].integers_only(), "a null makes integers float64");
        assert!(dataset("n\n1\n-2\n").columns[0].integers_only(), "int64");
        assert_eq!(first_two(&table.columns[1]), [FeatureValue::Float(1.5), FeatureValue::Missing]);
        assert_eq!(first_two(&table.columns[2]), [FeatureValue::Text("yes".into()), FeatureValue::Text("no".into())]);
        assert_eq!(first_two(&table.columns[3]), [FeatureValue::Bool(true), FeatureValue::Bool(false)]);
    }

    #[test]
    fn ragged_rows_are_refused_with_their_line() {
        let error = Dataset::from_csv("a,b\n1,2\n3\n".as_bytes()).expect_err("ragged");
        assert!(error.contains("line: 3"), "{error}");
    }

    #[test]
    fn shared_columns_are_compared_and_half_drifting_is_dataset_drift() {
        let reference = dataset(&format!(
            "same,moved,only_ref\n{}",
            (0..100).map(|i| format!("{},{}.5,x\n", i % 7, i)).collect::<String>()
        ));
        let current = dataset(&format!(
            "moved,same,only_cur\n{}",
            (0..100).map(|i| format!("{}.5,{},y\n", i + 60, i % 7)).collect::<String>()
        ));
        let mut seen = Vec::new();
        let report =
            compare(&reference, &current, &Comparison::default(), |name, total| seen.push((name.to_owned(), total)))
                .expect("report");
        seen.sort();
        assert_eq!(seen, [("moved".to_owned(), 2), ("same".to_owned(), 2)], "each shared column once, of 2");
        assert_eq!(report.columns.iter().map(|column| column.column.as_str()).collect::<Vec<_>>(), ["same", "moved"]);
        assert_eq!((report.compared_columns, report.drifted_columns, report.drifted), (2, 1, true));
        assert_eq!(
            (report.only_in_reference.as_slice(), report.only_in_current.as_slice()),
            (&["only_ref".to_owned()][..], &["only_cur".to_owned()][..])
        );
        let table = render(&report);
        assert!(table.contains("Dataset drift: 1 of 2 columns drifted (50 %) — DRIFT"), "{table}");
        assert!(table.contains("Only in the reference dataset (not compared): only_ref"), "{table}");
        let moved = report.columns[1].quality.as_ref().expect("quality of moved");
        assert_eq!(
            moved.unseen_share_current,
            Some(0.6),
            "60.5 … 99.5 lie in the reference's range, 100.5 … 159.5 not"
        );
        assert!(table.contains("Duplicate rows: 0 in the reference, 0 in the current dataset"), "{table}");
    }

    #[test]
    fn a_named_column_must_exist_in_both() {
        let (reference, current) = (dataset("a\n1\n"), dataset("b\n1\n"));
        let comparison = Comparison { columns: Some(vec!["a".into()]), ..Comparison::default() };
        assert_eq!(
            compare(&reference, &current, &comparison, |_, _| {}),
            Err("the current dataset has no column 'a'".into())
        );
    }
}
