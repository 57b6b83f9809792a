//! Feature rows and labels as clients send them, checked one by one: a bad item is
//! rejected with its reason and the rest of the batch is kept.

use keel_shared::drift::FeatureValue;
use keel_shared::monitoring::{FeatureRowInput, LabelInput};
use keel_shared::telemetry::RejectedPoint;

use crate::ingest::timestamp_millis;
use crate::store::monitoring::ValidFeatureRow;

pub const MAX_PREDICTION_ID: usize = 200;
pub const MAX_FEATURES: usize = 500;
pub const MAX_FEATURE_NAME: usize = 200;
pub const MAX_TEXT_VALUE: usize = 1_000;

/// The model's versions as far as rows need them.
pub struct Versions<'a> {
    pub known: &'a [String],
    pub production: Option<&'a str>,
}

/// Splits raw rows into valid ones and the reasons for the rest.
pub fn validate_rows(
    raw: Vec<serde_json::Value>,
    versions: &Versions<'_>,
    now_millis: i64,
) -> (Vec<ValidFeatureRow>, Vec<RejectedPoint>) {
    split(raw, "feature row", |row: FeatureRowInput| validate_row(row, versions, now_millis))
}

/// Splits raw labels into valid (prediction id, label as JSON) pairs and the reasons for the rest.
pub fn validate_labels(raw: Vec<serde_json::Value>) -> (Vec<(String, String)>, Vec<RejectedPoint>) {
    split(raw, "label", |input: LabelInput| {
        check_prediction_id(&input.prediction_id)?;
        check_value("label", &input.label)?;
        if input.label == FeatureValue::Missing {
            return Err("label is null: send the ground truth, or nothing".into());
        }
        Ok((input.prediction_id, json(&input.label)))
    })
}

fn split<Input: serde::de::DeserializeOwned, Valid>(
    raw: Vec<serde_json::Value>,
    what: &str,
    check: impl Fn(Input) -> Result<Valid, String>,
) -> (Vec<Valid>, Vec<RejectedPoint>) {
    let mut valid = Vec::with_capacity(raw.len());
    let mut rejected = Vec::new();
    for (index, value) in raw.into_iter().enumerate() {
        let checked =
            serde_json::from_value::<Input>(value).map_err(|error| format!("not a {what}: {error}")).and_then(&check);
        match checked {
            Ok(item) => valid.push(item),
            Err(reason) => rejected.push(RejectedPoint { index, reason }),
        }
    }
    (valid, rejected)
}

fn validate_row(row: FeatureRowInput, versions: &Versions<'_>, now_millis: i64) -> Result<ValidFeatureRow, String> {
    check_prediction_id(&row.prediction_id)?;
    let version = match row.version {
        Some(version) if versions.known.contains(&version) => version,
        Some(version) => return Err(format!("the model has no version '{version}'")),
        None => versions.production.map(str::to_owned).ok_or("no version given, and none is in production")?,
    };
    let observed_at = match row.ts {
        Some(ts) => timestamp_millis(ts, now_millis)?,
        None => now_millis,
    };
    if row.features.is_empty() {
        return Err("features is empty".into());
    }
    if row.features.len() > MAX_FEATURES {
        return Err(format!("{} features; at most {MAX_FEATURES} are allowed", row.features.len()));
    }
    for (name, value) in &row.features {
        if name.trim().is_empty() || name.chars().count() > MAX_FEATURE_NAME {
            return Err(format!("feature names are 1–{MAX_FEATURE_NAME} characters"));
        }
        check_value(&format!("feature '{name}'"), value)?;
    }
    if let Some(prediction) = &row.prediction {
        check_value("prediction", prediction)?;
    }
    Ok(ValidFeatureRow {
        prediction_id: row.prediction_id,
        version,
        observed_at,
        features: serde_json::to_string(&row.features).unwrap_or_default(),
        prediction: row.prediction.as_ref().map(json),
    })
}

fn check_prediction_id(id: &str) -> Result<(), String> {
    if id.trim().is_empty() || id.chars().count() > MAX_PREDICTION_ID {
        return Err(format!("prediction_id must be 1–{MAX_PREDICTION_ID} characters"));
    }
    Ok(())
}

fn check_value(what: &str, value: &FeatureValue) -> Result<(), String> {
    if let FeatureValue::Text(text) = value
        && text.chars().count() > MAX_TEXT_VALUE
    {
        return Err(format!("{what} is text longer than {MAX_TEXT_VALUE} characters"));
    }
    Ok(())
}

fn json(value: &FeatureValue) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bad_rows_are_rejected_one_by_one_with_reasons() {
        let known = ["v1".to_owned(), "v2".to_owned()];
        let versions = Versions { known: &known, production: Some("v2") };
        let now = 1_700_000_000_000;
        let raw = vec![
            json!({"prediction_id": "p1", "features": {"age": 31, "city": "Brno"}, "prediction": 0.7}),
            json!({"prediction_id": "p2", "version": "v9", "features": {"age": 1}}),
            json!({"prediction_id": "", "features": {"age": 1}}),
            json!({"prediction_id": "p4", "features": {"nested": {"a": 1}}}),
            json!({"prediction_id": "p5", "features": {}}),
            json!({"prediction_id": "p6", "ts": now + 3_600_000, "features": {"age": 1}}),
            json!({"prediction_id": "p7", "version": "v1", "ts": "2023-11-14T22:13:20Z", "features": {"age": 2}}),
        ];
        let (valid, rejected) = validate_rows(raw, &versions, now);
        let reasons: Vec<(usize, &str)> =
            rejected.iter().map(|rejected| (rejected.index, rejected.reason.as_str())).collect();
        assert_eq!(reasons[0], (1, "the model has no version 'v9'"));
        assert_eq!(reasons[1].0, 2);
        assert!(reasons[2].1.starts_with("not a feature row"), "{}", reasons[2].1);
        assert_eq!(reasons[3], (4, "features is empty"));
        assert_eq!(reasons[4], (5, "ts is more than 10 minutes in the future"));
        assert_eq!(valid.len(), 2);
        assert_eq!((valid[0].version.as_str(), valid[0].observed_at), ("v2", now));
        assert_eq!(valid[0].features, r#"{"age":31,"city":"Brno"}"#);
        assert_eq!(valid[0].prediction.as_deref(), Some("0.7"));
        assert_eq!((valid[1].version.as_str(), valid[1].observed_at), ("v1", 1_700_000_000_000));

        let none_in_production = Versions { known: &known, production: None };
        let (_, rejected) =
            validate_rows(vec![json!({"prediction_id": "p", "features": {"a": 1}})], &none_in_production, now);
        assert_eq!(rejected[0].reason, "no version given, and none is in production");
    }

    #[test]
    fn labels_need_an_id_and_a_value() {
        let raw = vec![
            json!({"prediction_id": "p1", "label": 1}),
            json!({"prediction_id": "p2", "label": null}),
            json!({"label": "x"}),
        ];
        let (valid, rejected) = validate_labels(raw);
        assert_eq!(valid, [("p1".to_owned(), "1".to_owned())]);
        assert_eq!(rejected.iter().map(|rejected| rejected.index).collect::<Vec<_>>(), [1, 2]);
    }
}
