//! A model's cost and benefit ledger and what the board reads from it: cumulative net
//! value per month, ROI, simple payback, NPV, monthly IRR, and a seeded Monte Carlo of the
//! net value. The conventions (also in the README):
//!
//! - Month 0 is the earliest ledger month; every month from there to the latest is
//!   covered (a month without entries has a net value of 0).
//! - ROI = (benefits − costs) / costs; none when there are no costs.
//! - Payback is the first month k where the cumulative net value C crosses zero, with
//!   linear interpolation inside it: (k − 1) + |C(k − 1)| / CF(k). When C(0) ≥ 0 it is 0;
//!   when C never reaches 0 it is "not reached within N months" (never extrapolated).
//! - NPV discounts month t by (1 + m)^t, m = (1 + r)^(1/12) − 1 for the annual rate r;
//!   month 0 is undiscounted, as `numpy_financial.npv` does.
//! - IRR is monthly: the rate at which the NPV is 0, the root closest to 0 when there are
//!   several (as `numpy_financial.irr`), none when the flows never change sign.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::ModelId;

named_enum! {
    /// Whether an entry costs or earns.
    LedgerKind {
        Cost => "cost",
        Benefit => "benefit",
    }
}

named_enum! {
    /// What an entry is for; each category belongs to one kind.
    LedgerCategory {
        Development => "development",
        Compute => "compute",
        Storage => "storage",
        Monitoring => "monitoring",
        Personnel => "personnel",
        Licences => "licences",
        /// Written by Keel from an incident's downtime, never imported.
        Incident => "incident",
        CostReduction => "cost_reduction",
        RevenueIncrease => "revenue_increase",
        Other => "other",
    }
}

impl LedgerCategory {
    pub fn kind(self) -> LedgerKind {
        match self {
            Self::CostReduction | Self::RevenueIncrease | Self::Other => LedgerKind::Benefit,
            _ => LedgerKind::Cost,
        }
    }

    /// What the console calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Development => "Development / investment",
            Self::Compute => "Compute",
            Self::Storage => "Storage",
            Self::Monitoring => "Monitoring",
            Self::Personnel => "Personnel",
            Self::Licences => "Licences",
            Self::Incident => "Incidents",
            Self::CostReduction => "Cost reduction",
            Self::RevenueIncrease => "Revenue increase",
            Self::Other => "Other benefit",
        }
    }
}

named_enum! {
    /// The currencies figures are reported in.
    ReportCurrency {
        Eur => "EUR",
        Czk => "CZK",
    }
}

/// A calendar month, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl YearMonth {
    /// Months since year 0, so that differences count months.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    pub fn from_index(index: i64) -> Self {
        Self { year: i32::try_from(index.div_euclid(12)).unwrap_or_default(), month: (index.rem_euclid(12) + 1) as u32 }
    }

    pub fn of(date: NaiveDate) -> Self {
        Self { year: date.year(), month: date.month() }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    pub fn last_day(self) -> NaiveDate {
        Self::from_index(self.index() + 1).first_day().pred_opt().unwrap_or_default()
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("'{text}' is not a month: write YYYY-MM, e.g. 2026-03");
        let (year, month) = text.trim().split_once('-').ok_or_else(invalid)?;
        let (year, month): (i32, u32) = (year.parse().map_err(|_| invalid())?, month.parse().map_err(|_| invalid())?);
        if year.to_string().len() != 4 || !(1..=12).contains(&month) {
            return Err(invalid());
        }
        Ok(Self { year, month })
    }
}

impl Serialize for YearMonth {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

/// One ledger entry, with the exchange rates it was converted at and where they came from,
/// so its value in EUR or CZK can be recomputed years later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub month: YearMonth,
    pub kind: LedgerKind,
    pub category: LedgerCategory,
    /// In `currency`, never negative (the kind says which way it goes).
    pub amount: f64,
    /// ISO 4217 code.
    pub currency: String,
    /// Crowns per one unit of `currency` (1 for CZK).
    pub czk_per_unit: f64,
    /// Where `czk_per_unit` came from: "entered", "CZK", or the fixing used.
    pub rate_source: String,
    /// Crowns per euro for the month, when a rate was known.
    pub czk_per_eur: Option<f64>,
    pub eur_source: Option<String>,
    /// The range for the Monte Carlo, in `currency`; absent means exact.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// A row of the business case's plan, kept apart from actuals.
    pub planned: bool,
    /// Set on the entries Keel writes from an incident's downtime.
    pub incident_id: Option<String>,
}

