//! Business figures for a programme of 200 models × 36 months of ledger: the summed ROI
//! figures with the Monte Carlo of 10,000 draws (goal < 100 ms), and the Monte Carlo alone.
//! Each model has five lines (development, compute, personnel with a range, cost
//! reduction and revenue increase with ranges), one entry per line and month.
//! Run with `cargo bench -p keel-backend --bench business`; results in docs/benchmarks.md.

use criterion::{Criterion, criterion_group, criterion_main};
use keel_backend::services::ledger::{BOARD_HORIZON_MONTHS, DRAWS, SEED, figures_of};
use keel_shared::ModelId;
use keel_shared::ledger::{LedgerCategory, LedgerEntry, ReportCurrency, YearMonth, ranged_lines, simulate};

const MODELS: usize = 200;
const MONTHS: i64 = 36;

fn entry(month: YearMonth, category: LedgerCategory, amount: f64, range: Option<(f64, f64)>) -> LedgerEntry {
    LedgerEntry {
        month,
        kind: category.kind(),
        category,
        amount,
        currency: "CZK".into(),
        czk_per_unit: 1.0,
        rate_source: "CZK".into(),
        czk_per_eur: Some(25.0),
        eur_source: Some("entered".into()),
        low: range.map(|(low, _)| low),
        high: range.map(|(_, high)| high),
        planned: false,
        incident_id: None,
    }
}

fn programme() -> Vec<(ModelId, LedgerEntry)> {
    let first = YearMonth { year: 2024, month: 1 };
    let mut entries = Vec::new();
    for model in 0..MODELS {
        let id = ModelId(format!("model-{model}"));
        let scale = 1.0 + (model % 7) as f64 / 10.0;
        for offset in 0..MONTHS {
            let month = YearMonth::from_index(first.index() + offset);
            if offset == 0 {
                entries.push((id.clone(), entry(month, LedgerCategory::Development, 2e6 * scale, None)));
            }
            let lines = [
                (LedgerCategory::Compute, 40_000.0 * scale, None),
                (LedgerCategory::Personnel, 60_000.0, Some((50_000.0, 80_000.0))),
                (LedgerCategory::CostReduction, 120_000.0 * scale, Some((60_000.0 * scale, 150_000.0 * scale))),
                (LedgerCategory::RevenueIncrease, 50_000.0, Some((0.0, 90_000.0))),
            ];
            for (category, amount, range) in lines {
                entries.push((id.clone(), entry(month, category, amount, range)));
            }
        }
    }
    entries
}

fn business(c: &mut Criterion) {
    let entries = programme();
    let mut group = c.benchmark_group("programme of 200 models x 36 months");
    group.sample_size(20);
    group.bench_function("ROI figures + Monte Carlo of 10,000 draws", |bench| {
        bench.iter(|| std::hint::black_box(figures_of(&entries, ReportCurrency::Czk, 0.08)));
    });
    let first = YearMonth { year: 2024, month: 1 };
    let (exact, lines) = ranged_lines(&entries, ReportCurrency::Czk, first, MONTHS as usize);
    group.bench_function("Monte Carlo alone (600 ranged lines)", |bench| {
        bench.iter(|| std::hint::black_box(simulate(&exact, &lines, DRAWS, SEED, BOARD_HORIZON_MONTHS)));
    });
    group.finish();
}

criterion_group!(benches, business);
criterion_main!(benches);
