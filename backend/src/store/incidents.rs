//! Incidents and their timelines. Every change is one transaction with its timeline
//! entries, its audit entry and its `incident` event; `revision` turns two concurrent
//! edits into a conflict instead of a lost update.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use keel_shared::ModelId;
use keel_shared::audit::{AuditAction, AuditTarget};
use keel_shared::incidents::{
    IncidentSource, IncidentStatus, IncidentSummary, Postmortem, SeriousIncident, Severity, TimelineEntry, TimelineKind,
};
use keel_shared::live::LiveEvent;
use serde::Serialize;
use sqlx::{Any, FromRow, Transaction};

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::{Dialect, Store, decode_stored, from_millis, is_unique_violation, new_id};
use crate::domain::{DomainError, DomainResult};

/// An incident as stored; the services change a copy and hand both to `save_incident`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRecord {
    pub id: String,
    pub number: u64,
    pub title: String,
    pub status: IncidentStatus,
    pub severity: Severity,
    pub model_id: Option<ModelId>,
    /// The sender's model label where Keel does not know the model.
    pub model_label: Option<String>,
    pub version: Option<String>,
    pub source: IncidentSource,
    pub fingerprint: String,
    pub rule_id: Option<String>,
    pub impact: String,
    pub assignee: Option<String>,
    pub commander: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub acknowledge_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
    pub escalation_level: u32,
    pub runbook_id: Option<String>,
    /// Indices of the ticked runbook steps.
    pub runbook_done: Vec<usize>,
    pub postmortem: Option<Postmortem>,
    pub serious: Option<SeriousIncident>,
    /// The model's name (or the sender's label); not a column of its own.
    #[serde(skip)]
    pub model_name: Option<String>,
    #[serde(skip)]
    pub revision: i64,
}

impl IncidentRecord {
    pub fn summary(&self) -> IncidentSummary {
        IncidentSummary {
            id: self.id.clone(),
            number: self.number,
            title: self.title.clone(),
            status: self.status,
            severity: self.severity,
            model: self.model_id.clone(),
            model_name: self.model_name.clone().or_else(|| self.model_label.clone()),
            version: self.version.clone(),
            source: self.source,
            assignee: self.assignee.clone(),
            commander: self.commander.clone(),
            opened_at: self.opened_at,
            detected_at: self.detected_at,
            acknowledged_at: self.acknowledged_at,
            mitigated_at: self.mitigated_at,
            resolved_at: self.resolved_at,
            closed_at: self.closed_at,
            acknowledge_by: self.acknowledge_by,
            resolve_by: self.resolve_by,
            escalation_level: self.escalation_level,
        }
    }
}

#[derive(FromRow)]
struct IncidentRow {
    id: String,
    number: i64,
    title: String,
    status: String,
    severity: String,
    model_id: Option<String>,
    model_label: Option<String>,
    model_name: Option<String>,
    version: Option<String>,
    source: String,
    fingerprint: String,
    rule_id: Option<String>,
    impact: String,
    assignee: Option<String>,
    commander: Option<String>,
    opened_at: i64,
    detected_at: i64,
    acknowledged_at: Option<i64>,
    mitigated_at: Option<i64>,
    resolved_at: Option<i64>,
    closed_at: Option<i64>,
    acknowledge_by: i64,
    resolve_by: i64,
    escalation_level: i64,
    runbook_id: Option<String>,
    runbook_done: String,
    postmortem: Option<String>,
    serious: Option<String>,
    revision: i64,
}

impl TryFrom<IncidentRow> for IncidentRecord {
    type Error = DomainError;

    fn try_from(row: IncidentRow) -> DomainResult<Self> {
        let owner = format!("incident INC-{}", row.number);
        let name = |error: keel_shared::models::UnknownVariant| {
            DomainError::Corrupt(format!("the stored incident INC-{} has {error}", row.number))
        };
        Ok(Self {
            status: row.status.parse().map_err(name)?,
            severity: row.severity.parse().map_err(name)?,
            source: row.source.parse().map_err(name)?,
            runbook_done: decode_stored(&row.runbook_done, "runbook progress", &owner)?,
            postmortem: row.postmortem.as_deref().map(|json| decode_stored(json, "postmortem", &owner)).transpose()?,
            serious: row
                .serious
                .as_deref()
                .map(|json| decode_stored(json, "serious-incident record", &owner))
                .transpose()?,
            id: row.id,
            number: u64::try_from(row.number).unwrap_or_default(),
            title: row.title,
            model_id: row.model_id.map(ModelId),
            model_label: row.model_label,
            model_name: row.model_name,
            version: row.version,
            fingerprint: row.fingerprint,
            rule_id: row.rule_id,
            impact: row.impact,
            assignee: row.assignee,
            commander: row.commander,
            opened_at: from_millis(row.opened_at),
            detected_at: from_millis(row.detected_at),
            acknowledged_at: row.acknowledged_at.map(from_millis),
            mitigated_at: row.mitigated_at.map(from_millis),
            resolved_at: row.resolved_at.map(from_millis),
            closed_at: row.closed_at.map(from_millis),
            acknowledge_by: from_millis(row.acknowledge_by),
            resolve_by: from_millis(row.resolve_by),
            escalation_level: u32::try_from(row.escalation_level).unwrap_or_default(),
            runbook_id: row.runbook_id,
            revision: row.revision,
        })
    }
}

