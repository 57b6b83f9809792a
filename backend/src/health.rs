//! Keeps every model's health status current: the monitor job re-evaluates a model
//! within a second of new points or a drift evaluation (it listens to the live hub's
//! `points` and `drift` events), sweeps the whole fleet every `SWEEP_INTERVAL` so
//! silence turns into "no data", and stores each status: the first replica to see a
//! status change writes its `status` event, once. Handlers read the board.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use keel_shared::ModelId;
use keel_shared::health::{HealthStatus, ModelHealth, evaluate};
use keel_shared::live::LiveEvent;

use crate::domain::DomainResult;
use crate::live::{Delivery, LiveHub};
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
/// stores each status; a status that really changed is written as a `status` event.
pub async fn evaluate_models(store: &Store, board: &HealthBoard, only: Option<&HashSet<ModelId>>) -> DomainResult<()> {
    let now = store.clock().now();
    let models = store.models_with_thresholds().await?;
    if only.is_none() {
        let known: HashSet<&ModelId> = models.iter().map(|(id, _)| id).collect();
        board.statuses.write().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|id, _| known.contains(id));
    }
    for (model_id, thresholds) in models {
        if only.is_some_and(|only| !only.contains(&model_id)) {
            continue;
        }
        // One model's unreadable thresholds must not stop the others being judged.
        let thresholds = match thresholds {
            Ok(thresholds) => thresholds,
            Err(error) => {
                tracing::error!(model = %model_id, %error, "model health not judged");
                continue;
            }
        };
        let signals = store.health_signals(&model_id, now).await?;
        let degradation = store.latest_degradation(&model_id).await?;
        let (status, reasons) = evaluate(&signals, &thresholds, &degradation, now);
        let health =
            ModelHealth { model_id: model_id.clone(), status, reasons, signals, thresholds, evaluated_at: now };
        board
            .statuses
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(model_id.clone(), health.clone());
        let changed = store.record_status(&model_id, status, |previous| LiveEvent::Status { previous, health }).await?;
        // A health breach before implementation voids the approvals of the model's changes
        // (written once: only the replica that stored the new status gets here).
        if changed.is_some() && matches!(status, HealthStatus::Degraded | HealthStatus::Critical) {
            let reason = format!("the model's health became {}", status.label().to_lowercase());
            crate::services::changes::void_approvals(store, &model_id, None, &reason).await?;
        }
    }
    Ok(())
}

/// The monitor job: re-evaluates models with new points or drift runs within
/// `DIRTY_INTERVAL`, and every model each `SWEEP_INTERVAL` or when the clock is moved.
pub async fn monitor(store: &Store, board: &HealthBoard, live: &LiveHub) -> anyhow::Result<()> {
    let mut events = live.subscribe(None).await?;
    let mut dirty_tick = tokio::time::interval(DIRTY_INTERVAL);
    dirty_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweep_tick = tokio::time::interval(SWEEP_INTERVAL);
    sweep_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = HashSet::new();
    loop {
        let outcome = tokio::select! {
            delivery = events.next() => {
                match delivery {
                    Some(Delivery::Event(event)) => {
                        if let LiveEvent::Points { model_id, .. } | LiveEvent::Drift { model_id, .. } = &event.event {
                            dirty.insert(model_id.clone());
                        }
                        Ok(())
                    }
                    // Missed events: judge everything again.
                    Some(Delivery::Resync) => evaluate_models(store, board, None).await,
                    None => return Ok(()),
                }
            }
            _ = dirty_tick.tick(), if !dirty.is_empty() => {
                let models = std::mem::take(&mut dirty);
                evaluate_models(store, board, Some(&models)).await
            }
            _ = sweep_tick.tick() => evaluate_models(store, board, None).await,
            () = store.clock().advanced() => evaluate_models(store, board, None).await,
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, "model health evaluation failed; retrying on the next tick");
        }
    }
}
