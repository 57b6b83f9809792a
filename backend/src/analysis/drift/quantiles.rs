//! Quantile buckets of a sorted reference, so KS need not sort the current sample: one
//! pass counts the current values into buckets bounded by reference values (2,048 of
//! them, each holding the same share of the reference), which fixes both empirical CDFs
//! at every bucket edge. Only the buckets where the largest CDF distance could lie are
//! sorted and walked value by value.

use crate::analysis::cores::{SPLIT_MIN_LEN, on_both, on_halves};

/// Edges between buckets (at most; equal reference values share one edge).
const EDGES: usize = 2047;
/// References smaller than this are one bucket: sorting the current sample is cheap then.
const MIN_REFERENCE_LEN: usize = 16 * EDGES;
/// Lookup slots per edge: enough that a value's slot nearly always names its bucket
/// (edges crowd where the reference is dense). Slots are u16 so the table (64 KB) stays
/// in cache: u32 slots made KS 23 % slower.
const SLOTS_PER_EDGE: usize = 16;

/// Buckets of a sorted reference: bucket j holds values in [edges[j − 1], edges[j]), the
/// first everything below edges[0], the last everything from the last edge on.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct QuantileBuckets {
    edges: Vec<f64>,
    /// Reference values below each edge: bucket j's reference values are
    /// `sorted[below(j − 1) .. below(j)]`.
    reference_below: Vec<usize>,
    slots: Vec<u16>,
    slot_scale: f64,
}

/// The current sample counted into the buckets.
pub(super) struct CurrentCounts {
    /// Each value's bucket, in the sample's order.
    pub bucket_of: Vec<u16>,
    pub counts: Vec<usize>,
    /// Per bucket j ≥ 1: how many values equal its lower edge.
    pub at_lower_edge: Vec<usize>,
}

impl QuantileBuckets {
    pub fn new(sorted: &[f64]) -> QuantileBuckets {
        let mut edges: Vec<f64> = if sorted.len() < MIN_REFERENCE_LEN {
            Vec::new()
        } else {
            (1..=EDGES).map(|k| sorted[k * sorted.len() / (EDGES + 1)]).collect()
        };
        edges.dedup();
        let reference_below: Vec<usize> =
            edges.iter().map(|edge| sorted.partition_point(|value| value < edge)).collect();
        let (slots, slot_scale) = match (edges.first(), edges.last()) {
            (Some(first), Some(last)) if first < last => {
                let count = edges.len() * SLOTS_PER_EDGE;
                let scale = count as f64 / (last - first);
                // Slot starts only grow: one walk along the edges finds every slot's bucket.
                let mut bucket = 0;
                let slots = (0..count)
                    .map(|slot| {
                        let left = first + slot as f64 / scale;
                        while bucket < edges.len() && edges[bucket] <= left {
                            bucket += 1;
                        }
                        bucket as u16
                    })
                    .collect();
                (slots, scale)
            }
            _ => (Vec::new(), 0.0),
        };
        QuantileBuckets { edges, reference_below, slots, slot_scale }
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.edges.len() + 1
    }

    pub fn edge(&self, index: usize) -> f64 {
        self.edges[index]
    }

    /// Reference values below bucket `bucket` and in it.
    pub fn reference_range(&self, bucket: usize, reference_len: usize) -> std::ops::Range<usize> {
        let start = if bucket == 0 { 0 } else { self.reference_below[bucket - 1] };
        let end = self.reference_below.get(bucket).copied().unwrap_or(reference_len);
        start..end
    }

    /// The bucket holding `value`: how many edges are ≤ it.
    fn bucket(&self, value: f64) -> usize {
        let edges = &self.edges;
        let Some(first) = edges.first() else { return 0 };
        if value < *first {
            return 0;
        }
        if value >= edges[edges.len() - 1] {
            return edges.len();
        }
        let slot = (((value - first) * self.slot_scale) as usize).min(self.slots.len().saturating_sub(1));
        let mut bucket = self.slots.get(slot).map_or(1, |bucket| *bucket as usize);
        // Usually at most one edge lies between the slot's start and the value: one step
        // without a branch, then a loop that almost never runs.
        bucket += usize::from(bucket < edges.len() && edges[bucket.min(edges.len() - 1)] <= value);
        while bucket < edges.len() && edges[bucket] <= value {
            bucket += 1;
        }
        while bucket > 0 && edges[bucket - 1] > value {
            bucket -= 1;
        }
        bucket
    }

