//! A model's ledger: CSV upload (all or nothing, every bad row named), CSV export, the
//! ROI figures and the Monte Carlo of a model or a programme, and incident costs.
//!
//! CSV header: `month,kind,category,amount,currency,czk_per_unit`, optionally `low,high`
//! (the entry's range; absent = exact) and `planned` (`true` for the business case's plan
//! rows). `czk_per_unit` may be empty when imported rates cover the month.

use keel_shared::ModelId;
use keel_shared::ledger::{
    IncidentCost, LedgerCategory, LedgerEntry, LedgerKind, NetValueRange, ReportCurrency, RoiFigures, YearMonth, draw,
    ranged_lines, roi_figures, summarise_draws,
};
use keel_shared::validation::FieldErrors;

use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::incidents::IncidentFilter;
use crate::store::ledger::incident_cost_setting;

/// Largest ledger accepted, in rows.
pub const LEDGER_ROWS_MAX: usize = 100_000;
/// The board's horizon for "payback within", in months.
pub const BOARD_HORIZON_MONTHS: u32 = 36;
/// Draws of the Monte Carlo, and its seed (fixed, so a figure can be reproduced).
pub const DRAWS: u32 = 10_000;
pub const SEED: u64 = 20_260_101;

/// One parsed CSV row before its rates are known.
struct Row {
    line: usize,
    month: YearMonth,
    kind: LedgerKind,
    category: LedgerCategory,
    amount: f64,
    currency: String,
    czk_per_unit: Option<f64>,
    low: Option<f64>,
    high: Option<f64>,
    planned: bool,
}

fn optional_number(text: Option<&str>, what: &str) -> Result<Option<f64>, String> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => match text.parse::<f64>() {
            Ok(value) if value.is_finite() && value >= 0.0 => Ok(Some(value)),
            _ => Err(format!("{what} '{text}' is not a number ≥ 0")),
        },
    }
}

fn parse_row(line: usize, record: &csv::StringRecord, at: &Columns) -> Result<Row, String> {
    let get = |index: Option<usize>| index.and_then(|index| record.get(index)).map(str::trim).unwrap_or_default();
    let month: YearMonth = get(Some(at.month)).parse()?;
    let kind: LedgerKind = get(Some(at.kind)).parse().map_err(|error| format!("kind: {error}"))?;
    let category: LedgerCategory = get(Some(at.category)).parse().map_err(|error| format!("category: {error}"))?;
    if category.kind() != kind {
        return Err(format!("category '{category}' is a {}, not a {kind}", category.kind()));
    }
    if category == LedgerCategory::Incident {
        return Err("category 'incident' is written by Keel from incidents; it cannot be uploaded".into());
    }
    let amount = optional_number(Some(get(Some(at.amount))), "amount")?.ok_or("amount is missing")?;
    let currency = get(Some(at.currency)).to_ascii_uppercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!("currency '{currency}' is not an ISO 4217 code such as EUR or CZK"));
    }
    let czk_per_unit = optional_number(at.czk_per_unit.map(|index| get(Some(index))), "czk_per_unit")?;
    if czk_per_unit == Some(0.0) {
        return Err("czk_per_unit must be more than 0".into());
    }
    let low = optional_number(at.low.map(|index| get(Some(index))), "low")?;
    let high = optional_number(at.high.map(|index| get(Some(index))), "high")?;
    if low.is_some_and(|low| low > amount) || high.is_some_and(|high| high < amount) {
        return Err("the range must hold low ≤ amount ≤ high".into());
    }
    let planned = match get(at.planned).to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" => false,
        "true" | "1" | "yes" => true,
        other => return Err(format!("planned '{other}' is not true or false")),
    };
    Ok(Row { line, month, kind, category, amount, currency, czk_per_unit, low, high, planned })
}

struct Columns {
    month: usize,
    kind: usize,
    category: usize,
    amount: usize,
    currency: usize,
    czk_per_unit: Option<usize>,
    low: Option<usize>,
    high: Option<usize>,
    planned: Option<usize>,
}

