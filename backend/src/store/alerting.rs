//! Alert rules, their state per model and history, silences, runbooks and the keys of
//! inbound alert integrations.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use keel_shared::ModelId;
use keel_shared::alerting::{
    AlertHistoryEntry, AlertRuleSpec, AlertState, Integration, IntegrationKind, Runbook, RunbookSpec, Silence,
    SilenceSpec,
};
use keel_shared::audit::{AuditAction, AuditTarget};
use keel_shared::incidents::SlaPolicy;
use keel_shared::models::{RiskTier, Stage};

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::{Store, decode_stored, from_millis, new_id};
use crate::domain::{DomainError, DomainResult};

/// A rule as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRule {
    pub id: String,
    pub spec: AlertRuleSpec,
    pub builtin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A rule's state for one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredState {
    pub state: AlertState,
    pub since: DateTime<Utc>,
    pub value: Option<f64>,
}

/// What a rule's scope is matched against, for one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFacts {
    pub id: ModelId,
    pub name: String,
    pub risk_tier: RiskTier,
    pub stages: Vec<Stage>,
    pub production_version: Option<String>,
}

/// An integration key's owner, as an inbound request is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationKey {
    pub id: String,
    pub name: String,
    pub kind: IntegrationKind,
    pub model: Option<ModelId>,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    at: i64,
    rule_id: String,
    spec: String,
    model_id: String,
    from_state: String,
    to_state: String,
    value: Option<f64>,
    silenced: i64,
    model_name: String,
}

#[derive(sqlx::FromRow)]
struct IntegrationRow {
    id: String,
    name: String,
    kind: String,
    model_id: Option<String>,
    created_by: String,
    created_at: i64,
    last_used_at: Option<i64>,
}

fn to_json<T: serde::Serialize>(value: &T) -> DomainResult<String> {
    serde_json::to_string(value).map_err(|error| DomainError::Internal(error.into()))
}

fn unknown(error: &keel_shared::models::UnknownVariant) -> DomainError {
    DomainError::Corrupt(format!("an alerting record in the store has {error}"))
}

