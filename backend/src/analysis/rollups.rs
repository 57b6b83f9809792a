//! Minute rollups merged into the equal-width buckets a chart asks for.

use chrono::DateTime;
use keel_shared::telemetry::SeriesBucket;

use super::sketch::QuantileSketch;

/// A minute or an hour of a metric (its series merged), as dashboards read it.
pub struct Rollup {
    /// Unix milliseconds of the period's start.
    pub start: i64,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub sketch: QuantileSketch,
}

impl Rollup {
    /// Nothing yet, from `start` on: what `add` merges into.
    pub fn empty(start: i64) -> Self {
        Self { start, count: 0, sum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY, sketch: QuantileSketch::new() }
    }

    /// Merges `other`'s points in (its sketch only when `with_sketch`: merging sketches is
    /// the costly part, and only quantiles need it).
    pub fn add(&mut self, other: &Rollup, with_sketch: bool) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if with_sketch {
            self.sketch.merge(&other.sketch);
        }
    }
}

/// `buckets` equal buckets over `[from, to)` (Unix milliseconds); a rollup belongs to
/// the bucket holding its start (or the first, if it began earlier).
pub fn into_buckets(rollups: Vec<Rollup>, from: i64, to: i64, buckets: u32) -> Vec<SeriesBucket> {
    let width = (to - from) as f64 / f64::from(buckets.max(1));
    let mut merged: Vec<Rollup> = (0..buckets)
        .map(|_| Rollup {
            start: 0,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sketch: QuantileSketch::new(),
        })
        .collect();
    for rollup in rollups {
        let position = ((rollup.start.max(from) - from) as f64 / width) as usize;
        let Some(bucket) = merged.get_mut(position) else { continue };
        bucket.count += rollup.count;
        bucket.sum += rollup.sum;
        bucket.min = bucket.min.min(rollup.min);
        bucket.max = bucket.max.max(rollup.max);
        bucket.sketch.merge(&rollup.sketch);
    }
    merged
        .into_iter()
        .enumerate()
        .map(|(index, bucket)| {
            let filled = bucket.count > 0;
            SeriesBucket {
                start: DateTime::from_timestamp_millis(from + (width * index as f64) as i64).unwrap_or_default(),
                count: bucket.count,
                avg: filled.then(|| bucket.sum / bucket.count as f64),
                min: filled.then_some(bucket.min),
                max: filled.then_some(bucket.max),
                p50: bucket.sketch.quantile(0.5),
                p95: bucket.sketch.quantile(0.95),
                p99: bucket.sketch.quantile(0.99),
            }
        })
        .collect()
}
