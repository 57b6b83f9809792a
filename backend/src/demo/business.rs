//! The demo's business case: two years of ledger for four models (investment, running
//! costs, benefits with their ranges, the business case's plan), KPIs with monthly values,
//! the "Retail lending" programme, and an incident cost for the credit model.

use keel_shared::ModelId;
use keel_shared::kpis::{KpiAggregation, KpiCadence, KpiDefinition, KpiDirection, KpiSource, KpiUnit, KpiValue};
use keel_shared::ledger::{IncidentCost, ReportCurrency, YearMonth};

use crate::services::{kpis, ledger};
use crate::store::Store;
use crate::store::audit::Actor;

/// (model, investment in CZK, monthly running cost in EUR, monthly benefit in CZK at
/// full ramp-up, months the ramp-up takes).
const CASES: &[(&str, f64, f64, f64, i64)] = &[
    ("credit-risk-scoring", 3_200_000.0, 2_400.0, 410_000.0, 6),
    ("invoice-field-extraction", 1_400_000.0, 1_100.0, 150_000.0, 4),
    ("churn-propensity", 1_900_000.0, 1_600.0, 120_000.0, 8),
    ("demand-forecast-cz", 2_600_000.0, 1_900.0, 180_000.0, 10),
];

/// A plausible EUR fixing for month `offset`, entered with the row (no network).
fn euro_rate(offset: i64) -> f64 {
    24.6 + 0.35 * ((offset as f64) / 4.0).sin()
}

fn ledger_csv(first: YearMonth, months: i64, case: &(&str, f64, f64, f64, i64)) -> String {
    let (_, investment, running_eur, benefit, ramp) = *case;
    let mut csv = String::from("month,kind,category,amount,currency,czk_per_unit,low,high,planned\n");
    for offset in 0..months {
        let month = YearMonth::from_index(first.index() + offset);
        let rate = format!("{:.3}", euro_rate(offset));
        if offset == 0 {
            csv.push_str(&format!(
                "{month},cost,development,{investment},CZK,1,{},{},\n",
                investment * 0.95,
                investment * 1.1
            ));
            csv.push_str(&format!("{month},cost,development,{investment},CZK,1,,,true\n"));
        }
        csv.push_str(&format!(
            "{month},cost,compute,{running_eur},EUR,{rate},{},{},\n",
            running_eur * 0.9,
            running_eur * 1.15
        ));
        csv.push_str(&format!("{month},cost,monitoring,180,EUR,{rate},,,\n"));
        csv.push_str(&format!("{month},cost,personnel,{},CZK,1,,,\n", 38_000 + 2_000 * (offset % 3)));
        csv.push_str(&format!("{month},cost,compute,{running_eur},EUR,{rate},,,true\n"));
        if offset >= 1 {
            let share = (offset as f64 / ramp as f64).min(1.0);
            let actual = benefit * share * (0.92 + 0.06 * ((offset * 7 % 5) as f64) / 4.0);
            csv.push_str(&format!(
                "{month},benefit,cost_reduction,{actual:.0},CZK,1,{:.0},{:.0},\n",
                actual * 0.85,
                actual * 1.15
            ));
            let planned = benefit * (offset as f64 / (ramp as f64 * 0.75)).min(1.0);
            csv.push_str(&format!("{month},benefit,cost_reduction,{planned:.0},CZK,1,,,true\n"));
        }
    }
    csv
}

/// (model, KPI, unit, direction, baseline, target, how the monthly values go).
const KPIS: &[(&str, &str, KpiUnit, KpiDirection, f64, f64, f64)] = &[
    ("credit-risk-scoring", "Manual review rate", KpiUnit::Percent, KpiDirection::LowerIsBetter, 38.0, 18.0, 1.0),
    ("credit-risk-scoring", "Time to a credit decision", KpiUnit::Hours, KpiDirection::LowerIsBetter, 30.0, 4.0, 1.0),
    (
        "invoice-field-extraction",
        "Invoices without manual touch",
        KpiUnit::Percent,
        KpiDirection::HigherIsBetter,
        22.0,
        70.0,
        1.1,
    ),
    (
        "churn-propensity",
        "Customers retained by offers a month",
        KpiUnit::Count,
        KpiDirection::HigherIsBetter,
        0.0,
        400.0,
        0.6,
    ),
];

