//! Change requests, their approvals and timelines, and observed deployments. Every write
//! is one transaction with its timeline entries, its audit entry and its `change` event;
//! implementing a promotion or a rollback moves the registry in that same transaction.
//! `revision` turns two concurrent edits into a conflict instead of a lost update.

use chrono::{DateTime, Utc};
use keel_shared::ModelId;
use keel_shared::audit::{AuditAction, AuditTarget};
use keel_shared::changes::{
    Approval, ChangeKind, ChangeStatus, ChangeSummary, ChangeTimelineEntry, ChangeTimelineKind, ChangeType, Decision,
    ObservedDeployment, RiskLevel,
};
use keel_shared::live::LiveEvent;
use keel_shared::models::{RiskTier, Stage};
use serde::Serialize;
use sqlx::{Any, FromRow, Transaction};

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::{Dialect, Store, from_millis, new_id};
use crate::domain::{DomainError, DomainResult};

/// A change request as stored; the services change a copy and hand both to `save_change`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeRecord {
    pub id: String,
    pub number: u64,
    pub kind: ChangeKind,
    pub change_type: ChangeType,
    pub status: ChangeStatus,
    pub model_id: ModelId,
    pub version: Option<String>,
    pub target_stage: Option<Stage>,
    pub title: String,
    pub description: String,
    pub implementation_plan: String,
    pub rollback_plan: String,
    pub linked_incidents: Vec<String>,
    pub requester: String,
    pub implementer: Option<String>,
    pub tier: RiskTier,
    pub risk: RiskLevel,
    /// The risk asked for instead of the table's, if any.
    pub risk_requested: Option<RiskLevel>,
    pub risk_reason: String,
    pub scheduled_start: Option<DateTime<Utc>>,
    pub scheduled_end: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub implemented_at: Option<DateTime<Utc>>,
    /// What production held before the change was implemented: what rolling it back restores.
    pub previous_production: Option<String>,
    #[serde(skip)]
    pub model_name: String,
    #[serde(skip)]
    pub revision: i64,
}

/// A version's stage to move as part of implementing or rolling back a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMoveOrder {
    pub version: String,
    pub to: Stage,
}

/// Everything one write of a change does besides replacing the record.
#[derive(Debug, Default)]
pub struct ChangeWrite {
    pub entries: Vec<(ChangeTimelineKind, String)>,
    pub approval: Option<Approval>,
    /// Void every approval that counts so far, with this reason.
    pub void_approvals: Option<String>,
    pub stage_moves: Vec<StageMoveOrder>,
}

#[derive(FromRow)]
struct ChangeRow {
    id: String,
    number: i64,
    kind: String,
    change_type: String,
    status: String,
    model_id: String,
    model_name: String,
    version: Option<String>,
    target_stage: Option<String>,
    title: String,
    description: String,
    implementation_plan: String,
    rollback_plan: String,
    linked_incidents: String,
    requester: String,
    implementer: Option<String>,
    tier: String,
    risk: String,
    risk_requested: Option<String>,
    risk_reason: String,
    scheduled_start: Option<i64>,
    scheduled_end: Option<i64>,
    created_at: i64,
    updated_at: i64,
    submitted_at: Option<i64>,
    implemented_at: Option<i64>,
    previous_production: Option<String>,
    revision: i64,
}

fn parsed<T: std::str::FromStr<Err = keel_shared::models::UnknownVariant>>(text: &str, id: &str) -> DomainResult<T> {
    text.parse().map_err(|error| DomainError::Corrupt(format!("change '{id}' has {error}")))
}

impl TryFrom<ChangeRow> for ChangeRecord {
    type Error = DomainError;

    fn try_from(row: ChangeRow) -> DomainResult<Self> {
        let id = row.id.clone();
        Ok(Self {
            number: u64::try_from(row.number).unwrap_or_default(),
            kind: parsed(&row.kind, &id)?,
            change_type: parsed(&row.change_type, &id)?,
            status: parsed(&row.status, &id)?,
            model_id: ModelId(row.model_id),
            version: row.version,
            target_stage: row.target_stage.as_deref().map(|stage| parsed(stage, &id)).transpose()?,
            title: row.title,
            description: row.description,
            implementation_plan: row.implementation_plan,
            rollback_plan: row.rollback_plan,
            linked_incidents: super::decode_stored(&row.linked_incidents, "linked incidents", &id)?,
            requester: row.requester,
            implementer: row.implementer,
            tier: row.tier.parse().map_err(|error| DomainError::Corrupt(format!("change '{id}' has {error}")))?,
            risk: parsed(&row.risk, &id)?,
            risk_requested: row.risk_requested.as_deref().map(|risk| parsed(risk, &id)).transpose()?,
            risk_reason: row.risk_reason,
            scheduled_start: row.scheduled_start.map(from_millis),
            scheduled_end: row.scheduled_end.map(from_millis),
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            submitted_at: row.submitted_at.map(from_millis),
            implemented_at: row.implemented_at.map(from_millis),
            previous_production: row.previous_production,
            model_name: row.model_name,
            revision: row.revision,
            id,
        })
    }
}

