//! Alerting: every enabled rule evaluated for every model in its scope, on the clock
//! every `alert_evaluation_seconds` and within a second of new points, a health change
//! or a drift run. A rule that starts firing opens an incident (one per rule and model:
//! later firings attach to it) unless a silence matches; one that stops firing resolves
//! the incident it opened if nobody has acknowledged it. Runs on the replica holding the
//! singleton lease.

pub mod inbound;
pub mod state;
pub mod webhooks;
mod windows;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use keel_shared::ModelId;
use keel_shared::alerting::{Aggregation, AlertRuleSpec, AlertState, RulePreview, Signal};
use keel_shared::health::HealthStatus;
use keel_shared::incidents::IncidentSource;
use keel_shared::live::LiveEvent;
use keel_shared::monitoring::DriftRun;

use self::state::{Observation, Outcome, step};
use self::windows::Windows;
use crate::analysis::rollups::Rollup;
use crate::domain::DomainResult;
use crate::health::HealthBoard;
use crate::jobs::Leadership;
use crate::live::{Delivery, LiveHub};
use crate::services::incidents::{self, Opening};
use crate::store::Store;
use crate::store::alerting::{ModelFacts, StoredRule, StoredState};
use crate::store::audit::Actor;
use crate::store::telemetry::MINUTE_MILLIS;

/// How soon after new points, a health change or a drift run the rules look again (the
/// events of one burst are evaluated together).
const EVENT_DELAY: Duration = Duration::from_millis(100);

/// The fingerprint of a rule's incident for a model.
pub fn fingerprint(rule_id: &str, model: &ModelFacts) -> String {
    format!("rule:{rule_id}:{}", model.id)
}

/// What one cycle did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    pub evaluated: usize,
    pub fired: usize,
    pub recovered: usize,
    pub silenced: usize,
}

/// Reads signals for one cycle, each at most once per model; metric windows come from
/// `windows`, refreshed at the start of the cycle.
struct Observer<'a> {
    store: &'a Store,
    board: &'a HealthBoard,
    now: DateTime<Utc>,
    drift_runs: HashMap<String, Option<DriftRun>>,
    windows: &'a Windows,
}

/// What the alerting job keeps between cycles: the metric windows and the rule states
/// (the job, on the lease holder, is their only writer). `Kept::default()` reads both.
#[derive(Default)]
pub struct Kept {
    windows: Windows,
    states: Option<HashMap<(String, ModelId), StoredState>>,
}

impl Kept {
    /// Notes a `points` event (see `Windows`).
    pub fn points_stored(&mut self, model: &ModelId, metrics: &[String]) {
        self.windows.points_stored(model, metrics);
    }

    /// Forgets everything: the next cycle reads it all again.
    pub fn forget(&mut self) {
        *self = Self::default();
    }
}

/// Each watched metric with the start of its longest window at `now`.
fn watched_metrics<'a>(rules: impl Iterator<Item = &'a AlertRuleSpec>, now: DateTime<Utc>) -> HashMap<String, i64> {
    let mut watched: HashMap<String, i64> = HashMap::new();
    for rule in rules {
        if let Signal::Metric { metric, window_minutes, .. } = &rule.signal {
            let from = now.timestamp_millis() - i64::from(*window_minutes) * MINUTE_MILLIS;
            watched.entry(metric.clone()).and_modify(|held| *held = (*held).min(from)).or_insert(from);
        }
    }
    watched
}