/// Loads the demo's ledgers, KPIs and programme unless the store already has KPIs.
pub async fn load(store: &Store) -> anyhow::Result<()> {
    if !store.kpis(None, None).await?.is_empty() {
        return Ok(());
    }
    let models = store.resolve_models(CASES.iter().map(|case| case.0)).await?;
    let keeper = store
        .user_by_username("adam.approver")
        .await?
        .map(|user| Actor { id: Some(user.user.id), name: user.user.username })
        .unwrap_or_else(Actor::system);
    let today = store.clock().now().date_naive();
    let this_month = YearMonth::of(today);
    let first = YearMonth::from_index(this_month.index() - 23);
    for case in CASES {
        let Some(id) = models.get(case.0) else { continue };
        ledger::replace(store, &ModelId(id.clone()), &ledger_csv(first, 24, case), &keeper).await?;
    }
    if let Some(credit) = models.get("credit-risk-scoring") {
        let cost = IncidentCost { per_minute: 120.0, currency: ReportCurrency::Czk, czk_per_eur: Some(25.0) };
        ledger::set_incident_cost(store, &ModelId(credit.clone()), cost, &keeper).await?;
    }
    for (model, name, unit, direction, baseline, target, pace) in KPIS {
        let Some(id) = models.get(*model) else { continue };
        let baseline_date = first.first_day();
        let target_date = YearMonth::from_index(this_month.index() + 6).first_day();
        let definition = KpiDefinition {
            name: (*name).into(),
            unit: *unit,
            direction: *direction,
            model_id: Some(ModelId(id.clone())),
            programme: None,
            baseline: *baseline,
            baseline_date,
            target: *target,
            target_date,
            owner: "Operations".into(),
            cadence: KpiCadence::Monthly,
            source: None,
        };
        let kpi = kpis::create(store, definition.clone(), &keeper).await?;
        // Monthly values: the planned path × `pace` (behind or ahead of it), with a range.
        let values: Vec<KpiValue> = (0..24)
            .map(|offset| {
                let day = YearMonth::from_index(first.index() + offset).last_day().min(today);
                let planned = definition.planned(day);
                let likely = baseline + (planned - baseline) * pace;
                let spread = (target - baseline).abs() * 0.04;
                let value = |x: f64| (x * 10.0).round() / 10.0;
                KpiValue {
                    day,
                    likely: value(likely),
                    low: Some(value(likely - spread)),
                    high: Some(value(likely + spread)),
                    note: format!("Month-end figure for {}", day.format("%B %Y")),
                    entered_by: String::new(),
                }
            })
            .collect();
        kpis::add_values(store, &kpi.id, values, &keeper).await?;
    }
    // One KPI Keel measures itself: the credit model's p95 latency, a value a day.
    if let Some(credit) = models.get("credit-risk-scoring") {
        let definition = KpiDefinition {
            name: "Scoring latency (p95)".into(),
            unit: KpiUnit::Milliseconds,
            direction: KpiDirection::LowerIsBetter,
            model_id: Some(ModelId(credit.clone())),
            programme: None,
            baseline: 400.0,
            baseline_date: today - chrono::TimeDelta::days(30),
            target: 250.0,
            target_date: today + chrono::TimeDelta::days(60),
            owner: "Retail credit operations".into(),
            cadence: KpiCadence::Daily,
            source: Some(KpiSource { metric: "latency_ms".into(), aggregation: KpiAggregation::P95, scale: 1.0 }),
        };
        kpis::create(store, definition, &keeper).await?;
    }
    let lending: Vec<ModelId> = ["credit-risk-scoring", "churn-propensity"]
        .iter()
        .filter_map(|name| models.get(*name).map(|id| ModelId(id.clone())))
        .collect();
    store.put_programme("Retail lending", &lending, &keeper).await?;
    Ok(())
}
