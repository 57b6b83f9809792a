//! KPIs: definitions of a model or a programme, values entered by hand or from CSV
//! (all or nothing, each bad row named) or measured from the model's telemetry (one per
//! completed period, by the job and at creation), and each KPI's status on the clock.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, TimeDelta};
use keel_shared::ModelId;
use keel_shared::kpis::{Kpi, KpiAggregation, KpiDefinition, KpiSource, KpiValue};

use crate::analysis::rollups::Rollup;
use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::business::BusinessData;
use crate::store::kpis::KpiRecord;
use crate::store::rollups::Resolution;

/// Values accepted in one request.
pub const VALUES_MAX: usize = 10_000;

/// How far back a telemetry-measured KPI is measured (at most from its baseline date).
const MEASURED_DAYS_BACK: i64 = 400;

/// Creates a KPI; `model_id` may name the model.
pub async fn create(store: &Store, mut definition: KpiDefinition, actor: &Actor) -> DomainResult<Kpi> {
    definition.name = definition.name.trim().to_owned();
    definition.programme = definition.programme.map(|name| name.trim().to_owned()).filter(|name| !name.is_empty());
    let problems = definition.problems();
    if !problems.is_empty() {
        return Err(DomainError::Invalid(problems));
    }
    if let Some(reference) = &definition.model_id {
        let found = store.resolve_models([reference.0.as_str()]).await?;
        let id =
            found.get(&reference.0).ok_or_else(|| DomainError::field("model_id", format!("no model '{reference}'")))?;
        definition.model_id = Some(ModelId(id.clone()));
    }
    let record = store.create_kpi(&definition, actor).await?;
    if definition.source.is_some() {
        measure(store, &record).await?;
        return get(store, &record.id).await;
    }
    let today = store.clock().now().date_naive();
    Ok(summarise(record, Vec::new(), today, &HashMap::new()))
}

/// Measures every telemetry-measured KPI (the job calls it): how many values it wrote.
pub async fn measure_all(store: &Store) -> DomainResult<usize> {
    let mut written = 0;
    for record in store.kpis(None, None).await? {
        if record.definition.source.is_some() {
            written += measure(store, &record).await?;
        }
    }
    Ok(written)
}

/// Writes the KPI's value of each completed period since its baseline date that is
/// missing or differs from what the telemetry now says; periods without points get none.
async fn measure(store: &Store, record: &KpiRecord) -> DomainResult<usize> {
    let (Some(source), Some(model_id)) = (&record.definition.source, &record.definition.model_id) else {
        return Ok(0);
    };
    let cadence = record.definition.cadence;
    let today = store.clock().now().date_naive();
    let last_day = cadence.period_of(today).0 - TimeDelta::days(1);
    let first_day =
        cadence.period_of(record.definition.baseline_date.max(today - TimeDelta::days(MEASURED_DAYS_BACK))).0;
    if first_day > last_day {
        return Ok(0);
    }
    let millis = |day: NaiveDate| day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis();
    let rollups = store
        .metric_rollups(
            &model_id.0,
            &source.metric,
            millis(first_day),
            millis(last_day + TimeDelta::days(1)),
            Resolution::Hour,
        )
        .await?;
    let mut periods: BTreeMap<NaiveDate, Period> = BTreeMap::new();
    for rollup in rollups {
        let Some(day) = chrono::DateTime::from_timestamp_millis(rollup.start).map(|at| at.date_naive()) else {
            continue;
        };
        let last = cadence.period_of(day).1;
        periods.entry(last).or_insert_with(|| Period(Rollup::empty(rollup.start))).0.add(&rollup, true);
    }
    let held: HashMap<NaiveDate, f64> =
        store.kpi_values(Some(&record.id)).await?.into_iter().map(|(_, value)| (value.day, value.likely)).collect();
    let note = source.describe(cadence);
    let values: Vec<KpiValue> = periods
        .into_iter()
        .filter_map(|(day, period)| Some((day, period.value(source)?)))
        .filter(|(day, likely)| held.get(day).is_none_or(|held| (held - likely).abs() > 1e-9 * likely.abs().max(1.0)))
        .map(|(day, likely)| KpiValue {
            day,
            likely,
            low: None,
            high: None,
            note: note.clone(),
            entered_by: String::new(),
        })
        .collect();
    if !values.is_empty() {
        store.add_kpi_values(record, &values, &Actor::system()).await?;
    }
    Ok(values.len())
}

/// One period's points, merged from its hourly rollups.
struct Period(Rollup);

impl Period {
    fn value(&self, source: &KpiSource) -> Option<f64> {
        let Rollup { count, sum, min, max, sketch, .. } = &self.0;
        if *count == 0 {
            return None;
        }
        let value = match source.aggregation {
            KpiAggregation::Avg => sum / *count as f64,
            KpiAggregation::Min => *min,
            KpiAggregation::Max => *max,
            KpiAggregation::P50 => sketch.quantile(0.5)?,
            KpiAggregation::P95 => sketch.quantile(0.95)?,
            KpiAggregation::P99 => sketch.quantile(0.99)?,
            KpiAggregation::Count => *count as f64,
            KpiAggregation::Sum => *sum,
        };
        Some(value * source.scale)
    }
}

