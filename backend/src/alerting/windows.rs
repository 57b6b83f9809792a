//! The minute rollups of the metrics that rules watch, kept by the alerting job across
//! cycles, so a cycle reads only what changed since the last: the window of each model
//! whose `points` event arrived since (every stored batch announces its model and
//! metrics, whichever replica stored it; late points land in older minutes too). Minutes
//! that leave the window are dropped. Whatever this cannot vouch for is read again
//! whole: a metric first watched or watched over a longer window, and everything after a
//! resync (events were missed) or while another replica holds the lease.

use std::collections::{BTreeMap, HashMap, HashSet};

use keel_shared::ModelId;

use crate::analysis::rollups::Rollup;
use crate::domain::DomainResult;
use crate::store::Store;
use crate::store::telemetry::MINUTE_MILLIS;

#[derive(Default)]
pub struct Windows {
    metrics: HashMap<String, Minutes>,
    /// (model, metric) with points stored since they were read.
    changed: HashSet<(String, String)>,
}

/// One metric's minutes for every model.
struct Minutes {
    /// The first minute held.
    from: i64,
    models: HashMap<String, BTreeMap<i64, Rollup>>,
}

impl Windows {
    /// Notes a `points` event: those minutes are read again before the next cycle.
    pub fn points_stored(&mut self, model: &ModelId, metrics: &[String]) {
        for metric in metrics {
            if self.metrics.contains_key(metric) {
                self.changed.insert((model.0.clone(), metric.clone()));
            }
        }
    }

    /// Brings each metric's minutes in `[from, to)` up to date (`from` per metric: its
    /// longest window) and drops the older ones and the metrics no rule watches now.
    pub async fn refresh(&mut self, store: &Store, watched: &HashMap<String, i64>, to: i64) -> DomainResult<()> {
        self.metrics.retain(|metric, _| watched.contains_key(metric));
        for (metric, from) in watched {
            let from = from.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS;
            match self.metrics.get_mut(metric) {
                Some(held) if held.from <= from => {
                    for minutes in held.models.values_mut() {
                        minutes.retain(|minute, _| *minute >= from);
                    }
                    held.from = from;
                }
                _ => {
                    let mut models = HashMap::new();
                    for (model, rollups) in store.fleet_minute_rollups(metric, from, to).await? {
                        insert(models.entry(model).or_default(), rollups);
                    }
                    // Points of these minutes announced before this read are in it.
                    self.changed.retain(|(_, changed)| changed != metric);
                    self.metrics.insert(metric.clone(), Minutes { from, models });
                }
            }
        }
        let mut changed: HashMap<String, Vec<String>> = HashMap::new();
        for (model, metric) in std::mem::take(&mut self.changed) {
            changed.entry(metric).or_default().push(model);
        }
        for (metric, models) in changed {
            let Some(held) = self.metrics.get_mut(&metric) else { continue };
            let names: Vec<&str> = models.iter().map(String::as_str).collect();
            let mut read = store.models_minute_rollups(&metric, &names, held.from, to).await?;
            for model in models {
                let mut minutes = BTreeMap::new();
                insert(&mut minutes, read.remove(&model).unwrap_or_default());
                held.models.insert(model, minutes);
            }
        }
        Ok(())
    }

    /// The model's points of `metric` from `from` on, merged (the sketch only when asked).
    pub fn merged(&self, metric: &str, model: &str, from: i64, with_sketch: bool) -> Rollup {
        let from = from.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS;
        let mut merged = Rollup::empty(from);
        let minutes = self.metrics.get(metric).and_then(|held| held.models.get(model));
        for rollup in minutes.into_iter().flat_map(|minutes| minutes.range(from..).map(|(_, rollup)| rollup)) {
            merged.add(rollup, with_sketch);
        }
        merged
    }
}

/// Adds rollups by minute (series of one metric with other labels share a minute).
fn insert(minutes: &mut BTreeMap<i64, Rollup>, rollups: Vec<Rollup>) {
    for rollup in rollups {
        match minutes.get_mut(&rollup.start) {
            Some(held) => held.add(&rollup, true),
            None => {
                minutes.insert(rollup.start, rollup);
            }
        }
    }
}
