//! Escalation chains, the webhook signing secret, and the webhook delivery log.

use keel_shared::audit::{AuditAction, AuditTarget};
use keel_shared::incidents::{DeliveryStatus, EscalationChains, TimelineKind, WebhookDelivery};

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::{Store, from_millis, new_id};
use crate::domain::{DomainError, DomainResult};

/// A delivery that is due, with what to send.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueWebhook {
    pub id: String,
    pub incident_id: String,
    pub url: String,
    pub body: String,
    pub attempts: i64,
}

/// How an attempt ended.
pub enum Attempt {
    Delivered,
    /// Failed; try again at this time (Unix ms).
    Retry {
        error: String,
        at: i64,
    },
    /// Failed for the last time.
    GaveUp {
        error: String,
    },
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    level: i64,
    url: String,
    status: String,
    attempts: i64,
    next_attempt_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
}

impl Store {
    pub async fn escalation_chains(&self) -> DomainResult<EscalationChains> {
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE name = 'escalation'")
            .fetch_optional(&self.pool)
            .await?;
        stored.map_or_else(|| Ok(EscalationChains::default()), |json| super::stored::decode_escalation(&json))
    }

    pub async fn set_escalation_chains(&self, chains: &EscalationChains, actor: &Actor) -> DomainResult<()> {
        let before = self.escalation_chains().await.unwrap_or_default();
        let json = super::stored::encode_escalation(chains)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES ('escalation', $1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(&json)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?;
        let changes = ChangeSet::default().fields(&before, chains).build();
        let record = AuditRecord {
            actor,
            action: AuditAction::EscalationUpdate,
            target: AuditTarget::Settings,
            target_id: "escalation",
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The secret webhooks are signed with: `candidate` stored on first use, else the one
    /// stored before.
    pub async fn webhook_secret(&self, candidate: &str) -> DomainResult<String> {
        sqlx::query("INSERT INTO settings (name, value, updated_at) VALUES ('webhook_secret', $1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(candidate)
            .bind(self.now_millis())
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = 'webhook_secret'").fetch_one(&self.pool).await?)
    }

    /// Queues a notification to send now.
    pub async fn queue_webhook(&self, incident_id: &str, level: u32, url: &str, body: &str) -> DomainResult<()> {
        let now = self.now_millis();
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, incident_id, level, url, body, status, attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
        )
        .bind(new_id())
        .bind(incident_id)
        .bind(i64::from(level))
        .bind(url)
        .bind(body)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Pending deliveries whose next attempt is due.
    pub async fn due_webhooks(&self, limit: i64) -> DomainResult<Vec<DueWebhook>> {
        Ok(sqlx::query_as(
            "SELECT id, incident_id, url, body, attempts FROM webhook_deliveries
             WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
        )
        .bind(self.now_millis())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// When the next pending delivery is due (Unix ms), if any is pending.
    pub async fn next_webhook_at(&self) -> DomainResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Records an attempt, and on the incident's timeline a delivery or a final failure.
    pub async fn record_webhook_attempt(&self, delivery: &DueWebhook, attempt: Attempt) -> DomainResult<()> {
        let attempts = delivery.attempts + 1;
        let (status, next, error, note) = match attempt {
            Attempt::Delivered => (
                DeliveryStatus::Delivered,
                None,
                None,
                Some(format!("Webhook delivered to {} (attempt {attempts})", delivery.url)),
            ),
            Attempt::Retry { error, at } => (DeliveryStatus::Pending, Some(at), Some(error), None),
            Attempt::GaveUp { error } => {
                let note = format!("Webhook to {} failed after {attempts} attempts: {error}", delivery.url);
                (DeliveryStatus::Failed, None, Some(error), Some(note))
            }
        };
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4, last_error = $5 WHERE id = $1")
            .bind(&delivery.id)
            .bind(status.as_str())
            .bind(attempts)
            .bind(next)
            .bind(error)
            .persistent(false)
            .execute(&mut *tx)
            .await?;
        if let Some(note) = note {
            sqlx::query(
                "INSERT INTO incident_timeline (id, incident_id, at, actor, kind, text) VALUES ($1, $2, $3, 'system', $4, $5)",
            )
            .bind(new_id())
            .bind(&delivery.incident_id)
            .bind(self.now_millis())
            .bind(TimelineKind::Notification.as_str())
            .bind(note)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The incident's webhook deliveries, oldest first.
    pub async fn webhook_deliveries(&self, incident_id: &str) -> DomainResult<Vec<WebhookDelivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(
            "SELECT id, level, url, status, attempts, next_attempt_at, last_error, created_at FROM webhook_deliveries
             WHERE incident_id = $1 ORDER BY created_at, id",
        )
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(WebhookDelivery {
                    status: row
                        .status
                        .parse()
                        .map_err(|error| DomainError::Corrupt(format!("a webhook delivery has {error}")))?,
                    id: row.id,
                    level: u32::try_from(row.level).unwrap_or_default(),
                    url: row.url,
                    attempts: u32::try_from(row.attempts).unwrap_or_default(),
                    next_attempt_at: row.next_attempt_at.map(from_millis),
                    last_error: row.last_error,
                    created_at: from_millis(row.created_at),
                })
            })
            .collect()
    }
}
