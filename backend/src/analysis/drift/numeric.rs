//! Drift statistics over numbers, as Evidently 0.7 computes them.
//!
//! A reference is fixed once it is uploaded, so it is prepared once (`NumericReference`:
//! sorted, its spread and distinct-value count known) and each comparison only has to
//! process the current sample.
//!
//! Binning follows Evidently's `get_binned_data`: a feature with more than 20 distinct
//! reference values is cut into equal-width bins over both samples (numpy's "sturges"
//! edges and `np.histogram`'s counting, reproduced exactly), otherwise every distinct
//! value is its own bin. For PSI, empty bins get a small share (a millionth of the
//! smallest non-empty share if that is ≤ 0.0001, else 0.0001), so logarithms stay finite.

use std::sync::OnceLock;

use super::quantiles::QuantileBuckets;
use super::{extremes, merged_steps};
use crate::analysis::column::distinct_up_to;
use crate::analysis::cores::{SPLIT_MIN_LEN, on_both_if, on_halves};
use crate::analysis::sort::sorted;

/// A reference sample of finite numbers, prepared for comparisons.
///
/// A stored reference may keep fewer values than it had (`count`): evenly spaced order
/// statistics, which stand for the whole sample in shares and distribution functions,
/// while sample sizes (KS p-values, the number of Sturges bins, Evidently's choice of
/// test) use `count`.
///
/// Only some statistics need the values sorted (KS, Hellinger, few-valued binning, and
/// storage): they are sorted, with their quantile buckets, the first time one asks, so a
/// one-off comparison by Wasserstein or PSI never sorts the reference.
#[derive(Debug, Clone)]
pub struct NumericReference {
    /// The values (or those kept), in the order given.
    values: Vec<f64>,
    ascending: bool,
    count: usize,
    /// Population standard deviation.
    std: f64,
    low: f64,
    high: f64,
    /// More than 20 distinct values: binned by range rather than by value.
    many_values: bool,
    sorted: OnceLock<Vec<f64>>,
    buckets: OnceLock<QuantileBuckets>,
}

impl PartialEq for NumericReference {
    fn eq(&self, other: &NumericReference) -> bool {
        (self.count, self.std) == (other.count, other.std) && self.sorted() == other.sorted()
    }
}

impl NumericReference {
    /// Prepares finite values (callers leave out missing and non-finite ones); at least one.
    pub fn new(values: Vec<f64>) -> NumericReference {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = (values.iter().map(|value| (value - mean).powi(2)).sum::<f64>() / n).sqrt();
        let count = values.len();
        NumericReference::prepared(values, false, count, std)
    }

    /// A stored reference: `kept` (ascending, at least one) stands for `count` values of
    /// population standard deviation `std`.
    pub fn from_kept(kept: Vec<f64>, count: usize, std: f64) -> NumericReference {
        NumericReference::prepared(kept, true, count, std)
    }

    fn prepared(values: Vec<f64>, ascending: bool, count: usize, std: f64) -> NumericReference {
        let (low, high) = extremes(&values);
        let many_values = distinct_up_to(values.iter().copied(), 21) > 20;
        let (sorted, buckets) = (OnceLock::new(), OnceLock::new());
        NumericReference { values, ascending, count, std, low, high, many_values, sorted, buckets }
    }

    /// At most `cap` of the values to store: all of them, or evenly spaced order
    /// statistics from the smallest to the largest. Distribution functions of the two
    /// differ by less than 1 / (cap − 1) anywhere.
    pub fn kept(&self, cap: usize) -> Vec<f64> {
        let sorted = self.sorted();
        let n = sorted.len();
        if n <= cap || cap < 2 {
            return sorted.to_vec();
        }
        (0..cap).map(|k| sorted[k * (n - 1) / (cap - 1)]).collect()
    }

    /// Population standard deviation of the whole sample.
    pub fn std(&self) -> f64 {
        self.std
    }

    pub(super) fn buckets(&self) -> &QuantileBuckets {
        self.buckets.get_or_init(|| QuantileBuckets::new(self.sorted()))
    }