macro_rules! incident_select {
    () => {
        "SELECT i.id, i.number, i.title, i.status, i.severity, i.model_id, i.model_label, m.name AS model_name,
            i.version, i.source, i.fingerprint, i.rule_id, i.impact, i.assignee, i.commander, i.opened_at,
            i.detected_at, i.acknowledged_at, i.mitigated_at, i.resolved_at, i.closed_at, i.acknowledge_by,
            i.resolve_by, i.escalation_level, i.runbook_id, i.runbook_done, i.postmortem, i.serious, i.revision
         FROM incidents i LEFT JOIN models m ON m.id = i.model_id "
    };
}

/// Which incidents to list; each filter is optional.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub statuses: Vec<IncidentStatus>,
    pub severities: Vec<Severity>,
    pub model: Option<ModelId>,
    pub assignee: Option<String>,
    /// Detected at or after (Unix ms).
    pub detected_from: Option<i64>,
    /// Detected before (Unix ms).
    pub detected_to: Option<i64>,
}

/// Lists at most this many incidents, newest first.
pub const INCIDENT_LIST_LIMIT: i64 = 500;

fn json<T: Serialize>(value: &T) -> DomainResult<String> {
    serde_json::to_string(value).map_err(|error| DomainError::Internal(error.into()))
}

fn millis(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(|at| at.timestamp_millis())
}

