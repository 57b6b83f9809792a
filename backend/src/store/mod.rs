//! The store: the only module that writes SQL.
//!
//! One schema shape and, where the dialects agree, one SQL text for SQLite (the
//! embedded default) and PostgreSQL (to scale out), run through sqlx's `Any` driver.
//! Each dialect has its own migrations; the few other differences live here.

pub mod alerting;
pub mod audit;
pub mod business;
pub mod changes;
pub mod events;
pub mod evidence;
mod health;
pub mod identity;
pub mod incidents;
pub mod kpis;
pub mod ledger;
mod models;
pub mod monitoring;
pub mod replicas;
pub mod rollups;
mod stored;
pub mod telemetry;
pub mod webhooks;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::domain::{DomainError, DomainResult};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            anyhow::bail!(
                "unsupported database URL {:?}: expected sqlite://… or postgres://…",
                crate::config::redact_password(url)
            )
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// How long a request waits for a connection before it is answered 503: a busy or
/// absent store fails fast instead of holding requests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// Ids of series known to exist (see `telemetry`).
    series_ids: Arc<Mutex<HashMap<telemetry::SeriesKey, String>>>,
    clock: Clock,
    /// Signalled after every commit that wrote events (the live relay waits on it).
    events_committed: Arc<tokio::sync::Notify>,
    /// The business data as last read (see `business`).
    business: business::BusinessCache,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to the store at `url`, creating a SQLite file (and its directory) if needed.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url)?;
        if dialect == Dialect::Sqlite {
            create_sqlite_directory(url)?;
        }
        let options = AnyConnectOptions::from_str(url).context("invalid database URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(match dialect {
                // One writer at a time is all SQLite allows; readers share the rest.
                Dialect::Sqlite => 8,
                Dialect::Postgres => 16,
            })
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |connection, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL lets readers work while a write commits; the busy timeout makes
                        // a second writer wait instead of failing; foreign keys are off by default.
                        connection
                            .execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to {}", crate::config::redact_password(url)))?;
        Ok(Self {
            pool,
            dialect,
            series_ids: Arc::default(),
            clock: Clock::system(),
            events_committed: Arc::default(),
            business: Arc::default(),
        })
    }

    /// Brings the schema up to date.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.context("database migration failed")?;
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The same store, reading time from `clock`.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Completes after the next commit of this process that wrote events.
    pub async fn events_committed(&self) {
        self.events_committed.notified().await;
    }

    /// Commits a transaction that appended events, and wakes the live relay.
    async fn commit_with_events(&self, tx: sqlx::Transaction<'static, sqlx::Any>) -> Result<(), sqlx::Error> {
        tx.commit().await?;
        self.events_committed.notify_one();
        Ok(())
    }

    /// Now, as stored: Unix milliseconds.
    fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }

    /// Succeeds when the database answers a query; otherwise says why.
    pub async fn ping(&self) -> DomainResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Starts a transaction that will write. SQLite takes the write lock at once, so two
    /// writers queue on `busy_timeout` instead of failing when a read turns into a write.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.pool.begin().await,
        }
    }
}

fn create_sqlite_directory(url: &str) -> anyhow::Result<()> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create data directory {}", parent.display()))?;
    }
    Ok(())
}

fn from_millis(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

/// Decodes stored JSON (`what` of `owner`, for the message): what does not decode is an
/// error that says so, never a silent default.
fn decode_stored<T: serde::de::DeserializeOwned>(json: &str, what: &str, owner: &str) -> DomainResult<T> {
    serde_json::from_str(json).map_err(|error| {
        DomainError::Corrupt(format!(
            "the stored {what} of {owner} cannot be read ({error}); save them again to replace the stored value"
        ))
    })
}

/// A new server-generated id: UUIDv7, so ids sort by creation time.
/// An optional number as a parameter for `CAST($n AS DOUBLE PRECISION)`. Through
/// `sqlx::Any`, a `None` binds with another type than `Some(f64)`, and PostgreSQL
/// refuses a statement that sees both; text is one type for both.
fn optional_real(value: Option<f64>) -> Option<String> {
    value.map(|value| value.to_string())
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether the error is a unique-constraint violation.
fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_unique_violation())
}