macro_rules! change_select {
    () => {
        "SELECT c.id, c.number, c.kind, c.change_type, c.status, c.model_id, m.name AS model_name, c.version,
            c.target_stage, c.title, c.description, c.implementation_plan, c.rollback_plan, c.linked_incidents,
            c.requester, c.implementer, c.tier, c.risk, c.risk_requested, c.risk_reason, c.scheduled_start,
            c.scheduled_end, c.created_at, c.updated_at, c.submitted_at, c.implemented_at, c.previous_production,
            c.revision
         FROM changes c JOIN models m ON m.id = c.model_id"
    };
}

/// Which changes to list.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    pub statuses: Vec<ChangeStatus>,
    pub kinds: Vec<ChangeKind>,
    pub model: Option<ModelId>,
}

fn millis(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(|at| at.timestamp_millis())
}

impl Store {
    pub async fn change(&self, id: &str) -> DomainResult<ChangeRecord> {
        let row: Option<ChangeRow> =
            sqlx::query_as(concat!(change_select!(), " WHERE c.id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.ok_or_else(|| DomainError::NotFound(format!("no change with id '{id}'")))?.try_into()
    }

    /// The changes matching `filter`, newest first.
    pub async fn list_changes(&self, filter: &ChangeFilter) -> DomainResult<Vec<ChangeRecord>> {
        let rows: Vec<ChangeRow> =
            sqlx::query_as(concat!(change_select!(), " WHERE ($1 IS NULL OR c.model_id = $1) ORDER BY c.number DESC"))
                .bind(filter.model.as_ref().map(|model| model.0.clone()))
                .fetch_all(&self.pool)
                .await?;
        let records = rows.into_iter().map(ChangeRecord::try_from).collect::<DomainResult<Vec<_>>>()?;
        Ok(records
            .into_iter()
            .filter(|change| filter.statuses.is_empty() || filter.statuses.contains(&change.status))
            .filter(|change| filter.kinds.is_empty() || filter.kinds.contains(&change.kind))
            .collect())
    }

    /// Every approval and rejection of the change, oldest first.
    pub async fn approvals(&self, change_id: &str) -> DomainResult<Vec<Approval>> {
        type Row = (String, String, String, String, i64, String, String, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT approver, approver_role, decision, comment, at, change_digest, evidence_digest, voided
             FROM change_approvals WHERE change_id = $1 ORDER BY at, id",
        )
        .bind(change_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(approver, role, decision, comment, at, change_digest, evidence_digest, voided)| {
                Ok(Approval {
                    approver,
                    approver_role: role
                        .parse()
                        .map_err(|error| DomainError::Corrupt(format!("an approval of '{change_id}' has {error}")))?,
                    decision: parsed::<Decision>(&decision, change_id)?,
                    comment,
                    at: from_millis(at),
                    change_digest,
                    evidence_digest,
                    voided,
                })
            })
            .collect()
    }

    pub async fn change_timeline(&self, change_id: &str) -> DomainResult<Vec<ChangeTimelineEntry>> {
        let rows: Vec<(i64, String, String, String)> =
            sqlx::query_as("SELECT at, actor, kind, text FROM change_timeline WHERE change_id = $1 ORDER BY at, id")
                .bind(change_id)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(at, actor, kind, text)| {
                Ok(ChangeTimelineEntry { at: from_millis(at), actor, kind: parsed(&kind, change_id)?, text })
            })
            .collect()
    }

    /// Stores a new change (its id and number are assigned here) with a `created` entry.
    /// `summary` makes the event from the stored record.
    pub async fn create_change(
        &self,
        change: ChangeRecord,
        summary: impl FnOnce(&ChangeRecord) -> ChangeSummary,
        actor: &Actor,
    ) -> DomainResult<ChangeRecord> {
        let mut tx = self.begin_write().await?;
        if self.dialect == Dialect::Postgres {
            // Numbers are handed out one creator at a time.
            sqlx::query("LOCK TABLE changes IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        let number: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM changes").fetch_one(&mut *tx).await?;
        let created = ChangeRecord { id: new_id(), number: u64::try_from(number).unwrap_or_default(), ..change };
        sqlx::query(
            "INSERT INTO changes (id, number, kind, change_type, status, model_id, version, target_stage, title,
                description, implementation_plan, rollback_plan, linked_incidents, requester, tier, risk,
                risk_requested, risk_reason, scheduled_start, scheduled_end, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                $21)",
        )
        .bind(&created.id)
        .bind(number)
        .bind(created.kind.as_str())
        .bind(created.change_type.as_str())
        .bind(created.status.as_str())
        .bind(&created.model_id.0)
        .bind(&created.version)
        .bind(created.target_stage.map(Stage::as_str))
        .bind(&created.title)
        .bind(&created.description)
        .bind(&created.implementation_plan)
        .bind(&created.rollback_plan)
        .bind(json(&created.linked_incidents)?)
        .bind(&created.requester)
        .bind(created.tier.as_str())
        .bind(created.risk.as_str())
        .bind(created.risk_requested.map(RiskLevel::as_str))
        .bind(&created.risk_reason)
        .bind(millis(created.scheduled_start))
        .bind(millis(created.scheduled_end))
        .bind(created.created_at.timestamp_millis())
        .execute(&mut *tx)
        .await?;
        let text = format!("{} requested by {}", created.kind.label(), created.requester);
        self.insert_change_timeline(&mut tx, &created.id, &actor.name, ChangeTimelineKind::Created, &text).await?;
        let changes = ChangeSet::default()
            .field("title", None, Some(&created.title))
            .field("kind", None, Some(created.kind.as_str()))
            .field("type", None, Some(created.change_type.as_str()))
            .field("risk", None, Some(created.risk.as_str()))
            .build();
        let record = AuditRecord {
            actor,
            action: AuditAction::ChangeCreate,
            target: AuditTarget::Change,
            target_id: &created.id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        let event = LiveEvent::Change { summary: Box::new(summary(&created)), change: "created".into() };
        self.append_event(&mut tx, &event).await?;
        self.commit_with_events(tx).await?;
        self.change(&created.id).await
    }

    /// Replaces `before` with `after` (refused if it changed since `before` was read) and
    /// does what `write` says — timeline entries, an approval, voiding the approvals,
    /// stage moves — with an audit entry and an event, in one transaction.
    pub async fn save_change(
        &self,
        before: &ChangeRecord,
        after: &ChangeRecord,
        write: ChangeWrite,
        action: AuditAction,
        summary: impl FnOnce(&ChangeRecord) -> ChangeSummary,
        actor: &Actor,
    ) -> DomainResult<ChangeRecord> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE changes SET status = $3, title = $4, description = $5, implementation_plan = $6,
                rollback_plan = $7, linked_incidents = $8, implementer = $9, tier = $10, risk = $11,
                risk_requested = $12, risk_reason = $13, scheduled_start = $14, scheduled_end = $15, updated_at = $16,
                submitted_at = $17, implemented_at = $18, previous_production = $19, revision = revision + 1
             WHERE id = $1 AND revision = $2",
        )
        .bind(&before.id)
        .bind(before.revision)
        .bind(after.status.as_str())
        .bind(&after.title)
        .bind(&after.description)
        .bind(&after.implementation_plan)
        .bind(&after.rollback_plan)
        .bind(json(&after.linked_incidents)?)
        .bind(&after.implementer)
        .bind(after.tier.as_str())
        .bind(after.risk.as_str())
        .bind(after.risk_requested.map(RiskLevel::as_str))
        .bind(&after.risk_reason)
        .bind(millis(after.scheduled_start))
        .bind(millis(after.scheduled_end))
        .bind(self.now_millis())
        .bind(millis(after.submitted_at))
        .bind(millis(after.implemented_at))
        .bind(&after.previous_production)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(DomainError::Conflict(format!(
                "CHG-{} was changed by someone else meanwhile: reload it and try again",
                before.number
            )));
        }
        for order in &write.stage_moves {
            self.apply_stage_move(&mut tx, &before.model_id, &order.version, None, order.to, actor).await?;
        }
        if let Some(reason) = &write.void_approvals {
            sqlx::query("UPDATE change_approvals SET voided = $2 WHERE change_id = $1 AND voided IS NULL")
                .bind(&before.id)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(approval) = &write.approval {
            sqlx::query(
                "INSERT INTO change_approvals (id, change_id, approver, approver_role, decision, comment, at,
                    change_digest, evidence_digest)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(new_id())
            .bind(&before.id)
            .bind(&approval.approver)
            .bind(approval.approver_role.as_str())
            .bind(approval.decision.as_str())
            .bind(&approval.comment)
            .bind(approval.at.timestamp_millis())
            .bind(&approval.change_digest)
            .bind(&approval.evidence_digest)
            .execute(&mut *tx)
            .await?;
        }
        for (kind, text) in &write.entries {
            self.insert_change_timeline(&mut tx, &before.id, &actor.name, *kind, text).await?;
        }
        let mut changes = ChangeSet::default().fields(before, after);
        if let Some(approval) = &write.approval {
            changes = changes
                .field("decision", None, Some(approval.decision.as_str()))
                .field("change_digest", None, Some(&approval.change_digest))
                .field("evidence_digest", None, Some(&approval.evidence_digest));
        }
        if let Some(reason) = &write.void_approvals {
            changes = changes.field("approvals_voided", None, Some(reason));
        }
        let record =
            AuditRecord { actor, action, target: AuditTarget::Change, target_id: &before.id, changes: changes.build() };
        self.append_audit(&mut tx, record).await?;
        let saved = ChangeRecord { revision: before.revision + 1, ..after.clone() };
        let change = write.entries.first().map_or_else(|| "updated".to_owned(), |(kind, _)| kind.as_str().to_owned());
        self.append_event(&mut tx, &LiveEvent::Change { summary: Box::new(summary(&saved)), change }).await?;
        self.commit_with_events(tx).await?;
        self.change(&before.id).await
    }

