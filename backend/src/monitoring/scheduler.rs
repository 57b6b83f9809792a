//! Evaluates every version that has a reference on its model's cadence
//! (`evaluate_every_minutes`), checking once a minute which are due. A version without
//! rows in its window is skipped until rows arrive. Replicas sharing a database claim each
//! due evaluation in the store first, so only one of them runs it.

use std::time::Duration;

use chrono::Utc;

use super::evaluation::evaluate;
use crate::error::ApiError;
use crate::live::LiveHub;
use crate::store::Store;

const CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// Starts the scheduler; it runs for the life of the process.
pub fn spawn(store: Store, live: LiveHub) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(error) = run_due(&store, &live).await {
                tracing::warn!(%error, "scheduled drift evaluations failed; retrying in a minute");
            }
        }
    });
}

/// Evaluates the versions whose last run is older than their model's cadence.
pub async fn run_due(store: &Store, live: &LiveHub) -> Result<(), ApiError> {
    let now = Utc::now();
    for (model_id, version, last_run) in store.monitored_versions().await? {
        let settings = store.monitoring_settings(&model_id).await?;
        let every = chrono::Duration::minutes(i64::from(settings.evaluate_every_minutes));
        if last_run.is_some_and(|last| now - last < every)
            || !store.claim_scheduled_evaluation(&model_id, &version, now, now - every).await?
        {
            continue;
        }
        match evaluate(store, live, &model_id, Some(&version), now).await {
            Ok(run) => {
                tracing::info!(model = %model_id, %version, drifted = run.report.drifted_columns, "drift evaluated")
            }
            Err(ApiError::Conflict(reason)) => {
                tracing::debug!(model = %model_id, %version, %reason, "not evaluated");
                store.release_scheduled_evaluation(&model_id, &version).await?;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
