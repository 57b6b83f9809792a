//! Business KPIs: what a model or programme promised (baseline → target by a date), the
//! values that arrived, and whether it is on track. Estimates carry a range; the status
//! is judged with the range in the KPI's direction:
//!
//! - **on track** when even the worst end of the range is on the planned path,
//! - **off track** when even the best end misses it,
//! - **at risk** between, and **stale** when no value arrived within the cadence.
//!
//! The planned path runs linearly from the baseline (value, date) to the target (value,
//! date) and stays at the target after its date.

use chrono::{Datelike, NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::ModelId;
use crate::validation::FieldErrors;

named_enum! {
    /// What a KPI is measured in.
    KpiUnit {
        Eur => "EUR",
        Czk => "CZK",
        Percent => "%",
        Hours => "hours",
        Count => "count",
        Milliseconds => "ms",
    }
}

named_enum! {
    /// Which way is better.
    KpiDirection {
        HigherIsBetter => "higher",
        LowerIsBetter => "lower",
    }
}

named_enum! {
    /// How often a value is expected.
    KpiCadence {
        Daily => "daily",
        Weekly => "weekly",
        Monthly => "monthly",
    }
}

impl KpiCadence {
    /// How long a value stays fresh.
    pub fn period(self) -> TimeDelta {
        match self {
            Self::Daily => TimeDelta::days(1),
            Self::Weekly => TimeDelta::days(7),
            Self::Monthly => TimeDelta::days(31),
        }
    }
}

impl KpiCadence {
    /// The first and last day of the period (calendar day, ISO week from Monday, calendar
    /// month) that holds `day`.
    pub fn period_of(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Self::Daily => (day, day),
            Self::Weekly => {
                let monday = day - TimeDelta::days(i64::from(day.weekday().num_days_from_monday()));
                (monday, monday + TimeDelta::days(6))
            }
            Self::Monthly => {
                let first = day.with_day(1).unwrap_or(day);
                let next = if first.month() == 12 {
                    NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
                };
                (first, next.and_then(|next| next.pred_opt()).unwrap_or(first))
            }
        }
    }
}

named_enum! {
    /// How one period's telemetry points become a KPI value.
    KpiAggregation {
        Avg => "avg",
        Min => "min",
        Max => "max",
        P50 => "p50",
        P95 => "p95",
        P99 => "p99",
        Count => "count",
        Sum => "sum",
    }
}

/// A KPI measured from a telemetry series of its model: one value per completed cadence
/// period, dated the period's last day, written by Keel (`entered_by` "system").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiSource {
    /// The metric's name as the model reports it (e.g. `manual_review_rate`, `accuracy`).
    pub metric: String,
    pub aggregation: KpiAggregation,
    /// Multiplies the aggregate: 100 shows a 0–1 share in %, 1/60 minutes in hours.
    #[serde(default = "unit_scale")]
    pub scale: f64,
}

fn unit_scale() -> f64 {
    1.0
}

impl KpiSource {
    /// "p95 of latency_ms per day" (× the scale when it is not 1).
    pub fn describe(&self, cadence: KpiCadence) -> String {
        let period = match cadence {
            KpiCadence::Daily => "day",
            KpiCadence::Weekly => "week",
            KpiCadence::Monthly => "month",
        };
        let scale = if self.scale == 1.0 { String::new() } else { format!(" × {}", self.scale) };
        format!("{} of {} per {period}{scale}", self.aggregation, self.metric)
    }
}

named_enum! {
    /// A KPI's traffic light.
    KpiStatus {
        OnTrack => "on_track",
        AtRisk => "at_risk",
        OffTrack => "off_track",
        Stale => "stale",
        NoData => "no_data",
    }
}

impl KpiStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::OnTrack => "On track",
            Self::AtRisk => "At risk",
            Self::OffTrack => "Off track",
            Self::Stale => "Stale",
            Self::NoData => "No data",
        }
    }
}

