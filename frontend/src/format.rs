//! How values are written for people.

use chrono::{DateTime, Utc};

/// `2026-11-22 14:05 UTC`
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `1 model`, `3 models`
pub fn count(n: u64, singular: &str, plural: &str) -> String {
    if n == 1 { format!("1 {singular}") } else { format!("{n} {plural}") }
}