impl LedgerEntry {
    /// `value` (in the entry's currency) in `currency`, or `None` without a euro rate.
    pub fn convert(&self, value: f64, currency: ReportCurrency) -> Option<f64> {
        let czk = value * self.czk_per_unit;
        match currency {
            ReportCurrency::Czk => Some(czk),
            ReportCurrency::Eur => self.czk_per_eur.filter(|rate| *rate > 0.0).map(|rate| czk / rate),
        }
    }

    /// The signed value (benefits positive) with its range, in `currency`.
    pub fn signed(&self, currency: ReportCurrency) -> Option<SignedAmount> {
        let sign = if self.kind == LedgerKind::Benefit { 1.0 } else { -1.0 };
        let likely = self.convert(self.amount, currency)?;
        let low = self.convert(self.low.unwrap_or(self.amount), currency)?;
        let high = self.convert(self.high.unwrap_or(self.amount), currency)?;
        Some(SignedAmount { sign, low, likely, high })
    }
}

/// An entry's value in the report currency: `sign` × low / likely / high.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedAmount {
    pub sign: f64,
    pub low: f64,
    pub likely: f64,
    pub high: f64,
}

/// One month of the figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthFigures {
    pub month: YearMonth,
    pub cost: f64,
    pub benefit: f64,
    pub net: f64,
    /// The cumulative net value to the end of this month.
    pub cumulative: f64,
}

/// `GET /api/models/{id}/roi`: the figures of the actual entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoiFigures {
    pub currency: ReportCurrency,
    pub discount_rate: f64,
    pub total_cost: f64,
    pub total_benefit: f64,
    pub net_value: f64,
    /// (benefits − costs) / costs; `None` without costs.
    pub roi: Option<f64>,
    /// Months from month 0 to payback; `None` when not reached within `months_covered`.
    pub payback_months: Option<f64>,
    /// The business case's planned payback, from the plan rows.
    pub planned_payback_months: Option<f64>,
    pub npv: f64,
    pub irr_monthly: Option<f64>,
    /// How many months the figures cover (month 0 included).
    pub months_covered: u32,
    pub months: Vec<MonthFigures>,
    /// The plan's cumulative net value per month, for the chart.
    pub planned: Vec<MonthFigures>,
}

/// `GET /api/models/{id}/roi` query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoiQuery {
    #[serde(default = "default_currency")]
    pub currency: ReportCurrency,
    /// Annual, e.g. 0.08.
    #[serde(default = "default_discount_rate")]
    pub discount_rate: f64,
}

impl Default for RoiQuery {
    fn default() -> Self {
        Self { currency: default_currency(), discount_rate: default_discount_rate() }
    }
}

/// Figures are in euros unless asked otherwise.
pub(crate) fn default_currency() -> ReportCurrency {
    ReportCurrency::Eur
}

fn default_discount_rate() -> f64 {
    0.08
}

/// Costs, benefits and net value month by month from month 0 (the earliest month), and
/// the cumulative net value.
pub fn monthly_figures(entries: &[(YearMonth, f64)]) -> Vec<MonthFigures> {
    let (Some(first), Some(last)) =
        (entries.iter().map(|(month, _)| *month).min(), entries.iter().map(|(month, _)| *month).max())
    else {
        return Vec::new();
    };
    let mut months: Vec<MonthFigures> = (first.index()..=last.index())
        .map(|index| MonthFigures {
            month: YearMonth::from_index(index),
            cost: 0.0,
            benefit: 0.0,
            net: 0.0,
            cumulative: 0.0,
        })
        .collect();
    for (month, value) in entries {
        let slot = &mut months[(month.index() - first.index()) as usize];
        if *value < 0.0 {
            slot.cost -= value;
        } else {
            slot.benefit += value;
        }
        slot.net += value;
    }
    let mut cumulative = 0.0;
    for month in &mut months {
        cumulative += month.net;
        month.cumulative = cumulative;
    }
    months
}

/// The first crossing of the cumulative net value through zero, interpolated linearly.
pub fn payback_months(cash_flows: &[f64]) -> Option<f64> {
    let mut cumulative = *cash_flows.first()?;
    if cumulative >= 0.0 {
        return Some(0.0);
    }
    for (k, flow) in cash_flows.iter().enumerate().skip(1) {
        let before = cumulative;
        cumulative += flow;
        if cumulative >= 0.0 {
            return Some((k - 1) as f64 + before.abs() / flow);
        }
    }
    None
}