    /// The values (or those kept) in the order given.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The values (or those kept) in ascending order.
    pub fn sorted(&self) -> &[f64] {
        if self.ascending { &self.values } else { self.sorted.get_or_init(|| sorted(&self.values)) }
    }

    /// The values in ascending order if that is known without sorting them.
    fn sorted_if_known(&self) -> Option<&[f64]> {
        if self.ascending { Some(&self.values) } else { self.sorted.get().map(Vec::as_slice) }
    }

    /// The smallest and the largest value.
    pub fn extremes(&self) -> (f64, f64) {
        (self.low, self.high)
    }

    /// How many values the reference has (kept or not).
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Population Stability Index over Evidently's bins.
pub fn psi(reference: &NumericReference, current: &[f64]) -> f64 {
    let (reference, current) = binned_shares(reference, current);
    psi_of_shares(&filled(reference), &filled(current))
}

/// PSI of two binnings' shares (no share 0).
pub(super) fn psi_of_shares(reference: &[f64], current: &[f64]) -> f64 {
    reference.iter().zip(current).map(|(r, c)| (r - c) * (r / c).ln()).sum()
}

/// Jensen–Shannon distance (natural logarithm) over Evidently's bins, as
/// `scipy.spatial.distance.jensenshannon`.
pub fn jensen_shannon(reference: &NumericReference, current: &[f64]) -> f64 {
    let (p, q) = binned_shares(reference, current);
    jensen_shannon_of_shares(p, q)
}

pub(super) fn jensen_shannon_of_shares(p: Vec<f64>, q: Vec<f64>) -> f64 {
    let (p, q) = (normalised(p), normalised(q));
    let divergence: f64 = p
        .iter()
        .zip(&q)
        .map(|(p, q)| {
            let m = (p + q) / 2.0;
            relative_entropy(*p, m) + relative_entropy(*q, m)
        })
        .sum::<f64>()
        / 2.0;
    divergence.max(0.0).sqrt()
}

/// Kullback–Leibler divergence of the current from the reference over Evidently's bins
/// (empty bins filled as for PSI), as `scipy.stats.entropy`.
pub fn kl_divergence(reference: &NumericReference, current: &[f64]) -> f64 {
    let (p, q) = binned_shares(reference, current);
    kl_divergence_of_shares(filled(p), filled(q))
}

pub(super) fn kl_divergence_of_shares(p: Vec<f64>, q: Vec<f64>) -> f64 {
    normalised(p).into_iter().zip(normalised(q)).map(|(p, q)| relative_entropy(p, q)).sum()
}

/// Shares scaled to sum to 1, as scipy does before its entropies.
fn normalised(mut shares: Vec<f64>) -> Vec<f64> {
    let total: f64 = shares.iter().sum();
    shares.iter_mut().for_each(|share| *share /= total);
    shares
}

/// scipy's `rel_entr`: x·ln(x/y), 0 where x is 0.
fn relative_entropy(x: f64, y: f64) -> f64 {
    if x > 0.0 { x * (x / y).ln() } else { 0.0 }
}

/// Hellinger distance as Evidently computes it for numeric features: densities over
/// "sturges" bins of the distinct values of both samples (not of the samples).
pub fn hellinger(reference: &NumericReference, current: &[f64]) -> f64 {
    let current = sorted(current);
    let keys = merged_distinct(reference.sorted(), &current);
    let edges = sturges_edges(keys[0], keys[keys.len() - 1], keys.len());
    let density = |sorted_sample: &[f64]| -> Vec<f64> {
        let counts = sorted_histogram(sorted_sample, &edges);
        let total: usize = counts.iter().sum();
        counts
            .iter()
            .zip(edges.windows(2))
            .map(|(count, edge)| *count as f64 / (edge[1] - edge[0]) / total as f64)
            .collect()
    };
    let bin_width = (edges[edges.len() - 1] - edges[0]) / (edges.len() - 1) as f64;
    let overlap: f64 =
        density(reference.sorted()).iter().zip(density(&current)).map(|(p, q)| (p * q).sqrt() * bin_width).sum();
    (1.0 - overlap.clamp(0.0, 1.0)).sqrt()
}

/// The distinct values of two sorted slices, in order.
fn merged_distinct(u: &[f64], v: &[f64]) -> Vec<f64> {
    merged_steps(u, v).map(|(value, _, _)| value).collect()
}

/// Wasserstein (earth mover's) distance divided by the reference's standard deviation
/// (population, at least 0.001), as Evidently's `wasserstein_distance_norm`.
pub fn wasserstein_norm(reference: &NumericReference, current: &[f64]) -> f64 {
    wasserstein(reference, current) / reference.std.max(0.001)
}

/// `scipy.stats.wasserstein_distance`: the area between the two empirical CDFs, on
/// equal-width buckets over both samples' range (`bucket_count`). One pass per
/// sample counts its values into the buckets, which fixes both CDFs at every bucket
/// edge. Over a bucket where one CDF stays above the other the area is the difference of
/// their integrals, which the bucket's counts and sums give; only buckets where the CDFs
/// may cross are gathered, sorted and walked value by value. Neither sample is sorted as
/// a whole (a sample whose values crowd into a few buckets comes close to that).
fn wasserstein(reference: &NumericReference, current: &[f64]) -> f64 {
    let (reference_low, reference_high) = reference.extremes();
    let (current_low, current_high) = extremes(current);
    let (low, high) = (reference_low.min(current_low), reference_high.max(current_high));
    if low == high {
        return 0.0;
    }
    let u = reference.values();
    let (n1, n2) = (u.len(), current.len());
    let buckets = EqualWidth::new(low, high, bucket_count(n1 + n2));
    let split = n1 + n2 >= SPLIT_MIN_LEN;
    let (reference_counts, current_counts) = on_both_if(split, || buckets.count(u), || buckets.count(current));
    let mut area = 0.0;
    let mut below = (0, 0);
    // Walked buckets with the counts below them.
    let mut walked: Vec<(usize, (usize, usize))> = Vec::new();
    for bucket in 0..buckets.len() {
        let ((reference_count, reference_gap), (current_count, current_gap)) =
            (reference_counts.tallies[bucket], current_counts.tallies[bucket]);
        let counts = (reference_count, current_count);
        // F₁ stays within [below.0, below.0 + counts.0] / n₁, F₂ likewise.
        let reference_above = below.0 * n2 >= (below.1 + counts.1) * n1;
        let current_above = below.1 * n1 >= (below.0 + counts.0) * n2;
        if reference_above || current_above {
            let width = buckets.edge(bucket + 1) - buckets.edge(bucket);
            let reference_integral = (below.0 as f64 * width + reference_gap) / n1 as f64;
            let current_integral = (below.1 as f64 * width + current_gap) / n2 as f64;
            area += (reference_integral - current_integral).abs();
        } else {
            walked.push((bucket, below));
        }
        below = (below.0 + counts.0, below.1 + counts.1);
    }
    let chosen: Vec<usize> = walked.iter().map(|(bucket, _)| *bucket).collect();
    let (reference_values, current_values) = on_both_if(
        split,
        || reference_counts.gathered_sorted(u, &chosen),
        || current_counts.gathered_sorted(current, &chosen),
    );
    let walked_area: f64 = walked
        .iter()
        .enumerate()
        .map(|(place, (bucket, below))| {
            let (u, v) = (reference_values.bucket(place), current_values.bucket(place));
            walked_area(u, v, *below, (n1, n2), buckets.edge(*bucket), buckets.edge(bucket + 1))
        })
        .sum();
    area + walked_area
}

/// How many equal-width buckets a walk over `values` values (both samples) uses: about
/// one per 12 values, so that most buckets are settled by their counts and the rest
/// hold few values to sort; at most what a u16 bucket number holds.
fn bucket_count(values: usize) -> usize {
    (values / 12).clamp(1, usize::from(u16::MAX))
}

/// The area between the CDFs over two sorted slices from `from` to `to`, the slices'
/// values lying in between, `below` values of each sample lying before `from`.
fn walked_area(u: &[f64], v: &[f64], below: (usize, usize), (n1, n2): (usize, usize), from: f64, to: f64) -> f64 {
    let gap = |(i, j): (usize, usize)| ((below.0 + i) as f64 / n1 as f64 - (below.1 + j) as f64 / n2 as f64).abs();
    let (mut area, mut at, mut counted) = (0.0, from, (0, 0));
    for (value, i, j) in merged_steps(u, v) {
        // Both CDFs are flat from `at` to `value`.
        area += gap(counted) * (value - at);
        (at, counted) = (value, (i, j));
    }
    area + gap(counted) * (to - at)
}

/// `count` equal-width buckets from `low` to `high`. A value's bucket is its position
/// in the range, rounded down: arithmetic alone, no look-ups, and never smaller for a
/// larger value (each step rounds monotonically), so every bucket is an interval of
/// values. Its edges are the linspace `edges`; a value within a rounding error of an edge
/// may sit on the other side of it, which moves an area by that rounding error only.
struct EqualWidth {
    low: f64,
    scale: f64,
    edges: Vec<f64>,
}

/// A sample counted into `EqualWidth` buckets.
struct BucketCounts {
    /// Each value's bucket, in the sample's order.
    bucket_of: Vec<u16>,
    /// Per bucket: how many values, and Σ (its upper edge − value). Side by side, so
    /// that counting a value touches one cache line.
    tallies: Vec<(usize, f64)>,
}

impl EqualWidth {
    fn new(low: f64, high: f64, count: usize) -> EqualWidth {
        let step = (high - low) / count as f64;
        let mut edges: Vec<f64> = (0..=count).map(|index| index as f64 * step + low).collect();
        edges[count] = high;
        EqualWidth { low, scale: count as f64 / (high - low), edges }
    }

