//! The event hub behind `GET /api/live`: a tokio broadcast channel of `LiveEvent`s, each
//! stamped with an increasing id and serialised once, plus the most recent events so a
//! reconnecting client (`Last-Event-ID`) gets what it missed.
//!
//! Ids start at the server's start time in microseconds, so ids of a later process are
//! larger than those of an earlier one; a client resuming from an id this process never
//! issued, or from one that has left the buffer, is told to `resync` instead.
//!
//! On PostgreSQL, replicas pass their events to each other (`bridge`). Each numbers
//! events itself, so a client that reconnects to another replica resyncs.

mod bridge;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use keel_shared::live::LiveEvent;
use tokio::sync::{broadcast, mpsc};

use crate::store::Store;

/// Events kept for clients that reconnect.
const REPLAY_BUFFER: usize = 1024;
/// Events a slow subscriber may fall behind before it is told to resync.
const CHANNEL_CAPACITY: usize = 1024;

/// An event as sent: its id, kind and JSON.
#[derive(Debug)]
pub struct StampedEvent {
    pub id: u64,
    pub kind: &'static str,
    pub json: String,
    pub event: LiveEvent,
}

/// Where a new subscriber starts.
pub enum Backlog {
    /// Events after the client's `Last-Event-ID` (empty for a new client).
    Replay(Vec<Arc<StampedEvent>>),
    /// The client's `Last-Event-ID` is unknown here: it must reload.
    Resync,
}

#[derive(Clone)]
pub struct LiveHub {
    sender: broadcast::Sender<Arc<StampedEvent>>,
    state: Arc<Mutex<HubState>>,
    /// Where events for the other replicas go (PostgreSQL only).
    replicas: Option<mpsc::Sender<LiveEvent>>,
}

struct HubState {
    next_id: u64,
    recent: VecDeque<Arc<StampedEvent>>,
}

impl Default for LiveHub {
    fn default() -> Self {
        let start = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or_default();
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self {
            sender,
            state: Arc::new(Mutex::new(HubState { next_id: start, recent: VecDeque::new() })),
            replicas: None,
        }
    }
}

impl LiveHub {
    /// A hub that also hears, and tells, every other replica on the PostgreSQL `store`
    /// (whose URL is `url`).
    pub async fn across_replicas(store: &Store, url: &str) -> anyhow::Result<LiveHub> {
        let mut hub = LiveHub::default();
        hub.replicas = Some(bridge::connect(hub.clone(), store.clone(), url).await?);
        Ok(hub)
    }

    /// Sends `event` to every subscriber of this replica and, where it concerns them,
    /// of the others.
    pub fn publish(&self, event: LiveEvent) {
        if let Some(replicas) = &self.replicas
            && bridge::travels(&event)
            && replicas.try_send(event.clone()).is_err()
        {
            tracing::warn!(
                "a live event could not be queued for the other replicas (queue full or bridge down); dropped"
            );
        }
        self.publish_here(event);
    }

    /// Sends `event` to this replica's subscribers and keeps it for reconnecting ones.
    fn publish_here(&self, event: LiveEvent) {
        let json = serde_json::to_string(&event).unwrap_or_default();
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let stamped = Arc::new(StampedEvent { id: state.next_id, kind: event.kind(), json, event });
        state.next_id += 1;
        if state.recent.len() == REPLAY_BUFFER {
            state.recent.pop_front();
        }
        state.recent.push_back(stamped.clone());
        // Sent under the lock, so a subscriber's backlog and its channel never overlap or leave a gap.
        // No subscribers is not an error.
        let _ = self.sender.send(stamped);
    }

    /// A receiver for new events and the backlog owed since `last_event_id`.
    pub fn subscribe(&self, last_event_id: Option<u64>) -> (Backlog, broadcast::Receiver<Arc<StampedEvent>>) {
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let receiver = self.sender.subscribe();
        let Some(last) = last_event_id else { return (Backlog::Replay(Vec::new()), receiver) };
        let newest = state.next_id.checked_sub(1);
        let oldest_kept = state.recent.front().map_or(state.next_id, |event| event.id);
        let backlog = if Some(last) == newest {
            Backlog::Replay(Vec::new())
        } else if last.saturating_add(1) >= oldest_kept && last < state.next_id {
            Backlog::Replay(state.recent.iter().filter(|event| event.id > last).cloned().collect())
        } else {
            Backlog::Resync
        };
        (backlog, receiver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(backlog: &Backlog) -> Option<Vec<u64>> {
        match backlog {
            Backlog::Replay(events) => Some(events.iter().map(|event| event.id).collect()),
            Backlog::Resync => None,
        }
    }

    #[test]
    fn reconnecting_clients_get_what_they_missed_or_a_resync() {
        let hub = LiveHub::default();
        let (_, mut receiver) = hub.subscribe(None);
        for _ in 0..3 {
            hub.publish(LiveEvent::Resync);
        }
        let first = receiver.try_recv().expect("delivered").id;
        assert_eq!(ids(&hub.subscribe(Some(first)).0), Some(vec![first + 1, first + 2]));
        assert_eq!(ids(&hub.subscribe(Some(first + 2)).0), Some(vec![]));
        assert_eq!(ids(&hub.subscribe(Some(first - 1)).0), Some(vec![first, first + 1, first + 2]));
        assert_eq!(ids(&hub.subscribe(Some(first - 2)).0), None, "older than anything kept");
        assert_eq!(ids(&hub.subscribe(Some(first + 50)).0), None, "an id this process never issued");

        for _ in 0..REPLAY_BUFFER {
            hub.publish(LiveEvent::Resync);
        }
        assert_eq!(ids(&hub.subscribe(Some(first)).0), None, "fell out of the buffer");
    }
}
