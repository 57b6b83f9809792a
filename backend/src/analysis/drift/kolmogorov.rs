//! The distribution of the Kolmogorov–Smirnov statistic for a finite sample size `n`:
//! `two_sided_sf(n, x)` = P(Dₙ ≥ x), as `scipy.stats.kstwo.sf` computes it, and the
//! one-sided `smirnov_sf(n, x)` = P(Dₙ⁺ ≥ x), as `scipy.special.smirnov`. scipy picks
//! one of several methods by `n` and `n·x²` (Simard & L'Ecuyer 2011); the same choices
//! are made here so that p-values agree to a relative 1e-9, not merely roughly.
//!
//! The methods: Ruben–Gambino's closed forms at the ends of the range, the
//! Birnbaum–Tingey sum for the one-sided tail, Durbin's matrix (Marsaglia, Tsang & Wang
//! 2003), Pomeranz's recursion (1974) and Pelz–Good's series (1976).

use std::f64::consts::{LN_2, PI};

/// 2¹²⁸ and 2⁻¹²⁸: rescaling factors that keep long products inside f64's range.
const SCALE_UP: f64 = 3.402_823_669_209_385e38;
const SCALE_DOWN: f64 = 1.0 / SCALE_UP;
const SCALE_EXPONENT: i32 = 128;
/// The smallest argument whose exponential is not 0 (cephes' MINLOG).
const MIN_LOG: f64 = -7.083_964_185_322_641e2;

/// P(Dₙ ≥ x) for the two-sided statistic of a sample of `n` (`scipy.stats.kstwo.sf`).
pub fn two_sided_sf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    if x >= 1.0 {
        return 0.0;
    }
    let t = nf * x;
    if t <= 0.5 {
        return 1.0;
    }
    if t <= 1.0 {
        // Ruben–Gambino: P(Dₙ < x) = n!/nⁿ (2t − 1)ⁿ for 1/2n ≤ x ≤ 1/n.
        let cdf = if n <= 140 {
            (1..=n).map(|i| i as f64 * (1.0 / nf) * (2.0 * t - 1.0)).product::<f64>()
        } else {
            (log_factorial_over_power(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let n_x_squared = t * x;
    if n <= 140 {
        if n_x_squared <= 0.754693 {
            return clip(1.0 - durbin_matrix_cdf(n, x));
        }
        if n_x_squared <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, x));
        }
        return clip(2.0 * smirnov_sf(n, x));
    }
    if n_x_squared >= 370.0 {
        return 0.0;
    }
    if n_x_squared >= 2.2 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 { durbin_matrix_cdf(n, x) } else { pelz_good_cdf(n, x) };
    clip(1.0 - cdf)
}

fn clip(probability: f64) -> f64 {
    probability.clamp(0.0, 1.0)
}

/// ln(n! / nⁿ) by Stirling's series.
fn log_factorial_over_power(n: f64) -> f64 {
    const COEFFICIENTS: [f64; 8] = [
        -0.029550653594771242,
        0.00641025641025641,
        -0.0019175269175269176,
        0.0008417508417508417,
        -0.0005952380952380953,
        0.0007936507936507937,
        -0.002777777777777778,
        0.08333333333333333,
    ];
    let reciprocal = 1.0 / n;
    let series = COEFFICIENTS.iter().fold(0.0, |sum, coefficient| sum * (reciprocal / n) + coefficient);
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + reciprocal * series
}