    /// Counts and edge ties of the current sample, half of it on each core.
    pub fn count(&self, current: &[f64]) -> CurrentCounts {
        let buckets = self.len();
        let count_half = |half: &[f64]| {
            let mut counts = CurrentCounts {
                bucket_of: Vec::with_capacity(half.len()),
                counts: vec![0; buckets],
                at_lower_edge: vec![0; buckets],
            };
            for &value in half {
                let bucket = self.bucket(value);
                counts.bucket_of.push(bucket as u16);
                counts.counts[bucket] += 1;
                if bucket > 0 && value == self.edges[bucket - 1] {
                    counts.at_lower_edge[bucket] += 1;
                }
            }
            counts
        };
        let (mut left, right) = on_halves(current, count_half);
        left.bucket_of.extend(right.bucket_of);
        for bucket in 0..buckets {
            left.counts[bucket] += right.counts[bucket];
            left.at_lower_edge[bucket] += right.at_lower_edge[bucket];
        }
        left
    }

    /// `walk(bucket, values)` for each chosen bucket with the current values in it sorted,
    /// in bucket order. Large samples use both cores twice: each gathers the chosen
    /// buckets' values from its half of the sample, then each sorts and walks half of
    /// the chosen buckets (halves by value count).
    pub fn walk_chosen<T: Send>(
        &self,
        current: &[f64],
        counts: &CurrentCounts,
        chosen: &[bool],
        walk: impl Fn(usize, &[f64]) -> T + Sync,
    ) -> Vec<T> {
        let chosen: Vec<usize> = (0..self.len()).filter(|bucket| chosen[*bucket]).collect();
        // Each chosen bucket's place among the chosen ones; u16::MAX for the others.
        let mut place_of = vec![u16::MAX; self.len()];
        for (place, bucket) in chosen.iter().enumerate() {
            place_of[*bucket] = place as u16;
        }
        let gather = |range: std::ops::Range<usize>| -> Vec<Vec<f64>> {
            let mut values = vec![Vec::new(); chosen.len()];
            for (value, bucket) in current[range.clone()].iter().zip(&counts.bucket_of[range]) {
                let place = place_of[usize::from(*bucket)];
                if place != u16::MAX {
                    values[usize::from(place)].push(*value);
                }
            }
            values
        };
        // `gathered`: what each part of the sample holds of each chosen bucket.
        let sort_and_walk = |places: std::ops::Range<usize>, gathered: &[&[Vec<f64>]]| -> Vec<T> {
            places
                .map(|place| {
                    let mut values: Vec<f64> = gathered.iter().flat_map(|part| part[place].iter().copied()).collect();
                    values.sort_unstable_by(f64::total_cmp);
                    walk(chosen[place], &values)
                })
                .collect()
        };
        if current.len() < SPLIT_MIN_LEN {
            return sort_and_walk(0..chosen.len(), &[&gather(0..current.len())]);
        }
        let half = current.len() / 2;
        let (left, right) = on_both(|| gather(0..half), || gather(half..current.len()));
        let total: usize = chosen.iter().map(|bucket| counts.counts[*bucket]).sum();
        let mut seen = 0;
        let split = chosen
            .iter()
            .position(|bucket| {
                seen += counts.counts[*bucket];
                2 * seen >= total
            })
            .map_or(chosen.len(), |place| place + 1);
        let (mut first, second) = on_both(
            || sort_and_walk(0..split, &[&left, &right]),
            || sort_and_walk(split..chosen.len(), &[&left, &right]),
        );
        first.extend(second);
        first
    }
}

/// Samples that stress buckets: KS and Wasserstein check themselves against the
/// full walk on each.
#[cfg(test)]
pub(super) fn stress_cases() -> Vec<(&'static str, Vec<f64>, Vec<f64>)> {
    let mut state = 11_u64;
    let mut uniform = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1_u64 << 53) as f64
    };
    let reference: Vec<f64> = (0..60_000).map(|_| uniform() * 10.0).collect();
    let ties: Vec<f64> = reference.iter().map(|value| value.round()).collect();
    vec![
        ("same distribution", reference.clone(), (0..7_000).map(|_| uniform() * 10.0).collect()),
        ("shifted", reference.clone(), (0..50_000).map(|_| uniform() * 10.0 + 0.7).collect()),
        ("narrower", reference.clone(), (0..30_000).map(|_| uniform() * 4.0 + 3.0).collect()),
        ("beyond the reference", reference.clone(), (0..5_000).map(|_| uniform() + 20.0).collect()),
        ("below the reference", reference.clone(), (0..5_000).map(|_| uniform() - 20.0).collect()),
        ("reference values only", reference.clone(), reference[..9_000].to_vec()),
        ("heavy ties", ties, (0..40_000).map(|_| (uniform() * 10.5).round()).collect()),
        ("a single value", reference, vec![5.0; 3_000]),
        // Values on a grid that equal-width edges fall on or next to.
        (
            "a fine grid",
            (0..60_000).map(|k| k as f64 / 6_000.0).collect(),
            (0..9_000).map(|k| k as f64 / 900.0).collect(),
        ),
    ]
}
