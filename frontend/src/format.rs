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