    async fn insert_change_timeline(
        &self,
        tx: &mut Transaction<'static, Any>,
        change_id: &str,
        actor: &str,
        kind: ChangeTimelineKind,
        text: &str,
    ) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO change_timeline (id, change_id, at, actor, kind, text) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(change_id)
        .bind(self.now_millis())
        .bind(actor)
        .bind(kind.as_str())
        .bind(text)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records a deployment a pipeline reported, with a `deployment` entry on the timeline
    /// of the change that covers it, if one does.
    pub async fn record_deployment(&self, deployment: &ObservedDeployment, actor: &Actor) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO observed_deployments (id, model_id, version, summary, source, at, change_id, incident_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&deployment.id)
        .bind(&deployment.model_id.0)
        .bind(&deployment.version)
        .bind(&deployment.summary)
        .bind(&deployment.source)
        .bind(deployment.at.timestamp_millis())
        .bind(&deployment.change_id)
        .bind(&deployment.incident_id)
        .execute(&mut *tx)
        .await?;
        if let Some(change_id) = &deployment.change_id {
            let text = format!("Deployment reported by {}: {}", deployment.source, deployment.summary);
            self.insert_change_timeline(&mut tx, change_id, &actor.name, ChangeTimelineKind::Deployment, &text).await?;
        }
        let changes = ChangeSet::default()
            .field("model", None, Some(&deployment.model_id.0))
            .field("version", None, deployment.version.as_deref())
            .field("covered_by", None, deployment.change_id.as_deref())
            .build();
        let record = AuditRecord {
            actor,
            action: AuditAction::DeploymentObserved,
            target: AuditTarget::Model,
            target_id: &deployment.model_id.0,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        self.commit_with_events(tx).await?;
        Ok(())
    }

    /// The model's reported deployments, newest first.
    pub async fn deployments(&self, model_id: &ModelId) -> DomainResult<Vec<ObservedDeployment>> {
        type Row = (String, Option<String>, String, String, i64, Option<String>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, version, summary, source, at, change_id, incident_id FROM observed_deployments
             WHERE model_id = $1 ORDER BY at DESC LIMIT 100",
        )
        .bind(&model_id.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, version, summary, source, at, change_id, incident_id)| ObservedDeployment {
                id,
                model_id: model_id.clone(),
                version,
                summary,
                source,
                at: from_millis(at),
                change_id,
                incident_id,
            })
            .collect())
    }
}

fn json<T: Serialize>(value: &T) -> DomainResult<String> {
    serde_json::to_string(value).map_err(|error| DomainError::Internal(error.into()))
}