    fn len(&self) -> usize {
        self.edges.len() - 1
    }

    fn edge(&self, index: usize) -> f64 {
        self.edges[index]
    }

    /// The bucket of a value within [low, high].
    fn bucket(&self, value: f64) -> usize {
        // (An i32 costs fewer instructions than a usize.)
        (((value - self.low) * self.scale) as i32).min(self.len() as i32 - 1) as usize
    }

    /// Counts and gaps of values within [low, high].
    fn count(&self, values: &[f64]) -> BucketCounts {
        let buckets = self.len();
        let mut counted = BucketCounts { bucket_of: vec![0; values.len()], tallies: vec![(0, 0.0); buckets] };
        for (bucket_of, &value) in counted.bucket_of.iter_mut().zip(values) {
            let bucket = self.bucket(value);
            *bucket_of = bucket as u16;
            let tally = &mut counted.tallies[bucket];
            tally.0 += 1;
            tally.1 += self.edges[bucket + 1] - value;
        }
        counted
    }
}

/// The values of some buckets, bucket after bucket, each bucket's sorted.
struct Gathered {
    values: Vec<f64>,
    /// Where each chosen bucket's values start, and the end.
    starts: Vec<usize>,
}

impl Gathered {
    fn bucket(&self, place: usize) -> &[f64] {
        &self.values[self.starts[place]..self.starts[place + 1]]
    }
}

impl BucketCounts {
    /// The values of the `chosen` buckets (ascending bucket numbers), in that order.
    fn gathered_sorted(&self, values: &[f64], chosen: &[usize]) -> Gathered {
        let mut place_of = vec![u32::MAX; self.tallies.len()];
        let mut starts = Vec::with_capacity(chosen.len() + 1);
        let mut total = 0;
        for (place, bucket) in chosen.iter().enumerate() {
            place_of[*bucket] = place as u32;
            starts.push(total);
            total += self.tallies[*bucket].0;
        }
        starts.push(total);
        let mut next = starts.clone();
        let mut gathered = vec![0.0; total];
        for (value, bucket) in values.iter().zip(&self.bucket_of) {
            let place = place_of[usize::from(*bucket)];
            if place != u32::MAX {
                gathered[next[place as usize]] = *value;
                next[place as usize] += 1;
            }
        }
        for bucket in starts.windows(2) {
            gathered[bucket[0]..bucket[1]].sort_unstable_by(f64::total_cmp);
        }
        Gathered { values: gathered, starts }
    }
}

/// Each bin's share of the reference and of the current sample.
fn binned_shares(reference: &NumericReference, current: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (reference_counts, current_counts) = if reference.many_values {
        let (reference_low, reference_high) = reference.extremes();
        let ((left_low, left_high), (right_low, right_high)) = on_halves(current, extremes);
        let low = reference_low.min(left_low).min(right_low);
        let high = reference_high.max(left_high).max(right_high);
        let edges = sturges_edges(low, high, reference.len() + current.len());
        // A sorted reference (a stored one, or one KS has sorted) is binned by a binary
        // search per edge instead of a pass over its values; the counts are the same.
        let reference_counts = match reference.sorted_if_known() {
            Some(sorted) => sorted_histogram(sorted, &edges),
            None => halved_histogram(reference.values(), &edges),
        };
        (reference_counts, halved_histogram(current, &edges))
    } else {
        value_counts(reference, current)
    };
    let shares = |counts: Vec<usize>, total: usize| -> Vec<f64> {
        counts.into_iter().map(|count| count as f64 / total as f64).collect()
    };
    (shares(reference_counts, reference.values().len()), shares(current_counts, current.len()))
}

/// How often each distinct value of either sample occurs in each, in ascending order of
/// the values: the differences of the merge walk's running counts.
pub fn value_counts(reference: &NumericReference, current: &[f64]) -> (Vec<usize>, Vec<usize>) {
    let current = sorted(current);
    let mut counts = (Vec::new(), Vec::new());
    let (mut reference_before, mut current_before) = (0, 0);
    for (_, i, j) in merged_steps(reference.sorted(), &current) {
        counts.0.push(i - reference_before);
        counts.1.push(j - current_before);
        (reference_before, current_before) = (i, j);
    }
    counts
}

/// Empty bins get a small share (a millionth of the smallest non-empty share if that is
/// ≤ 0.0001, else 0.0001), as Evidently fills them for PSI and KL divergence.
pub(super) fn filled(mut shares: Vec<f64>) -> Vec<f64> {
    let smallest = shares.iter().copied().filter(|share| *share != 0.0).fold(f64::INFINITY, f64::min);
    let filler = if smallest <= 0.0001 { smallest / 1e6 } else { 0.0001 };
    shares.iter_mut().filter(|share| **share == 0.0).for_each(|share| *share = filler);
    shares
}

/// `np.histogram_bin_edges(values, bins="sturges")` for `count` values from `low` to
/// `high`: the width comes from the range (none for constant data: then one bin of
/// width 1 around the value).
fn sturges_edges(low: f64, high: f64, count: usize) -> Vec<f64> {
    let (first, last) = if low == high { (low - 0.5, high + 0.5) } else { (low, high) };
    let width = (high - low) / ((count as f64).log2() + 1.0);
    let bins = if width > 0.0 { ((last - first) / width).ceil() as usize } else { 1 };
    // np.linspace(first, last, bins + 1)
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|index| index as f64 * step + first).collect();
    edges[bins] = last;
    edges
}

