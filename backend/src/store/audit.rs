//! The append-only, hash-chained audit log.
//!
//! Each entry's `hash` is the SHA-256 of its canonical encoding — the JSON array
//! `[seq, at_millis, actor_id, actor, action, target_type, target_id, changes, prev_hash]`
//! with `changes` as stored text — and `prev_hash` is the hash of the entry before. An
//! entry is written in the transaction of the change it records; appends are serialised
//! (SQLite's write lock; on PostgreSQL a table lock that still lets readers in) so the chain never forks.

use keel_shared::audit::{
    AuditAction, AuditEntry, AuditTarget, AuditVerifyResponse, BrokenEntry, Changes, FieldChange,
};
use sha2::{Digest, Sha256};
use sqlx::{Any, FromRow, Transaction};

use super::{Dialect, Store, from_millis};
use crate::domain::{DomainError, DomainResult};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's id; `None` for Keel itself (start-up, demo data).
    pub id: Option<String>,
    /// The username, or `system`.
    pub name: String,
}

impl Actor {
    pub fn system() -> Self {
        Self { id: None, name: "system".into() }
    }
}

/// What one audit entry records.
pub struct AuditRecord<'a> {
    pub actor: &'a Actor,
    pub action: AuditAction,
    pub target: AuditTarget,
    pub target_id: &'a str,
    pub changes: Changes,
}

/// Builds a `Changes` map, keeping only fields whose value differs.
#[derive(Default)]
pub struct ChangeSet(Changes);

impl ChangeSet {
    pub fn field(mut self, name: &str, before: Option<&str>, after: Option<&str>) -> Self {
        if before != after {
            self.0.insert(
                name.to_owned(),
                FieldChange { before: before.map(str::to_owned), after: after.map(str::to_owned) },
            );
        }
        self
    }

    /// A change per top-level field of two versions of the same settings (each value as
    /// JSON text), so the audit log says which setting moved.
    pub fn fields<T: serde::Serialize>(self, before: &T, after: &T) -> Self {
        let as_map = |settings: &T| match serde_json::to_value(settings) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let (old, new) = (as_map(before), as_map(after));
        new.iter().fold(self, |changes, (field, value)| {
            let previous = old.get(field).map(ToString::to_string);
            changes.field(field, previous.as_deref(), Some(&value.to_string()))
        })
    }

    pub fn build(self) -> Changes {
        self.0
    }
}

/// Filters of the audit list, validated.
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub target_type: Option<AuditTarget>,
    pub target_id: Option<String>,
    pub from_millis: Option<i64>,
    pub to_millis: Option<i64>,
    pub page: u32,
    pub per_page: u32,
}

#[derive(FromRow)]
struct AuditRow {
    seq: i64,
    at: i64,
    actor_id: Option<String>,
    actor: String,
    action: String,
    target_type: String,
    target_id: String,
    changes: String,
    prev_hash: String,
    hash: String,
}

impl AuditRow {
    fn computed_hash(&self) -> String {
        entry_hash(
            self.seq,
            self.at,
            self.actor_id.as_deref(),
            &self.actor,
            &self.action,
            &self.target_type,
            &self.target_id,
            &self.changes,
            &self.prev_hash,
        )
    }
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = DomainError;

    fn try_from(row: AuditRow) -> DomainResult<Self> {
        Ok(Self {
            seq: u64::try_from(row.seq).unwrap_or_default(),
            at: from_millis(row.at),
            actor: row.actor,
            action: row.action.parse().map_err(|error| edited(row.seq, "action", &error))?,
            target_type: row.target_type.parse().map_err(|error| edited(row.seq, "target type", &error))?,
            target_id: row.target_id,
            // An entry whose changes no longer parse was tampered with; verify names it.
            changes: serde_json::from_str(&row.changes).unwrap_or_default(),
            prev_hash: row.prev_hash,
            hash: row.hash,
        })
    }
}

/// A stored entry the code cannot read was edited behind Keel's back.
fn edited(seq: i64, what: &str, error: &keel_shared::models::UnknownVariant) -> DomainError {
    DomainError::Internal(anyhow::anyhow!("audit entry {seq} has an unknown {what} ({error}): verify the chain"))
}

