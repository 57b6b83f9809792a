//! How values are written for people.

use chrono::{DateTime, Utc};

/// `2026-11-22 14:05 UTC`
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `2026-11-22 13:05–14:05 UTC` within one day, else both ends in full.
pub fn time_range(from: &DateTime<Utc>, to: &DateTime<Utc>) -> String {
    if from.date_naive() == to.date_naive() {
        format!("{}–{} UTC", from.format("%Y-%m-%d %H:%M"), to.format("%H:%M"))
    } else {
        format!("{} – {}", timestamp(from), timestamp(to))
    }
}

/// `1 model`, `3 models`
pub fn count(n: u64, singular: &str, plural: &str) -> String {
    if n == 1 { format!("1 {singular}") } else { format!("{n} {plural}") }
}

/// A span of time for people: `45 s`, `14 min`, `3 h 5 min`, `2 d 4 h`.
pub fn span(seconds: i64) -> String {
    let seconds = seconds.abs();
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        3600..86_400 => match (seconds % 3600) / 60 {
            0 => format!("{} h", seconds / 3600),
            minutes => format!("{} h {minutes} min", seconds / 3600),
        },
        _ => match (seconds % 86_400) / 3600 {
            0 => format!("{} d", seconds / 86_400),
            hours => format!("{} d {hours} h", seconds / 86_400),
        },
    }
}

/// How far `deadline` is from `now`: `in 14 min` or `14 min overdue`.
pub fn countdown(deadline: &DateTime<Utc>, now: &DateTime<Utc>) -> String {
    let seconds = (*deadline - *now).num_seconds();
    if seconds >= 0 { format!("in {}", span(seconds)) } else { format!("{} overdue", span(seconds)) }
}

/// `1 234 567 CZK`, `−12 500 EUR`: whole units with thin groups, as Czech boards read them.
pub fn money(value: f64, currency: &str) -> String {
    let rounded = value.round();
    let digits = format!("{:.0}", rounded.abs());
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(digit);
    }
    let sign = if rounded < 0.0 { "−" } else { "" };
    format!("{sign}{grouped} {currency}")
}

/// `12.4 months`, or what stands in for a payback never reached.
pub fn months(value: Option<f64>, covered: u32) -> String {
    match value {
        Some(months) => format!("{months:.1} months"),
        None => format!("not reached within {covered} months"),
    }
}

/// `38 %` from a ratio.
/// A measured or entered value as people write it: at most two decimals, no trailing
/// zeros (`108.86`, `22`, `0.5`).
pub fn value(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

pub fn percent(ratio: f64) -> String {
    format!("{:.0} %", ratio * 100.0)
}
