//! Evaluates every version that has a reference on its model's cadence
//! (`evaluate_every_minutes`); the jobs module runs it once a minute, on the replica
//! holding the singleton lease. A version without rows in its window is skipped until
//! rows arrive. Each due evaluation is also claimed in the store first, so a replica that
//! lost the lease mid-pass cannot run one a second time.

use super::evaluation::evaluate;
use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::audit::Actor;

/// Evaluates the versions whose last run is older than their model's cadence.
pub async fn run_due(store: &Store) -> DomainResult<()> {
    let now = store.clock().now();
    for (model_id, version, last_run) in store.monitored_versions().await? {
        let settings = store.monitoring_settings(&model_id).await?;
        let every = chrono::Duration::minutes(i64::from(settings.evaluate_every_minutes));
        if last_run.is_some_and(|last| now - last < every)
            || !store.claim_scheduled_evaluation(&model_id, &version, now, now - every).await?
        {
            continue;
        }
        match evaluate(store, &Actor::system(), &model_id, Some(&version), now).await {
            Ok(run) => {
                tracing::info!(model = %model_id, %version, drifted = run.report.drifted_columns, "drift evaluated")
            }
            Err(DomainError::Conflict(reason)) => {
                tracing::debug!(model = %model_id, %version, %reason, "not evaluated");
                store.release_scheduled_evaluation(&model_id, &version).await?;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