/// `POST /api/kpis`: a KPI of one model or of a programme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiDefinition {
    pub name: String,
    pub unit: KpiUnit,
    pub direction: KpiDirection,
    /// The model it belongs to (id or name when creating), or none for a programme's.
    #[serde(default)]
    pub model_id: Option<ModelId>,
    #[serde(default)]
    pub programme: Option<String>,
    pub baseline: f64,
    pub baseline_date: NaiveDate,
    pub target: f64,
    pub target_date: NaiveDate,
    #[serde(default)]
    pub owner: String,
    #[serde(default = "default_cadence")]
    pub cadence: KpiCadence,
    /// Measured from the model's telemetry instead of entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<KpiSource>,
}

fn default_cadence() -> KpiCadence {
    KpiCadence::Monthly
}

impl KpiDefinition {
    pub fn problems(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        if self.name.trim().is_empty() {
            errors.insert("name".into(), "give the KPI a name".into());
        }
        if self.model_id.is_none() == self.programme.as_deref().is_none_or(|name| name.trim().is_empty()) {
            errors.insert("model_id".into(), "a KPI belongs to one model or to one programme".into());
        }
        if self.target_date <= self.baseline_date {
            errors.insert("target_date".into(), "the target date must come after the baseline date".into());
        }
        if !self.baseline.is_finite() || !self.target.is_finite() {
            errors.insert("target".into(), "baseline and target must be numbers".into());
        }
        if let Some(source) = &self.source {
            if self.model_id.is_none() {
                errors.insert("source".into(), "only a model's KPI can be measured from its telemetry".into());
            }
            if source.metric.trim().is_empty() {
                errors.insert("source.metric".into(), "name the telemetry metric to measure".into());
            }
            if !source.scale.is_finite() || source.scale == 0.0 {
                errors.insert("source.scale".into(), "the scale must be a number other than 0".into());
            }
        }
        let improves = match self.direction {
            KpiDirection::HigherIsBetter => self.target >= self.baseline,
            KpiDirection::LowerIsBetter => self.target <= self.baseline,
        };
        if !improves {
            errors.insert(
                "target".into(),
                "the target must be at least as good as the baseline in the KPI's direction".into(),
            );
        }
        errors
    }

    /// Where the planned path stands on `day`.
    pub fn planned(&self, day: NaiveDate) -> f64 {
        if day <= self.baseline_date {
            return self.baseline;
        }
        if day >= self.target_date {
            return self.target;
        }
        let span = (self.target_date - self.baseline_date).num_days() as f64;
        let done = (day - self.baseline_date).num_days() as f64;
        self.baseline + (self.target - self.baseline) * done / span
    }

    fn on_path(&self, value: f64, planned: f64) -> bool {
        match self.direction {
            KpiDirection::HigherIsBetter => value >= planned,
            KpiDirection::LowerIsBetter => value <= planned,
        }
    }

    /// The status of the latest value on `today`.
    pub fn status(&self, latest: Option<&KpiValue>, today: NaiveDate) -> KpiStatus {
        let Some(value) = latest else { return KpiStatus::NoData };
        if today - value.day > self.cadence.period() {
            return KpiStatus::Stale;
        }
        let (low, high) = (value.low.unwrap_or(value.likely), value.high.unwrap_or(value.likely));
        let (worst, best) = match self.direction {
            KpiDirection::HigherIsBetter => (low, high),
            KpiDirection::LowerIsBetter => (high, low),
        };
        let planned = self.planned(value.day);
        if self.on_path(worst, planned) {
            KpiStatus::OnTrack
        } else if !self.on_path(best, planned) {
            KpiStatus::OffTrack
        } else {
            KpiStatus::AtRisk
        }
    }
}

/// One value of a KPI: an estimate with its range, or a measurement (no range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiValue {
    pub day: NaiveDate,
    pub likely: f64,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub entered_by: String,
}

impl KpiValue {
    pub fn problems(&self) -> Option<String> {
        let (low, high) = (self.low.unwrap_or(self.likely), self.high.unwrap_or(self.likely));
        if ![low, self.likely, high].iter().all(|value| value.is_finite()) {
            return Some("values must be numbers".into());
        }
        (low > self.likely || self.likely > high).then(|| "the range must hold low ≤ likely ≤ high".into())
    }
}

