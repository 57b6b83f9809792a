//! Sorting large f64 samples (a reference when it is prepared, the buckets KS and
//! Wasserstein walk): an LSD radix sort on the values' bit patterns (in `f64::total_cmp`
//! order), each half of the sample on its own core, then one merge — 1.8× faster than
//! `sort_unstable_by` on this machine's two cores (docs/benchmarks.md).

use super::cores::on_halves;

/// Below this many values the comparison sort wins.
const RADIX_MIN_LEN: usize = 4096;
const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;
/// 6 × 11 bits cover the 64-bit keys.
const PASSES: usize = 6;

/// The values in ascending `f64::total_cmp` order (NaNs, if any, at the ends by sign).
pub fn sorted(values: &[f64]) -> Vec<f64> {
    if values.len() < RADIX_MIN_LEN {
        let mut sorted = values.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        return sorted;
    }
    let (left, right) = on_halves(values, sorted_keys);
    merged_values(&left, &right)
}

/// A key whose unsigned order is `f64::total_cmp`'s: negative numbers have every bit
/// flipped, positive ones only the sign bit.
fn key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }
}

fn value(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 { key & !(1 << 63) } else { !key })
}

fn sorted_keys(values: &[f64]) -> Vec<u64> {
    let mut keys: Vec<u64> = values.iter().map(|value| key(*value)).collect();
    if keys.is_empty() {
        return keys;
    }
    let mut counts = vec![[0_usize; BUCKETS]; PASSES];
    for key in &keys {
        for (pass, histogram) in counts.iter_mut().enumerate() {
            histogram[digit(*key, pass)] += 1;
        }
    }
    let mut buffer = vec![0_u64; keys.len()];
    for (pass, histogram) in counts.iter_mut().enumerate() {
        // A digit every key shares moves nothing.
        if histogram[digit(keys[0], pass)] == keys.len() {
            continue;
        }
        let mut offset = 0;
        for count in histogram.iter_mut() {
            let bucket_size = *count;
            *count = offset;
            offset += bucket_size;
        }
        for key in &keys {
            let slot = &mut histogram[digit(*key, pass)];
            buffer[*slot] = *key;
            *slot += 1;
        }
        std::mem::swap(&mut keys, &mut buffer);
    }
    keys
}

fn digit(key: u64, pass: usize) -> usize {
    ((key >> (pass as u32 * DIGIT_BITS)) & (BUCKETS as u64 - 1)) as usize
}

fn merged_values(left: &[u64], right: &[u64]) -> Vec<f64> {
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if left[i] <= right[j] {
            merged.push(value(left[i]));
            i += 1;
        } else {
            merged.push(value(right[j]));
            j += 1;
        }
    }
    merged.extend(left[i..].iter().map(|key| value(*key)));
    merged.extend(right[j..].iter().map(|key| value(*key)));
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_as_total_cmp_does() {
        let mut state = 7_u64;
        let mut values: Vec<f64> = (0..20_000)
            .map(|i| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let magnitude = (state >> 11) as f64 / (1_u64 << 53) as f64 * 1e6;
                if i % 3 == 0 { -magnitude } else { magnitude }
            })
            .collect();
        values.extend([0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE, 1e-310, -1e-310, 42.0, 42.0]);
        let mut expected = values.clone();
        expected.sort_unstable_by(f64::total_cmp);
        let ours = sorted(&values);
        assert_eq!(
            ours.iter().map(|value| value.to_bits()).collect::<Vec<_>>(),
            expected.iter().map(|value| value.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(sorted(&[3.0, -1.0, 2.0]), [-1.0, 2.0, 3.0]);
    }
}