/// The monthly rate for an annual one.
pub fn monthly_rate(annual: f64) -> f64 {
    (1.0 + annual).powf(1.0 / 12.0) - 1.0
}

/// Σ CF(t) / (1 + rate)^t from t = 0, as `numpy_financial.npv`.
pub fn npv(rate: f64, cash_flows: &[f64]) -> f64 {
    let mut discount = 1.0;
    let mut total = 0.0;
    for flow in cash_flows {
        total += flow / discount;
        discount *= 1.0 + rate;
    }
    total
}

/// The rate > −1 at which the NPV is zero closest to 0, or `None`.
pub fn irr(cash_flows: &[f64]) -> Option<f64> {
    let positive = cash_flows.iter().any(|flow| *flow > 0.0);
    let negative = cash_flows.iter().any(|flow| *flow < 0.0);
    if !positive || !negative {
        return None;
    }
    // In x = 1 / (1 + rate) the NPV is a polynomial; scan x over (0, 1000] for sign
    // changes (rates from +∞ down to −0.999) and refine each by bisection.
    let value = |x: f64| cash_flows.iter().rev().fold(0.0, |total, flow| total * x + flow);
    let steps = 4_000;
    let grid = |i: usize| 1e-3_f64.powf(1.0 - 2.0 * i as f64 / steps as f64);
    let mut roots = Vec::new();
    let mut previous = (grid(0), value(grid(0)));
    for i in 1..=steps {
        let x = grid(i);
        let current = (x, value(x));
        if current.1 == 0.0 {
            roots.push(x);
        } else if previous.1 != 0.0 && (previous.1 < 0.0) != (current.1 < 0.0) {
            let (mut low, mut high) = (previous.0, current.0);
            let low_negative = previous.1 < 0.0;
            for _ in 0..200 {
                let middle = 0.5 * (low + high);
                if middle <= low || middle >= high {
                    break;
                }
                if (value(middle) < 0.0) == low_negative {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            roots.push(0.5 * (low + high));
        }
        previous = current;
    }
    roots.into_iter().map(|x| 1.0 / x - 1.0).min_by(|a, b| a.abs().total_cmp(&b.abs()))
}

/// The figures of `entries` (actuals and plan rows) in `currency`. Entries without a euro
/// rate cannot be reported in euros: their months are the error.
pub fn roi_figures(
    entries: &[LedgerEntry],
    currency: ReportCurrency,
    discount_rate: f64,
) -> Result<RoiFigures, String> {
    let mut actual = Vec::new();
    let mut plan = Vec::new();
    let mut missing = Vec::new();
    for entry in entries {
        match entry.signed(currency) {
            Some(amount) => {
                let target = if entry.planned { &mut plan } else { &mut actual };
                target.push((entry.month, amount.sign * amount.likely));
            }
            None => missing.push(entry.month.to_string()),
        }
    }
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        return Err(format!(
            "no euro rate is recorded for {}: import the CNB or ECB rates for those months and upload the ledger again",
            missing.join(", ")
        ));
    }
    let months = monthly_figures(&actual);
    let flows: Vec<f64> = months.iter().map(|month| month.net).collect();
    let planned = monthly_figures(&plan);
    let planned_flows: Vec<f64> = planned.iter().map(|month| month.net).collect();
    let total_cost: f64 = months.iter().map(|month| month.cost).sum();
    let total_benefit: f64 = months.iter().map(|month| month.benefit).sum();
    Ok(RoiFigures {
        currency,
        discount_rate,
        total_cost,
        total_benefit,
        net_value: total_benefit - total_cost,
        roi: (total_cost > 0.0).then(|| (total_benefit - total_cost) / total_cost),
        payback_months: payback_months(&flows),
        planned_payback_months: payback_months(&planned_flows),
        npv: npv(monthly_rate(discount_rate), &flows),
        irr_monthly: irr(&flows),
        months_covered: flows.len() as u32,
        months,
        planned,
    })
}

/// How the range of a Monte Carlo result may be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetValueRange {
    /// Draws made.
    pub draws: u32,
    pub seed: u64,
    /// The 10th, 50th and 90th percentile of the simulated net value.
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    /// The share of draws that pay back within `horizon_months`.
    pub payback_probability: f64,
    pub horizon_months: u32,
    /// What the numbers are, for the label beside them.
    pub label: String,
}

