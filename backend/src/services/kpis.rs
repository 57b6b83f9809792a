//! KPIs: definitions of a model or a programme, values entered by hand or from CSV
//! (all or nothing, each bad row named), and each KPI's status on the clock.

use std::collections::HashMap;

use chrono::NaiveDate;
use keel_shared::ModelId;
use keel_shared::kpis::{Kpi, KpiDefinition, KpiValue};

use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::business::BusinessData;
use crate::store::kpis::KpiRecord;

/// Values accepted in one request.
pub const VALUES_MAX: usize = 10_000;

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
    let today = store.clock().now().date_naive();
    Ok(summarise(record, Vec::new(), today, &HashMap::new()))
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
