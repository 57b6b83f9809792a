//! Ledger entries per model, exchange-rate fixings, programmes and frozen reports. Each
//! write carries its audit entry and its `business` event.

use chrono::NaiveDate;
use keel_shared::ModelId;
use keel_shared::audit::{AuditAction, AuditTarget};
use keel_shared::ledger::{ExchangeRate, IncidentCost, LedgerEntry, YearMonth};
use keel_shared::live::LiveEvent;
use keel_shared::models::UnknownVariant;
use keel_shared::reports::{FrozenReport, GovernanceReport};
use sqlx::{Any, FromRow, Transaction};

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::incidents::IncidentRecord;
use super::{Store, from_millis, new_id};
use crate::domain::{DomainError, DomainResult};

pub const CNB: &str = "CNB";
pub const ECB: &str = "ECB";

/// The setting holding a model's `IncidentCost`.
pub fn incident_cost_setting(model_id: &ModelId) -> String {
    format!("incident_cost:{model_id}")
}

/// Fixings by currency, to convert ledger months: crowns per unit of a currency for a
/// month are the fixing of the month's last day, or the last earlier one in the month
/// (recorded as such); CNB before ECB.
#[derive(Debug, Clone, Default)]
pub struct RateBook {
    /// Currency → its fixings, oldest first.
    rates: std::collections::HashMap<String, Vec<ExchangeRate>>,
}

impl RateBook {
    /// Crowns per unit and where the rate came from.
    pub fn czk_per_unit(&self, currency: &str, month: YearMonth) -> Option<(f64, String)> {
        if currency == "CZK" {
            return Some((1.0, "CZK".into()));
        }
        let fixings = self.rates.get(currency)?;
        let last_day = month.last_day();
        let in_month = |rate: &&ExchangeRate| rate.day >= month.first_day() && rate.day <= last_day;
        let best = [CNB, ECB]
            .iter()
            .find_map(|source| fixings.iter().filter(in_month).rfind(|rate| rate.source == *source))?;
        let source = if best.day == last_day {
            format!("{} {}", best.source, best.day)
        } else {
            format!("{} {} (last fixing before {last_day})", best.source, best.day)
        };
        Some((best.czk_per_unit, source))
    }
}

/// An entry as stored.
#[derive(FromRow)]
struct EntryRow {
    month: String,
    kind: String,
    category: String,
    amount: f64,
    currency: String,
    czk_per_unit: f64,
    rate_source: String,
    czk_per_eur: Option<f64>,
    eur_source: Option<String>,
    low: Option<f64>,
    high: Option<f64>,
    planned: i64,
    incident_id: Option<String>,
}

/// An entry with its model.
#[derive(FromRow)]
struct ModelEntryRow {
    model_id: String,
    #[sqlx(flatten)]
    entry: EntryRow,
}

/// The columns of an entry, as `EntryRow` names them.
macro_rules! entry_columns {
    () => {
        "month, kind, category, amount, currency, czk_per_unit, rate_source, czk_per_eur, eur_source, low, high, \
         planned, incident_id"
    };
}

fn entry_of(row: EntryRow) -> DomainResult<LedgerEntry> {
    let stored = |what: &str, error: String| DomainError::Corrupt(format!("a stored ledger {what}: {error}"));
    Ok(LedgerEntry {
        month: row.month.parse().map_err(|error| stored("month", error))?,
        kind: row.kind.parse().map_err(|error: UnknownVariant| stored("kind", error.to_string()))?,
        category: row.category.parse().map_err(|error: UnknownVariant| stored("category", error.to_string()))?,
        amount: row.amount,
        currency: row.currency,
        czk_per_unit: row.czk_per_unit,
        rate_source: row.rate_source,
        czk_per_eur: row.czk_per_eur,
        eur_source: row.eur_source,
        low: row.low,
        high: row.high,
        planned: row.planned != 0,
        incident_id: row.incident_id,
    })
}

impl Store {
    /// The fixings of `currencies` over `months`.
    pub async fn rate_book(&self, currencies: &[String], months: &[YearMonth]) -> DomainResult<RateBook> {
        let (Some(first), Some(last)) = (months.iter().min(), months.iter().max()) else {
            return Ok(RateBook::default());
        };
        let mut rates = std::collections::HashMap::new();
        for currency in currencies {
            rates.insert(currency.clone(), self.rates(currency, first.first_day(), last.last_day()).await?);
        }
        Ok(RateBook { rates })
    }

    /// The ledger entry of an incident's downtime (detected → mitigated) at its model's
    /// incident cost; `None` while it is not mitigated or no cost is set.
    pub(crate) async fn incident_cost_entry(&self, incident: &IncidentRecord) -> DomainResult<Option<LedgerEntry>> {
        let (Some(model_id), Some(mitigated_at)) = (&incident.model_id, incident.mitigated_at) else {
            return Ok(None);
        };
        let Some(cost): Option<IncidentCost> = self.setting(&incident_cost_setting(model_id)).await? else {
            return Ok(None);
        };
        let minutes = (mitigated_at - incident.detected_at).num_milliseconds().max(0) as f64 / 60_000.0;
        let month = YearMonth::of(incident.detected_at.date_naive());
        let book = self.rate_book(&["EUR".to_owned()], &[month]).await?;
        Ok(Some(cost.entry(&incident.id, month, minutes, book.czk_per_unit("EUR", month))))
    }

