//! Wake-ups between replicas sharing a PostgreSQL database: an event append notifies
//! (`store::events`), and each replica's live relay listens here.

use anyhow::Context;
use sqlx::postgres::PgListener;

/// A connection of its own to the PostgreSQL database at `url`, listening on `channel`.
pub async fn listen(url: &str, channel: &str) -> anyhow::Result<PgListener> {
    let mut listener = PgListener::connect(url).await.context("cannot listen for the other replicas' events")?;
    listener.listen(channel).await?;
    Ok(listener)
}
