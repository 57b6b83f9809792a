//! Keeps every model's health status current: the monitor task re-evaluates a model
//! within a second of new points or a drift evaluation (it listens to the live hub's
//! `points` and `drift` events), sweeps
//! the whole fleet every `SWEEP_INTERVAL` so silence turns into "no data", and
//! publishes a `status` event whenever a status changes. Handlers read the board.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use keel_shared::ModelId;
use keel_shared::health::{ModelHealth, evaluate};
use keel_shared::live::LiveEvent;
use tokio::sync::broadcast::error::RecvError;

use crate::error::ApiResult;
use crate::live::LiveHub;
use crate::store::Store;

/// How often models with new points are re-evaluated, at most.
const DIRTY_INTERVAL: Duration = Duration::from_secs(1);
/// How often every model is re-evaluated.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// The latest health of every model.
#[derive(Clone, Default)]
pub struct HealthBoard {
    statuses: Arc<RwLock<HashMap<ModelId, ModelHealth>>>,
}

impl HealthBoard {
    pub fn get(&self, model_id: &ModelId) -> Option<ModelHealth> {
        self.statuses.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(model_id).cloned()
    }

    pub fn all(&self) -> Vec<ModelHealth> {
        self.statuses.read().unwrap_or_else(std::sync::PoisonError::into_inner).values().cloned().collect()
    }
}

/// Evaluates the models in `only` (every model when `None`), updates the board and
/// publishes the status changes.
pub async fn evaluate_models(
    store: &Store,
    board: &HealthBoard,
    live: &LiveHub,
    only: Option<&HashSet<ModelId>>,
) -> ApiResult<()> {
    let now = Utc::now();
    let models = store.models_with_thresholds().await?;
    if only.is_none() {
        let known: HashSet<&ModelId> = models.iter().map(|(id, _)| id).collect();
        board.statuses.write().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|id, _| known.contains(id));
    }
    for (model_id, thresholds) in models {
        if only.is_some_and(|only| !only.contains(&model_id)) {
            continue;
        }
        let signals = store.health_signals(&model_id, now).await?;
        let degradation = store.latest_degradation(&model_id).await?;
        let (status, reasons) = evaluate(&signals, &thresholds, &degradation, now);
        let health =
            ModelHealth { model_id: model_id.clone(), status, reasons, signals, thresholds, evaluated_at: now };
        let previous = board
            .statuses
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(model_id, health.clone())
            .map(|previous| previous.status);
        if previous != Some(status) {
            live.publish(LiveEvent::Status { previous, health });
        }
    }
    Ok(())
}

/// Starts the monitor task; it runs for the life of the process.
pub fn spawn_monitor(store: Store, board: HealthBoard, live: LiveHub) {
    let (_, mut events) = live.subscribe(None);
    tokio::spawn(async move {
        let mut dirty_tick = tokio::time::interval(DIRTY_INTERVAL);
        dirty_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sweep_tick = tokio::time::interval(SWEEP_INTERVAL);
        sweep_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut dirty = HashSet::new();
        loop {
            let outcome = tokio::select! {
                event = events.recv() => {
                    match event {
                        Ok(event) => {
                            match &event.event {
                                LiveEvent::Points { model_id, .. } | LiveEvent::Drift { model_id, .. } => {
                                    dirty.insert(model_id.clone());
                                }
                                LiveEvent::Status { .. } | LiveEvent::Resync => {}
                            }
                            Ok(())
                        }
                        // Fell behind: the next sweep catches up.
                        Err(RecvError::Lagged(_)) => Ok(()),
                        Err(RecvError::Closed) => return,
                    }
                }
                _ = dirty_tick.tick(), if !dirty.is_empty() => {
                    let models = std::mem::take(&mut dirty);
                    evaluate_models(&store, &board, &live, Some(&models)).await
                }
                _ = sweep_tick.tick() => evaluate_models(&store, &board, &live, None).await,
            };
            if let Err(error) = outcome {
                tracing::warn!(%error, "model health evaluation failed; retrying on the next tick");
            }
        }
    });
}