impl Store {
    /// Every rule, oldest first.
    pub async fn alert_rules(&self) -> DomainResult<Vec<StoredRule>> {
        let rows: Vec<(String, String, i64, i64, i64)> =
            sqlx::query_as("SELECT id, spec, builtin, created_at, updated_at FROM alert_rules ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(id, spec, builtin, created_at, updated_at)| {
                Ok(StoredRule {
                    spec: decode_stored(&spec, "definition", &format!("alert rule '{id}'"))?,
                    id,
                    builtin: builtin != 0,
                    created_at: from_millis(created_at),
                    updated_at: from_millis(updated_at),
                })
            })
            .collect()
    }

    pub async fn alert_rule(&self, id: &str) -> DomainResult<StoredRule> {
        self.alert_rules()
            .await?
            .into_iter()
            .find(|rule| rule.id == id)
            .ok_or_else(|| DomainError::NotFound(format!("no alert rule with id '{id}'")))
    }

    pub async fn create_alert_rule(&self, spec: &AlertRuleSpec, actor: &Actor) -> DomainResult<StoredRule> {
        let id = new_id();
        let now = self.now_millis();
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO alert_rules (id, spec, builtin, created_at, updated_at) VALUES ($1, $2, 0, $3, $3)")
            .bind(&id)
            .bind(to_json(spec)?)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let changes = ChangeSet::default().field("spec", None, Some(&to_json(spec)?)).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::AlertRuleCreate,
            target: AuditTarget::AlertRule,
            target_id: &id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        self.alert_rule(&id).await
    }

    /// Replaces a rule's definition (turning it off included).
    pub async fn update_alert_rule(&self, id: &str, spec: &AlertRuleSpec, actor: &Actor) -> DomainResult<StoredRule> {
        let before = self.alert_rule(id).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE alert_rules SET spec = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(to_json(spec)?)
            .bind(self.now_millis())
            .execute(&mut *tx)
            .await?;
        let changes = ChangeSet::default().fields(&before.spec, spec).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::AlertRuleUpdate,
            target: AuditTarget::AlertRule,
            target_id: id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        self.alert_rule(id).await
    }

    /// Every model with what scopes match on.
    pub async fn model_facts(&self) -> DomainResult<Vec<ModelFacts>> {
        let models: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, name, risk_tier FROM models ORDER BY name").fetch_all(&self.pool).await?;
        let versions: Vec<(String, String, String)> =
            sqlx::query_as("SELECT model_id, stage, tag FROM model_versions").fetch_all(&self.pool).await?;
        let mut stages: HashMap<String, (Vec<Stage>, Option<String>)> = HashMap::new();
        for (model_id, stage, tag) in versions {
            let stage: Stage = stage.parse().map_err(|error| unknown(&error))?;
            let entry = stages.entry(model_id).or_default();
            entry.0.push(stage);
            if stage == Stage::Production {
                entry.1 = Some(tag);
            }
        }
        models
            .into_iter()
            .map(|(id, name, tier)| {
                let (stages, production_version) = stages.remove(&id).unwrap_or_default();
                Ok(ModelFacts {
                    id: ModelId(id),
                    name,
                    risk_tier: tier.parse().map_err(|error| unknown(&error))?,
                    stages,
                    production_version,
                })
            })
            .collect()
    }

    /// Every rule's state per model.
    pub async fn alert_states(&self) -> DomainResult<HashMap<(String, ModelId), StoredState>> {
        let rows: Vec<(String, String, String, i64, Option<f64>)> =
            sqlx::query_as("SELECT rule_id, model_id, state, since, value FROM alert_states")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(rule, model, state, since, value)| {
                Ok((
                    (rule, ModelId(model)),
                    StoredState {
                        state: state.parse().map_err(|error| unknown(&error))?,
                        since: from_millis(since),
                        value,
                    },
                ))
            })
            .collect()
    }

    /// Stores a rule's new state for a model, and the change as history when the state
    /// itself changed.
    pub async fn record_alert_state(
        &self,
        rule_id: &str,
        model_id: &ModelId,
        from: AlertState,
        to: StoredState,
        silenced: bool,
    ) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO alert_states (rule_id, model_id, state, since, value) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (rule_id, model_id) DO UPDATE SET state = excluded.state, since = excluded.since, value = excluded.value",
        )
        .bind(rule_id)
        .bind(&model_id.0)
        .bind(to.state.as_str())
        .bind(to.since.timestamp_millis())
        .bind(to.value)
        // Not a cached statement: sqlx's `Any` driver types a NULL `value` differently from
        // a number, and PostgreSQL refuses a number bound to a statement prepared for the NULL.
        .persistent(false)
        .execute(&mut *tx)
        .await?;
        if from != to.state {
            sqlx::query(
                "INSERT INTO alert_history (id, at, rule_id, model_id, from_state, to_state, value, silenced)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new_id())
            .bind(self.now_millis())
            .bind(rule_id)
            .bind(&model_id.0)
            .bind(from.as_str())
            .bind(to.state.as_str())
            .bind(to.value)
            .bind(i64::from(silenced))
            .persistent(false)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A rule's (or every rule's) latest state changes, newest first.
    pub async fn alert_history(&self, rule_id: Option<&str>, limit: i64) -> DomainResult<Vec<AlertHistoryEntry>> {
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT h.at, h.rule_id, r.spec, h.model_id, h.from_state, h.to_state, h.value, h.silenced, m.name AS model_name
             FROM alert_history h JOIN alert_rules r ON r.id = h.rule_id JOIN models m ON m.id = h.model_id
             WHERE ($1 IS NULL OR h.rule_id = $1) ORDER BY h.at DESC, h.id DESC LIMIT $2",
        )
        .bind(rule_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |HistoryRow {
                     at,
                     rule_id,
                     spec,
                     model_id: model,
                     from_state: from,
                     to_state: to,
                     value,
                     silenced,
                     model_name,
                 }| {
                    let spec: AlertRuleSpec = decode_stored(&spec, "definition", &format!("alert rule '{rule_id}'"))?;
                    Ok(AlertHistoryEntry {
                        at: from_millis(at),
                        rule_name: spec.name,
                        rule_id,
                        model: ModelId(model),
                        model_name,
                        from: from.parse().map_err(|error| unknown(&error))?,
                        to: to.parse().map_err(|error| unknown(&error))?,
                        value,
                        silenced: silenced != 0,
                    })
                },
            )
            .collect()
    }

    pub async fn create_silence(&self, spec: &SilenceSpec, actor: &Actor) -> DomainResult<Silence> {
        let id = new_id();
        let now = self.now_millis();
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO silences (id, spec, author, created_at, ends_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(to_json(spec)?)
            .bind(&actor.name)
            .bind(now)
            .bind(spec.ends_at.timestamp_millis())
            .execute(&mut *tx)
            .await?;
        let changes = ChangeSet::default().field("spec", None, Some(&to_json(spec)?)).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::SilenceCreate,
            target: AuditTarget::Silence,
            target_id: &id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(Silence { id, spec: spec.clone(), author: actor.name.clone(), created_at: from_millis(now) })
    }

    /// Silences that have not ended by now, soonest end first.
    pub async fn active_silences(&self) -> DomainResult<Vec<Silence>> {
        let rows: Vec<(String, String, String, i64)> =
            sqlx::query_as("SELECT id, spec, author, created_at FROM silences WHERE ends_at > $1 ORDER BY ends_at")
                .bind(self.now_millis())
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(id, spec, author, created_at)| {
                Ok(Silence {
                    spec: decode_stored(&spec, "matchers", &format!("silence '{id}'"))?,
                    id,
                    author,
                    created_at: from_millis(created_at),
                })
            })
            .collect()
    }

    /// Ends a silence now.
    pub async fn expire_silence(&self, id: &str, actor: &Actor) -> DomainResult<()> {
        let now = self.now_millis();
        let mut tx = self.begin_write().await?;
        let spec: Option<String> = sqlx::query_scalar("SELECT spec FROM silences WHERE id = $1 AND ends_at > $2")
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(spec) = spec else {
            return Err(DomainError::NotFound(format!("no active silence with id '{id}'")));
        };
        let mut spec: SilenceSpec = decode_stored(&spec, "matchers", &format!("silence '{id}'"))?;
        let before = spec.ends_at.to_rfc3339();
        spec.ends_at = from_millis(now);
        sqlx::query("UPDATE silences SET spec = $2, ends_at = $3 WHERE id = $1")
            .bind(id)
            .bind(to_json(&spec)?)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let changes = ChangeSet::default().field("ends_at", Some(&before), Some(&spec.ends_at.to_rfc3339())).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::SilenceExpire,
            target: AuditTarget::Silence,
            target_id: id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn runbooks(&self) -> DomainResult<Vec<Runbook>> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT id, spec, updated_at FROM runbooks ORDER BY id").fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|(id, spec, updated_at)| {
                Ok(Runbook {
                    spec: decode_stored(&spec, "content", &format!("runbook '{id}'"))?,
                    id,
                    updated_at: from_millis(updated_at),
                })
            })
            .collect()
    }

    /// Creates a runbook (`id` None) or replaces one.
    pub async fn save_runbook(&self, id: Option<&str>, spec: &RunbookSpec, actor: &Actor) -> DomainResult<Runbook> {
        let now = self.now_millis();
        let mut tx = self.begin_write().await?;
        let (id, before) = match id {
            Some(id) => {
                let before: Option<String> = sqlx::query_scalar("SELECT spec FROM runbooks WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let before = before.ok_or_else(|| DomainError::NotFound(format!("no runbook with id '{id}'")))?;
                (id.to_owned(), Some(before))
            }
            None => (new_id(), None),
        };
        sqlx::query(
            "INSERT INTO runbooks (id, spec, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
        )
        .bind(&id)
        .bind(to_json(spec)?)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let changes = ChangeSet::default().field("spec", before.as_deref(), Some(&to_json(spec)?)).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::RunbookSave,
            target: AuditTarget::Runbook,
            target_id: &id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(Runbook { id, spec: spec.clone(), updated_at: from_millis(now) })
    }

    pub async fn create_integration(
        &self,
        name: &str,
        kind: IntegrationKind,
        model: Option<&ModelId>,
        key_hash: &str,
        actor: &Actor,
    ) -> DomainResult<Integration> {
        let id = new_id();
        let now = self.now_millis();
        let mut tx = self.begin_write().await?;
        if let Some(model) = model {
            let exists: Option<String> = sqlx::query_scalar("SELECT id FROM models WHERE id = $1")
                .bind(&model.0)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(DomainError::NotFound(format!("no model with id '{model}'")));
            }
        }
        sqlx::query(
            "INSERT INTO integrations (id, name, kind, model_id, key_hash, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(name)
        .bind(kind.as_str())
        .bind(model.map(|model| model.0.clone()))
        .bind(key_hash)
        .bind(&actor.name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let changes = ChangeSet::default()
            .field("name", None, Some(name))
            .field("kind", None, Some(kind.as_str()))
            .field("model", None, model.map(|model| model.0.as_str()))
            .build();
        let record = AuditRecord {
            actor,
            action: AuditAction::IntegrationCreate,
            target: AuditTarget::Integration,
            target_id: &id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(Integration {
            id,
            name: name.to_owned(),
            kind,
            model: model.cloned(),
            created_by: actor.name.clone(),
            created_at: from_millis(now),
            last_used_at: None,
        })
    }

    /// Integrations that have not been revoked.
    pub async fn integrations(&self) -> DomainResult<Vec<Integration>> {
        let rows: Vec<IntegrationRow> = sqlx::query_as(
            "SELECT id, name, kind, model_id, created_by, created_at, last_used_at FROM integrations
             WHERE revoked_at IS NULL ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|IntegrationRow { id, name, kind, model_id: model, created_by, created_at, last_used_at }| {
                Ok(Integration {
                    id,
                    name,
                    kind: kind.parse().map_err(|error| unknown(&error))?,
                    model: model.map(ModelId),
                    created_by,
                    created_at: from_millis(created_at),
                    last_used_at: last_used_at.map(from_millis),
                })
            })
            .collect()
    }

    pub async fn revoke_integration(&self, id: &str, actor: &Actor) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        let revoked = sqlx::query("UPDATE integrations SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(self.now_millis())
            .execute(&mut *tx)
            .await?;
        if revoked.rows_affected() == 0 {
            return Err(DomainError::NotFound(format!("no active integration with id '{id}'")));
        }
        let changes = ChangeSet::default().field("revoked", Some("false"), Some("true")).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::IntegrationRevoke,
            target: AuditTarget::Integration,
            target_id: id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The active integration whose key hashes to `key_hash`, noting its use.
    pub async fn integration_by_key(&self, key_hash: &str) -> DomainResult<Option<IntegrationKey>> {
        let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, name, kind, model_id FROM integrations WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, name, kind, model)) = row else {
            return Ok(None);
        };
        sqlx::query("UPDATE integrations SET last_used_at = $2 WHERE id = $1")
            .bind(&id)
            .bind(self.now_millis())
            .execute(&self.pool)
            .await?;
        Ok(Some(IntegrationKey {
            id,
            name,
            kind: kind.parse().map_err(|error| unknown(&error))?,
            model: model.map(ModelId),
        }))
    }
}

impl Store {
    /// The incident service levels (the defaults until someone sets them).
    pub async fn sla_policy(&self) -> DomainResult<SlaPolicy> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'sla'").fetch_optional(&self.pool).await?;
        stored.map_or_else(|| Ok(SlaPolicy::default()), |json| super::stored::decode_sla(&json))
    }

    pub async fn set_sla_policy(&self, policy: &SlaPolicy, actor: &Actor) -> DomainResult<()> {
        let before = self.sla_policy().await.unwrap_or_default();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES ('sla', $1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(super::stored::encode_sla(policy)?)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?;
        let changes = ChangeSet::default().fields(&before, policy).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::SlaUpdate,
            target: AuditTarget::Settings,
            target_id: "sla",
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }
}
