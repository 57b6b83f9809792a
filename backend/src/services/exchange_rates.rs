//! Exchange-rate files as the Czech National Bank and the European Central Bank publish
//! them, parsed into crowns per unit of each currency. No network: files are uploaded
//! (`POST /api/exchange-rates`) or placed in the data directory's `rates/` folder.
//!
//! - CNB daily fixing (`denni_kurz.txt`): `DD.MM.YYYY #N`, then `země|měna|množství|kód|kurz`
//!   and one row per currency, the rate for `množství` units with a decimal comma; the
//!   English `daily.txt` (`03 Jan 2024 #2`, `Country|Currency|Amount|Code|Rate`) too.
//! - CNB yearly file (`rok.txt`/`year.txt`): `Datum|1 AUD|100 JPY|…` then one row per
//!   day; the header repeats mid-year when the list of currencies changes.
//! - ECB euro reference rates (`eurofxref.csv`, `eurofxref-hist.csv`): `Date,USD,JPY,…`
//!   with units per euro; crowns per unit are CZK / that currency's rate.

use chrono::NaiveDate;
use keel_shared::ledger::{ExchangeRate, RatesImported};

use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::audit::Actor;

use crate::store::ledger::{CNB, ECB};

/// Parses a CNB or ECB file; every bad line is named, and nothing is taken from a file
/// that has one.
pub fn parse(text: &str) -> DomainResult<Vec<ExchangeRate>> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default().trim();
    if first.starts_with("Date,") || first.starts_with("Date ,") {
        parse_ecb(text)
    } else if first.starts_with("Datum|") || first.starts_with("Date|") {
        parse_cnb_yearly(text)
    } else if first.contains('#') {
        parse_cnb_daily(text)
    } else {
        Err(DomainError::field(
            "body",
            "not a CNB fixing (denni_kurz.txt, daily.txt, rok.txt) or an ECB reference-rate CSV (eurofxref)",
        ))
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().replace(',', ".").parse::<f64>().ok().filter(|value| value.is_finite() && *value > 0.0)
}

fn cnb_day(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%d.%m.%Y").or_else(|_| NaiveDate::parse_from_str(text, "%d %b %Y")).ok()
}

fn bad(errors: &mut keel_shared::validation::FieldErrors, line: usize, message: impl Into<String>) {
    errors.insert(format!("line {line}"), message.into());
}

fn finish(rates: Vec<ExchangeRate>, errors: keel_shared::validation::FieldErrors) -> DomainResult<Vec<ExchangeRate>> {
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    if rates.is_empty() {
        return Err(DomainError::field("body", "the file holds no rates"));
    }
    Ok(rates)
}

fn parse_cnb_daily(text: &str) -> DomainResult<Vec<ExchangeRate>> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let day =
        first.split('#').next().and_then(cnb_day).ok_or_else(|| {
            DomainError::field("line 1", format!("'{first}' does not start with a day (DD.MM.YYYY #N)"))
        })?;
    let mut rates = Vec::new();
    let mut errors = Default::default();
    for (index, line) in lines.enumerate().skip(1) {
        let at = index + 2;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        let [_, _, amount, code, rate] = fields[..] else {
            bad(&mut errors, at, "expected země|měna|množství|kód|kurz");
            continue;
        };
        match (amount.trim().parse::<f64>().ok().filter(|amount| *amount > 0.0), number(rate)) {
            (Some(amount), Some(rate)) => rates.push(ExchangeRate {
                day,
                currency: code.trim().to_ascii_uppercase(),
                czk_per_unit: rate / amount,
                source: CNB.into(),
            }),
            _ => bad(&mut errors, at, format!("'{}' / '{}' is not an amount and a rate", amount.trim(), rate.trim())),
        }
    }
    finish(rates, errors)
}