/// P(Dₙ < x) by Durbin's matrix: the (k, k) entry of Hⁿ, times n!/nⁿ.
fn durbin_matrix_cdf(n: u64, x: f64) -> f64 {
    let nx = n as f64 * x;
    let k = nx.ceil() as usize;
    let h = k as f64 - nx;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut factorial_reciprocal = 1.0;
    for j in 1..=m {
        w[j - 1] = factorial_reciprocal;
        factorial_reciprocal /= j as f64;
        v[j - 1] *= factorial_reciprocal;
    }
    let tail = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tail) * factorial_reciprocal;
    let mut matrix = Matrix::zeros(m);
    for column in 1..m {
        for row in column - 1..m {
            matrix.set(row, column, w[row + 1 - column]);
        }
    }
    for (row, value) in v.iter().enumerate() {
        matrix.set(row, 0, *value);
    }
    for column in 0..m {
        matrix.set(m - 1, column, v[m - 1 - column]);
    }

    let mut power = Matrix::identity(m);
    let (mut power_exponent, mut matrix_exponent) = (0_i32, 0_i32);
    let mut remaining = n;
    while remaining > 0 {
        if remaining % 2 == 1 {
            power = power.times(&matrix);
            power_exponent += matrix_exponent;
        }
        matrix = matrix.times(&matrix);
        matrix_exponent *= 2;
        if matrix.get(k - 1, k - 1).abs() > SCALE_UP {
            matrix.scale(SCALE_DOWN);
            matrix_exponent += SCALE_EXPONENT;
        }
        remaining /= 2;
    }
    let mut p = power.get(k - 1, k - 1);
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < SCALE_DOWN {
            p *= SCALE_UP;
            power_exponent -= SCALE_EXPONENT;
        }
    }
    clip(p * 2_f64.powi(power_exponent))
}

/// A small dense square matrix, row-major.
struct Matrix {
    size: usize,
    cells: Vec<f64>,
}

impl Matrix {
    fn zeros(size: usize) -> Self {
        Self { size, cells: vec![0.0; size * size] }
    }

    fn identity(size: usize) -> Self {
        let mut matrix = Self::zeros(size);
        (0..size).for_each(|i| matrix.set(i, i, 1.0));
        matrix
    }

    fn get(&self, row: usize, column: usize) -> f64 {
        self.cells[row * self.size + column]
    }

    fn set(&mut self, row: usize, column: usize, value: f64) {
        self.cells[row * self.size + column] = value;
    }

    fn scale(&mut self, factor: f64) {
        self.cells.iter_mut().for_each(|cell| *cell *= factor);
    }

    fn times(&self, other: &Self) -> Self {
        let size = self.size;
        let mut product = Self::zeros(size);
        for row in 0..size {
            for inner in 0..size {
                let left = self.get(row, inner);
                if left == 0.0 {
                    continue;
                }
                let other_row = &other.cells[inner * size..(inner + 1) * size];
                let product_row = &mut product.cells[row * size..(row + 1) * size];
                for (cell, right) in product_row.iter_mut().zip(other_row) {
                    *cell += left * right;
                }
            }
        }
        product
    }
}

/// P(Dₙ < x) by Pomeranz's recursion (used for n ≤ 140).
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let n = n as i64;
    let t = n as f64 * x;
    let whole = t.floor() as i64;
    let fraction = t - whole as f64;
    let g = fraction.min(1.0 - fraction);
    let ceil_fraction = i64::from(fraction > 0.0);
    let round_fraction = i64::from(fraction > 0.5);
    let powers_needed = (2 * (whole + 1)) as usize;
    // (c/n)^m / m! for c = g, 2g and 1 − 2g.
    let powers = |c: f64| -> Vec<f64> {
        let mut powers = vec![1.0; powers_needed];
        for m in 1..powers_needed {
            powers[m] = powers[m - 1] * (c / n as f64) / m as f64;
        }
        powers
    };
    let (g_powers, two_g_powers, one_minus_two_g_powers) = (powers(g), powers(2.0 * g), powers(1.0 - 2.0 * g));
    let bounds = |i: i64| -> (i64, i64) {
        let (j1, j2) = if i == 0 {
            (-whole - ceil_fraction - 1, whole + ceil_fraction - 1)
        } else {
            let (half, odd) = ((i + 1) / 2, (i + 1) % 2);
            if odd == 0 {
                if half == n + 1 {
                    (n - whole - ceil_fraction - 1, n + whole + ceil_fraction - 1)
                } else {
                    (half - 1 - whole - round_fraction - 1, half + whole - 1 + ceil_fraction - 1)
                }
            } else {
                (half - 1 - whole - 1, half + whole + round_fraction - 1)
            }
        };
        ((j1 + 2).max(0), j2.min(n))
    };

    let mut previous = vec![0.0; powers_needed];
    let mut row = vec![0.0; powers_needed];
    row[0] = 1.0;
    let (mut previous_start, mut row_start) = (0_i64, 0_i64);
    let mut exponent = 0_i32;
    let mut j1 = bounds(0).0;
    for i in 1..2 * n + 2 {
        let k1 = j1;
        std::mem::swap(&mut previous, &mut row);
        std::mem::swap(&mut previous_start, &mut row_start);
        row.fill(0.0);
        let (next_j1, j2) = bounds(i);
        j1 = next_j1;
        let factors = if i == 1 || i == 2 * n + 1 {
            &g_powers
        } else if i % 2 == 1 {
            &two_g_powers
        } else {
            &one_minus_two_g_powers
        };
        let length = j2 - k1 + 1;
        if length > 0 {
            // Entries j1 − k1 … j2 − k1 of the convolution of previous[k1 …] with the factors.
            let offset = (k1 - previous_start) as usize;
            let source = &previous[offset..(offset + length as usize).min(powers_needed)];
            for (target, index) in row.iter_mut().zip((j1 - k1) as usize..length as usize) {
                *target = (0..=index)
                    .filter(|source_index| *source_index < source.len() && index - source_index < factors.len())
                    .map(|source_index| source[source_index] * factors[index - source_index])
                    .sum();
            }
            let largest = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < largest && largest < SCALE_DOWN {
                row.iter_mut().for_each(|cell| *cell *= SCALE_UP);
                exponent -= SCALE_EXPONENT;
            }
            row_start = previous_start + j1 - k1;
        }
    }
    let mut answer = row[(n - row_start) as usize];
    for m in 1..=n {
        if answer.abs() > SCALE_UP {
            answer *= SCALE_DOWN;
            exponent += SCALE_EXPONENT;
        }
        answer *= m as f64;
    }
    clip(answer * 2_f64.powi(exponent))
}