impl KpiUnit {
    /// Whether values of several models add up to the programme's (money, hours, counts
    /// do; a rate or a latency does not).
    pub fn is_additive(self) -> bool {
        matches!(self, Self::Eur | Self::Czk | Self::Hours | Self::Count)
    }
}

/// A programme's KPI as the sum of its models' KPIs of one name and unit: baselines and
/// targets add up (from the earliest baseline date to the latest target date), and on
/// each day a model reported, the programme's value is the sum of every model's latest
/// value so far (ranges add end to end) — once every model has one. `None` when the
/// unit does not add up, the models disagree on the direction, or there is nothing.
pub fn programme_sum(name: &str, parts: &[(&KpiDefinition, &[KpiValue])]) -> Option<(KpiDefinition, Vec<KpiValue>)> {
    let (first, _) = parts.first()?;
    if !first.unit.is_additive()
        || parts.iter().any(|(definition, _)| definition.unit != first.unit || definition.direction != first.direction)
    {
        return None;
    }
    let definition = KpiDefinition {
        name: name.to_owned(),
        unit: first.unit,
        direction: first.direction,
        model_id: None,
        programme: None,
        baseline: parts.iter().map(|(definition, _)| definition.baseline).sum(),
        baseline_date: parts.iter().map(|(definition, _)| definition.baseline_date).min()?,
        target: parts.iter().map(|(definition, _)| definition.target).sum(),
        target_date: parts.iter().map(|(definition, _)| definition.target_date).max()?,
        owner: String::new(),
        cadence: parts.iter().map(|(definition, _)| definition.cadence).max_by_key(|cadence| cadence.period())?,
        source: None,
    };
    let mut days: Vec<NaiveDate> = parts.iter().flat_map(|(_, values)| values.iter().map(|value| value.day)).collect();
    days.sort_unstable();
    days.dedup();
    let values = days
        .into_iter()
        .filter_map(|day| {
            let latest: Option<Vec<&KpiValue>> =
                parts.iter().map(|(_, values)| values.iter().take_while(|value| value.day <= day).last()).collect();
            let latest = latest?;
            let sum = |end: fn(&KpiValue) -> f64| latest.iter().map(|value| end(value)).sum::<f64>();
            let ranged = latest.iter().any(|value| value.low.is_some() || value.high.is_some());
            Some(KpiValue {
                day,
                likely: sum(|value| value.likely),
                low: ranged.then(|| sum(|value| value.low.unwrap_or(value.likely))),
                high: ranged.then(|| sum(|value| value.high.unwrap_or(value.likely))),
                note: format!("sum of {} models", latest.len()),
                entered_by: "keel".into(),
            })
        })
        .collect();
    Some((definition, values))
}

/// `GET /api/kpis` item and `POST /api/kpis` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    pub id: String,
    #[serde(flatten)]
    pub definition: KpiDefinition,
    /// Model name, for display.
    #[serde(default)]
    pub model_name: Option<String>,
    pub status: KpiStatus,
    pub latest: Option<KpiValue>,
    /// Where the planned path stands on the latest value's day (or today).
    pub planned_now: f64,
    /// Every value, oldest first.
    pub values: Vec<KpiValue>,
}

/// `GET /api/kpis` query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KpiQuery {
    #[serde(default)]
    pub model_id: Option<String>,
    #[serde(default)]
    pub programme: Option<String>,
}