fn parse_cnb_yearly(text: &str) -> DomainResult<Vec<ExchangeRate>> {
    let mut rates = Vec::new();
    let mut errors = Default::default();
    let mut columns: Vec<Option<(f64, String)>> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let at = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        if fields[0].trim() == "Datum" || fields[0].trim() == "Date" {
            // "1 AUD", "100 JPY": the amount and the code of each column.
            columns = fields[1..]
                .iter()
                .map(|header| {
                    let (amount, code) = header.trim().split_once(' ')?;
                    Some((amount.parse::<f64>().ok().filter(|amount| *amount > 0.0)?, code.trim().to_ascii_uppercase()))
                })
                .collect();
            continue;
        }
        let Some(day) = cnb_day(fields[0]) else {
            bad(&mut errors, at, format!("'{}' is not a day (DD.MM.YYYY)", fields[0]));
            continue;
        };
        if columns.is_empty() {
            bad(&mut errors, at, "a row before the Datum|… header");
            continue;
        }
        for (column, value) in columns.iter().zip(&fields[1..]) {
            let (Some((amount, code)), Some(rate)) = (column, number(value)) else { continue };
            rates.push(ExchangeRate { day, currency: code.clone(), czk_per_unit: rate / amount, source: CNB.into() });
        }
    }
    finish(rates, errors)
}

fn parse_ecb(text: &str) -> DomainResult<Vec<ExchangeRate>> {
    let mut lines = text.lines();
    let header: Vec<String> =
        lines.next().unwrap_or_default().split(',').map(|name| name.trim().to_ascii_uppercase()).collect();
    let Some(czk_at) = header.iter().position(|name| name == "CZK") else {
        return Err(DomainError::field("line 1", "the ECB file has no CZK column: crowns per unit cannot be derived"));
    };
    let mut rates = Vec::new();
    let mut errors = Default::default();
    for (index, line) in lines.enumerate() {
        let at = index + 2;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let day = NaiveDate::parse_from_str(fields[0], "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(fields[0], "%d %B %Y"))
            .ok();
        let Some(day) = day else {
            bad(&mut errors, at, format!("'{}' is not a day (YYYY-MM-DD or 4 December 2026)", fields[0]));
            continue;
        };
        let Some(czk_per_eur) = fields.get(czk_at).and_then(|value| number(value)) else { continue };
        rates.push(ExchangeRate { day, currency: "EUR".into(), czk_per_unit: czk_per_eur, source: ECB.into() });
        for (name, value) in header.iter().zip(&fields).skip(1) {
            if name.is_empty() || name == "CZK" {
                continue;
            }
            if let Some(per_eur) = number(value) {
                rates.push(ExchangeRate {
                    day,
                    currency: name.clone(),
                    czk_per_unit: czk_per_eur / per_eur,
                    source: ECB.into(),
                });
            }
        }
    }
    finish(rates, errors)
}

/// Imports a file's rates.
pub async fn import(store: &Store, text: &str, actor: &Actor) -> DomainResult<RatesImported> {
    let rates = parse(text)?;
    let mut days: Vec<NaiveDate> = rates.iter().map(|rate| rate.day).collect();
    days.sort();
    days.dedup();
    let source = rates[0].source.clone();
    let imported = RatesImported {
        source: source.clone(),
        days: days.len() as u32,
        rates: rates.len() as u32,
        first_day: days.first().copied(),
        last_day: days.last().copied(),
    };
    let summary = format!(
        "{source}: {} rates over {} days, {} to {}",
        imported.rates,
        imported.days,
        imported.first_day.map(|day| day.to_string()).unwrap_or_default(),
        imported.last_day.map(|day| day.to_string()).unwrap_or_default()
    );
    store.put_rates(&rates, &summary, actor).await?;
    Ok(imported)
}

/// Imports every file in `directory` (the data directory's `rates/`) that changed since
/// it was last imported (its SHA-256 is kept as a setting), logging what it could not read.
pub async fn import_directory(store: &Store, directory: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(directory) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let result = match std::fs::read_to_string(&path) {
            Ok(text) => import_file(store, &path, &text).await,
            Err(error) => Err(DomainError::field("file", error.to_string())),
        };
        if let Err(error) = result {
            tracing::warn!(file = %path.display(), %error, "exchange-rate file not imported");
        }
    }
}

async fn import_file(store: &Store, path: &std::path::Path, text: &str) -> DomainResult<()> {
    let setting = format!("rates_file:{}", path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default());
    let digest = super::changes::sha256_hex(text.as_bytes());
    let imported: Option<String> = store.setting(&setting).await?;
    if imported.as_deref() == Some(digest.as_str()) {
        return Ok(());
    }
    import(store, text, &Actor::system()).await?;
    store
        .put_setting(&setting, &Some(digest), keel_shared::audit::AuditAction::ExchangeRatesImport, &Actor::system())
        .await
}