/// `np.histogram(values, edges)[0]` with explicit edges: bin i holds edges[i] ≤ v <
/// edges[i + 1], the last bin also its right edge; values outside are not counted.
/// The bin is guessed from the value's position in the range, then checked against the
/// edges themselves (linspace edges are not exactly equidistant).
fn histogram(values: &[f64], edges: &[f64]) -> Vec<usize> {
    let bins = edges.len() - 1;
    let (first, last) = (edges[0], edges[bins]);
    let scale = bins as f64 / (last - first);
    // Four tallies per bin, taken in turn: neighbouring values often share a bin, and
    // with one tally each increment would wait for the one before.
    let mut tallies = vec![[0_usize; 4]; bins];
    for (index, &value) in values.iter().enumerate() {
        if !(first..=last).contains(&value) {
            continue;
        }
        // (An i32 guess costs fewer instructions than a usize one; bins are few.)
        let mut bin = (((value - first) * scale) as i32).clamp(0, bins as i32 - 1) as usize;
        while bin > 0 && value < edges[bin] {
            bin -= 1;
        }
        while bin < bins - 1 && value >= edges[bin + 1] {
            bin += 1;
        }
        tallies[bin][index % 4] += 1;
    }
    tallies.iter().map(|tally| tally.iter().sum()).collect()
}

