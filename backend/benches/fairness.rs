//! Fairness review benchmark: every metric of a review (per group selection rate, TPR,
//! FPR and count; demographic parity, equalized odds and equal opportunity between
//! groups) for 1,000,000 rows × 2 protected attributes, on the arrays
//! `backend/benches/fairness_oracle.py` gives Fairlearn 0.15. Goal: ≥ 1,000× faster.
//! Run with `cargo bench -p keel-backend --bench fairness`; results in docs/benchmarks.md.

use criterion::{Criterion, criterion_group, criterion_main};
use keel_backend::analysis::fairness::attribute_fairness;
use keel_shared::evidence::FairnessThresholds;

const ROWS: usize = 1_000_000;

/// The oracle's arrays, by the same formulas: truth, prediction, 3 genders, 5 age bands.
fn arrays() -> (Vec<bool>, Vec<bool>, Vec<u32>, Vec<u32>) {
    let truth = (0..ROWS).map(|i| (i * 7919) % 10 < 4).collect();
    let gender: Vec<u32> = (0..ROWS).map(|i| (i % 3) as u32).collect();
    let age: Vec<u32> = (0..ROWS).map(|i| ((i * 31) % 5) as u32).collect();
    let prediction = (0..ROWS).map(|i| (i * 104_729) % 10 < 3 + (i % 3)).collect();
    (truth, prediction, gender, age)
}

fn review(c: &mut Criterion) {
    let (truth, prediction, gender, age) = arrays();
    let genders: Vec<String> = ["female", "male", "other"].map(str::to_owned).to_vec();
    let ages: Vec<String> = (0..5).map(|band| format!("band-{band}")).collect();
    let thresholds = FairnessThresholds::default();
    c.bench_function("fairness review, 1M rows x 2 attributes", |bench| {
        bench.iter(|| {
            let first = attribute_fairness("gender", &truth, &prediction, &gender, &genders, &thresholds);
            let second = attribute_fairness("age", &truth, &prediction, &age, &ages, &thresholds);
            std::hint::black_box((first, second))
        });
    });
}

criterion_group!(benches, review);
criterion_main!(benches);
