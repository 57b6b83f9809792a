//! Drift statistics over categories, as Evidently 0.7 computes them: each takes how many
//! times every category occurs in the reference and in the current sample (the same
//! categories, in the same order, every one present in at least one of the two).

use std::f64::consts::FRAC_1_SQRT_2;

use statrs::function::{erf::erfc, gamma::gamma_ur};

use super::numeric::{filled, jensen_shannon_of_shares, kl_divergence_of_shares, psi_of_shares};

/// Evidently's default for the chi-square and z tests: drift when the p-value is below it.
pub const P_VALUE_THRESHOLD: f64 = 0.05;

/// Population Stability Index over the categories (empty ones filled as Evidently does).
pub fn psi(reference: &[u64], current: &[u64]) -> f64 {
    psi_of_shares(&filled(shares(reference)), &filled(shares(current)))
}

/// Jensen–Shannon distance (natural logarithm) over the categories.
pub fn jensen_shannon(reference: &[u64], current: &[u64]) -> f64 {
    jensen_shannon_of_shares(shares(reference), shares(current))
}

/// Kullback–Leibler divergence of the current from the reference (empty ones filled as for PSI).
pub fn kl_divergence(reference: &[u64], current: &[u64]) -> f64 {
    kl_divergence_of_shares(filled(shares(reference)), filled(shares(current)))
}

/// Hellinger distance between the two samples' shares.
pub fn hellinger(reference: &[u64], current: &[u64]) -> f64 {
    let overlap: f64 = shares(reference).iter().zip(shares(current)).map(|(p, q)| (p * q).sqrt()).sum();
    (1.0 - overlap.clamp(0.0, 1.0)).sqrt()
}

fn shares(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts.iter().map(|count| *count as f64 / total as f64).collect()
}

/// Pearson's chi-square test of the current counts against the reference's shares
/// (`scipy.stats.chisquare` with expected = reference counts · n_current / n_reference).
/// A category the reference never saw makes the statistic infinite and the p-value 0.
/// With a single category nothing can differ: p = 1 (scipy answers NaN, which
/// Evidently reads as "no drift").
pub fn chi_square_p_value(reference: &[u64], current: &[u64]) -> f64 {
    if reference.len() < 2 {
        return 1.0;
    }
    let scale = current.iter().sum::<u64>() as f64 / reference.iter().sum::<u64>() as f64;
    let statistic: f64 = reference
        .iter()
        .zip(current)
        .map(|(reference, current)| {
            let expected = *reference as f64 * scale;
            (*current as f64 - expected).powi(2) / expected
        })
        .sum();
    if statistic <= 0.0 {
        // Q(a, 0) = 1; statrs refuses x = 0.
        return 1.0;
    }
    if statistic.is_infinite() {
        return 0.0;
    }
    let degrees_of_freedom = (reference.len() - 1) as f64;
    gamma_ur(degrees_of_freedom / 2.0, statistic / 2.0)
}

/// Evidently's two-proportion z-test: the share of values other than the first category
/// (in sorted order) in each sample, two-sided.
pub fn z_p_value(reference: &[u64], current: &[u64]) -> f64 {
    let used = |counts: &[u64]| counts.iter().filter(|count| **count > 0).count();
    if reference.len() < 2 || (used(reference) == 1 && used(current) == 1 && reference == current) {
        return 1.0;
    }
    let (n1, n2) = (reference.iter().sum::<u64>() as f64, current.iter().sum::<u64>() as f64);
    let p1 = (n1 - reference[0] as f64) / n1;
    let p2 = (n2 - current[0] as f64) / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    2.0 * (1.0 - normal_cdf(z.abs()))
}

/// Φ(x), computed the way scipy's `ndtr` does, so that 1 − Φ rounds the same way.
fn normal_cdf(x: f64) -> f64 {
    let scaled = x * FRAC_1_SQRT_2;
    if scaled.abs() < FRAC_1_SQRT_2 {
        0.5 + 0.5 * statrs::function::erf::erf(scaled)
    } else {
        let tail = 0.5 * erfc(scaled.abs());
        if scaled > 0.0 { 1.0 - tail } else { tail }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::analysis::column::Column;
    use crate::analysis::drift::Feature;
    use crate::analysis::drift::tests::{assert_agrees, fixtures};
    use keel_shared::drift::{FeatureKind, FeatureValue};

    #[derive(Deserialize)]
    struct Case {
        name: String,
        reference: Vec<String>,
        current: Vec<String>,
        psi: f64,
        jensen_shannon: f64,
        kl_divergence: f64,
        hellinger: f64,
        chi_square_p_value: f64,
        z_p_value: Option<f64>,
    }

    #[test]
    fn statistics_agree_with_evidently() {
        for case in fixtures::<Case>(include_str!("../../../tests/fixtures/drift/categorical.json")) {
            let texts = |values: &[String]| {
                Column::from_values(&values.iter().cloned().map(FeatureValue::Text).collect::<Vec<_>>())
            };
            let feature = Feature::new(&texts(&case.reference), &texts(&case.current), Some(FeatureKind::Categorical))
                .expect("feature");
            let Feature::Categorical { reference, current } = feature else { panic!("categorical") };
            assert_agrees("PSI", &case.name, psi(&reference, &current), case.psi);
            assert_agrees("Jensen-Shannon", &case.name, jensen_shannon(&reference, &current), case.jensen_shannon);
            assert_agrees("KL divergence", &case.name, kl_divergence(&reference, &current), case.kl_divergence);
            assert_agrees("Hellinger", &case.name, hellinger(&reference, &current), case.hellinger);
            let chi_square = chi_square_p_value(&reference, &current);
            assert_agrees("chi-square p-value", &case.name, chi_square, case.chi_square_p_value);
            if let Some(z) = case.z_p_value {
                assert_agrees("z p-value", &case.name, z_p_value(&reference, &current), z);
            }
        }
    }

    #[test]
    fn identical_shares_have_p_value_1() {
        assert_eq!(chi_square_p_value(&[10, 20], &[5, 10]), 1.0);
        assert_eq!(z_p_value(&[10, 20], &[5, 10]), 1.0);
    }

    #[test]
    fn a_single_category_cannot_drift() {
        assert_eq!(chi_square_p_value(&[10], &[4]), 1.0);
        assert_eq!(z_p_value(&[10], &[4]), 1.0);
    }
}