#[allow(clippy::too_many_arguments)] // the fields of the canonical encoding, in order
fn entry_hash(
    seq: i64,
    at: i64,
    actor_id: Option<&str>,
    actor: &str,
    action: &str,
    target_type: &str,
    target_id: &str,
    changes: &str,
    prev_hash: &str,
) -> String {
    let canonical = serde_json::json!([seq, at, actor_id, actor, action, target_type, target_id, changes, prev_hash]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

macro_rules! audit_columns {
    () => {
        "seq, at, actor_id, actor, action, target_type, target_id, changes, prev_hash, hash"
    };
}

/// `$1` actor, `$2` action, `$3` target type, `$4` target id, `$5` from, `$6` to.
macro_rules! audit_filter {
    () => {
        "($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR target_type = $3)
         AND ($4 IS NULL OR target_id = $4) AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6)"
    };
}

impl Store {
    /// Appends an entry inside `tx`, the transaction of the change it records.
    pub(crate) async fn append_audit(
        &self,
        tx: &mut Transaction<'static, Any>,
        record: AuditRecord<'_>,
    ) -> DomainResult<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("LOCK TABLE audit_log IN EXCLUSIVE MODE").execute(&mut **tx).await?;
        }
        let last: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS_HASH.to_owned()),
        };
        let at = self.now_millis();
        let changes = serde_json::to_string(&record.changes).map_err(anyhow::Error::from)?;
        let hash = entry_hash(
            seq,
            at,
            record.actor.id.as_deref(),
            &record.actor.name,
            record.action.as_str(),
            record.target.as_str(),
            record.target_id,
            &changes,
            &prev_hash,
        );
        sqlx::query(concat!(
            "INSERT INTO audit_log (",
            audit_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(seq)
        .bind(at)
        .bind(record.actor.id.as_deref())
        .bind(&record.actor.name)
        .bind(record.action.as_str())
        .bind(record.target.as_str())
        .bind(record.target_id)
        .bind(changes)
        .bind(prev_hash)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Writes one audit entry in a transaction of its own (for events that change
    /// nothing else, such as a failed login).
    pub async fn record_audit(&self, record: AuditRecord<'_>) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One page of entries matching `filter`, newest first, and how many match in all.
    #[tracing::instrument(skip_all)]
    pub async fn list_audit(&self, filter: &AuditFilter) -> DomainResult<(Vec<AuditEntry>, u64)> {
        let total: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM audit_log WHERE ", audit_filter!()))
            .bind(filter.actor.as_deref())
            .bind(filter.action.map(AuditAction::as_str))
            .bind(filter.target_type.map(AuditTarget::as_str))
            .bind(filter.target_id.as_deref())
            .bind(filter.from_millis)
            .bind(filter.to_millis)
            .fetch_one(&self.pool)
            .await?;
        let per_page = filter.per_page;
        let rows: Vec<AuditRow> = sqlx::query_as(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_log WHERE ",
            audit_filter!(),
            " ORDER BY seq DESC LIMIT $7 OFFSET $8"
        ))
        .bind(filter.actor.as_deref())
        .bind(filter.action.map(AuditAction::as_str))
        .bind(filter.target_type.map(AuditTarget::as_str))
        .bind(filter.target_id.as_deref())
        .bind(filter.from_millis)
        .bind(filter.to_millis)
        .bind(i64::from(per_page))
        .bind(i64::from(filter.page - 1) * i64::from(per_page))
        .fetch_all(&self.pool)
        .await?;
        let entries = rows.into_iter().map(AuditEntry::try_from).collect::<DomainResult<_>>()?;
        Ok((entries, u64::try_from(total).unwrap_or_default()))
    }

    /// Recomputes the whole chain and reports the first entry that does not match.
    #[tracing::instrument(skip_all)]
    pub async fn verify_audit(&self) -> DomainResult<AuditVerifyResponse> {
        const BATCH: i64 = 5000;
        let mut expected_seq = 1_i64;
        let mut prev_hash = GENESIS_HASH.to_owned();
        loop {
            let rows: Vec<AuditRow> = sqlx::query_as(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"
            ))
            .bind(expected_seq)
            .bind(BATCH)
            .fetch_all(&self.pool)
            .await?;
            let fetched = rows.len();
            for row in rows {
                let broken = |reason: &str| AuditVerifyResponse {
                    intact: false,
                    checked: u64::try_from(expected_seq - 1).unwrap_or_default(),
                    first_broken: Some(BrokenEntry {
                        seq: u64::try_from(row.seq.min(expected_seq)).unwrap_or_default(),
                        reason: reason.into(),
                    }),
                };
                if row.seq != expected_seq {
                    return Ok(broken("this entry is missing: it was deleted"));
                }
                if row.prev_hash != prev_hash {
                    return Ok(broken(
                        "its link to the entry before does not match: an entry before it was removed or replaced",
                    ));
                }
                if row.computed_hash() != row.hash {
                    return Ok(broken("its content does not match its hash: it was edited"));
                }
                prev_hash = row.hash;
                expected_seq += 1;
            }
            if fetched < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                break;
            }
        }
        Ok(AuditVerifyResponse {
            intact: true,
            checked: u64::try_from(expected_seq - 1).unwrap_or_default(),
            first_broken: None,
        })
    }
}
