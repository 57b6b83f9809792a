//! Messages between replicas sharing a PostgreSQL database (`NOTIFY` and `LISTEN`), as
//! the live-event bridge (`live::bridge`) sends and hears them.

use anyhow::Context;
use sqlx::postgres::PgListener;

use super::Store;
use crate::error::ApiResult;

impl Store {
    /// Sends `payload` to every connection listening on `channel` (PostgreSQL only).
    pub async fn notify(&self, channel: &str, payload: &str) -> ApiResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&self.pool).await?;
        Ok(())
    }
}

/// A connection of its own to the PostgreSQL database at `url`, listening on `channel`.
pub async fn listen(url: &str, channel: &str) -> anyhow::Result<PgListener> {
    let mut listener = PgListener::connect(url).await.context("cannot listen for the other replicas' live events")?;
    listener.listen(channel).await?;
    Ok(listener)
}
