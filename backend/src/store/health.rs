//! What model health is judged on: each model's thresholds and its recent signals.

use chrono::{DateTime, Utc};
use keel_shared::ModelId;
use keel_shared::audit::{AuditAction, AuditTarget};
use keel_shared::health::{HealthSignals, HealthThresholds, SIGNAL_WINDOW_MINUTES, signal_metrics};

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::rollups::Resolution;
use super::telemetry::MINUTE_MILLIS;
use super::{Store, from_millis, stored};
use crate::analysis::sketch::QuantileSketch;
use crate::domain::{DomainError, DomainResult};

impl Store {
    /// Every model's id with its thresholds (the defaults where none were set), or why
    /// its stored ones cannot be read.
    pub async fn models_with_thresholds(&self) -> DomainResult<Vec<(ModelId, DomainResult<HealthThresholds>)>> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT m.id, t.thresholds FROM models m
             LEFT JOIN model_health_thresholds t ON t.model_id = m.id ORDER BY m.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, thresholds)| {
                let thresholds = parse_thresholds(thresholds.as_deref(), &id);
                (ModelId(id), thresholds)
            })
            .collect())
    }

    /// Replaces the model's thresholds, with an audit entry of what changed.
    pub async fn set_health_thresholds(
        &self,
        model_id: &ModelId,
        thresholds: &HealthThresholds,
        actor: &Actor,
    ) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM models WHERE id = $1")
            .bind(&model_id.0)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(DomainError::NotFound(format!("no model with id '{model_id}'")));
        }
        let before: Option<String> =
            sqlx::query_scalar("SELECT thresholds FROM model_health_thresholds WHERE model_id = $1")
                .bind(&model_id.0)
                .fetch_optional(&mut *tx)
                .await?;
        let json = stored::encode_thresholds(thresholds)?;
        let changes = match parse_thresholds(before.as_deref(), &model_id.0) {
            Ok(before) => ChangeSet::default().fields(&before, thresholds),
            // Unreadable old values must not stop them being replaced; the audit keeps their text.
            Err(_) => ChangeSet::default().field("thresholds", before.as_deref(), Some(&json)),
        };
        sqlx::query(
            "INSERT INTO model_health_thresholds (model_id, thresholds, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (model_id) DO UPDATE SET thresholds = excluded.thresholds, updated_at = excluded.updated_at",
        )
        .bind(&model_id.0)
        .bind(&json)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?;
        let record = AuditRecord {
            actor,
            action: AuditAction::ModelHealthThresholds,
            target: AuditTarget::Model,
            target_id: &model_id.0,
            changes: changes.build(),
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The model's telemetry over the last `SIGNAL_WINDOW_MINUTES` before `now`.
    pub async fn health_signals(&self, model_id: &ModelId, now: DateTime<Utc>) -> DomainResult<HealthSignals> {
        let to = now.timestamp_millis();
        let from = to - SIGNAL_WINDOW_MINUTES * MINUTE_MILLIS;
        let summary = async |metric: &str| -> DomainResult<(u64, f64, QuantileSketch)> {
            let rollups =
                self.metric_rollups(&model_id.0, metric, from, to + MINUTE_MILLIS, Resolution::Minute).await?;
            let mut sketch = QuantileSketch::new();
            let (mut count, mut sum) = (0, 0.0);
            for rollup in rollups {
                count += rollup.count;
                sum += rollup.sum;
                sketch.merge(&rollup.sketch);
            }
            Ok((count, sum, sketch))
        };
        let average = |(count, sum, _): (u64, f64, QuantileSketch)| (count > 0).then(|| sum / count as f64);
        let last_minute: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(m.minute) FROM series_minutes m JOIN series s ON s.id = m.series_id WHERE s.model_id = $1",
        )
        .bind(&model_id.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(HealthSignals {
            accuracy: average(summary(signal_metrics::ACCURACY).await?),
            latency_p95_ms: summary(signal_metrics::LATENCY_MS).await?.2.quantile(0.95),
            error_rate: average(summary(signal_metrics::ERROR_RATE).await?),
            requests_per_second: average(summary(signal_metrics::THROUGHPUT).await?),
            last_point_at: last_minute.map(from_millis),
        })
    }
}

/// Stored thresholds (the defaults without a row).
fn parse_thresholds(json: Option<&str>, model_id: &str) -> DomainResult<HealthThresholds> {
    json.map_or(Ok(HealthThresholds::default()), |json| stored::decode_thresholds(json, &format!("model '{model_id}'")))
}