/// `histogram`, half of the values on each core.
fn halved_histogram(values: &[f64], edges: &[f64]) -> Vec<usize> {
    let (left, right) = on_halves(values, |half| histogram(half, edges));
    left.iter().zip(&right).map(|(left, right)| left + right).collect()
}

/// `histogram` of a sorted sample: a binary search per edge.
fn sorted_histogram(sorted: &[f64], edges: &[f64]) -> Vec<usize> {
    let bins = edges.len() - 1;
    let below = |edge: f64| sorted.partition_point(|value| *value < edge);
    let mut starts: Vec<usize> = edges[..bins].iter().map(|edge| below(*edge)).collect();
    starts.push(sorted.partition_point(|value| *value <= edges[bins]));
    starts.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::analysis::drift::ks::ks_2samp;
    use crate::analysis::drift::tests::{assert_agrees, fixtures};

    #[derive(Deserialize)]
    struct Case {
        name: String,
        reference: Vec<f64>,
        current: Vec<f64>,
        psi: f64,
        jensen_shannon: f64,
        wasserstein_norm: f64,
        kl_divergence: f64,
        hellinger: f64,
        ks_statistic: f64,
        ks_p_value: f64,
    }

    #[test]
    fn statistics_agree_with_evidently() {
        for case in fixtures::<Case>(include_str!("../../../tests/fixtures/drift/numeric.json")) {
            let (reference, current, name) =
                (&NumericReference::new(case.reference.clone()), &case.current, &case.name);
            assert_agrees("PSI", name, psi(reference, current), case.psi);
            assert_agrees("Jensen-Shannon", name, jensen_shannon(reference, current), case.jensen_shannon);
            assert_agrees("Wasserstein", name, wasserstein_norm(reference, current), case.wasserstein_norm);
            assert_agrees("KL divergence", name, kl_divergence(reference, current), case.kl_divergence);
            assert_agrees("Hellinger", name, hellinger(reference, current), case.hellinger);
            let ks = ks_2samp(reference, current);
            assert_agrees("KS statistic", name, ks.statistic, case.ks_statistic);
            assert_agrees("KS p-value", name, ks.p_value, case.ks_p_value);
        }
    }

    #[test]
    fn buckets_give_the_area_of_the_full_walk() {
        for (name, reference, current) in crate::analysis::drift::quantiles::stress_cases() {
            let prepared = NumericReference::new(reference.clone());
            let (u, v) = (sorted(&reference), sorted(&current));
            let (from, to) = (u[0].min(v[0]), u[u.len() - 1].max(v[v.len() - 1]));
            let walked = walked_area(&u, &v, (0, 0), (u.len(), v.len()), from, to);
            let bucketed = wasserstein(&prepared, &current);
            assert!(((bucketed - walked) / walked).abs() < 1e-12, "{name}: {bucketed} bucketed, {walked} walked");
        }
    }

    #[test]
    fn numpy_histogram_rules() {
        let edges = sturges_edges(0.0, 7.0, 8);
        assert_eq!(edges.len(), 5, "log2(8) + 1 = 4 bins");
        // The right edge belongs to the last bin; values outside are not counted.
        let values = [0.0, 1.75, 7.0, 8.0, -1.0];
        assert_eq!(histogram(&values, &edges), [1, 1, 0, 1]);
        let mut sorted_values = values.to_vec();
        sorted_values.sort_by(f64::total_cmp);
        assert_eq!(sorted_histogram(&sorted_values, &edges), [1, 1, 0, 1]);
        assert_eq!(sturges_edges(3.0, 3.0, 2), [2.5, 3.5]);
    }
}