/// One (model, category) line of the Monte Carlo: its months' likely values (signed) and the
/// line's total low / likely / high (signed).
#[derive(Debug, Clone, PartialEq)]
pub struct RangedLine {
    pub monthly: Vec<f64>,
    pub low: f64,
    pub likely: f64,
    pub high: f64,
}

/// The lines of `entries` by (model, category), months counted from `first`, and the
/// monthly sum of everything exact.
pub fn ranged_lines(
    entries: &[(ModelId, LedgerEntry)],
    currency: ReportCurrency,
    first: YearMonth,
    months: usize,
) -> (Vec<f64>, Vec<RangedLine>) {
    let mut exact = vec![0.0; months];
    let mut lines: std::collections::BTreeMap<(String, LedgerCategory), RangedLine> = Default::default();
    for (model, entry) in entries.iter().filter(|(_, entry)| !entry.planned) {
        let Some(amount) = entry.signed(currency) else { continue };
        let Ok(at) = usize::try_from(entry.month.index() - first.index()) else { continue };
        if at >= months {
            continue;
        }
        if amount.low == amount.likely && amount.high == amount.likely {
            exact[at] += amount.sign * amount.likely;
            continue;
        }
        let line = lines.entry((model.0.clone(), entry.category)).or_insert_with(|| RangedLine {
            monthly: vec![0.0; months],
            low: 0.0,
            likely: 0.0,
            high: 0.0,
        });
        line.monthly[at] += amount.sign * amount.likely;
        line.low += amount.sign * amount.low;
        line.likely += amount.sign * amount.likely;
        line.high += amount.sign * amount.high;
    }
    (exact, lines.into_values().collect())
}

/// SplitMix64: small, seeded, the same on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// A draw from the triangular distribution on [a, c] with mode b, by inversion.
pub fn triangular(a: f64, b: f64, c: f64, u: f64) -> f64 {
    let (a, c) = (a.min(c), a.max(c));
    let b = b.clamp(a, c);
    if c <= a {
        return b;
    }
    let split = (b - a) / (c - a);
    if u < split { a + (u * (c - a) * (b - a)).sqrt() } else { c - ((1.0 - u) * (c - a) * (c - b)).sqrt() }
}

/// Draws each ranged line's total once per draw from its triangular low / likely / high
/// and scales its months by it; the net value's P10 / P50 / P90 and the share of draws
/// whose cumulative net value reaches zero within `horizon` months.
pub fn simulate(exact: &[f64], lines: &[RangedLine], draws: u32, seed: u64, horizon: u32) -> NetValueRange {
    let drawn = draw(exact, lines, draws, seed, horizon);
    summarise_draws(vec![drawn], seed, horizon)
}

/// The draws of one stream: each draw's net value, and how many paid back in time.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    pub net_values: Vec<f64>,
    pub paid_back: u32,
}

/// `draws` draws from the stream seeded `seed` (see `simulate`).
pub fn draw(exact: &[f64], lines: &[RangedLine], draws: u32, seed: u64, horizon: u32) -> Draws {
    let months = exact.len();
    // Cumulative per line, so a draw is one weighted sum of rows.
    let cumulative = |monthly: &[f64]| {
        monthly
            .iter()
            .scan(0.0, |total, value| {
                *total += value;
                Some(*total)
            })
            .collect::<Vec<f64>>()
    };
    let base = cumulative(exact);
    // A line whose likely total is 0 cannot be scaled: its draw lands in its last month.
    let rows: Vec<(Vec<f64>, usize)> = lines
        .iter()
        .map(|line| (cumulative(&line.monthly), line.monthly.iter().rposition(|value| *value != 0.0).unwrap_or(0)))
        .collect();
    let within = (horizon as usize + 1).min(months);
    let mut random = SplitMix64::new(seed);
    let mut net_values = Vec::with_capacity(draws as usize);
    let mut paid_back = 0_u32;
    let mut path = vec![0.0; months];
    let mut totals = vec![0.0; lines.len()];
    for _ in 0..draws {
        for (total, line) in totals.iter_mut().zip(lines) {
            *total = triangular(line.low, line.likely, line.high, random.next_f64());
        }
        let net = base.last().copied().unwrap_or_default() + totals.iter().sum::<f64>();
        net_values.push(net);
        // When the last month is inside the horizon, a net value ≥ 0 has paid back: only
        // the other draws need their month-by-month path.
        if within == months && net >= 0.0 {
            paid_back += 1;
            continue;
        }
        path.copy_from_slice(&base);
        for ((line, (row, last_at)), total) in lines.iter().zip(&rows).zip(&totals) {
            if line.likely == 0.0 {
                path[*last_at..].iter_mut().for_each(|slot| *slot += total);
                continue;
            }
            let factor = total / line.likely;
            for (slot, value) in path.iter_mut().zip(row) {
                *slot += factor * value;
            }
        }
        if path[..within].iter().any(|value| *value >= 0.0) {
            paid_back += 1;
        }
    }
    Draws { net_values, paid_back }
}