impl Observer<'_> {
    async fn observe(&mut self, signal: &Signal, min_rows: u32, model: &ModelFacts) -> DomainResult<Observation> {
        let model_id = &model.id;
        Ok(match signal {
            Signal::Metric { metric, aggregation, window_minutes } => {
                let quantile = matches!(aggregation, Aggregation::P50 | Aggregation::P95 | Aggregation::P99);
                let from = self.now.timestamp_millis() - i64::from(*window_minutes) * MINUTE_MILLIS;
                let Rollup { count, sum, min, max, sketch, .. } =
                    &self.windows.merged(metric, &model_id.0, from, quantile);
                if *count == 0 {
                    return Ok(Observation::NoData);
                }
                let value = match aggregation {
                    Aggregation::Avg => Some(sum / *count as f64),
                    Aggregation::Min => Some(*min),
                    Aggregation::Max => Some(*max),
                    Aggregation::P50 => sketch.quantile(0.5),
                    Aggregation::P95 => sketch.quantile(0.95),
                    Aggregation::P99 => sketch.quantile(0.99),
                    Aggregation::Count => Some(*count as f64),
                    Aggregation::Rate => Some(*count as f64 / (f64::from(*window_minutes) * 60.0)),
                };
                value.map_or(Observation::NoData, Observation::Value)
            }
            Signal::Health => match self.board.get(model_id).map(|health| health.status) {
                Some(HealthStatus::Healthy) => Observation::Value(0.0),
                Some(HealthStatus::Degraded) => Observation::Value(1.0),
                Some(HealthStatus::Critical) => Observation::Value(2.0),
                Some(HealthStatus::NoData) | None => Observation::NoData,
            },
            Signal::Freshness => match self.board.get(model_id).and_then(|health| health.signals.last_point_at) {
                Some(last) => Observation::Value((self.now - last).num_milliseconds() as f64 / 60_000.0),
                None => Observation::NoData,
            },
            Signal::DatasetDrift
            | Signal::DriftedShare
            | Signal::FeatureDrift { .. }
            | Signal::MissingShare { .. }
            | Signal::Performance => {
                if !self.drift_runs.contains_key(&model_id.0) {
                    let run = self.store.latest_drift_run(model_id).await?;
                    self.drift_runs.insert(model_id.0.clone(), run);
                }
                let Some(run) = &self.drift_runs[&model_id.0] else {
                    return Ok(Observation::NoData);
                };
                if signal.from_drift() && run.current_rows < u64::from(min_rows) {
                    return Ok(Observation::InsufficientData);
                }
                let column = |name: &str| run.report.columns.iter().find(|column| column.column == name);
                let value = match signal {
                    Signal::DatasetDrift => Some(if run.report.drifted { 1.0 } else { 0.0 }),
                    Signal::DriftedShare => (run.report.compared_columns > 0)
                        .then(|| run.report.drifted_columns as f64 / run.report.compared_columns as f64),
                    Signal::FeatureDrift { feature } => column(feature)
                        .and_then(|column| column.report.as_ref())
                        .and_then(|report| report.results.first())
                        .map(|result| result.value),
                    Signal::MissingShare { feature } => column(feature)
                        .and_then(|column| column.quality.as_ref())
                        .map(|quality| quality.missing_share_current),
                    _ => Some(run.degradation().len() as f64),
                };
                value.map_or(Observation::NoData, Observation::Value)
            }
        })
    }
}

/// The models a rule covers now.
fn covered<'a>(rule: &'a AlertRuleSpec, models: &'a [ModelFacts]) -> impl Iterator<Item = &'a ModelFacts> {
    models.iter().filter(|model| rule.scope.covers(&model.id, &model.name, model.risk_tier, &model.stages))
}

/// One evaluation of every enabled rule for every model it covers; `kept` holds what the
/// last cycle read and wrote (`Kept::default()` reads it all).
pub async fn evaluate_rules(store: &Store, board: &HealthBoard, kept: &mut Kept) -> DomainResult<Cycle> {
    let now = store.clock().now();
    let rules: Vec<StoredRule> = store.alert_rules().await?.into_iter().filter(|rule| rule.spec.enabled).collect();
    let models = store.model_facts().await?;
    // Taken out: a cycle that fails half-way keeps none, and the next one reads them.
    let mut states = match kept.states.take() {
        Some(states) => states,
        None => store.alert_states().await?,
    };
    let silences = store.active_silences().await?;
    let watched = watched_metrics(rules.iter().map(|rule| &rule.spec), now);
    kept.windows.refresh(store, &watched, now.timestamp_millis() + 1).await?;
    let mut observer = Observer { store, board, now, drift_runs: HashMap::new(), windows: &kept.windows };
    let mut cycle = Cycle::default();
    for rule in &rules {
        for model in covered(&rule.spec, &models) {
            cycle.evaluated += 1;
            let observation = observer.observe(&rule.spec.signal, rule.spec.min_rows, model).await?;
            let previous = states.get(&(rule.id.clone(), model.id.clone())).copied();
            let (next, outcome) = step(&rule.spec, previous, observation, now);
            let previous_state = previous.map_or(AlertState::Normal, |previous| previous.state);
            let silenced = outcome == Outcome::Fire
                && silences.iter().any(|silence| {
                    silence.spec.matches(Some(&model.id), Some(&rule.id), rule.spec.severity, &BTreeMap::new(), now)
                });
            // Values move every cycle; only a change of state is written.
            if previous.is_none_or(|previous| previous.state != next.state || previous.since != next.since) {
                store.record_alert_state(&rule.id, &model.id, previous_state, next, silenced).await?;
                states.insert((rule.id.clone(), model.id.clone()), next);
            }
            let reading = next.value.map_or_else(|| "no data".to_owned(), |value| format!("{value:.4}"));
            match outcome {
                Outcome::Unchanged => {}
                Outcome::Fire if silenced => cycle.silenced += 1,
                Outcome::Fire => {
                    cycle.fired += 1;
                    let opening = Opening {
                        title: format!("{} on {}", rule.spec.name, model.name),
                        severity: rule.spec.severity,
                        model: Some(model.id.clone()),
                        model_label: None,
                        version: model.production_version.clone(),
                        source: IncidentSource::AlertRule,
                        fingerprint: fingerprint(&rule.id, model),
                        rule_id: Some(rule.id.clone()),
                        runbook_id: rule.spec.runbook.clone(),
                        impact: String::new(),
                        note: format!(
                            "Rule '{}' fired: {} is {reading}, {}",
                            rule.spec.name,
                            rule.spec.signal.describe(),
                            rule.spec.condition.describe()
                        ),
                    };
                    incidents::open(store, opening, &Actor::system()).await?;
                }
                Outcome::Recover => {
                    cycle.recovered += 1;
                    let note =
                        format!("Rule '{}' recovered: {} is {reading}", rule.spec.name, rule.spec.signal.describe());
                    incidents::condition_cleared(store, &fingerprint(&rule.id, model), &note, &Actor::system()).await?;
                }
            }
        }
    }
    kept.states = Some(states);
    Ok(cycle)
}