/// P(Dₙ < x) by the Pelz–Good series in z = x√n (large n).
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z.powi(2), z.powi(3), z.powi(4), z.powi(6));
    let (pi2, pi4, pi6) = (PI.powi(2), PI.powi(4), PI.powi(6));
    let q_log = -pi2 / 8.0 / z2;
    if q_log < -708.0 {
        return 0.0;
    }
    let q = q_log.exp();
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut terms = [0.0_f64; 4];
    let max_k = (16.0 * z / PI).ceil() as i64;
    for k in (1..=max_k).rev() {
        let m = (2 * k - 1) as f64;
        let (m2, m4, m6) = (m.powi(2), m.powi(4), m.powi(6));
        let q_power = q.powf(8.0 * k as f64);
        let coefficients = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
        for (term, coefficient) in terms.iter_mut().zip(coefficients) {
            *term = *term * q_power + coefficient;
        }
    }
    let sqrt_two_pi = (2.0 * PI).sqrt();
    let divisors = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (term, divisor) in terms.iter_mut().zip(divisors) {
        *term = *term * q * sqrt_two_pi / divisor;
    }
    let q = (-pi2 / 2.0 / z2).exp();
    let sqrt3_z = 3_f64.sqrt() * z;
    let (mut k2_extra, mut k3_extra) = (0.0, 0.0);
    for k in (1..=max_k).rev() {
        let k2 = (k * k) as f64;
        let q_power = q.powf(k2);
        k2_extra += k2 * q_power;
        let k_pi = PI * k as f64;
        k3_extra += (sqrt3_z + k_pi) * (sqrt3_z - k_pi) * k2 * q_power;
    }
    terms[2] += k2_extra * (pi2 * sqrt_two_pi / (-36.0 * z3));
    terms[3] += k3_extra * (pi2 * sqrt_two_pi / (216.0 * z6));
    terms.iter().enumerate().map(|(power, term)| term / nf.powf(power as f64 / 2.0)).sum()
}

