//! A DDSketch (Masson, Rim & Lee, VLDB 2019): a mergeable quantile sketch whose answers
//! are within a relative error `RELATIVE_ACCURACY` of the exact quantile, whatever the
//! distribution. Values fall into logarithmic buckets `gamma^(i-1) < |v| <= gamma^i`.

/// Every quantile is within 1 % of the exact value.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// Magnitudes below this count as zero (they have no useful logarithmic bucket).
const ZERO_THRESHOLD: f64 = 1e-12;

/// Bucket counts of one sign, stored densely from the lowest index seen: adding and
/// merging are array updates (a dashboard merges thousands of sketches per query).
/// Finite magnitudes between `ZERO_THRESHOLD` and `f64::MAX` span fewer than 40,000
/// indexes, so the array stays bounded.
#[derive(Debug, Clone, Default)]
struct Bins {
    offset: i32,
    counts: Vec<u64>,
}

/// Equal when the same buckets hold the same counts, however much room each has.
impl PartialEq for Bins {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Bins {
    fn add(&mut self, index: i32, count: u64) {
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(count);
            return;
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        }
        let position = (index - self.offset) as usize;
        if position >= self.counts.len() {
            self.counts.resize(position + 1, 0);
        }
        self.counts[position] += count;
    }

    fn merge(&mut self, other: &Self) {
        let Some(last) = other.counts.len().checked_sub(1) else { return };
        // Make room for both ends first, then add element by element.
        self.add(other.offset, 0);
        self.add(other.offset + last as i32, 0);
        let start = (other.offset - self.offset) as usize;
        for (mine, theirs) in self.counts[start..].iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
    }

    /// Non-empty buckets, lowest index first.
    fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(position, count)| (self.offset + position as i32, *count))
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuantileSketch {
    positive: Bins,
    negative: Bins,
    zeros: u64,
    count: u64,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new()
    }
}

fn gamma() -> f64 {
    (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
}

fn bucket_index(magnitude: f64) -> i32 {
    // The clamp keeps absurd magnitudes (1e300) in range; they are still ordered.
    (magnitude.ln() / gamma().ln()).ceil().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

/// The value that represents bucket `index`: within `RELATIVE_ACCURACY` of all its members.
fn bucket_value(index: i32) -> f64 {
    let gamma = gamma();
    2.0 * gamma.powi(index) / (gamma + 1.0)
}

impl QuantileSketch {
    pub fn new() -> Self {
        Self { positive: Bins::default(), negative: Bins::default(), zeros: 0, count: 0 }
    }

    /// Adds a finite value (non-finite values are the caller's to reject).
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        if value.abs() < ZERO_THRESHOLD {
            self.zeros += 1;
        } else if value > 0.0 {
            self.positive.add(bucket_index(value), 1);
        } else {
            self.negative.add(bucket_index(-value), 1);
        }
    }

    /// Adds everything `other` has seen.
    pub fn merge(&mut self, other: &Self) {
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zeros += other.zeros;
        self.count += other.count;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `q`-quantile (0 ≤ q ≤ 1), or `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        // The same rank as the "lower" quantile of the sorted values.
        let rank = (q * (self.count - 1) as f64).floor() as u64;
        let mut seen = 0;
        for (index, count) in self.negative.iter().rev() {
            seen += count;
            if seen > rank {
                return Some(-bucket_value(index));
            }
        }
        seen += self.zeros;
        if seen > rank {
            return Some(0.0);
        }
        for (index, count) in self.positive.iter() {
            seen += count;
            if seen > rank {
                return Some(bucket_value(index));
            }
        }
        None
    }

    /// A compact encoding: zeros, then the (index, count) pairs of each side's
    /// non-empty buckets, lowest index first, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(16 + 12 * (self.positive.counts.len() + self.negative.counts.len()));
        bytes.extend_from_slice(&self.zeros.to_le_bytes());
        for side in [&self.positive, &self.negative] {
            bytes.extend_from_slice(&(side.iter().count() as u32).to_le_bytes());
            for (index, count) in side.iter() {
                bytes.extend_from_slice(&index.to_le_bytes());
                bytes.extend_from_slice(&count.to_le_bytes());
            }
        }
        bytes
    }

    /// Decodes `to_bytes`; `None` for bytes it did not write.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut reader = Reader(bytes);
        let zeros = reader.u64()?;
        let mut sides = [Bins::default(), Bins::default()];
        for side in &mut sides {
            let mut previous = None;
            for _ in 0..reader.u32()? {
                let (index, count) = (reader.i32()?, reader.u64()?);
                // Written in increasing order and within the range finite values reach.
                if previous.is_some_and(|previous| index <= previous) || !(-40_000..=40_000).contains(&index) {
                    return None;
                }
                previous = Some(index);
                side.add(index, count);
            }
        }
        if !reader.0.is_empty() {
            return None;
        }
        let [positive, negative] = sides;
        let count = zeros + positive.total() + negative.total();
        Some(Self { positive, negative, zeros, count })
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take().map(i32::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
    }

    #[test]
    fn quantiles_are_within_the_relative_accuracy() {
        // A skewed, latency-like distribution with negatives and zeros mixed in.
        let mut values: Vec<f64> = (1..=10_000).map(|i| (f64::from(i) / 37.0).exp().min(1e9) / 1000.0).collect();
        values.extend([0.0, 0.0, -3.5, -120.0]);
        let mut sketch = QuantileSketch::new();
        values.iter().for_each(|value| sketch.add(*value));
        values.sort_by(f64::total_cmp);
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0] {
            let exact = exact_quantile(&values, q);
            let estimate = sketch.quantile(q).expect("quantile");
            assert!(
                (estimate - exact).abs() <= RELATIVE_ACCURACY * exact.abs() + 1e-12,
                "q={q}: {estimate} vs {exact}"
            );
        }
    }

    #[test]
    fn merged_sketches_equal_one_sketch_of_everything() {
        let (mut left, mut right, mut whole) = (QuantileSketch::new(), QuantileSketch::new(), QuantileSketch::new());
        for i in 0..1000 {
            let value = f64::from(i) * 0.5 - 100.0;
            if i % 3 == 0 {
                left.add(value)
            } else {
                right.add(value)
            }
            whole.add(value);
        }
        left.merge(&right);
        assert_eq!(left, whole);
    }

    #[test]
    fn the_encoding_round_trips_and_rejects_garbage() {
        let mut sketch = QuantileSketch::new();
        [0.0, 1.0, 2.5, -7.0, 1e6].into_iter().for_each(|value| sketch.add(value));
        assert_eq!(QuantileSketch::from_bytes(&sketch.to_bytes()), Some(sketch.clone()));
        assert_eq!(QuantileSketch::from_bytes(&[1, 2, 3]), None);
        let mut trailing = sketch.to_bytes();
        trailing.push(0);
        assert_eq!(QuantileSketch::from_bytes(&trailing), None);
        assert_eq!(QuantileSketch::new().quantile(0.5), None);
    }
}