/// The range of the draws of every stream (seeded `seed`, `seed + 1`, …).
pub fn summarise_draws(streams: Vec<Draws>, seed: u64, horizon: u32) -> NetValueRange {
    let paid_back: u32 = streams.iter().map(|stream| stream.paid_back).sum();
    let mut net_values: Vec<f64> = streams.into_iter().flat_map(|stream| stream.net_values).collect();
    let draws = net_values.len() as u32;
    net_values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if net_values.is_empty() {
            return 0.0;
        }
        net_values[((net_values.len() - 1) as f64 * q).round() as usize]
    };
    NetValueRange {
        draws,
        seed,
        p10: at(0.1),
        p50: at(0.5),
        p90: at(0.9),
        payback_probability: if draws == 0 { 0.0 } else { f64::from(paid_back) / f64::from(draws) },
        horizon_months: horizon,
        label: format!(
            "Simulated: P10 / P50 / P90 of {draws} draws (seed {seed}) from each line's low / likely / high \
             (triangular) — a spread of estimates, not a confidence interval"
        ),
    }
}

/// `PUT /api/models/{id}/ledger` answer and `GET …/ledger`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub model_id: ModelId,
    pub entries: Vec<LedgerEntry>,
    pub incident_cost: Option<IncidentCost>,
}

/// `PUT /api/models/{id}/incident-cost`: what a minute of an incident's downtime
/// (detected → mitigated) costs; Keel writes it into the ledger as category `incident`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentCost {
    pub per_minute: f64,
    pub currency: ReportCurrency,
    /// Crowns per euro when no imported fixing covers the incident's month.
    #[serde(default)]
    pub czk_per_eur: Option<f64>,
}

impl IncidentCost {
    pub fn problems(&self) -> Option<&'static str> {
        if !self.per_minute.is_finite() || self.per_minute < 0.0 {
            return Some("the cost per minute must be a number ≥ 0");
        }
        if self.czk_per_eur.is_some_and(|rate| !rate.is_finite() || rate <= 0.0) {
            return Some("crowns per euro must be a positive number");
        }
        if self.currency == ReportCurrency::Eur && self.czk_per_eur.is_none() {
            return Some("give crowns per euro (czk_per_eur): used for months no imported fixing covers");
        }
        None
    }

    /// The ledger entry of an incident down for `minutes` in `month`, with the month's
    /// euro fixing if one is known.
    pub fn entry(
        &self,
        incident_id: &str,
        month: YearMonth,
        minutes: f64,
        fixing: Option<(f64, String)>,
    ) -> LedgerEntry {
        let (czk_per_eur, eur_source) = match fixing {
            Some((rate, source)) => (Some(rate), Some(source)),
            None => (self.czk_per_eur, self.czk_per_eur.map(|_| "entered with the incident cost".to_owned())),
        };
        let (currency, czk_per_unit, rate_source) = match self.currency {
            ReportCurrency::Czk => ("CZK", 1.0, "CZK".to_owned()),
            // `problems` makes sure a euro cost has its rate.
            ReportCurrency::Eur => ("EUR", czk_per_eur.unwrap_or(f64::NAN), eur_source.clone().unwrap_or_default()),
        };
        LedgerEntry {
            month,
            kind: LedgerKind::Cost,
            category: LedgerCategory::Incident,
            amount: self.per_minute * minutes,
            currency: currency.into(),
            czk_per_unit,
            rate_source,
            czk_per_eur,
            eur_source,
            low: None,
            high: None,
            planned: false,
            incident_id: Some(incident_id.to_owned()),
        }
    }
}

/// `GET /api/exchange-rates` and the answer of an import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRate {
    pub day: NaiveDate,
    pub currency: String,
    pub czk_per_unit: f64,
    /// "CNB" or "ECB".
    pub source: String,
}