    /// Rewrites an incident's cost entry in its own transaction (after the cost changed).
    pub async fn refresh_incident_cost(&self, incident: &IncidentRecord) -> DomainResult<()> {
        let Some(model_id) = &incident.model_id else { return Ok(()) };
        let entry = self.incident_cost_entry(incident).await?;
        let mut tx = self.begin_write().await?;
        self.put_incident_cost(&mut tx, model_id, &incident.id, entry.as_ref()).await?;
        self.commit_with_events(tx).await?;
        Ok(())
    }

    /// The model's ledger, by month, in upload order within a month.
    pub async fn ledger(&self, model_id: &ModelId) -> DomainResult<Vec<LedgerEntry>> {
        let rows: Vec<EntryRow> = sqlx::query_as(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM ledger_entries WHERE model_id = $1 ORDER BY month, position, id"
        ))
        .bind(&model_id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(entry_of).collect()
    }

    /// Every model's ledger entries, for a programme or the fleet.
    pub async fn all_ledger_entries(&self) -> DomainResult<Vec<(ModelId, LedgerEntry)>> {
        let rows: Vec<ModelEntryRow> = sqlx::query_as(concat!(
            "SELECT model_id, ",
            entry_columns!(),
            " FROM ledger_entries ORDER BY model_id, month, position, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|row| Ok((ModelId(row.model_id), entry_of(row.entry)?))).collect()
    }

    /// Replaces the model's uploaded entries with `entries` in one transaction; the
    /// entries Keel wrote from incidents stay.
    pub async fn replace_ledger(
        &self,
        model_id: &ModelId,
        entries: &[LedgerEntry],
        digest: &str,
        actor: &Actor,
    ) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        let before: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM ledger_entries WHERE model_id = $1 AND incident_id IS NULL")
                .bind(&model_id.0)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM ledger_entries WHERE model_id = $1 AND incident_id IS NULL")
            .bind(&model_id.0)
            .execute(&mut *tx)
            .await?;
        for (position, entry) in entries.iter().enumerate() {
            insert_entry(&mut tx, model_id, entry, position as i64).await?;
        }
        let changes = ChangeSet::default()
            .field("entries", Some(&before.to_string()), Some(&entries.len().to_string()))
            .field("digest", None, Some(digest))
            .build();
        let record = AuditRecord {
            actor,
            action: AuditAction::LedgerReplace,
            target: AuditTarget::Ledger,
            target_id: &model_id.0,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        let event = LiveEvent::Business { model_id: Some(model_id.clone()), change: "ledger".into() };
        self.append_event(&mut tx, &event).await?;
        self.commit_with_events(tx).await?;
        Ok(())
    }

    /// Writes (or, with `None`, removes) the ledger entry of an incident's downtime,
    /// inside the transaction that changed the incident.
    pub(crate) async fn put_incident_cost(
        &self,
        tx: &mut Transaction<'static, Any>,
        model_id: &ModelId,
        incident_id: &str,
        entry: Option<&LedgerEntry>,
    ) -> DomainResult<()> {
        sqlx::query("DELETE FROM ledger_entries WHERE incident_id = $1").bind(incident_id).execute(&mut **tx).await?;
        if let Some(entry) = entry {
            insert_entry(tx, model_id, entry, i64::MAX).await?;
        }
        let event = LiveEvent::Business { model_id: Some(model_id.clone()), change: "ledger".into() };
        self.append_event(tx, &event).await?;
        Ok(())
    }

    /// Stores fixings, replacing those of the same day, currency and source.
    pub async fn put_rates(&self, rates: &[ExchangeRate], summary: &str, actor: &Actor) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        for rate in rates {
            sqlx::query(
                "INSERT INTO exchange_rates (day, currency, source, czk_per_unit) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (currency, day, source) DO UPDATE SET czk_per_unit = excluded.czk_per_unit",
            )
            .bind(rate.day.to_string())
            .bind(&rate.currency)
            .bind(&rate.source)
            .bind(rate.czk_per_unit)
            .execute(&mut *tx)
            .await?;
        }
        let changes = ChangeSet::default().field("rates", None, Some(summary)).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::ExchangeRatesImport,
            target: AuditTarget::Settings,
            target_id: "exchange_rates",
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The fixings of `currency` from `from` to `to`, oldest first.
    pub async fn rates(&self, currency: &str, from: NaiveDate, to: NaiveDate) -> DomainResult<Vec<ExchangeRate>> {
        let rows: Vec<(String, String, String, f64)> = sqlx::query_as(
            "SELECT day, currency, source, czk_per_unit FROM exchange_rates
             WHERE currency = $1 AND day >= $2 AND day <= $3 ORDER BY day, source",
        )
        .bind(currency)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(day, currency, source, czk_per_unit)| {
                let day =
                    day.parse().map_err(|error| DomainError::Internal(anyhow::anyhow!("a stored day: {error}")))?;
                Ok(ExchangeRate { day, currency, czk_per_unit, source })
            })
            .collect()
    }

    /// How many fixings are stored, per source, with the first and last day.
    pub async fn rate_coverage(&self) -> DomainResult<Vec<(String, i64, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT source, COUNT(*), MIN(day), MAX(day) FROM exchange_rates GROUP BY source ORDER BY source",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The programmes and their models.
    pub async fn programmes(&self) -> DomainResult<Vec<(String, Vec<ModelId>)>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT name, models FROM programmes ORDER BY name").fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|(name, models)| Ok((name.clone(), super::decode_stored(&models, "models", &name)?)))
            .collect()
    }

    /// Creates or replaces a programme.
    pub async fn put_programme(&self, name: &str, models: &[ModelId], actor: &Actor) -> DomainResult<()> {
        let json = serde_json::to_string(models).map_err(anyhow::Error::from)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO programmes (name, models, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET models = excluded.models, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(&json)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?;
        let changes = ChangeSet::default().field("models", None, Some(&json)).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::ProgrammeSave,
            target: AuditTarget::Programme,
            target_id: name,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        let event = LiveEvent::Business { model_id: None, change: "programme".into() };
        self.append_event(&mut tx, &event).await?;
        self.commit_with_events(tx).await?;
        Ok(())
    }

    /// Freezes a report: its body and digest stored, the digest in the audit chain.
    pub async fn freeze_report(
        &self,
        month: &str,
        language: &str,
        body: &str,
        digest: &str,
        actor: &Actor,
    ) -> DomainResult<String> {
        let id = new_id();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO report_snapshots (id, month, language, body, digest, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(month)
        .bind(language)
        .bind(body)
        .bind(digest)
        .bind(self.now_millis())
        .bind(&actor.name)
        .execute(&mut *tx)
        .await?;
        let changes = ChangeSet::default()
            .field("month", None, Some(month))
            .field("language", None, Some(language))
            .field("digest", None, Some(digest))
            .build();
        let record = AuditRecord {
            actor,
            action: AuditAction::ReportFreeze,
            target: AuditTarget::Report,
            target_id: &id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Frozen reports, newest first, without their bodies.
    pub async fn report_snapshots(&self) -> DomainResult<Vec<FrozenReport>> {
        let rows: Vec<SnapshotRow> = sqlx::query_as(
            "SELECT id, month, language, digest, created_at, created_by, NULL AS body FROM report_snapshots
             ORDER BY created_at DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(snapshot_of).collect()
    }

    /// A frozen report exactly as stored, its digest checked again.
    pub async fn report_snapshot(&self, id: &str) -> DomainResult<FrozenReport> {
        let row: Option<SnapshotRow> = sqlx::query_as(
            "SELECT id, month, language, digest, created_at, created_by, body FROM report_snapshots WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        snapshot_of(row.ok_or_else(|| DomainError::NotFound(format!("no frozen report '{id}'")))?)
    }
}

/// id, month, language, digest, created_at, created_by, body (absent in lists).
type SnapshotRow = (String, String, String, String, i64, String, Option<String>);

fn snapshot_of((id, month, language, digest, at, by, body): SnapshotRow) -> DomainResult<FrozenReport> {
    let language = language
        .parse()
        .map_err(|error: UnknownVariant| DomainError::Corrupt(format!("frozen report {id}'s language: {error}")))?;
    let report = match body {
        None => None,
        Some(body) => {
            if crate::services::changes::sha256_hex(body.as_bytes()) != digest {
                return Err(DomainError::Corrupt(format!("frozen report {id} no longer matches its digest")));
            }
            let report: GovernanceReport = serde_json::from_str(&body)
                .map_err(|error| DomainError::Corrupt(format!("frozen report {id} does not decode: {error}")))?;
            Some(report)
        }
    };
    Ok(FrozenReport { id, month, language, digest, frozen_at: from_millis(at), frozen_by: by, report })
}

async fn insert_entry(
    tx: &mut Transaction<'static, Any>,
    model_id: &ModelId,
    entry: &LedgerEntry,
    position: i64,
) -> DomainResult<()> {
    sqlx::query(concat!(
        "INSERT INTO ledger_entries (id, model_id, position, ",
        entry_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CAST($11 AS DOUBLE PRECISION), $12,
           CAST($13 AS DOUBLE PRECISION), CAST($14 AS DOUBLE PRECISION), $15, $16)"
    ))
    .bind(new_id())
    .bind(&model_id.0)
    .bind(position)
    .bind(entry.month.to_string())
    .bind(entry.kind.as_str())
    .bind(entry.category.as_str())
    .bind(entry.amount)
    .bind(&entry.currency)
    .bind(entry.czk_per_unit)
    .bind(&entry.rate_source)
    .bind(super::optional_real(entry.czk_per_eur))
    .bind(entry.eur_source.as_deref())
    .bind(super::optional_real(entry.low))
    .bind(super::optional_real(entry.high))
    .bind(i64::from(entry.planned))
    .bind(entry.incident_id.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
