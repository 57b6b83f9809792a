//! The one writer per store: requests queue on a bounded channel (a full queue is
//! answered 503 with Retry-After), and every batch the writer job takes is committed in
//! one transaction, with one `points` event per model, before any of its requests is
//! acknowledged.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use chrono::DateTime;
use keel_shared::ModelId;
use keel_shared::live::LiveEvent;

use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::store::telemetry::{IdempotentAnswer, ValidPoint};

/// Requests waiting for the writer before new ones are turned away.
const QUEUE_DEPTH: usize = 256;
/// Requests committed together at most.
const MAX_GROUP: usize = 64;

struct WriteJob {
    points: Vec<ValidPoint>,
    answer: Option<IdempotentAnswer>,
    done: oneshot::Sender<ApiResult<()>>,
}

/// Hands points to the writer job.
#[derive(Clone)]
pub struct IngestWriter {
    sender: mpsc::Sender<WriteJob>,
    /// The queue's far end, taken by the running writer job (and by its restart, should
    /// it fail).
    receiver: Arc<Mutex<mpsc::Receiver<WriteJob>>>,
}

impl Default for IngestWriter {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        Self { sender, receiver: Arc::new(Mutex::new(receiver)) }
    }
}

impl IngestWriter {
    /// The writer job: commits what is queued, a group at a time, until every sender is gone.
    pub async fn run(&self, store: &Store) -> anyhow::Result<()> {
        let mut receiver = self.receiver.lock().await;
        while let Some(first) = receiver.recv().await {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match receiver.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            commit_group(store, group).await;
        }
        Ok(())
    }

    /// Returns once the points (and the answer, if any) are committed.
    pub async fn write(&self, points: Vec<ValidPoint>, answer: Option<IdempotentAnswer>) -> ApiResult<()> {
        let (done, acknowledged) = oneshot::channel();
        self.sender.try_send(WriteJob { points, answer, done }).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => ApiError::Overloaded { retry_after_secs: 1 },
            mpsc::error::TrySendError::Closed(_) => {
                ApiError::Internal(anyhow::anyhow!("the ingest writer has stopped"))
            }
        })?;
        acknowledged.await.map_err(|_| ApiError::Internal(anyhow::anyhow!("the ingest writer dropped a request")))?
    }
}

async fn commit_group(store: &Store, group: Vec<WriteJob>) {
    let points: Vec<&ValidPoint> = group.iter().flat_map(|job| &job.points).collect();
    let answers: Vec<&IdempotentAnswer> = group.iter().filter_map(|job| job.answer.as_ref()).collect();
    let result = store.write_points(&points, &answers, &points_events(&points)).await;
    if let Err(error) = &result {
        tracing::error!(%error, requests = group.len(), "ingest group commit failed");
    }
    for job in group {
        let outcome = match &result {
            Ok(()) => Ok(()),
            Err(_) => Err(ApiError::Unavailable("the points could not be stored; retry the request".into())),
        };
        // The client may have gone; its points are stored all the same.
        let _ = job.done.send(outcome);
    }
}

/// One `points` event per model of a group: the outbox gets a row per model and commit,
/// never one per point.
pub fn points_events(points: &[&ValidPoint]) -> Vec<LiveEvent> {
    let mut by_model: HashMap<&str, (BTreeSet<&str>, u64, i64)> = HashMap::new();
    for point in points {
        let (metrics, count, newest) = by_model.entry(&point.series.model_id).or_insert((BTreeSet::new(), 0, i64::MIN));
        metrics.insert(&point.series.metric);
        *count += 1;
        *newest = (*newest).max(point.ts);
    }
    by_model
        .into_iter()
        .map(|(model_id, (metrics, points, newest))| LiveEvent::Points {
            model_id: ModelId(model_id.to_owned()),
            metrics: metrics.into_iter().map(str::to_owned).collect(),
            points,
            newest: DateTime::from_timestamp_millis(newest).unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    #[tokio::test]
    async fn a_full_queue_is_answered_503_with_retry_after() {
        // A writer whose task never takes anything: one request fills the queue.
        let (sender, receiver) = mpsc::channel(1);
        let writer = IngestWriter { sender, receiver: Arc::new(Mutex::new(receiver)) };
        let waiting = writer.clone();
        tokio::spawn(async move { waiting.write(Vec::new(), None).await });
        tokio::task::yield_now().await;
        let refused = writer.write(Vec::new(), None).await.expect_err("the queue is full");
        let response = refused.into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
    }
}