/// What `spec` says for each model it covers now, without storing anything.
pub async fn preview(store: &Store, board: &HealthBoard, spec: &AlertRuleSpec) -> DomainResult<Vec<RulePreview>> {
    let models = store.model_facts().await?;
    let now = store.clock().now();
    let mut windows = Windows::default();
    windows.refresh(store, &watched_metrics(std::iter::once(spec), now), now.timestamp_millis() + 1).await?;
    let mut observer = Observer { store, board, now, drift_runs: HashMap::new(), windows: &windows };
    let mut previews = Vec::new();
    for model in covered(spec, &models) {
        let observation = observer.observe(&spec.signal, spec.min_rows, model).await?;
        let (value, verdict) = match observation {
            Observation::Value(value) if spec.condition.breached(value) => (Some(value), "breached"),
            Observation::Value(value) if spec.condition.recovered(value) => (Some(value), "recovered"),
            Observation::Value(value) => (Some(value), "between"),
            Observation::NoData => (None, "no_data"),
            Observation::InsufficientData => (None, "insufficient_data"),
        };
        previews.push(RulePreview {
            model: model.id.clone(),
            model_name: model.name.clone(),
            value,
            verdict: verdict.into(),
        });
    }
    Ok(previews)
}

/// The alerting job: evaluates on its period, within `EVENT_DELAY` of events that can
/// change a signal, and when the clock is moved; escalates overdue incidents each time.
/// Only the lease holder evaluates.
pub async fn run(
    store: &Store,
    board: &HealthBoard,
    live: &LiveHub,
    leadership: &Leadership,
    every: Duration,
) -> anyhow::Result<()> {
    let mut events = live.subscribe(None).await?;
    let client = reqwest::Client::builder().build()?;
    let mut period = tokio::time::interval(every);
    period.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // When an event that can change a signal arrived: evaluate `EVENT_DELAY` after the
    // first of a burst.
    let mut due: Option<tokio::time::Instant> = None;
    let mut kept = Kept::default();
    loop {
        let soon = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            delivery = events.next() => match delivery {
                Some(Delivery::Event(event)) => {
                    if let LiveEvent::Points { model_id, metrics, .. } = &event.event {
                        kept.points_stored(model_id, metrics);
                    }
                    let relevant = matches!(event.event, LiveEvent::Points { .. } | LiveEvent::Status { .. } | LiveEvent::Drift { .. });
                    if relevant && due.is_none() {
                        due = Some(tokio::time::Instant::now() + EVENT_DELAY);
                    }
                    continue;
                }
                // Events were missed: what is kept may be stale.
                Some(Delivery::Resync) => kept.forget(),
                None => return Ok(()),
            },
            () = soon => {}
            _ = period.tick() => {}
            () = store.clock().advanced() => {}
        }
        due = None;
        if !leadership.is_leader() {
            kept.forget();
            continue;
        }
        if let Err(error) = evaluate_rules(store, board, &mut kept).await {
            kept.forget();
            tracing::warn!(%error, "alert rule evaluation failed; retrying on the next tick");
        }
        if let Err(error) = incidents::escalate_due(store).await {
            tracing::warn!(%error, "incident escalation failed; retrying on the next tick");
        }
        match webhooks::deliver_due(store, &client).await {
            // Wake for the next retry even if nothing else happens by then.
            Ok(Some(next)) => {
                let wait = u64::try_from(next - store.clock().now_millis()).unwrap_or(0);
                due = Some(tokio::time::Instant::now() + Duration::from_millis(wait));
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "escalation webhooks failed; retrying on the next tick"),
        }
    }
}