/// The KPIs of a model, of a programme, or all, each with its values and status.
pub async fn list(store: &Store, model: Option<&str>, programme: Option<&str>) -> DomainResult<Vec<Kpi>> {
    let model_id = match model {
        Some(reference) => {
            let found = store.resolve_models([reference]).await?;
            Some(ModelId(
                found
                    .get(reference)
                    .cloned()
                    .ok_or_else(|| DomainError::NotFound(format!("no model '{reference}'")))?,
            ))
        }
        None => None,
    };
    let records = store.kpis(model_id.as_ref(), programme).await?;
    // Every KPI's values in one read; a filtered list reads only its own KPIs'.
    let mut values: HashMap<String, Vec<KpiValue>> = HashMap::new();
    let stored = if model_id.is_none() && programme.is_none() {
        store.kpi_values(None).await?
    } else {
        let mut stored = Vec::new();
        for record in &records {
            stored.extend(store.kpi_values(Some(&record.id)).await?);
        }
        stored
    };
    for (kpi_id, value) in stored {
        values.entry(kpi_id).or_default().push(value);
    }
    let names = store.model_names().await?;
    let today = store.clock().now().date_naive();
    Ok(records
        .into_iter()
        .map(|record| {
            let values = values.remove(&record.id).unwrap_or_default();
            summarise(record, values, today, &names)
        })
        .collect())
}

pub async fn get(store: &Store, id: &str) -> DomainResult<Kpi> {
    let record = store.kpi(id).await?;
    let values = store.kpi_values(Some(&record.id)).await?;
    let names = store.model_names().await?;
    let today = store.clock().now().date_naive();
    Ok(summarise(record, values.into_iter().map(|(_, value)| value).collect(), today, &names))
}

/// Every KPI of the cached business data with its status on `today`.
pub fn summaries(data: &BusinessData, today: NaiveDate, names: &HashMap<String, String>) -> Vec<Kpi> {
    data.kpis
        .iter()
        .map(|record| summarise(record.clone(), data.values.get(&record.id).cloned().unwrap_or_default(), today, names))
        .collect()
}

fn summarise(record: KpiRecord, values: Vec<KpiValue>, today: NaiveDate, names: &HashMap<String, String>) -> Kpi {
    let latest = values.last().cloned();
    let status = record.definition.status(latest.as_ref(), today);
    let planned_now = record.definition.planned(latest.as_ref().map_or(today, |value| value.day));
    let model_name = record.definition.model_id.as_ref().and_then(|id| names.get(&id.0).cloned());
    Kpi { id: record.id, definition: record.definition, model_name, status, latest, planned_now, values }
}

/// Adds values, all or nothing.
pub async fn add_values(store: &Store, id: &str, values: Vec<KpiValue>, actor: &Actor) -> DomainResult<Kpi> {
    let record = store.kpi(id).await?;
    if values.is_empty() {
        return Err(DomainError::field("values", "send at least one value"));
    }
    if values.len() > VALUES_MAX {
        return Err(DomainError::field("values", format!("at most {VALUES_MAX} values at once")));
    }
    let mut errors = keel_shared::validation::FieldErrors::new();
    for (index, value) in values.iter().enumerate() {
        if let Some(problem) = value.problems() {
            errors.insert(format!("values[{index}]"), problem);
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    store.add_kpi_values(&record, &values, actor).await?;
    get(store, id).await
}

/// Values from CSV with the header `day,value` (or `likely`), optionally `low,high,note`.
pub fn parse_values_csv(text: &str) -> DomainResult<Vec<KpiValue>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let headers =
        reader.headers().map_err(|error| DomainError::field("line 1", format!("unreadable header: {error}")))?.clone();
    let find = |names: &[&str]| headers.iter().position(|header| names.contains(&header.trim()));
    let (Some(day_at), Some(value_at)) = (find(&["day", "date"]), find(&["value", "likely"])) else {
        return Err(DomainError::field(
            "line 1",
            "the header needs 'day' and 'value' columns (optionally low, high, note)",
        ));
    };
    let (low_at, high_at, note_at) = (find(&["low"]), find(&["high"]), find(&["note"]));
    let mut errors = keel_shared::validation::FieldErrors::new();
    let mut values = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let parsed = record.map_err(|error| error.to_string()).and_then(|record| {
            let get = |at: Option<usize>| at.and_then(|at| record.get(at)).map(str::trim).unwrap_or_default();
            let day: NaiveDate =
                get(Some(day_at)).parse().map_err(|_| format!("'{}' is not a day (YYYY-MM-DD)", get(Some(day_at))))?;
            let number = |at: Option<usize>, what: &str| -> Result<Option<f64>, String> {
                let text = get(at);
                if text.is_empty() {
                    return Ok(None);
                }
                text.parse::<f64>()
                    .ok()
                    .filter(|value| value.is_finite())
                    .map(Some)
                    .ok_or(format!("{what} '{text}' is not a number"))
            };
            let likely = number(Some(value_at), "value")?.ok_or("the value is missing")?;
            let value = KpiValue {
                day,
                likely,
                low: number(low_at, "low")?,
                high: number(high_at, "high")?,
                note: get(note_at).to_owned(),
                entered_by: String::new(),
            };
            value.problems().map_or(Ok(value), Err)
        });
        match parsed {
            Ok(value) => values.push(value),
            Err(message) => {
                errors.insert(format!("line {line}"), message);
            }
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    Ok(values)
}