/// The answer of `POST /api/exchange-rates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatesImported {
    pub source: String,
    pub days: u32,
    pub rates: u32,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_count() {
        let march: YearMonth = "2026-03".parse().expect("valid");
        assert_eq!(march.to_string(), "2026-03");
        assert_eq!(YearMonth::from_index(march.index() + 10).to_string(), "2027-01");
        assert_eq!(march.last_day(), NaiveDate::from_ymd_opt(2026, 3, 31).expect("valid"));
        assert!("2026-13".parse::<YearMonth>().is_err());
        assert!("26-01".parse::<YearMonth>().is_err());
        assert!("2026/01".parse::<YearMonth>().is_err());
    }

    #[test]
    fn payback_interpolates_inside_the_crossing_month_and_is_never_extrapolated() {
        // C: −100, −60, −20, +20 → crosses in month 3 at 2 + 20/40.
        assert_eq!(payback_months(&[-100.0, 40.0, 40.0, 40.0]), Some(2.5));
        assert_eq!(payback_months(&[-100.0, 10.0, 10.0]), None);
        assert_eq!(payback_months(&[5.0, -10.0]), Some(0.0));
        assert_eq!(payback_months(&[-100.0, 100.0]), Some(1.0));
    }

    #[test]
    fn npv_and_irr_agree_with_numpy_financial_examples() {
        // numpy_financial's documented examples.
        assert!((irr(&[-100.0, 39.0, 59.0, 55.0, 20.0]).expect("valid") - 0.28095).abs() < 1e-5);
        assert!((irr(&[-100.0, 0.0, 0.0, 74.0]).expect("valid") + 0.0955).abs() < 1e-4);
        assert!((irr(&[-100.0, 100.0, 0.0, -7.0]).expect("valid") + 0.0833).abs() < 1e-4);
        assert!((irr(&[-5.0, 10.5, 1.0, -8.0, 1.0]).expect("valid") - 0.0886).abs() < 1e-4);
        assert_eq!(irr(&[100.0, 5.0]), None);
        assert!((npv(0.1, &[-100.0, 110.0])).abs() < 1e-12);
        assert!((monthly_rate(0.08) - (1.08_f64.powf(1.0 / 12.0) - 1.0)).abs() < 1e-15);
    }

    #[test]
    fn triangular_draws_stay_in_range_and_have_its_mean() {
        let mut random = SplitMix64::new(7);
        let draws: Vec<f64> = (0..100_000).map(|_| triangular(10.0, 20.0, 60.0, random.next_f64())).collect();
        assert!(draws.iter().all(|draw| (10.0..=60.0).contains(draw)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 30.0).abs() < 0.2, "mean {mean}");
        assert_eq!(triangular(5.0, 5.0, 5.0, 0.3), 5.0);
    }

    #[test]
    fn a_simulation_without_ranges_is_the_exact_figure_and_is_reproducible() {
        let exact = [-100.0, 40.0, 40.0, 40.0];
        let range = simulate(&exact, &[], 100, 1, 36);
        assert_eq!((range.p10, range.p50, range.p90, range.payback_probability), (20.0, 20.0, 20.0, 1.0));
        let line = RangedLine { monthly: vec![0.0, 30.0, 30.0, 30.0], low: 0.0, likely: 90.0, high: 120.0 };
        let first = simulate(&[-100.0, 0.0, 0.0, 0.0], std::slice::from_ref(&line), 1000, 42, 36);
        let again = simulate(&[-100.0, 0.0, 0.0, 0.0], std::slice::from_ref(&line), 1000, 42, 36);
        assert_eq!(first, again);
        assert!(first.p10 < first.p50 && first.p50 < first.p90);
        assert!(first.p10 >= -100.0 && first.p90 <= 20.0);
        assert!(first.payback_probability > 0.0 && first.payback_probability < 1.0);
        assert!(first.label.contains("not a confidence interval"));
    }
}

#[cfg(test)]
mod symmetric_ranges {
    use super::*;

    #[test]
    fn a_symmetric_range_centres_the_simulated_median_on_the_likely_value() {
        let line = RangedLine { monthly: vec![0.0, 50.0, 50.0], low: 70.0, likely: 100.0, high: 130.0 };
        let range = simulate(&[-100.0, 0.0, 0.0], std::slice::from_ref(&line), 10_000, 3, 36);
        assert!(range.p50.abs() < 1.0, "P50 {}", range.p50);
        assert!((range.p10 + range.p90).abs() < 1.0, "P10 {} P90 {}", range.p10, range.p90);
    }
}
