//! Live events across replicas: several `keel serve` processes sharing one PostgreSQL
//! database pass their events to each other with `NOTIFY`/`LISTEN`, so a browser sees
//! points ingested through any replica.
//!
//! Only facts travel: new points and drift evaluations. A status change is not sent,
//! because every replica's health monitor hears the facts and judges the model itself
//! (sending it as well would show each change once per replica). A notification that
//! would exceed PostgreSQL's 8,000-byte payload limit travels as `resync`, and so does a
//! lost listening connection, once it is back: clients then reload what they show.

use keel_shared::live::LiveEvent;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::LiveHub;
use crate::store::{Store, replicas};

/// The PostgreSQL notification channel.
const CHANNEL: &str = "keel_live";
/// PostgreSQL refuses payloads of 8,000 bytes or more.
const MAX_PAYLOAD: usize = 7_999;
/// Events waiting to be sent; beyond this the hub drops them rather than wait.
const OUTBOX_CAPACITY: usize = 4_096;

#[derive(Serialize, Deserialize)]
struct Notification {
    /// The replica that published the event; it ignores its own notifications.
    replica: String,
    event: LiveEvent,
}

/// Whether other replicas need to hear of `event`.
pub(super) fn travels(event: &LiveEvent) -> bool {
    matches!(event, LiveEvent::Points { .. } | LiveEvent::Drift { .. })
}

/// Connects `hub` to the other replicas on `store` (whose URL is `url`): returns the
/// sender its own events go out through, once the listening connection is up.
pub(super) async fn connect(hub: LiveHub, store: Store, url: &str) -> anyhow::Result<mpsc::Sender<LiveEvent>> {
    let replica = uuid::Uuid::now_v7().to_string();
    let mut listener = replicas::listen(url, CHANNEL).await?;
    let (outbox, mut outgoing) = mpsc::channel::<LiveEvent>(OUTBOX_CAPACITY);
    let sender_replica = replica.clone();
    tokio::spawn(async move {
        while let Some(event) = outgoing.recv().await {
            let payload = payload(&sender_replica, event);
            if let Err(error) = store.notify(CHANNEL, &payload).await {
                tracing::warn!(%error, "a live event did not reach the other replicas");
            }
        }
    });
    tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => match serde_json::from_str::<Notification>(notification.payload()) {
                    Ok(notification) if notification.replica != replica => hub.publish_here(notification.event),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "an unreadable live event from another replica"),
                },
                // The connection dropped and is back: whatever was sent meanwhile is lost.
                Ok(None) => hub.publish_here(LiveEvent::Resync),
                Err(error) => {
                    tracing::warn!(%error, "listening for other replicas' live events failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(outbox)
}

/// The notification's text: the event, or `resync` when the event is too long to send.
fn payload(replica: &str, event: LiveEvent) -> String {
    let text = |event| serde_json::to_string(&Notification { replica: replica.to_owned(), event }).unwrap_or_default();
    let full = text(event);
    if full.len() <= MAX_PAYLOAD { full } else { text(LiveEvent::Resync) }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use keel_shared::ids::ModelId;

    use super::*;

    fn points(metrics: usize) -> LiveEvent {
        let metrics = (0..metrics).map(|index| format!("metric_with_a_long_name_{index:04}")).collect();
        LiveEvent::Points { model_id: ModelId("m".into()), metrics, points: 1, newest: Utc::now() }
    }

    #[test]
    fn events_too_long_for_a_notification_travel_as_resync() {
        let short: Notification = serde_json::from_str(&payload("a", points(3))).expect("notification");
        assert!(matches!(short.event, LiveEvent::Points { ref metrics, .. } if metrics.len() == 3));
        let long = payload("a", points(1_000));
        assert!(long.len() <= MAX_PAYLOAD);
        let long: Notification = serde_json::from_str(&long).expect("notification");
        assert!(matches!(long.event, LiveEvent::Resync));
        assert!(travels(&points(1)) && !travels(&LiveEvent::Resync));
    }
}
