//! Drift statistics over numbers, as Evidently 0.7 computes them.
//!
//! Binning follows Evidently's `get_binned_data`: a feature with more than 20 distinct
//! reference values is cut into equal-width bins over both samples (numpy's "sturges"
//! edges and `np.histogram`'s counting, reproduced exactly), otherwise every distinct
//! value is its own bin. For PSI, empty bins get a small share (a millionth of the
//! smallest non-empty share if that is ≤ 0.0001, else 0.0001), so logarithms stay finite.

use super::sorted_pair;

/// Population Stability Index over Evidently's bins.
pub fn psi(reference: &[f64], current: &[f64]) -> f64 {
    let (reference, current) = binned_shares(reference, current);
    psi_of_shares(&filled(reference), &filled(current))
}

/// PSI of two binnings' shares (no share 0).
pub(super) fn psi_of_shares(reference: &[f64], current: &[f64]) -> f64 {
    reference.iter().zip(current).map(|(r, c)| (r - c) * (r / c).ln()).sum()
}

/// Jensen–Shannon distance (natural logarithm) over Evidently's bins, as
/// `scipy.spatial.distance.jensenshannon`.
pub fn jensen_shannon(reference: &[f64], current: &[f64]) -> f64 {
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
pub fn kl_divergence(reference: &[f64], current: &[f64]) -> f64 {
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
pub fn hellinger(reference: &[f64], current: &[f64]) -> f64 {
    let present = |sample: &[f64]| -> Vec<f64> { sample.iter().copied().filter(|value| !value.is_nan()).collect() };
    let (reference, current) = (present(reference), present(current));
    let mut keys: Vec<f64> = reference.iter().chain(&current).copied().collect();
    keys.sort_by(f64::total_cmp);
    keys.dedup();
    let edges = sturges_edges(&keys);
    let density = |sample: &[f64]| -> Vec<f64> {
        let counts = histogram(sample, &edges);
        let total: usize = counts.iter().sum();
        counts
            .iter()
            .zip(edges.windows(2))
            .map(|(count, edge)| *count as f64 / (edge[1] - edge[0]) / total as f64)
            .collect()
    };
    let bin_width = (edges[edges.len() - 1] - edges[0]) / (edges.len() - 1) as f64;
    let overlap: f64 = density(&reference).iter().zip(density(&current)).map(|(p, q)| (p * q).sqrt() * bin_width).sum();
    (1.0 - overlap.clamp(0.0, 1.0)).sqrt()
}

/// Wasserstein (earth mover's) distance divided by the reference's standard deviation
/// (population, at least 0.001), as Evidently's `wasserstein_distance_norm`.
pub fn wasserstein_norm(reference: &[f64], current: &[f64]) -> f64 {
    let n = reference.len() as f64;
    let mean = reference.iter().sum::<f64>() / n;
    let std = (reference.iter().map(|value| (value - mean).powi(2)).sum::<f64>() / n).sqrt();
    wasserstein(reference, current) / std.max(0.001)
}

/// `scipy.stats.wasserstein_distance` of two samples: the area between their CDFs.
pub fn wasserstein(u: &[f64], v: &[f64]) -> f64 {
    let (u, v) = sorted_pair(u, v);
    let all = merged(&u, &v);
    let (mut i, mut j) = (0, 0);
    let mut area = 0.0;
    for pair in all.windows(2) {
        // CDFs just right of pair[0]: values ≤ pair[0].
        while i < u.len() && u[i] <= pair[0] {
            i += 1;
        }
        while j < v.len() && v[j] <= pair[0] {
            j += 1;
        }
        let gap = i as f64 / u.len() as f64 - j as f64 / v.len() as f64;
        area += gap.abs() * (pair[1] - pair[0]);
    }
    area
}

/// Two sorted slices as one sorted vector.
fn merged(u: &[f64], v: &[f64]) -> Vec<f64> {
    let mut all = Vec::with_capacity(u.len() + v.len());
    let (mut i, mut j) = (0, 0);
    while i < u.len() && j < v.len() {
        if u[i].total_cmp(&v[j]).is_le() {
            all.push(u[i]);
            i += 1;
        } else {
            all.push(v[j]);
            j += 1;
        }
    }
    all.extend_from_slice(&u[i..]);
    all.extend_from_slice(&v[j..]);
    all
}

/// Whether `values` hold more than `limit` distinct values besides NaN (pandas'
/// `nunique`), stopping as soon as they do.
fn more_distinct_than(values: &[f64], limit: usize) -> bool {
    let mut seen: Vec<f64> = Vec::with_capacity(limit + 1);
    for value in values.iter().filter(|value| !value.is_nan()) {
        if !seen.contains(value) {
            seen.push(*value);
            if seen.len() > limit {
                return true;
            }
        }
    }
    false
}

/// Each bin's share of the reference and of the current sample.
fn binned_shares(reference: &[f64], current: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (reference_counts, current_counts) = if more_distinct_than(reference, 20) {
        let combined: Vec<f64> = reference.iter().chain(current).copied().collect();
        let edges = sturges_edges(&combined);
        (histogram(reference, &edges), histogram(current, &edges))
    } else {
        let mut keys: Vec<f64> = reference.iter().chain(current).copied().filter(|value| !value.is_nan()).collect();
        keys.sort_by(f64::total_cmp);
        keys.dedup();
        let count =
            |sample: &[f64]| keys.iter().map(|key| sample.iter().filter(|value| *value == key).count()).collect();
        (count(reference), count(current))
    };
    let shares = |counts: Vec<usize>, total: usize| -> Vec<f64> {
        counts.into_iter().map(|count| count as f64 / total as f64).collect()
    };
    (shares(reference_counts, reference.len()), shares(current_counts, current.len()))
}

/// Empty bins get a small share (a millionth of the smallest non-empty share if that is
/// ≤ 0.0001, else 0.0001), as Evidently fills them for PSI and KL divergence.
pub(super) fn filled(mut shares: Vec<f64>) -> Vec<f64> {
    let smallest = shares.iter().copied().filter(|share| *share != 0.0).fold(f64::INFINITY, f64::min);
    let filler = if smallest <= 0.0001 { smallest / 1e6 } else { 0.0001 };
    shares.iter_mut().filter(|share| **share == 0.0).for_each(|share| *share = filler);
    shares
}

/// `np.histogram_bin_edges(values, bins="sturges")`: the width comes from the data's
/// range (none for constant data: then one bin of width 1 around the value).
fn sturges_edges(values: &[f64]) -> Vec<f64> {
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| (low.min(*value), high.max(*value)));
    let (first, last) = if low == high { (low - 0.5, high + 0.5) } else { (low, high) };
    let width = (high - low) / ((values.len() as f64).log2() + 1.0);
    let bins = if width > 0.0 { ((last - first) / width).ceil() as usize } else { 1 };
    // np.linspace(first, last, bins + 1)
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|index| index as f64 * step + first).collect();
    edges[bins] = last;
    edges
}

/// `np.histogram(values, edges)[0]` with explicit edges: bin i holds edges[i] ≤ v <
/// edges[i + 1], the last bin also its right edge; values outside are not counted.
fn histogram(values: &[f64], edges: &[f64]) -> Vec<usize> {
    let bins = edges.len() - 1;
    let mut counts = vec![0; bins];
    for &value in values {
        if value == edges[bins] {
            counts[bins - 1] += 1;
        } else if let Some(index) = edges.partition_point(|edge| *edge <= value).checked_sub(1)
            && index < bins
        {
            counts[index] += 1;
        }
    }
    counts
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
            let (reference, current, name) = (&case.reference, &case.current, &case.name);
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
    fn numpy_histogram_rules() {
        let edges = sturges_edges(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(edges.len(), 5, "log2(8) + 1 = 4 bins");
        // The right edge belongs to the last bin; values outside are not counted.
        assert_eq!(histogram(&[0.0, 1.75, 7.0, 8.0, -1.0], &edges), [1, 1, 0, 1]);
        assert_eq!(sturges_edges(&[3.0, 3.0]), [2.5, 3.5]);
    }
}
