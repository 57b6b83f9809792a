//! Background upkeep of stored telemetry: hourly rollups catch up with the minutes
//! written since, at most `ROLLUP_BATCH` series-hours every `ROLLUP_INTERVAL` so a
//! backfill never starves ingest (until then queries read those hours from their
//! minutes, so answers are the same, only slower); raw points, feature rows and labels
//! older than the retention are dropped every `PRUNE_INTERVAL` (rollups, references and
//! drift runs stay).

use std::time::Duration;

use crate::store::Store;

const ROLLUP_INTERVAL: Duration = Duration::from_secs(2);
/// Series-hours recomputed per tick, in one transaction.
const ROLLUP_BATCH: i64 = 500;
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Starts the upkeep task; it runs for the life of the process.
pub fn spawn(store: Store, raw_retention_days: u32) {
    tokio::spawn(async move {
        let mut rollup_tick = tokio::time::interval(ROLLUP_INTERVAL);
        rollup_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut prune_tick = tokio::time::interval(PRUNE_INTERVAL);
        prune_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = rollup_tick.tick() => {
                    if let Err(error) = store.roll_up_hours(ROLLUP_BATCH).await {
                        tracing::warn!(%error, "hourly rollup failed; retrying on the next tick");
                    }
                }
                _ = prune_tick.tick() => {
                    let before = chrono::Utc::now().timestamp_millis() - i64::from(raw_retention_days) * 86_400_000;
                    match store.prune_raw_points(before).await {
                        Ok(pruned) if pruned > 0 => tracing::info!(pruned, "raw points past retention dropped"),
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "pruning raw points failed; retrying in an hour"),
                    }
                    match store.prune_feature_rows(before).await {
                        Ok(pruned) if pruned > 0 => tracing::info!(pruned, "feature rows and labels past retention dropped"),
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "pruning feature rows failed; retrying in an hour"),
                    }
                }
            }
        }
    });
}

/// Rolls up every pending series-hour now, a batch at a time (for tests, benchmarks
/// and tools that need the steady state).
pub async fn roll_up(store: &Store) {
    loop {
        match store.roll_up_hours(ROLLUP_BATCH).await {
            Ok(done) if done < ROLLUP_BATCH as usize => return,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "hourly rollup failed; retrying on the next tick");
                return;
            }
        }
    }
}
