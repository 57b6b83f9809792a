//! Telemetry ingest: points are checked one by one at the edge, then handed to the
//! single writer task, which commits many requests in one transaction (group commit)
//! and acknowledges each only once its points are durable.

pub mod otlp;
pub mod prometheus;
pub mod upkeep;
pub mod writer;

use std::collections::{BTreeMap, HashMap};

use keel_shared::telemetry::{PointInput, RejectedPoint, TimestampInput};

pub use writer::IngestWriter;

use crate::store::telemetry::{SeriesKey, ValidPoint};

pub const MAX_METRIC_NAME: usize = 128;
pub const MAX_LABELS: usize = 16;
pub const MAX_LABEL_NAME: usize = 64;
pub const MAX_LABEL_VALUE: usize = 256;
/// Points may be late by any amount, but not from further ahead than clock skew explains.
pub const MAX_FUTURE_MILLIS: i64 = 10 * 60 * 1000;

/// Splits raw points into valid ones and the reasons for the rest.
///
/// `models` maps each model name and id the store knows to the model's id.
pub fn validate_points(
    raw: Vec<serde_json::Value>,
    models: &HashMap<String, String>,
    now_millis: i64,
) -> (Vec<ValidPoint>, Vec<RejectedPoint>) {
    let mut valid = Vec::with_capacity(raw.len());
    let mut rejected = Vec::new();
    for (index, value) in raw.into_iter().enumerate() {
        let point = serde_json::from_value::<PointInput>(value)
            .map_err(|error| format!("not a point: {error}"))
            .and_then(|point| validate_point(point, models, now_millis));
        match point {
            Ok(point) => valid.push(point),
            Err(reason) => rejected.push(RejectedPoint { index, reason }),
        }
    }
    (valid, rejected)
}

/// Checks one point; `models` maps known model names and ids to ids.
pub fn validate_point(
    point: PointInput,
    models: &HashMap<String, String>,
    now_millis: i64,
) -> Result<ValidPoint, String> {
    let model_id = models.get(&point.model).ok_or_else(|| format!("unknown model '{}'", point.model))?.clone();
    check_name("metric", &point.metric, MAX_METRIC_NAME)?;
    if !point.value.is_finite() {
        return Err(format!("value {} is not a finite number", point.value));
    }
    let ts = timestamp_millis(point.ts, now_millis)?;
    let mut labels = point.labels;
    if let Some(version) = point.version {
        labels.insert("model_version".into(), version);
    }
    if labels.len() > MAX_LABELS {
        return Err(format!("{} labels; at most {MAX_LABELS} are allowed", labels.len()));
    }
    for (name, value) in &labels {
        check_name("label name", name, MAX_LABEL_NAME)?;
        if value.chars().count() > MAX_LABEL_VALUE {
            return Err(format!("label '{name}' is longer than {MAX_LABEL_VALUE} characters"));
        }
    }
    Ok(ValidPoint {
        series: SeriesKey { model_id, metric: point.metric, labels: canonical_labels(&labels) },
        ts,
        value: point.value,
    })
}

/// A client's time as Unix milliseconds: late by any amount, but not before 1970 nor
/// more than `MAX_FUTURE_MILLIS` ahead.
pub fn timestamp_millis(ts: TimestampInput, now_millis: i64) -> Result<i64, String> {
    let ts = match ts {
        TimestampInput::Millis(millis) => millis,
        TimestampInput::Text(text) => chrono::DateTime::parse_from_rfc3339(&text)
            .map_err(|_| format!("ts '{text}' is neither Unix milliseconds nor an RFC 3339 time"))?
            .timestamp_millis(),
    };
    if ts < 0 {
        return Err("ts is before 1970".into());
    }
    if ts > now_millis + MAX_FUTURE_MILLIS {
        return Err("ts is more than 10 minutes in the future".into());
    }
    Ok(ts)
}

/// Metric and label names as Prometheus and OpenTelemetry allow them.
fn check_name(what: &str, name: &str, max: usize) -> Result<(), String> {
    let valid_start = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let valid_rest = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':'));
    if name.is_empty() || name.len() > max || !valid_start || !valid_rest {
        return Err(format!(
            "{what} '{name}' must be 1–{max} characters of letters, digits, '_', '.' or ':', not starting with a digit"
        ));
    }
    Ok(())
}

/// Labels as one canonical text: JSON with keys in order (a `BTreeMap` serialises sorted).
pub fn canonical_labels(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bad_points_are_rejected_one_by_one_with_reasons() {
        let models = HashMap::from([("churn".to_owned(), "id-1".to_owned()), ("id-1".to_owned(), "id-1".to_owned())]);
        let now = 1_800_000_000_000;
        let raw = vec![
            json!({ "model": "churn", "metric": "latency_ms", "ts": now, "value": 12.5, "version": "v2", "labels": { "region": "cz" } }),
            json!({ "model": "nope", "metric": "latency_ms", "ts": now, "value": 1.0 }),
            json!({ "model": "id-1", "metric": "9bad", "ts": now, "value": 1.0 }),
            json!({ "model": "churn", "metric": "m", "ts": now + MAX_FUTURE_MILLIS + 1, "value": 1.0 }),
            json!({ "model": "churn", "metric": "m", "ts": "2027-01-15T10:00:00Z", "value": "high" }),
            json!({ "model": "churn", "metric": "m", "ts": "yesterday", "value": 1.0 }),
            json!({ "model": "id-1", "metric": "m", "ts": "2027-01-15T08:00:00+01:00", "value": -3.0 }),
        ];
        let (valid, rejected) = validate_points(raw, &models, now);
        assert_eq!(valid.len(), 2);
        assert_eq!(valid[0].series.labels, r#"{"model_version":"v2","region":"cz"}"#);
        assert_eq!(valid[1].ts, 1_799_996_400_000);
        let reasons: Vec<(usize, &str)> = rejected.iter().map(|r| (r.index, r.reason.as_str())).collect();
        assert_eq!(reasons[0], (1, "unknown model 'nope'"));
        assert!(reasons[1].1.starts_with("metric '9bad' must be"));
        assert_eq!(reasons[2], (3, "ts is more than 10 minutes in the future"));
        assert!(reasons[3].1.starts_with("not a point: "), "{}", reasons[3].1);
        assert!(reasons[4].1.contains("neither Unix milliseconds nor an RFC 3339 time"));
    }
}