fn columns(headers: &csv::StringRecord) -> DomainResult<Columns> {
    let find = |name: &str| headers.iter().position(|header| header.trim() == name);
    let required = |name: &str| {
        find(name).ok_or_else(|| {
            DomainError::field(
                "line 1",
                format!(
                    "the header has no '{name}' column: expected month,kind,category,amount,currency,czk_per_unit \
                     (and optionally low,high,planned)"
                ),
            )
        })
    };
    Ok(Columns {
        month: required("month")?,
        kind: required("kind")?,
        category: required("category")?,
        amount: required("amount")?,
        currency: required("currency")?,
        czk_per_unit: find("czk_per_unit"),
        low: find("low"),
        high: find("high"),
        planned: find("planned"),
    })
}

/// Parses a ledger CSV and converts each row at its rates; every bad row is named.
pub async fn parse_csv(store: &Store, text: &str) -> DomainResult<Vec<LedgerEntry>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let headers =
        reader.headers().map_err(|error| DomainError::field("line 1", format!("unreadable header: {error}")))?.clone();
    let at = columns(&headers)?;
    let mut errors = FieldErrors::new();
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        if rows.len() >= LEDGER_ROWS_MAX {
            return Err(DomainError::field("body", format!("a ledger holds at most {LEDGER_ROWS_MAX} rows")));
        }
        match record.map_err(|error| error.to_string()).and_then(|record| parse_row(line, &record, &at)) {
            Ok(row) => rows.push(row),
            Err(message) => {
                errors.insert(format!("line {line}"), message);
            }
        }
    }
    let mut currencies: Vec<String> = rows.iter().map(|row| row.currency.clone()).collect();
    currencies.push("EUR".into());
    currencies.sort();
    currencies.dedup();
    let months: Vec<YearMonth> = rows.iter().map(|row| row.month).collect();
    let book = store.rate_book(&currencies, &months).await?;
    // Without a fixing, a month's euro rate is the one entered on its EUR rows.
    let entered_euro: std::collections::HashMap<YearMonth, f64> = rows
        .iter()
        .filter(|row| row.currency == "EUR")
        .filter_map(|row| Some((row.month, row.czk_per_unit?)))
        .collect();
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let euro = book.czk_per_unit("EUR", row.month).or_else(|| {
            entered_euro.get(&row.month).map(|rate| (*rate, format!("entered on a EUR row of {}", row.month)))
        });
        let rate = match row.czk_per_unit {
            Some(rate) => Some((rate, "entered".to_owned())),
            None => book.czk_per_unit(&row.currency, row.month),
        };
        let Some((czk_per_unit, rate_source)) = rate else {
            errors.insert(
                format!("line {}", row.line),
                format!(
                    "no CZK rate for {} in {}: give czk_per_unit or import the CNB or ECB rates for that month",
                    row.currency, row.month
                ),
            );
            continue;
        };
        let (czk_per_eur, eur_source) = match euro {
            _ if row.currency == "EUR" && row.czk_per_unit.is_some() => (Some(czk_per_unit), Some(rate_source.clone())),
            Some((rate, source)) => (Some(rate), Some(source)),
            None => (None, None),
        };
        entries.push(LedgerEntry {
            month: row.month,
            kind: row.kind,
            category: row.category,
            amount: row.amount,
            currency: row.currency,
            czk_per_unit,
            rate_source,
            czk_per_eur,
            eur_source,
            low: row.low,
            high: row.high,
            planned: row.planned,
            incident_id: None,
        });
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    if entries.is_empty() {
        return Err(DomainError::field("body", "the ledger has no rows"));
    }
    Ok(entries)
}

/// Replaces the model's uploaded ledger with the CSV's rows, all or nothing.
pub async fn replace(store: &Store, model_id: &ModelId, text: &str, actor: &Actor) -> DomainResult<Vec<LedgerEntry>> {
    store.get_model(model_id).await?;
    let entries = parse_csv(store, text).await?;
    let digest = super::changes::sha256_hex(text.as_bytes());
    store.replace_ledger(model_id, &entries, &digest, actor).await?;
    store.ledger(model_id).await
}

