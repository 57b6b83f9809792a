//! The outbox of live events, each model's stored health status, and job leases.
//!
//! An event is appended in the transaction of the change it announces. Its `seq` is
//! `MAX(seq) + 1` taken under a lock (SQLite's write lock; on PostgreSQL an `EXCLUSIVE`
//! table lock that still lets readers in), so events become visible in the order of their
//! numbers and a reader that has seen N never misses N − 1. Appends that also write an
//! audit entry take the audit lock first, always in that order. On PostgreSQL the append
//! also notifies `EVENTS_CHANNEL`, delivered at commit, so other replicas read at once.

use keel_shared::ModelId;
use keel_shared::health::HealthStatus;
use keel_shared::live::LiveEvent;
use sqlx::{Any, Transaction};

use super::{Dialect, Store};
use crate::domain::{DomainError, DomainResult};

/// The PostgreSQL notification channel that tells replicas of new events.
pub const EVENTS_CHANNEL: &str = "keel_events";

/// One stored event: its number and the `LiveEvent` as JSON.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub seq: i64,
    pub kind: String,
    pub payload: String,
}

/// The status change `record_status` wrote, if the stored status really changed.
pub struct StatusChange {
    pub previous: Option<HealthStatus>,
}

impl Store {
    /// Appends `event` inside `tx`, the transaction of the change it announces.
    pub(crate) async fn append_event(
        &self,
        tx: &mut Transaction<'static, Any>,
        event: &LiveEvent,
    ) -> DomainResult<i64> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("LOCK TABLE events IN EXCLUSIVE MODE").execute(&mut **tx).await?;
        }
        let payload = serde_json::to_string(event).map_err(anyhow::Error::from)?;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO events (seq, at, kind, payload)
             SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3 FROM events RETURNING seq",
        )
        .bind(self.now_millis())
        .bind(event.kind())
        .bind(payload)
        .fetch_one(&mut **tx)
        .await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_notify($1, '')").bind(EVENTS_CHANNEL).execute(&mut **tx).await?;
        }
        Ok(seq)
    }

    /// Up to `limit` events after `seq`, oldest first.
    pub async fn events_after(&self, seq: i64, limit: i64) -> DomainResult<Vec<StoredEvent>> {
        Ok(sqlx::query_as("SELECT seq, kind, payload FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The oldest and newest stored event numbers (`None` while there are none).
    pub async fn event_bounds(&self) -> DomainResult<Option<(i64, i64)>> {
        let (oldest, newest): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT MIN(seq), MAX(seq) FROM events").fetch_one(&self.pool).await?;
        Ok(oldest.zip(newest))
    }

    /// Drops events older than `before` (Unix ms), always keeping the newest, so numbering
    /// carries on from it; returns how many went.
    pub async fn prune_events(&self, before: i64) -> DomainResult<u64> {
        let mut tx = self.begin_write().await?;
        let pruned = sqlx::query("DELETE FROM events WHERE at < $1 AND seq < (SELECT MAX(seq) FROM events)")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(pruned)
    }

    /// Stores `status` as the model's and writes `event(previous)` — once, whichever replica
    /// gets here first — when it differs from the stored one; `None` when it did not.
    pub async fn record_status(
        &self,
        model_id: &ModelId,
        status: HealthStatus,
        event: impl FnOnce(Option<HealthStatus>) -> LiveEvent,
    ) -> DomainResult<Option<StatusChange>> {
        // Most evaluations change nothing: answer those without taking any lock.
        if self.stored_status(model_id, &self.pool).await? == Some(status) {
            return Ok(None);
        }
        let mut tx = self.begin_write().await?;
        if self.dialect == Dialect::Postgres {
            // Serialises status writers with every event writer: the re-read below sees
            // what another replica committed a moment ago.
            sqlx::query("LOCK TABLE events IN EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        let previous = self.stored_status(model_id, &mut *tx).await?;
        if previous == Some(status) {
            return Ok(None);
        }
        let updated = sqlx::query(
            "INSERT INTO model_status (model_id, status, changed_at) SELECT id, $2, $3 FROM models WHERE id = $1
             ON CONFLICT (model_id) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at",
        )
        .bind(&model_id.0)
        .bind(status_name(status))
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            // The model was deleted meanwhile.
            return Ok(None);
        }
        self.append_event(&mut tx, &event(previous)).await?;
        self.commit_with_events(tx).await?;
        Ok(Some(StatusChange { previous }))
    }

    async fn stored_status<'e, E>(&self, model_id: &ModelId, executor: E) -> DomainResult<Option<HealthStatus>>
    where
        E: sqlx::Executor<'e, Database = Any>,
    {
        let stored: Option<String> = sqlx::query_scalar("SELECT status FROM model_status WHERE model_id = $1")
            .bind(&model_id.0)
            .fetch_optional(executor)
            .await?;
        stored
            .map(|name| {
                serde_json::from_value(serde_json::Value::String(name.clone())).map_err(|_| {
                    DomainError::Internal(anyhow::anyhow!("model {model_id} has an unknown stored status {name:?}"))
                })
            })
            .transpose()
    }

    /// Takes or renews the lease `name` for `holder` until `expires_at` (Unix ms): true when
    /// `holder` holds it now (it was free, expired, or already `holder`'s).
    pub async fn claim_lease(&self, name: &str, holder: &str, expires_at: i64) -> DomainResult<bool> {
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE job_leases.holder = excluded.holder OR job_leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(expires_at)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(claimed == 1)
    }

    /// Gives the lease up (on shutdown), so another replica takes it at once.
    pub async fn release_lease(&self, name: &str, holder: &str) -> DomainResult<()> {
        sqlx::query("DELETE FROM job_leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn status_name(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::NoData => "no_data",
        HealthStatus::Healthy => "healthy",
        HealthStatus::Degraded => "degraded",
        HealthStatus::Critical => "critical",
    }
}
