//! The two-sample Kolmogorov–Smirnov test as `scipy.stats.ks_2samp(method="auto")`:
//! the largest distance between the two empirical CDFs, and its two-sided p-value —
//! exact (lattice paths, Hodges 1958 / Viehmann 2021) while neither sample has more than
//! 10,000 values, otherwise from the distribution of the one-sample statistic at
//! n = m·n/(m + n) (`kolmogorov::two_sided_sf`).

use super::numeric::NumericReference;
use super::{kolmogorov, merged_steps};

/// Evidently's default: drift when the p-value is at or below it.
pub const P_VALUE_THRESHOLD: f64 = 0.05;

/// scipy's `MAX_AUTO_N`: the exact method is tried up to this many values per sample.
const MAX_EXACT_SIZE: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    /// The largest distance between the two empirical CDFs.
    pub statistic: f64,
    pub p_value: f64,
}

/// The test of a current sample (finite values, at least one) against a reference.
pub fn ks_2samp(reference: &NumericReference, current: &[f64]) -> KsResult {
    let statistic = largest_cdf_distance(reference, current);
    let (n1, n2) = (reference.len(), current.len());
    if n1.max(n2) <= MAX_EXACT_SIZE
        && let Some(exact) = exact(n1 as u64, n2 as u64, statistic)
    {
        return exact;
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let effective_size = (m * n / (m + n)).round_ties_even() as u64;
    KsResult { statistic, p_value: kolmogorov::two_sided_sf(effective_size, statistic) }
}

/// A point where both CDFs are known: i reference and j current values are ≤ it.
#[derive(Debug, Clone, Copy)]
struct Point {
    i: usize,
    j: usize,
}

/// The largest |F₁ − F₂| seen so far, compared exactly as |i·n₂ − j·n₁|.
struct Largest {
    n1: i64,
    n2: i64,
    scaled: i64,
    at: Point,
}

impl Largest {
    fn new(n1: usize, n2: usize) -> Largest {
        Largest { n1: n1 as i64, n2: n2 as i64, scaled: 0, at: Point { i: 0, j: 0 } }
    }

    fn scaled(&self, i: usize, j: usize) -> i64 {
        (i as i64 * self.n2 - j as i64 * self.n1).abs()
    }

    fn offer(&mut self, i: usize, j: usize) {
        let scaled = self.scaled(i, j);
        if scaled > self.scaled {
            (self.scaled, self.at) = (scaled, Point { i, j });
        }
    }

    /// Keeps the larger of the two, this one where they are equal (it was offered first).
    fn take(&mut self, later: &Largest) {
        if later.scaled > self.scaled {
            (self.scaled, self.at) = (later.scaled, later.at);
        }
    }

    /// The distance as scipy computes each candidate: i/n₁ − j/n₂.
    fn distance(&self) -> f64 {
        (self.at.i as f64 / self.n1 as f64 - self.at.j as f64 / self.n2 as f64).abs()
    }
}

/// sup |F₁ − F₂| over every value of either sample, each CDF counting values ≤ it.
/// Both CDFs are known at every quantile-bucket edge from one counting pass; a bucket is
/// walked value by value only if the distance inside it could beat the largest known.
fn largest_cdf_distance(reference: &NumericReference, current: &[f64]) -> f64 {
    let (u, buckets) = (reference.sorted(), reference.buckets());
    let counts = buckets.count(current);
    let mut largest = Largest::new(u.len(), current.len());
    // What each bucket starts from: reference and current values below it, and at its lower edge.
    let mut starts = Vec::with_capacity(buckets.len());
    let mut below = 0;
    for bucket in 0..buckets.len() {
        let range = buckets.reference_range(bucket, u.len());
        let at_edge = if bucket == 0 {
            Point { i: range.start, j: below }
        } else {
            let edge = buckets.edge(bucket - 1);
            let equal = u[range.clone()].partition_point(|value| *value <= edge);
            let at_edge = Point { i: range.start + equal, j: below + counts.at_lower_edge[bucket] };
            largest.offer(at_edge.i, at_edge.j);
            at_edge
        };
        if counts.counts[bucket] == 0 && !range.is_empty() {
            // Only the reference moves here: its last value is the other extreme.
            largest.offer(range.end, below);
        }
        starts.push((range, below, at_edge));
        below += counts.counts[bucket];
    }
    let open: Vec<bool> = starts
        .iter()
        .zip(&counts.counts)
        .map(|((range, below, at_edge), count)| {
            *count > 0
                && largest.scaled(range.end, *below).max(largest.scaled(at_edge.i, below + count)) > largest.scaled
        })
        .collect();
    let walked = buckets.walk_chosen(current, &counts, &open, |bucket, values| {
        let (range, below, _) = &starts[bucket];
        let mut inside = Largest::new(u.len(), current.len());
        walk(&u[range.clone()], values, Point { i: range.start, j: *below }, &mut inside);
        inside
    });
    for inside in walked {
        largest.take(&inside);
    }
    largest.distance()
}

/// Offers every point of two sorted slices, counted from `start`.
fn walk(u: &[f64], v: &[f64], start: Point, largest: &mut Largest) {
    for (_, i, j) in merged_steps(u, v) {
        largest.offer(start.i + i, start.j + j);
    }
}

/// The exact p-value, or `None` where scipy would fall back to the asymptotic one.
fn exact(n1: u64, n2: u64, statistic: f64) -> Option<KsResult> {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    // Distances are multiples of 1/lcm: round away the floating-point noise.
    let h = (statistic * lcm as f64).round_ties_even() as u64;
    let statistic = h as f64 / lcm as f64;
    if h == 0 {
        return Some(KsResult { statistic, p_value: 1.0 });
    }
    let p_value = if n1 == n2 { prob_outside_square(n1, h) } else { prob_outside_band(n1, n2, g, h) };
    (0.0..=1.0).contains(&p_value).then_some(KsResult { statistic, p_value })
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Equal sizes: the share of lattice paths that leave the band |x − y| < h, as an
/// alternating sum of binomial ratios evaluated Horner-style (no cancellation).
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let (n, h) = (n as f64, h as f64);
    let mut p = 0.0;
    let mut k = (n / h).floor();
    while k >= 0.0 {
        let mut term = 1.0;
        for j in 0..h as u64 {
            let j = j as f64;
            term = (n - k * h - j) * term / (n + k * h + j + 1.0);
        }
        p = term * (1.0 - p);
        k -= 1.0;
    }
    2.0 * p
}

/// Unequal sizes: the share of lattice paths from (0, 0) to (m, n) that leave the band
/// |n·x − m·y| < h·g, carried one column at a time as probabilities (1 − p directly).
fn prob_outside_band(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = ((m / g) as i64, (n / g) as i64);
    let (m, n, h) = (m as i64, n as i64, h as i64);
    let window_end = |i: i64| (((ng * i + h) as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut min_j = 0_i64;
    let mut max_j = window_end(0);
    let mut length = max_j - min_j;
    let mut column = vec![1.0_f64; (2 * max_j + 2).min(n + 1) as usize];
    column[..max_j as usize].fill(0.0);
    for i in 1..=m {
        let (last_min_j, last_length) = (min_j, length);
        min_j = ((((ng * i - h) as f64 / mg as f64).floor() as i64) + 1).clamp(0, n);
        max_j = window_end(i);
        if max_j <= min_j {
            return 1.0;
        }
        let mut value = if min_j == 0 { 0.0 } else { 1.0 };
        for offset in 0..max_j - min_j {
            let j = offset + min_j;
            value = (column[(offset + min_j - last_min_j) as usize] * i as f64 + value * j as f64) / (i + j) as f64;
            column[offset as usize] = value;
        }
        length = max_j - min_j;
        if last_length > length {
            let start = length as usize;
            let end = (start + (last_length - length) as usize).min(column.len());
            column[start..end].fill(1.0);
        }
    }
    column[(max_j - min_j - 1) as usize]
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::analysis::drift::tests::{assert_agrees, fixtures};

    #[derive(Deserialize)]
    struct Case {
        name: String,
        n1: usize,
        n2: usize,
        shift: f64,
        statistic: f64,
        p_value: f64,
    }

    /// Evenly spaced samples, rebuilt exactly as numpy builds them (`np.arange(n) / n`).
    fn evenly_spaced(n: usize, shift: f64) -> Vec<f64> {
        (0..n).map(|i| i as f64 / n as f64 + shift).collect()
    }

    #[test]
    fn agrees_with_scipy_on_every_p_value_method() {
        for case in fixtures::<Case>(include_str!("../../../tests/fixtures/drift/ks.json")) {
            let reference = NumericReference::new(evenly_spaced(case.n1, 0.0));
            let result = ks_2samp(&reference, &evenly_spaced(case.n2, case.shift));
            assert_agrees("KS statistic", &case.name, result.statistic, case.statistic);
            assert_agrees("KS p-value", &case.name, result.p_value, case.p_value);
        }
    }

    /// The full walk over both sorted samples: what the buckets must reproduce.
    fn walked_distance(reference: &[f64], current: &[f64]) -> f64 {
        let (u, v) = (crate::analysis::sort::sorted(reference), crate::analysis::sort::sorted(current));
        let mut largest = Largest::new(u.len(), v.len());
        walk(&u, &v, Point { i: 0, j: 0 }, &mut largest);
        largest.distance()
    }

    #[test]
    fn quantile_buckets_find_the_same_distance_as_the_full_walk() {
        for (name, reference, current) in crate::analysis::drift::quantiles::stress_cases() {
            let prepared = NumericReference::new(reference.clone());
            assert!(prepared.buckets().len() > 1, "{name}: the reference is bucketed");
            let bucketed = largest_cdf_distance(&prepared, &current);
            assert_eq!(bucketed, walked_distance(&reference, &current), "{name}");
        }
    }

    #[test]
    fn the_statistic_counts_ties_in_both_samples() {
        let result = ks_2samp(&NumericReference::new(vec![1.0, 2.0, 2.0, 3.0]), &[2.0, 2.0, 2.0, 2.0]);
        // Just right of 1: 1/4 vs 0; just right of 2: 3/4 vs 1.
        assert_eq!(result.statistic, 0.25);
    }
}