/// The ledger as CSV, in the upload format (with the rates used and their sources).
pub fn to_csv(entries: &[LedgerEntry]) -> DomainResult<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "month",
            "kind",
            "category",
            "amount",
            "currency",
            "czk_per_unit",
            "low",
            "high",
            "planned",
            "rate_source",
            "czk_per_eur",
            "eur_source",
            "incident_id",
        ])
        .map_err(anyhow::Error::from)?;
    let number = |value: Option<f64>| value.map(|value| value.to_string()).unwrap_or_default();
    for entry in entries {
        writer
            .write_record([
                entry.month.to_string(),
                entry.kind.to_string(),
                entry.category.to_string(),
                entry.amount.to_string(),
                entry.currency.clone(),
                entry.czk_per_unit.to_string(),
                number(entry.low),
                number(entry.high),
                entry.planned.to_string(),
                entry.rate_source.clone(),
                number(entry.czk_per_eur),
                entry.eur_source.clone().unwrap_or_default(),
                entry.incident_id.clone().unwrap_or_default(),
            ])
            .map_err(anyhow::Error::from)?;
    }
    let bytes = writer.into_inner().map_err(|error| anyhow::anyhow!("the ledger CSV: {error}"))?;
    Ok(String::from_utf8(bytes).map_err(anyhow::Error::from)?)
}

/// The ROI figures of one model.
pub async fn roi(
    store: &Store,
    model_id: &ModelId,
    currency: ReportCurrency,
    discount_rate: f64,
) -> DomainResult<RoiFigures> {
    store.get_model(model_id).await?;
    check_discount_rate(discount_rate)?;
    let entries = store.ledger(model_id).await?;
    roi_figures(&entries, currency, discount_rate).map_err(|message| DomainError::field("currency", message))
}

fn check_discount_rate(rate: f64) -> DomainResult<()> {
    if !rate.is_finite() || !(0.0..=1.0).contains(&rate) {
        return Err(DomainError::field("discount_rate", "an annual rate between 0 and 1, e.g. 0.08"));
    }
    Ok(())
}

/// The figures of several models together (a programme, or the fleet), and the Monte
/// Carlo range of their net value.
pub async fn programme_figures(
    store: &Store,
    model_ids: &[ModelId],
    currency: ReportCurrency,
    discount_rate: f64,
) -> DomainResult<(RoiFigures, NetValueRange)> {
    check_discount_rate(discount_rate)?;
    let data = store.business_data().await?;
    data.figures(currency, discount_rate, model_ids, |mine| figures_of(mine, currency, discount_rate))
        .map_err(|problem| DomainError::field("currency", problem))
}

/// The summed figures and Monte Carlo of `entries` from several models, or why they
/// cannot be shown in `currency`.
pub fn figures_of(
    entries: &[(ModelId, LedgerEntry)],
    currency: ReportCurrency,
    discount_rate: f64,
) -> Result<(RoiFigures, NetValueRange), String> {
    let plain: Vec<LedgerEntry> = entries.iter().map(|(_, entry)| entry.clone()).collect();
    let figures = roi_figures(&plain, currency, discount_rate)?;
    let first = figures.months.first().map(|month| month.month).unwrap_or(YearMonth { year: 2000, month: 1 });
    let (exact, lines) = ranged_lines(entries, currency, first, figures.months.len());
    // Two streams of half the draws (seeds SEED and SEED + 1), one per core.
    let stream = |seed: u64| draw(&exact, &lines, DRAWS / 2, seed, BOARD_HORIZON_MONTHS);
    let (first_half, second_half) = crate::analysis::cores::on_both(|| stream(SEED), || stream(SEED + 1));
    let range = summarise_draws(vec![first_half, second_half], SEED, BOARD_HORIZON_MONTHS);
    Ok((figures, range))
}

/// The model's incident cost per minute, if set.
pub async fn incident_cost(store: &Store, model_id: &ModelId) -> DomainResult<Option<IncidentCost>> {
    store.setting(&incident_cost_setting(model_id)).await
}

/// Sets what a minute of the model's incident downtime costs and rewrites the ledger
/// entries of its mitigated incidents.
pub async fn set_incident_cost(
    store: &Store,
    model_id: &ModelId,
    cost: IncidentCost,
    actor: &Actor,
) -> DomainResult<()> {
    store.get_model(model_id).await?;
    if let Some(problem) = cost.problems() {
        return Err(DomainError::field("per_minute", problem));
    }
    store
        .put_setting(
            &incident_cost_setting(model_id),
            &Some(cost),
            keel_shared::audit::AuditAction::IncidentCost,
            actor,
        )
        .await?;
    let filter = IncidentFilter { model: Some(model_id.clone()), ..Default::default() };
    for incident in store.list_incidents(&filter).await? {
        store.refresh_incident_cost(&incident).await?;
    }
    Ok(())
}
