//! Evidence per model version (test results, fairness reviews, model cards), readiness
//! attestations per model, and named settings (the approval policy, freeze windows,
//! fairness thresholds). Each write carries its audit entry.

use chrono::{DateTime, Utc};
use keel_shared::ModelId;
use keel_shared::audit::{AuditAction, AuditTarget};
use keel_shared::evidence::Attestation;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::{Store, decode_stored, from_millis};
use crate::domain::{DomainError, DomainResult};

/// What a version's stored evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceSlot {
    Tests,
    Fairness,
    ModelCard,
}

impl EvidenceSlot {
    fn as_str(self) -> &'static str {
        match self {
            Self::Tests => "tests",
            Self::Fairness => "fairness",
            Self::ModelCard => "model_card",
        }
    }

    fn action(self) -> AuditAction {
        match self {
            Self::Tests => AuditAction::EvidenceTests,
            Self::Fairness => AuditAction::FairnessReview,
            Self::ModelCard => AuditAction::ModelCardSave,
        }
    }
}

/// One stored piece of evidence with who stored it when.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvidence<T> {
    pub value: T,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl Store {
    pub async fn evidence<T: DeserializeOwned>(
        &self,
        model_id: &ModelId,
        version: &str,
        slot: EvidenceSlot,
    ) -> DomainResult<Option<StoredEvidence<T>>> {
        let row: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT value, updated_at, updated_by FROM version_evidence WHERE model_id = $1 AND version = $2 AND kind = $3",
        )
        .bind(&model_id.0)
        .bind(version)
        .bind(slot.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(value, updated_at, updated_by)| {
            Ok(StoredEvidence {
                value: decode_stored(&value, slot.as_str(), &format!("version '{version}' of model '{model_id}'"))?,
                updated_at: from_millis(updated_at),
                updated_by,
            })
        })
        .transpose()
    }

    /// Stores `value` as the version's evidence of `slot`, replacing what was there, with
    /// `action` (default: the slot's) in the audit trail.
    pub async fn put_evidence<T: Serialize>(
        &self,
        model_id: &ModelId,
        version: &str,
        slot: EvidenceSlot,
        value: &T,
        action: Option<AuditAction>,
        actor: &Actor,
    ) -> DomainResult<()> {
        let version_id: Option<String> =
            sqlx::query_scalar("SELECT id FROM model_versions WHERE model_id = $1 AND tag = $2")
                .bind(&model_id.0)
                .bind(version)
                .fetch_optional(&self.pool)
                .await?;
        let version_id = version_id
            .ok_or_else(|| DomainError::NotFound(format!("model '{model_id}' has no version '{version}'")))?;
        let json = serde_json::to_string(value).map_err(|error| DomainError::Internal(error.into()))?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO version_evidence (model_id, version, kind, value, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (model_id, version, kind) DO UPDATE SET value = excluded.value,
                updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(&model_id.0)
        .bind(version)
        .bind(slot.as_str())
        .bind(&json)
        .bind(self.now_millis())
        .bind(&actor.name)
        .execute(&mut *tx)
        .await?;
        let digest = crate::services::changes::sha256_hex(json.as_bytes());
        let changes = ChangeSet::default().field(slot.as_str(), None, Some(&digest)).build();
        let record = AuditRecord {
            actor,
            action: action.unwrap_or(slot.action()),
            target: AuditTarget::ModelVersion,
            target_id: &version_id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The model's readiness attestations by item.
    pub async fn attestations(&self, model_id: &ModelId) -> DomainResult<Vec<(String, Attestation)>> {
        let rows: Vec<(String, String, String, i64)> =
            sqlx::query_as("SELECT item, by_user, note, at FROM readiness_attestations WHERE model_id = $1")
                .bind(&model_id.0)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(item, by, note, at)| (item, Attestation { by, note, at: from_millis(at) })).collect())
    }

    /// Attests items (`Some(note)`) or withdraws attestations (`None`), in one transaction.
    pub async fn attest(
        &self,
        model_id: &ModelId,
        items: &[(String, Option<String>)],
        actor: &Actor,
    ) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        let mut changes = ChangeSet::default();
        for (item, note) in items {
            sqlx::query("DELETE FROM readiness_attestations WHERE model_id = $1 AND item = $2")
                .bind(&model_id.0)
                .bind(item)
                .execute(&mut *tx)
                .await?;
            if let Some(note) = note {
                sqlx::query(
                    "INSERT INTO readiness_attestations (model_id, item, by_user, note, at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&model_id.0)
                .bind(item)
                .bind(&actor.name)
                .bind(note)
                .bind(self.now_millis())
                .execute(&mut *tx)
                .await?;
            }
            changes = changes.field(item, None, note.as_deref().or(Some("(withdrawn)")));
        }
        let record = AuditRecord {
            actor,
            action: AuditAction::ReadinessAttest,
            target: AuditTarget::Model,
            target_id: &model_id.0,
            changes: changes.build(),
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The setting `name`, or `T::default()` until someone sets it.
    pub async fn setting<T: DeserializeOwned + Default>(&self, name: &str) -> DomainResult<T> {
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        stored.map_or_else(|| Ok(T::default()), |json| decode_stored(&json, name, "the organisation"))
    }

    /// Replaces the setting `name`, with `action` and the changed fields in the audit trail.
    pub async fn put_setting<T: Serialize + DeserializeOwned + Default>(
        &self,
        name: &str,
        value: &T,
        action: AuditAction,
        actor: &Actor,
    ) -> DomainResult<()> {
        let before: T = self.setting(name).await.unwrap_or_default();
        let json = serde_json::to_string(value).map_err(|error| DomainError::Internal(error.into()))?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(&json)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?;
        let changes = ChangeSet::default().fields(&before, value).build();
        let record = AuditRecord { actor, action, target: AuditTarget::Settings, target_id: name, changes };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }
}
