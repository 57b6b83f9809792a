//! Upkeep of stored telemetry, run by the jobs module on the replica holding the
//! singleton lease: hourly rollups catch up with the minutes written since, at most
//! `ROLLUP_BATCH` series-hours a tick so a backfill never starves ingest (until then
//! queries read those hours from their minutes, so answers are the same, only slower);
//! raw points, feature rows and labels older than the retention are dropped (rollups,
//! references and drift runs stay), and so are live events older than `EVENT_RETENTION`.

use chrono::Duration;

use crate::domain::DomainResult;
use crate::store::Store;

/// Series-hours recomputed per tick, in one transaction.
const ROLLUP_BATCH: i64 = 500;
/// How long a client may be away and still resume the live stream where it left off.
pub const EVENT_RETENTION: Duration = Duration::hours(24);

/// Rolls up one batch of pending series-hours; returns how many.
pub async fn roll_up_batch(store: &Store) -> DomainResult<usize> {
    store.roll_up_hours(ROLLUP_BATCH).await
}

/// Drops what is past its retention: raw points, feature rows and labels after
/// `raw_retention_days`, live events after `EVENT_RETENTION`.
pub async fn prune(store: &Store, raw_retention_days: u32) -> anyhow::Result<()> {
    let now = store.clock().now();
    let before = (now - Duration::days(i64::from(raw_retention_days))).timestamp_millis();
    let pruned = store.prune_raw_points(before).await?;
    if pruned > 0 {
        tracing::info!(pruned, "raw points past retention dropped");
    }
    let pruned = store.prune_feature_rows(before).await?;
    if pruned > 0 {
        tracing::info!(pruned, "feature rows and labels past retention dropped");
    }
    let pruned = store.prune_events((now - EVENT_RETENTION).timestamp_millis()).await?;
    if pruned > 0 {
        tracing::info!(pruned, "live events past retention dropped");
    }
    Ok(())
}

/// Rolls up every pending series-hour now, a batch at a time (for tests, benchmarks
/// and tools that need the steady state).
pub async fn roll_up(store: &Store) {
    loop {
        match roll_up_batch(store).await {
            Ok(done) if done < ROLLUP_BATCH as usize => return,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "hourly rollup failed; retrying on the next tick");
                return;
            }
        }
    }
}
