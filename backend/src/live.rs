//! The event hub behind `GET /api/live`, streaming from the store's outbox (`events`).
//!
//! Every change writes its event in its own transaction; the relay job reads committed
//! events in order and hands each, serialised once, to this replica's subscribers (the
//! browsers' streams and the health monitor). It is woken at once by a commit of this
//! process and, on PostgreSQL, by other replicas' `NOTIFY`; it also looks every
//! `POLL_INTERVAL`, so nothing waits for long if a wake-up is lost.
//!
//! Ids are the events' numbers in the store, shared by every replica and kept across
//! restarts: a client resuming with `Last-Event-ID` gets what it missed, exactly once,
//! from whichever replica it reaches. A subscriber that falls behind catches up from
//! the table; only one whose events were pruned (or whose id the store never issued) is
//! told to `resync`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use keel_shared::live::LiveEvent;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::domain::DomainResult;
use crate::store::events::{EVENTS_CHANNEL, StoredEvent};
use crate::store::{Dialect, Store, replicas};

/// Events a slow subscriber may fall behind before it catches up from the store.
const CHANNEL_CAPACITY: usize = 1024;
/// Events read from the store at a time.
const PAGE: i64 = 500;
/// Missed events a resuming client is given at most; further behind, it reloads.
const MAX_BACKLOG: usize = 10_000;
/// How often the relay looks for new events without being woken.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// An event as sent: its id, kind and JSON.
#[derive(Debug)]
pub struct StampedEvent {
    pub id: i64,
    pub kind: String,
    pub json: String,
    pub event: LiveEvent,
}

impl TryFrom<StoredEvent> for StampedEvent {
    type Error = serde_json::Error;

    fn try_from(stored: StoredEvent) -> Result<Self, Self::Error> {
        Ok(Self {
            id: stored.seq,
            event: serde_json::from_str(&stored.payload)?,
            kind: stored.kind,
            json: stored.payload,
        })
    }
}

#[derive(Clone)]
pub struct LiveHub {
    sender: broadcast::Sender<Arc<StampedEvent>>,
    store: Store,
    /// The newest event handed to subscribers.
    relayed: Arc<AtomicI64>,
}

impl LiveHub {
    /// A hub that starts after the newest event already stored.
    pub async fn new(store: Store) -> DomainResult<Self> {
        let newest = store.event_bounds().await?.map_or(0, |(_, newest)| newest);
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        Ok(Self { sender, store, relayed: Arc::new(AtomicI64::new(newest)) })
    }

    /// The relay job: hands every committed event to the subscribers, in order. On
    /// PostgreSQL (`database_url`) it also listens for other replicas' commits.
    pub async fn relay(&self, database_url: &str) -> anyhow::Result<()> {
        let mut listener = match self.store.dialect() {
            Dialect::Postgres => Some(replicas::listen(database_url, EVENTS_CHANNEL).await?),
            Dialect::Sqlite => None,
        };
        loop {
            self.relay_committed().await?;
            let woken_by_replica = async {
                match &mut listener {
                    Some(listener) => listener.recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.store.events_committed() => {}
                received = woken_by_replica => received?,
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }

    async fn relay_committed(&self) -> anyhow::Result<()> {
        loop {
            let page = self.page_after(self.relayed.load(Ordering::Acquire)).await?;
            for event in page.events {
                // No subscribers is not an error.
                drop(self.sender.send(event));
            }
            if let Some(seq) = page.last_seq {
                self.relayed.store(seq, Ordering::Release);
            }
            if !page.full {
                return Ok(());
            }
        }
    }

    /// The next `PAGE` stored events after `after`, oldest first; one that does not
    /// decode is logged and skipped (its number still counts as read).
    async fn page_after(&self, after: i64) -> DomainResult<Page> {
        let stored = self.store.events_after(after, PAGE).await?;
        let full = stored.len() == usize::try_from(PAGE).unwrap_or(usize::MAX);
        let last_seq = stored.last().map(|event| event.seq);
        let events = stored
            .into_iter()
            .filter_map(|stored| {
                let seq = stored.seq;
                StampedEvent::try_from(stored)
                    .map_err(|error| tracing::error!(seq, %error, "a stored live event does not decode; skipped"))
                    .ok()
                    .map(Arc::new)
            })
            .collect();
        Ok(Page { events, last_seq, full })
    }

    /// A subscription from now on, or, with `last_event_id`, from just after it.
    pub async fn subscribe(&self, last_event_id: Option<i64>) -> DomainResult<Subscription> {
        // Subscribed before reading the store: anything committed later comes through the
        // channel, anything earlier is in the store; overlaps are skipped by id.
        let receiver = self.sender.subscribe();
        let mut subscription =
            Subscription { hub: self.clone(), receiver, pending: VecDeque::new(), last: None, resync: false };
        if let Some(last) = last_event_id {
            match self.missed_since(last).await? {
                Some(missed) => {
                    subscription.pending = missed;
                    subscription.last = Some(last);
                }
                None => subscription.resync = true,
            }
        }
        Ok(subscription)
    }

    /// Every stored event after `last`, or `None` when some of them are gone (pruned,
    /// too many) or `last` was never issued.
    async fn missed_since(&self, last: i64) -> DomainResult<Option<VecDeque<Arc<StampedEvent>>>> {
        let Some((oldest, newest)) = self.store.event_bounds().await? else { return Ok(None) };
        if last > newest || last < oldest - 1 {
            return Ok(None);
        }
        let mut missed = VecDeque::new();
        let mut after = last;
        loop {
            let page = self.page_after(after).await?;
            after = page.last_seq.unwrap_or(after);
            missed.extend(page.events);
            if missed.len() > MAX_BACKLOG {
                return Ok(None);
            }
            if !page.full {
                return Ok(Some(missed));
            }
        }
    }
}

/// One page read from the outbox.
struct Page {
    events: Vec<Arc<StampedEvent>>,
    /// The number of the last row read, decoded or not.
    last_seq: Option<i64>,
    /// The page was full: more may follow.
    full: bool,
}

/// What a subscriber receives next.
pub enum Delivery {
    Event(Arc<StampedEvent>),
    /// Events were lost to this subscriber: whatever it shows must be reloaded.
    Resync,
}

/// One subscriber's place in the stream.
pub struct Subscription {
    hub: LiveHub,
    receiver: broadcast::Receiver<Arc<StampedEvent>>,
    /// Read from the store, delivered before the channel.
    pending: VecDeque<Arc<StampedEvent>>,
    /// The last event delivered (or the client's `Last-Event-ID`).
    last: Option<i64>,
    resync: bool,
}

impl Subscription {
    /// The next event, in order and each once; `None` when the hub is gone.
    pub async fn next(&mut self) -> Option<Delivery> {
        if std::mem::take(&mut self.resync) {
            return Some(Delivery::Resync);
        }
        loop {
            if let Some(event) = self.pending.pop_front() {
                if self.last.is_some_and(|last| event.id <= last) {
                    continue;
                }
                self.last = Some(event.id);
                return Some(Delivery::Event(event));
            }
            match self.receiver.recv().await {
                Ok(event) => self.pending.push_back(event),
                Err(RecvError::Lagged(_)) => {
                    let missed = match self.last {
                        Some(last) => self.hub.missed_since(last).await.ok().flatten(),
                        None => None,
                    };
                    match missed {
                        Some(missed) => self.pending = missed,
                        None => {
                            // Start afresh from what comes next.
                            self.last = None;
                            self.receiver = self.receiver.resubscribe();
                            return Some(Delivery::Resync);
                        }
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
