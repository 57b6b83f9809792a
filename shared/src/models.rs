//! The model registry: models, their versions and the stage each version is in.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ModelId, VersionId};

/// EU AI Act risk tier of a model's use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskTier {
    Minimal,
    Limited,
    High,
    /// Practices the Act bans (Art. 5): may be registered for the record, never run in production.
    Prohibited,
}

impl RiskTier {
    pub const ALL: [RiskTier; 4] = [Self::Minimal, Self::Limited, Self::High, Self::Prohibited];

    /// Whether a model of this tier may have a version in production.
    pub fn allows_production(self) -> bool {
        self != Self::Prohibited
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Limited => "limited",
            Self::High => "high",
            Self::Prohibited => "prohibited",
        }
    }

    /// Label for people, e.g. "High risk".
    pub fn label(self) -> &'static str {
        match self {
            Self::Minimal => "Minimal risk",
            Self::Limited => "Limited risk",
            Self::High => "High risk",
            Self::Prohibited => "Prohibited",
        }
    }
}

/// Lifecycle stage of one model version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    #[default]
    Development,
    Staging,
    Canary,
    /// At most one version per model is in production.
    Production,
    Archived,
}

impl Stage {
    pub const ALL: [Stage; 5] = [Self::Development, Self::Staging, Self::Canary, Self::Production, Self::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Staging => "staging",
            Self::Canary => "canary",
            Self::Production => "production",
            Self::Archived => "archived",
        }
    }

    /// Label for people, e.g. "Production".
    pub fn label(self) -> &'static str {
        match self {
            Self::Development => "Development",
            Self::Staging => "Staging",
            Self::Canary => "Canary",
            Self::Production => "Production",
            Self::Archived => "Archived",
        }
    }
}

/// What moving a version from one stage to another takes: the whole 5 × 5 table is
/// `Stage::move_to`, which the server enforces and the console uses to offer moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageMove {
    /// It is already there.
    Unchanged,
    /// Anyone who may change models may make it at once: the version serves no more
    /// traffic afterwards than before.
    Direct,
    /// Only an implemented, approved change request makes it: the move puts the
    /// version in front of live traffic (canary, production) or takes the production
    /// version away.
    ThroughChange,
}

/// Why a stage move or a registration was refused.
pub const STAGE_NEEDS_CHANGE: &str = "moving a version into canary or production, or out of production, goes \
     only through an approved and implemented change request; register it in development, staging or archived";

impl Stage {
    /// Whether a version in this stage receives live traffic.
    pub fn serves_traffic(self) -> bool {
        matches!(self, Self::Canary | Self::Production)
    }

    /// What moving a version from this stage to `to` takes.
    pub fn move_to(self, to: Stage) -> StageMove {
        if self == to {
            StageMove::Unchanged
        } else if to.serves_traffic() || self == Self::Production {
            StageMove::ThroughChange
        } else {
            StageMove::Direct
        }
    }

    /// Whether a version may be registered straight into this stage (as if moved there
    /// from nowhere: only where it serves no traffic).
    pub fn registrable(self) -> bool {
        !self.serves_traffic()
    }
}

/// The error of parsing an unknown enum name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    /// What was given.
    pub given: String,
    /// The names that would have been accepted.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not one of: {}", self.given, self.expected.join(", "))
    }
}

impl FromStr for RiskTier {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|tier| tier.as_str() == s).ok_or_else(|| UnknownVariant {
            given: s.to_owned(),
            expected: &["minimal", "limited", "high", "prohibited"],
        })
    }
}

impl FromStr for Stage {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|stage| stage.as_str() == s).ok_or_else(|| UnknownVariant {
            given: s.to_owned(),
            expected: &["development", "staging", "canary", "production", "archived"],
        })
    }
}

/// A registered model as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub id: ModelId,
    /// Unique name, e.g. `credit-risk-scoring`.
    pub name: String,
    pub description: String,
    /// The person or team answerable for the model.
    pub owner: String,
    /// The business problem the model serves, in the stakeholders' words.
    pub use_case: String,
    pub risk_tier: RiskTier,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many versions are registered.
    pub version_count: u32,
    /// Tag of the most recently registered version.
    pub latest_version: Option<String>,
    /// Tag of the version in production, if any.
    pub production_version: Option<String>,
    /// Tag of the version that was in production before the current one: what a
    /// rollback returns to.
    #[serde(default)]
    pub rollback_version: Option<String>,
}

/// One version of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub id: VersionId,
    pub model_id: ModelId,
    /// Unique per model, e.g. `v2.3.0`.
    pub tag: String,
    pub stage: Stage,
    /// Where the training data came from (dataset URI, snapshot id, commit…).
    pub training_data_ref: String,
    pub notes: String,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/models/{id}`: a model with its versions, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResponse {
    pub model: ModelSummary,
    pub versions: Vec<VersionSummary>,
}

/// `GET /api/models` query: every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelListQuery {
    /// Case-insensitive text found in the name, description, owner or use case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Only models with at least one version in this stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_tier: Option<RiskTier>,
    /// 1-based page number (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Items per page, 1–200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
}

/// `GET /api/models`: one page of models, ordered by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelListResponse {
    pub items: Vec<ModelSummary>,
    /// Models matching the filters, over all pages.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// `POST /api/models`.
///
/// Every field has a default so that a missing field is reported by validation, by
/// name, like any other invalid field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateModelRequest {
    pub name: String,
    pub description: String,
    pub owner: String,
    pub use_case: String,
    /// Required.
    pub risk_tier: Option<RiskTier>,
}

/// `PATCH /api/models/{id}`: only the fields given are changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateModelRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_tier: Option<RiskTier>,
}

/// `POST /api/models/{id}/versions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateVersionRequest {
    pub tag: String,
    pub training_data_ref: String,
    pub notes: String,
    /// Defaults to `development`.
    pub stage: Stage,
}

/// `POST /api/models/{id}/versions/{tag}/stage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeStageRequest {
    pub stage: Stage,
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `ok` when the store answers.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub store: String,
    pub version: String,
    /// This replica holds the lease of the jobs that run once across replicas (rollups,
    /// retention, scheduled drift).
    #[serde(default)]
    pub singleton_jobs: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole table: every (from, to) pair and what it takes.
    #[test]
    fn every_stage_move_is_as_the_table_says() {
        use Stage::{Archived as A, Canary as C, Development as D, Production as P, Staging as S};
        use StageMove::{Direct as Go, ThroughChange as Ch, Unchanged as No};
        let table = [
            (D, [No, Go, Ch, Ch, Go]),
            (S, [Go, No, Ch, Ch, Go]),
            (C, [Go, Go, No, Ch, Go]),
            (P, [Ch, Ch, Ch, No, Ch]),
            (A, [Go, Go, Ch, Ch, No]),
        ];
        for (from, row) in table {
            for (to, expected) in Stage::ALL.into_iter().zip(row) {
                assert_eq!(from.move_to(to), expected, "{from:?} -> {to:?}");
            }
        }
        let registrable: Vec<Stage> = Stage::ALL.into_iter().filter(|stage| stage.registrable()).collect();
        assert_eq!(registrable, [D, S, A]);
    }
}
