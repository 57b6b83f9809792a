//! Telemetry: points pushed by model servers and the rolled-up series read by dashboards.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One point of `POST /api/ingest`'s `points` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointInput {
    /// The model's name or id.
    pub model: String,
    /// The model version's tag; stored as the `model_version` label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// e.g. `latency_ms`, `accuracy`, `errors_total`.
    pub metric: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Unix milliseconds, or an RFC 3339 time.
    pub ts: TimestampInput,
    pub value: f64,
}

/// A time as clients send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimestampInput {
    Millis(i64),
    Text(String),
}

/// `POST /api/ingest`: each point is checked on its own; bad ones are listed, the rest kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestResponse {
    /// Points stored (a point resent for the same series and time replaces the earlier one).
    pub accepted: u64,
    pub rejected: Vec<RejectedPoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedPoint {
    /// Position in the request's `points` array.
    pub index: usize,
    pub reason: String,
}

/// `GET /api/models/{id}/series` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesQuery {
    pub metric: String,
    /// Default: one hour before `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Default: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    /// Number of equal buckets between `from` and `to`, 1–1000 (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<u32>,
}

/// `GET /api/models/{id}/series`: every series of the metric, merged, in equal buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesResponse {
    pub metric: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub buckets: Vec<SeriesBucket>,
}

/// One bucket; the statistics are `None` when it holds no points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesBucket {
    pub start: DateTime<Utc>,
    pub count: u64,
    pub avg: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Quantiles from the rollups' sketches: within 1 % of the exact value.
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}
