//! The live stream: one `EventSource` on `/api/live` for the signed-in console, kept
//! open until the shell unmounts (sign-out). Status events keep every model's health
//! current; points events tell charts and tiles to refresh (coalesced, at most one
//! refresh per `REFRESH_DELAY`); drift events tell a model's drift page to refresh and
//! stage events its model page; incident events the incident pages, the bell and the
//! fleet tiles.
//! When the browser gives up on the connection (the server was down or answered an
//! error) it is reopened with exponential back-off, resuming from the last event id it
//! saw.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use keel_shared::ModelId;
use keel_shared::health::ModelHealth;
use keel_shared::live::LiveEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};

use crate::api;

/// Bursts of points events within this delay cause one refresh.
const REFRESH_DELAY: Duration = Duration::from_millis(300);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Open,
    /// Lost; the browser or the back-off timer is trying again.
    Reconnecting,
}

/// What the stream keeps current, shared through the context.
#[derive(Clone, Copy)]
pub struct Live {
    pub connection: RwSignal<Connection>,
    /// Every model's latest health.
    pub health: RwSignal<HashMap<ModelId, ModelHealth>>,
    /// Per model, how many refreshes its new points have caused.
    points: RwSignal<HashMap<ModelId, u64>>,
    /// Per model, how many drift evaluations finished.
    drift_runs: RwSignal<HashMap<ModelId, u64>>,
    /// Per model, how many of its versions moved stage.
    stage_moves: RwSignal<HashMap<ModelId, u64>>,
    /// Incident events (opened, changed, commented), or resyncs.
    incident_events: RwSignal<u64>,
    /// Change-request events (created, moved, approved, voided), or resyncs.
    change_events: RwSignal<u64>,
    /// KPI and ledger events, or resyncs.
    business_events: RwSignal<u64>,
    /// Resyncs: whatever a page shows may be stale.
    resyncs: RwSignal<u64>,
    /// Incidents this console marked read (the bell counts what is unread).
    reads: RwSignal<u64>,
}

impl Live {
    /// Changes when the model's new points are stored (or after a resync): read it
    /// inside a resource to refetch then.
    pub fn model_changes(&self, model_id: &ModelId) -> u64 {
        self.resyncs.track();
        self.points.with(|points| points.get(model_id).copied().unwrap_or_default())
    }

    /// Changes when a drift evaluation of the model finishes (or after a resync).
    pub fn model_drift_runs(&self, model_id: &ModelId) -> u64 {
        self.resyncs.track();
        self.drift_runs.with(|runs| runs.get(model_id).copied().unwrap_or_default())
    }

    /// Changes when one of the model's versions moves stage (or after a resync).
    pub fn model_stage_moves(&self, model_id: &ModelId) -> u64 {
        self.resyncs.track();
        self.stage_moves.with(|moves| moves.get(model_id).copied().unwrap_or_default())
    }

    /// Changes when any incident is opened or changes (or after a resync).
    pub fn incident_changes(&self) -> u64 {
        self.incident_events.get()
    }

    /// Changes when an incident event arrives or this console marks an incident read.
    pub fn incident_reads(&self) -> u64 {
        self.incident_events.get() + self.reads.get()
    }

    /// This console marked an incident read.
    pub fn incident_read(&self) {
        self.reads.update(|reads| *reads += 1);
    }

    /// Counts change-request events: read it to refetch when any change request changes.
    pub fn change_request_changes(&self) -> u64 {
        self.change_events.get()
    }

    /// Counts KPI and ledger events: read it to refetch business figures.
    pub fn business_changes(&self) -> u64 {
        self.business_events.get()
    }

    /// Changes after a resync, when anything shown may be stale: a model's new points
    /// refresh only what shows that model (`model_changes`).
    pub fn resynced(&self) -> u64 {
        self.resyncs.get()
    }

    pub fn health_of(&self, model_id: &ModelId) -> Option<ModelHealth> {
        self.health.with(|health| health.get(model_id).cloned())
    }
}

pub fn use_live() -> Live {
    expect_context::<Live>()
}

/// Opens the stream and provides `Live` to the components below; closes it on cleanup.
pub fn provide_live() -> Live {
    let live = Live {
        connection: RwSignal::new(Connection::Connecting),
        health: RwSignal::new(HashMap::new()),
        points: RwSignal::new(HashMap::new()),
        drift_runs: RwSignal::new(HashMap::new()),
        stage_moves: RwSignal::new(HashMap::new()),
        incident_events: RwSignal::new(0),
        change_events: RwSignal::new(0),
        business_events: RwSignal::new(0),
        resyncs: RwSignal::new(0),
        reads: RwSignal::new(0),
    };
    provide_context(live);
    let stream = Rc::new(Stream { live, state: RefCell::default(), closed: Cell::new(false) });
    reload_health(live);
    stream.open(None, 0);
    // on_cleanup wants Send; the stream never leaves the browser's one thread.
    let cleanup = SendWrapper::new(stream);
    on_cleanup(move || cleanup.close());
    live
}