/// P(Dₙ⁺ ≥ x) for the one-sided statistic (`scipy.special.smirnov`): the
/// Birnbaum–Tingey sum x·Σᵥ C(n, v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v) over
/// v = 0 … ⌊n(1 − x)⌋, or the complement's few terms when x is small.
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if n == 1 {
        return 1.0 - x;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let (mut floor_nx, mut remainder) = exact_floor_of_product(nf, x);
    if remainder >= 1.0 {
        floor_nx += 1;
        remainder = 0.0;
    }
    let (mut lower_last, mut upper_first) = (n as i64 - floor_nx - i64::from(remainder != 0.0), n as i64 - floor_nx);
    if remainder == 0.0 {
        lower_last -= 1;
        upper_first += 1;
    }
    if floor_nx == 0 || (floor_nx == 1 && remainder == 0.0) {
        // x ≤ 1/n
        return clip(1.0 - x * (1.0 + x).powf(nf - 1.0));
    }
    if -2.0 * nf * x * x < MIN_LOG {
        return 0.0;
    }
    if floor_nx >= n as i64 - 1 {
        return clip((1.0 - x).powf(nf));
    }
    if n > 1_000_000 {
        // Too many terms: p ≈ exp(−(6nx + 1)² / 18n).
        let log_p = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        return clip(if log_p < -LN_2 { log_p.exp() } else { 1.0 + log_p.exp_m1() });
    }
    let upper_terms = n as i64 - upper_first + 1;
    let use_upper_sum = (upper_terms <= 1 && x < 0.5) || (n >= 10 && upper_terms <= 3 && x <= 0.5 / nf.sqrt());
    if use_upper_sum {
        let cdf = x * birnbaum_tingey_sum(n, x, upper_terms, |j| n as i64 - j);
        clip(1.0 - cdf)
    } else {
        clip(x * birnbaum_tingey_sum(n, x, lower_last + 1, |j| j))
    }
}

/// Σⱼ C(n, v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v) with v = `term(j)` for j = 0 … terms − 1,
/// stopping once the remaining terms cannot change the sum.
fn birnbaum_tingey_sum(n: u64, x: f64, terms: i64, term: impl Fn(i64) -> i64) -> f64 {
    let nf = n as f64;
    let mut sum = 0.0;
    // C(n, j) as mantissa · 2^exponent: it overflows f64 long before the terms are small.
    let (mut binomial, mut binomial_exponent) = (1.0_f64, 0_i32);
    for j in 0..terms {
        let v = term(j) as f64;
        // x + v/n and 1 − x − v/n with one rounding each.
        let above = nf.mul_add(x, v) / nf;
        let below = (-nf).mul_add(x, nf - v) / nf;
        let log_term = binomial.ln()
            + f64::from(binomial_exponent) * LN_2
            + (v - 1.0) * above.ln()
            + if nf - v == 0.0 { 0.0 } else { (nf - v) * below.ln() };
        let value = log_term.exp();
        if value.is_finite() {
            sum += value;
        }
        if value != 0.0 {
            if 4.0 * (terms - j) as f64 * value < f64::EPSILON * sum && j != terms - 1 {
                break;
            }
        } else if j > n as i64 / 2 {
            break;
        }
        binomial *= (nf - j as f64) / (j as f64 + 1.0);
        let (mantissa, exponent) = split_exponent(binomial);
        binomial = mantissa;
        binomial_exponent += exponent;
    }
    sum
}

/// `x` as mantissa in [0.5, 1) and a power of two.
fn split_exponent(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let exponent = x.abs().log2().floor() as i32 + 1;
    let mantissa = x * 2_f64.powi(-exponent);
    // log2 can be off by one ulp at powers of two.
    if mantissa.abs() >= 1.0 {
        (mantissa / 2.0, exponent + 1)
    } else if mantissa.abs() < 0.5 {
        (mantissa * 2.0, exponent - 1)
    } else {
        (mantissa, exponent)
    }
}

/// ⌊n·x⌋ and n·x − ⌊n·x⌋, computed from the exact product (the rounded one can land on
/// the wrong side of an integer).
fn exact_floor_of_product(n: f64, x: f64) -> (i64, f64) {
    let high = n * x;
    let low = n.mul_add(x, -high);
    let mut floor = high.floor();
    if high == floor && low < 0.0 {
        floor -= 1.0;
    }
    (floor as i64, (high - floor) + low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_of_the_range() {
        assert_eq!(two_sided_sf(50, 0.005), 1.0, "below 1/2n the statistic is always larger");
        assert_eq!(two_sided_sf(50, 1.0), 0.0);
        assert_eq!(smirnov_sf(1, 0.25), 0.75);
    }

    #[test]
    fn split_exponent_keeps_the_value() {
        for x in [1.0, 0.5, 3.0, 1e300, 1e-300, 0.999_999] {
            let (mantissa, exponent) = split_exponent(x);
            assert!((0.5..1.0).contains(&mantissa), "{x}: {mantissa}");
            assert_eq!(mantissa * 2_f64.powi(exponent), x);
        }
    }
}
