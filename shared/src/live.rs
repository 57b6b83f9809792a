//! Events of the live stream (`GET /api/live`, Server-Sent Events). Each SSE message
//! carries one `LiveEvent` as JSON in `data`, its kind in `event` and an increasing `id`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ModelId;
use crate::changes::ChangeSummary;
use crate::health::{HealthStatus, ModelHealth};
use crate::incidents::IncidentSummary;
use crate::models::Stage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// New points of a model are durable.
    Points { model_id: ModelId, metrics: Vec<String>, points: u64, newest: DateTime<Utc> },
    /// A model's health status changed.
    Status { previous: Option<HealthStatus>, health: ModelHealth },
    /// A drift evaluation finished: what alerting acts on.
    Drift {
        model_id: ModelId,
        run_id: String,
        version: String,
        compared_columns: usize,
        drifted_columns: usize,
        /// At least half of the compared columns drifted.
        dataset_drifted: bool,
        /// Performance worse than the reference's beyond the tolerance, one sentence each.
        degradation: Vec<String>,
        freshness_breached: bool,
    },
    /// A version moved from one stage to another (and, entering production, the one
    /// that was there moved to archived).
    Stage { model_id: ModelId, version: String, from: Stage, to: Stage },
    /// An incident was opened or changed (status, fields, timeline).
    Incident { incident: Box<IncidentSummary>, change: String },
    /// A change request was created or changed (status, approvals, timeline).
    Change { summary: Box<ChangeSummary>, change: String },
    /// A KPI, its values or a model's ledger changed: business figures are out of date.
    Business { model_id: Option<ModelId>, change: String },
    /// The stream lost events the client asked to resume from (the server restarted or
    /// they are too old): reload what is shown.
    Resync,
}

impl LiveEvent {
    /// The SSE `event` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Points { .. } => "points",
            Self::Status { .. } => "status",
            Self::Drift { .. } => "drift",
            Self::Stage { .. } => "stage",
            Self::Incident { .. } => "incident",
            Self::Change { .. } => "change",
            Self::Business { .. } => "business",
            Self::Resync => "resync",
        }
    }
}
