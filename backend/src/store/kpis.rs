//! KPI definitions and their values. Each write carries its audit entry and its
//! `business` event.

use keel_shared::ModelId;
use keel_shared::audit::{AuditAction, AuditTarget};
use keel_shared::kpis::{KpiDefinition, KpiValue};
use keel_shared::live::LiveEvent;
use keel_shared::models::RiskTier;

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::{Store, decode_stored, new_id};
use crate::domain::{DomainError, DomainResult};

/// A value as stored: KPI id, day, likely, low, high, note, who entered it.
type ValueRow = (String, String, f64, Option<f64>, Option<f64>, String, String);

/// A stored KPI: its id and definition (model resolved to its id).
#[derive(Debug, Clone, PartialEq)]
pub struct KpiRecord {
    pub id: String,
    pub definition: KpiDefinition,
}

impl Store {
    pub async fn create_kpi(&self, definition: &KpiDefinition, actor: &Actor) -> DomainResult<KpiRecord> {
        let id = new_id();
        let json = serde_json::to_string(definition).map_err(anyhow::Error::from)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO kpis (id, model_id, programme, definition, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(definition.model_id.as_ref().map(|model| model.0.as_str()))
        .bind(definition.programme.as_deref())
        .bind(&json)
        .bind(self.now_millis())
        .bind(&actor.name)
        .execute(&mut *tx)
        .await?;
        let changes = ChangeSet::default()
            .field("name", None, Some(&definition.name))
            .field("definition", None, Some(&json))
            .build();
        let record =
            AuditRecord { actor, action: AuditAction::KpiCreate, target: AuditTarget::Kpi, target_id: &id, changes };
        self.append_audit(&mut tx, record).await?;
        let event = LiveEvent::Business { model_id: definition.model_id.clone(), change: "kpi".into() };
        self.append_event(&mut tx, &event).await?;
        self.commit_with_events(tx).await?;
        Ok(KpiRecord { id, definition: definition.clone() })
    }

    /// Every KPI, or those of one model or programme.
    pub async fn kpis(&self, model_id: Option<&ModelId>, programme: Option<&str>) -> DomainResult<Vec<KpiRecord>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, definition FROM kpis WHERE ($1 IS NULL OR model_id = $1) AND ($2 IS NULL OR programme = $2)
             ORDER BY created_at, id",
        )
        .bind(model_id.map(|model| model.0.as_str()))
        .bind(programme)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, json)| {
                Ok(KpiRecord { definition: decode_stored(&json, "definition", &format!("KPI {id}"))?, id })
            })
            .collect()
    }

    pub async fn kpi(&self, id: &str) -> DomainResult<KpiRecord> {
        let json: Option<String> =
            sqlx::query_scalar("SELECT definition FROM kpis WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        let json = json.ok_or_else(|| DomainError::NotFound(format!("no KPI '{id}'")))?;
        Ok(KpiRecord { definition: decode_stored(&json, "definition", &format!("KPI {id}"))?, id: id.to_owned() })
    }

    /// Every value of one KPI (of all when `None`), oldest first, with its KPI's id.
    pub async fn kpi_values(&self, kpi_id: Option<&str>) -> DomainResult<Vec<(String, KpiValue)>> {
        let rows: Vec<ValueRow> = sqlx::query_as(
            "SELECT kpi_id, day, likely, low, high, note, entered_by FROM kpi_values
             WHERE ($1 IS NULL OR kpi_id = $1) ORDER BY kpi_id, day",
        )
        .bind(kpi_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(kpi_id, day, likely, low, high, note, entered_by)| {
                let day =
                    day.parse().map_err(|error| DomainError::Corrupt(format!("a stored KPI value's day: {error}")))?;
                Ok((kpi_id, KpiValue { day, likely, low, high, note, entered_by }))
            })
            .collect()
    }

    /// Adds values (a value of a day already held replaces it), all or nothing.
    pub async fn add_kpi_values(&self, kpi: &KpiRecord, values: &[KpiValue], actor: &Actor) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        for value in values {
            sqlx::query(
                "INSERT INTO kpi_values (kpi_id, day, likely, low, high, note, entered_by, entered_at)
                 VALUES ($1, $2, $3, CAST($4 AS DOUBLE PRECISION), CAST($5 AS DOUBLE PRECISION), $6, $7, $8)
                 ON CONFLICT (kpi_id, day) DO UPDATE SET likely = excluded.likely, low = excluded.low,
                    high = excluded.high, note = excluded.note, entered_by = excluded.entered_by,
                    entered_at = excluded.entered_at",
            )
            .bind(&kpi.id)
            .bind(value.day.to_string())
            .bind(value.likely)
            .bind(super::optional_real(value.low))
            .bind(super::optional_real(value.high))
            .bind(&value.note)
            .bind(&actor.name)
            .bind(self.now_millis())
            .execute(&mut *tx)
            .await?;
        }
        let summary = match values {
            [one] => format!("{} on {}", one.likely, one.day),
            many => format!("{} values", many.len()),
        };
        let changes = ChangeSet::default().field(&kpi.definition.name, None, Some(&summary)).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::KpiValues,
            target: AuditTarget::Kpi,
            target_id: &kpi.id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        let event = LiveEvent::Business { model_id: kpi.definition.model_id.clone(), change: "kpi".into() };
        self.append_event(&mut tx, &event).await?;
        self.commit_with_events(tx).await?;
        Ok(())
    }
}

impl Store {
    /// Every model's name by id, for labels.
    pub async fn model_names(&self) -> DomainResult<std::collections::HashMap<String, String>> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM models").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().collect())
    }
}

impl Store {
    /// Every model with its tier and production version, by name.
    pub async fn model_overview(&self) -> DomainResult<Vec<(ModelId, String, RiskTier, Option<String>)>> {
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT m.id, m.name, m.risk_tier, v.tag FROM models m
             LEFT JOIN model_versions v ON v.model_id = m.id AND v.stage = 'production' ORDER BY lower(m.name)",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, name, tier, production)| {
                let tier = tier.parse().map_err(|error: keel_shared::models::UnknownVariant| {
                    DomainError::Corrupt(format!("model {id}'s risk tier: {error}"))
                })?;
                Ok((ModelId(id), name, tier, production))
            })
            .collect()
    }
}