/// `POST /api/kpis/{id}/values` (JSON): one value or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiValuesRequest {
    pub values: Vec<KpiValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("valid")
    }

    fn review_rate() -> KpiDefinition {
        KpiDefinition {
            name: "Manual review rate".into(),
            unit: KpiUnit::Percent,
            direction: KpiDirection::LowerIsBetter,
            model_id: Some(ModelId("m".into())),
            programme: None,
            baseline: 40.0,
            baseline_date: day("2026-01-01"),
            target: 20.0,
            target_date: day("2026-11-01"),
            owner: "Ops".into(),
            cadence: KpiCadence::Monthly,
            source: None,
        }
    }

    fn value(on: &str, low: f64, likely: f64, high: f64) -> KpiValue {
        KpiValue {
            day: day(on),
            likely,
            low: Some(low),
            high: Some(high),
            note: String::new(),
            entered_by: String::new(),
        }
    }

    #[test]
    fn the_planned_path_runs_from_baseline_to_target() {
        let kpi = review_rate();
        assert_eq!(kpi.planned(day("2025-12-01")), 40.0);
        assert_eq!(kpi.planned(day("2027-01-01")), 20.0);
        let middle = kpi.planned(day("2026-06-02"));
        assert!((middle - 30.0).abs() < 0.1, "{middle}");
    }

    #[test]
    fn the_range_decides_the_light_in_the_kpis_direction() {
        let kpi = review_rate();
        // Planned on 2026-06-02 ≈ 30 %; lower is better, so the worst end is the high one.
        let today = day("2026-06-10");
        assert_eq!(kpi.status(Some(&value("2026-06-02", 24.0, 26.0, 29.0)), today), KpiStatus::OnTrack);
        assert_eq!(kpi.status(Some(&value("2026-06-02", 26.0, 29.0, 33.0)), today), KpiStatus::AtRisk);
        assert_eq!(kpi.status(Some(&value("2026-06-02", 31.0, 33.0, 35.0)), today), KpiStatus::OffTrack);
        assert_eq!(kpi.status(Some(&value("2026-06-02", 24.0, 26.0, 29.0)), day("2026-08-01")), KpiStatus::Stale);
        assert_eq!(kpi.status(None, today), KpiStatus::NoData);
    }

    #[test]
    fn periods_are_calendar_days_iso_weeks_and_months() {
        assert_eq!(KpiCadence::Daily.period_of(day("2026-12-06")), (day("2026-12-06"), day("2026-12-06")));
        assert_eq!(KpiCadence::Weekly.period_of(day("2026-12-06")), (day("2026-11-30"), day("2026-12-06")));
        assert_eq!(KpiCadence::Monthly.period_of(day("2026-12-06")), (day("2026-12-01"), day("2026-12-31")));
        assert_eq!(KpiCadence::Monthly.period_of(day("2028-02-10")), (day("2028-02-01"), day("2028-02-29")));
    }

    #[test]
    fn a_programme_kpi_sums_its_models_latest_values_once_all_reported() {
        let mut savings = review_rate();
        savings.unit = KpiUnit::Eur;
        savings.direction = KpiDirection::HigherIsBetter;
        savings.baseline = 0.0;
        savings.target = 100.0;
        let mut other = savings.clone();
        other.target = 50.0;
        other.target_date = day("2027-01-01");
        let first = [value("2026-02-01", 8.0, 10.0, 12.0), value("2026-03-01", 18.0, 20.0, 22.0)];
        let second = [KpiValue { low: None, high: None, ..value("2026-02-15", 5.0, 5.0, 5.0) }];
        let (definition, values) =
            programme_sum("Savings", &[(&savings, &first), (&other, &second)]).expect("money adds up");
        assert_eq!((definition.baseline, definition.target), (0.0, 150.0));
        assert_eq!(definition.target_date, day("2027-01-01"));
        // 1 February: the second model has not reported yet.
        let days: Vec<_> = values.iter().map(|value| (value.day, value.low, value.likely, value.high)).collect();
        assert_eq!(
            days,
            [(day("2026-02-15"), Some(13.0), 15.0, Some(17.0)), (day("2026-03-01"), Some(23.0), 25.0, Some(27.0))]
        );
        assert!(programme_sum("Rate", &[(&review_rate(), &first)]).is_none(), "a rate does not add up");
    }

    #[test]
    fn definitions_are_checked() {
        let mut kpi = review_rate();
        assert!(kpi.problems().is_empty());
        kpi.target = 50.0;
        kpi.programme = Some("Lending".into());
        kpi.source = Some(KpiSource { metric: " ".into(), aggregation: KpiAggregation::P95, scale: 1.0 });
        let problems = kpi.problems();
        assert!(problems.contains_key("target") && problems.contains_key("model_id"), "{problems:?}");
        assert!(problems.contains_key("source.metric"), "{problems:?}");
        assert_eq!(
            value("2026-01-01", 5.0, 4.0, 6.0).problems().as_deref(),
            Some("the range must hold low ≤ likely ≤ high")
        );
    }
}