fn reload_health(live: Live) {
    spawn_local(async move {
        if let Ok(all) = api::fleet_health().await {
            live.health.set(all.into_iter().map(|health| (health.model_id.clone(), health)).collect());
        }
    });
}

/// The open `EventSource` with its callbacks (dropping them detaches them).
#[derive(Default)]
struct StreamState {
    source: Option<EventSource>,
    callbacks: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    last_event_id: Option<String>,
    /// Models with new points not yet announced, and whether a refresh is scheduled.
    pending: HashSet<ModelId>,
    refresh_scheduled: bool,
}

struct Stream {
    live: Live,
    state: RefCell<StreamState>,
    closed: Cell<bool>,
}

impl Stream {
    fn open(self: &Rc<Self>, last_event_id: Option<String>, attempt: u32) {
        if self.closed.get() {
            return;
        }
        let Ok(source) = EventSource::new(&api::live_url(last_event_id.as_deref())) else {
            self.live.connection.set(Connection::Reconnecting);
            return;
        };
        let mut callbacks = Vec::new();
        let stream = self.clone();
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            stream.live.connection.set(Connection::Open);
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        callbacks.push(on_open);
        for kind in ["points", "status", "drift", "stage", "incident", "change", "business", "resync"] {
            let stream = self.clone();
            let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                if let Some(message) = event.dyn_ref::<MessageEvent>() {
                    stream.receive(message);
                }
            });
            let _ = source.add_event_listener_with_callback(kind, on_message.as_ref().unchecked_ref());
            callbacks.push(on_message);
        }
        let stream = self.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            stream.live.connection.set(Connection::Reconnecting);
            let gave_up =
                stream.state.borrow().source.as_ref().is_some_and(|source| source.ready_state() == EventSource::CLOSED);
            if gave_up {
                stream.retry_later(attempt);
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        callbacks.push(on_error);
        let mut state = self.state.borrow_mut();
        if let Some(old) = state.source.replace(source) {
            old.close();
        }
        state.callbacks = callbacks;
        state.last_event_id = last_event_id;
    }

    /// Reopens after 1, 2, 4 … 30 seconds.
    fn retry_later(self: &Rc<Self>, attempt: u32) {
        let delay = FIRST_RETRY.saturating_mul(2_u32.saturating_pow(attempt)).min(LONGEST_RETRY);
        let stream = self.clone();
        set_timeout(
            move || {
                let last_event_id = stream.state.borrow().last_event_id.clone();
                // What happened while away is unknown: reload it.
                reload_health(stream.live);
                stream.open(last_event_id, attempt + 1);
            },
            delay,
        );
    }

    fn receive(self: &Rc<Self>, message: &MessageEvent) {
        let id = message.last_event_id();
        if !id.is_empty() {
            self.state.borrow_mut().last_event_id = Some(id);
        }
        let Some(data) = message.data().as_string() else { return };
        let Ok(event) = serde_json::from_str::<LiveEvent>(&data) else { return };
        match event {
            LiveEvent::Drift { model_id, .. } => {
                self.live.drift_runs.update(|runs| *runs.entry(model_id).or_default() += 1);
            }
            LiveEvent::Stage { model_id, .. } => {
                self.live.stage_moves.update(|moves| *moves.entry(model_id).or_default() += 1);
            }
            LiveEvent::Points { model_id, .. } => {
                self.state.borrow_mut().pending.insert(model_id);
                self.schedule_refresh();
            }
            LiveEvent::Status { health, .. } => {
                self.live.health.update(|all| {
                    all.insert(health.model_id.clone(), health);
                });
            }
            LiveEvent::Incident { .. } => self.live.incident_events.update(|events| *events += 1),
            LiveEvent::Change { .. } => self.live.change_events.update(|events| *events += 1),
            LiveEvent::Business { .. } => self.live.business_events.update(|events| *events += 1),
            LiveEvent::Resync => {
                self.live.business_events.update(|events| *events += 1);
                reload_health(self.live);
                self.live.incident_events.update(|events| *events += 1);
                self.live.change_events.update(|events| *events += 1);
                self.live.resyncs.update(|resyncs| *resyncs += 1);
            }
        }
    }

    fn schedule_refresh(self: &Rc<Self>) {
        if std::mem::replace(&mut self.state.borrow_mut().refresh_scheduled, true) {
            return;
        }
        let stream = self.clone();
        set_timeout(
            move || {
                let pending = {
                    let mut state = stream.state.borrow_mut();
                    state.refresh_scheduled = false;
                    std::mem::take(&mut state.pending)
                };
                stream.live.points.update(|points| {
                    for model_id in pending {
                        *points.entry(model_id).or_default() += 1;
                    }
                });
            },
            REFRESH_DELAY,
        );
    }

    fn close(&self) {
        self.closed.set(true);
        let mut state = self.state.borrow_mut();
        if let Some(source) = state.source.take() {
            source.close();
        }
        state.callbacks.clear();
    }
}