impl Store {
    /// Notes that the user opened the incident as it stands now: its newest timeline
    /// entry (ids sort by creation) is what they have seen.
    pub async fn mark_incident_read(&self, incident_id: &str, user_id: &str) -> DomainResult<()> {
        let newest: Option<String> = sqlx::query_scalar("SELECT MAX(id) FROM incident_timeline WHERE incident_id = $1")
            .bind(incident_id)
            .fetch_one(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO incident_reads (user_id, incident_id, seen_entry) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, incident_id) DO UPDATE SET seen_entry = excluded.seen_entry",
        )
        .bind(user_id)
        .bind(incident_id)
        .bind(newest.unwrap_or_default())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Which of `incident_ids` have a timeline entry the user has not seen (or were never
    /// opened by them).
    pub async fn unread_incidents(&self, user_id: &str, incident_ids: &[&str]) -> DomainResult<HashSet<String>> {
        let mut unread = HashSet::new();
        for chunk in incident_ids.chunks(500) {
            let placeholders: Vec<String> = (0..chunk.len()).map(|index| format!("${}", index + 2)).collect();
            let sql = format!(
                "SELECT t.incident_id FROM incident_timeline t
                 LEFT JOIN incident_reads r ON r.incident_id = t.incident_id AND r.user_id = $1
                 WHERE t.incident_id IN ({})
                 GROUP BY t.incident_id HAVING MAX(t.id) > COALESCE(MAX(r.seen_entry), '')",
                placeholders.join(", ")
            );
            // Only numbered placeholders are interpolated; the ids are bound.
            let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(user_id);
            for id in chunk {
                query = query.bind(*id);
            }
            unread.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(unread)
    }

    pub async fn incident(&self, id: &str) -> DomainResult<IncidentRecord> {
        let row: Option<IncidentRow> =
            sqlx::query_as(concat!(incident_select!(), "WHERE i.id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.ok_or_else(|| DomainError::NotFound(format!("no incident with id '{id}'")))?.try_into()
    }

    /// The open incident with this fingerprint, if any.
    pub async fn open_incident_with_fingerprint(&self, fingerprint: &str) -> DomainResult<Option<IncidentRecord>> {
        let row: Option<IncidentRow> = sqlx::query_as(concat!(
            incident_select!(),
            "WHERE i.fingerprint = $1 AND i.status IN ('triage', 'investigating', 'mitigated')"
        ))
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await?;
        row.map(IncidentRecord::try_from).transpose()
    }

    /// Incidents matching `filter`, newest first (at most `INCIDENT_LIST_LIMIT`).
    pub async fn list_incidents(&self, filter: &IncidentFilter) -> DomainResult<Vec<IncidentRecord>> {
        let statuses = (!filter.statuses.is_empty())
            .then(|| json(&filter.statuses.iter().map(|status| status.as_str()).collect::<Vec<_>>()))
            .transpose()?;
        let severities = (!filter.severities.is_empty())
            .then(|| json(&filter.severities.iter().map(|severity| severity.as_str()).collect::<Vec<_>>()))
            .transpose()?;
        // The filters' lists travel as JSON text: `instr` works on both dialects' text.
        let membership = match self.dialect {
            Dialect::Sqlite => "instr($1, '\"' || i.status || '\"') > 0",
            Dialect::Postgres => "strpos($1, '\"' || i.status || '\"') > 0",
        };
        let severity_membership = membership.replace("$1", "$2").replace("i.status", "i.severity");
        let sql = format!(
            "{} WHERE ($1 IS NULL OR {membership}) AND ($2 IS NULL OR {severity_membership})
               AND ($3 IS NULL OR i.model_id = $3) AND ($4 IS NULL OR i.assignee = $4)
               AND ($5 IS NULL OR i.detected_at >= $5) AND ($6 IS NULL OR i.detected_at < $6)
             ORDER BY i.number DESC LIMIT $7",
            incident_select!()
        );
        let rows: Vec<IncidentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(statuses)
            .bind(severities)
            .bind(filter.model.as_ref().map(|model| model.0.clone()))
            .bind(filter.assignee.clone())
            .bind(filter.detected_from)
            .bind(filter.detected_to)
            .bind(INCIDENT_LIST_LIMIT)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(IncidentRecord::try_from).collect()
    }

    /// Opens `incident` (its id and number are assigned here) with an `opened` timeline
    /// entry, or, when an open incident already has its fingerprint, attaches `note` to
    /// that one's timeline instead. Returns the incident and whether it is new.
    pub async fn open_incident(
        &self,
        incident: IncidentRecord,
        note: &str,
        actor: &Actor,
    ) -> DomainResult<(IncidentRecord, bool)> {
        let mut tx = self.begin_write().await?;
        if self.dialect == Dialect::Postgres {
            // Numbers and the open-fingerprint check are decided one opener at a time.
            sqlx::query("LOCK TABLE incidents IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM incidents WHERE fingerprint = $1 AND status IN ('triage', 'investigating', 'mitigated')",
        )
        .bind(&incident.fingerprint)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = existing {
            self.insert_timeline(&mut tx, &id, &actor.name, TimelineKind::AlertFiring, note).await?;
            let attached = self.incident(&id).await?;
            let event = LiveEvent::Incident { incident: Box::new(attached.summary()), change: "alert attached".into() };
            self.append_event(&mut tx, &event).await?;
            self.commit_with_events(tx).await?;
            return Ok((attached, false));
        }
        let number: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM incidents").fetch_one(&mut *tx).await?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO incidents (id, number, title, status, severity, model_id, model_label, version, source,
                fingerprint, rule_id, impact, assignee, commander, opened_at, detected_at, acknowledge_by, resolve_by,
                runbook_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        )
        .bind(&id)
        .bind(number)
        .bind(&incident.title)
        .bind(incident.status.as_str())
        .bind(incident.severity.as_str())
        .bind(incident.model_id.as_ref().map(|model| model.0.clone()))
        .bind(&incident.model_label)
        .bind(&incident.version)
        .bind(incident.source.as_str())
        .bind(&incident.fingerprint)
        .bind(&incident.rule_id)
        .bind(&incident.impact)
        .bind(&incident.assignee)
        .bind(&incident.commander)
        .bind(incident.opened_at.timestamp_millis())
        .bind(incident.detected_at.timestamp_millis())
        .bind(incident.acknowledge_by.timestamp_millis())
        .bind(incident.resolve_by.timestamp_millis())
        .bind(&incident.runbook_id)
        .execute(&mut *tx)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                DomainError::Conflict("another incident was opened at the same moment: try again".into())
            } else {
                error.into()
            }
        })?;
        self.insert_timeline(&mut tx, &id, &actor.name, TimelineKind::Opened, note).await?;
        let changes = ChangeSet::default()
            .field("title", None, Some(&incident.title))
            .field("severity", None, Some(incident.severity.as_str()))
            .field("source", None, Some(incident.source.as_str()))
            .field("fingerprint", None, Some(&incident.fingerprint))
            .build();
        let record = AuditRecord {
            actor,
            action: AuditAction::IncidentOpen,
            target: AuditTarget::Incident,
            target_id: &id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        let opened = IncidentRecord { id: id.clone(), number: u64::try_from(number).unwrap_or_default(), ..incident };
        self.append_event(
            &mut tx,
            &LiveEvent::Incident { incident: Box::new(opened.summary()), change: "opened".into() },
        )
        .await?;
        self.commit_with_events(tx).await?;
        Ok((self.incident(&id).await?, true))
    }

    /// Replaces `before` with `after` (refused if it changed since `before` was read), with
    /// the timeline entries, an audit entry of the changed fields and an event.
    pub async fn save_incident(
        &self,
        before: &IncidentRecord,
        after: &IncidentRecord,
        entries: &[(TimelineKind, String)],
        action: AuditAction,
        actor: &Actor,
    ) -> DomainResult<IncidentRecord> {
        // The downtime's ledger entry follows the incident's times, in the same transaction.
        let times_changed = before.detected_at != after.detected_at || before.mitigated_at != after.mitigated_at;
        let incident_cost = if times_changed { Some(self.incident_cost_entry(after).await?) } else { None };
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE incidents SET title = $3, status = $4, severity = $5, impact = $6, assignee = $7, commander = $8,
                acknowledged_at = $9, mitigated_at = $10, resolved_at = $11, closed_at = $12, acknowledge_by = $13,
                resolve_by = $14, escalation_level = $15, runbook_done = $16, postmortem = $17, serious = $18,
                revision = revision + 1
             WHERE id = $1 AND revision = $2",
        )
        .bind(&before.id)
        .bind(before.revision)
        .bind(&after.title)
        .bind(after.status.as_str())
        .bind(after.severity.as_str())
        .bind(&after.impact)
        .bind(&after.assignee)
        .bind(&after.commander)
        .bind(millis(after.acknowledged_at))
        .bind(millis(after.mitigated_at))
        .bind(millis(after.resolved_at))
        .bind(millis(after.closed_at))
        .bind(after.acknowledge_by.timestamp_millis())
        .bind(after.resolve_by.timestamp_millis())
        .bind(i64::from(after.escalation_level))
        .bind(json(&after.runbook_done)?)
        .bind(after.postmortem.as_ref().map(json).transpose()?)
        .bind(after.serious.as_ref().map(json).transpose()?)
        .execute(&mut *tx)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                DomainError::Conflict(format!(
                    "another open incident has the same fingerprint ({}): it cannot be reopened",
                    before.fingerprint
                ))
            } else {
                error.into()
            }
        })?;
        if updated.rows_affected() == 0 {
            return Err(DomainError::Conflict(format!(
                "INC-{} was changed by someone else meanwhile: reload it and try again",
                before.number
            )));
        }
        for (kind, text) in entries {
            self.insert_timeline(&mut tx, &before.id, &actor.name, *kind, text).await?;
        }
        if let (Some(entry), Some(model_id)) = (incident_cost, &after.model_id) {
            self.put_incident_cost(&mut tx, model_id, &after.id, entry.as_ref()).await?;
        }
        let changes = ChangeSet::default().fields(before, after).build();
        let record = AuditRecord { actor, action, target: AuditTarget::Incident, target_id: &before.id, changes };
        self.append_audit(&mut tx, record).await?;
        let change = entries.first().map_or_else(|| "updated".to_owned(), |(kind, _)| kind.as_str().to_owned());
        let saved = IncidentRecord { revision: before.revision + 1, ..after.clone() };
        self.append_event(&mut tx, &LiveEvent::Incident { incident: Box::new(saved.summary()), change }).await?;
        self.commit_with_events(tx).await?;
        Ok(saved)
    }

    /// Adds one entry to the timeline (a comment, a note from a sender) and announces it.
    pub async fn add_timeline_entry(
        &self,
        incident: &IncidentRecord,
        kind: TimelineKind,
        text: &str,
        actor: &str,
    ) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        self.insert_timeline(&mut tx, &incident.id, actor, kind, text).await?;
        let event = LiveEvent::Incident { incident: Box::new(incident.summary()), change: kind.as_str().into() };
        self.append_event(&mut tx, &event).await?;
        self.commit_with_events(tx).await?;
        Ok(())
    }

    /// The incident's timeline, oldest first.
    pub async fn timeline(&self, incident_id: &str) -> DomainResult<Vec<TimelineEntry>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT at, actor, kind, text FROM incident_timeline WHERE incident_id = $1 ORDER BY at, id",
        )
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(at, actor, kind, text)| {
                let kind = kind.parse().map_err(|error| {
                    DomainError::Corrupt(format!("a timeline entry of incident '{incident_id}' has {error}"))
                })?;
                Ok(TimelineEntry { at: from_millis(at), actor, kind, text })
            })
            .collect()
    }

    async fn insert_timeline(
        &self,
        tx: &mut Transaction<'static, Any>,
        incident_id: &str,
        actor: &str,
        kind: TimelineKind,
        text: &str,
    ) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO incident_timeline (id, incident_id, at, actor, kind, text) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(incident_id)
        .bind(self.now_millis())
        .bind(actor)
        .bind(kind.as_str())
        .bind(text)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
