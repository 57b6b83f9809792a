//! Drift statistics on 1,000,000 vs 1,000,000 values (issue 5's benchmark size).
//! `cargo bench -p keel-backend --bench drift`; scipy/Evidently's times for the same
//! sizes are in docs/benchmarks.md with the script that measures them.
//!
//! A reference is prepared once when it is stored (sorted, its spread known), so
//! "prepare" is measured on its own and each statistic then only processes the current
//! sample; the "reference not prepared" lines take both samples raw, as a one-off
//! `POST /api/analysis/drift` does (KS then sorts the reference, PSI and Wasserstein do
//! not).

use criterion::{Criterion, criterion_group, criterion_main};
use keel_backend::analysis::drift::ks::ks_2samp;
use keel_backend::analysis::drift::numeric::{self, NumericReference};
use keel_backend::analysis::sort::sorted;
use keel_backend::dataset_drift::{Comparison, Dataset, compare};

/// Normal samples from a fixed seed (splitmix64 + Box–Muller), so every run sees the same data.
fn normal(count: usize, mean: f64, std: f64, seed: u64) -> Vec<f64> {
    let mut state = seed;
    let mut uniform = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1_u64 << 53) as f64
    };
    (0..count)
        .map(|_| {
            let (a, b) = (uniform().max(f64::MIN_POSITIVE), uniform());
            mean + std * (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
        })
        .collect()
}

fn statistics(c: &mut Criterion) {
    let reference_values = normal(1_000_000, 0.0, 1.0, 1);
    let current = normal(1_000_000, 0.1, 1.1, 2);
    let stored = |values: &[f64]| {
        let prepared = NumericReference::new(values.to_vec());
        NumericReference::from_kept(prepared.kept(usize::MAX), values.len(), prepared.std())
    };
    let reference = stored(&reference_values);
    let mut group = c.benchmark_group("drift 1M vs 1M");
    group.sample_size(10);
    group.bench_function("sort 1M (radix, two cores)", |b| b.iter(|| sorted(&current)));
    group.bench_function("sort 1M (sort_unstable_by)", |b| {
        b.iter(|| {
            let mut values = current.clone();
            values.sort_unstable_by(f64::total_cmp);
            values
        })
    });
    group.bench_function("prepare the reference", |b| b.iter(|| stored(&reference_values)));
    group.bench_function("ks", |b| b.iter(|| ks_2samp(&reference, &current)));
    group.bench_function("psi", |b| b.iter(|| numeric::psi(&reference, &current)));
    group.bench_function("jensen_shannon", |b| b.iter(|| numeric::jensen_shannon(&reference, &current)));
    group.bench_function("wasserstein_norm", |b| b.iter(|| numeric::wasserstein_norm(&reference, &current)));
    let raw = || NumericReference::new(reference_values.clone());
    group.bench_function("ks, reference not prepared", |b| b.iter(|| ks_2samp(&raw(), &current)));
    group.bench_function("psi, reference not prepared", |b| b.iter(|| numeric::psi(&raw(), &current)));
    group.bench_function("wasserstein_norm, reference not prepared", |b| {
        b.iter(|| numeric::wasserstein_norm(&raw(), &current))
    });
    group.finish();
}

/// The DataDriftPreset comparison: the CSV files `backend/benches/dataset_drift_oracle.py`
/// writes (100,000 rows × 16 numeric and 4 categorical columns), read before timing, as
/// Evidently gets its DataFrames.
fn dataset(c: &mut Criterion) {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/drift-dataset");
    let read = |name: &str| -> Option<Dataset> {
        let file = std::fs::File::open(directory.join(name)).ok()?;
        Dataset::from_csv(std::io::BufReader::new(file)).ok()
    };
    let (Some(reference), Some(current)) = (read("reference.csv"), read("current.csv")) else {
        eprintln!("skipping the dataset benchmark: run backend/benches/dataset_drift_oracle.py first");
        return;
    };
    let mut group = c.benchmark_group("dataset drift 100k rows x 20 columns");
    group.sample_size(10);
    group.bench_function("compare every column", |b| {
        b.iter(|| compare(&reference, &current, &Comparison::default(), |_, _| {}))
    });
    group.finish();
}

criterion_group!(benches, statistics, dataset);
criterion_main!(benches);
