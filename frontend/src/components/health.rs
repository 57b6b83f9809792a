//! A model's health as the live stream keeps it, and the stream's own state.

use keel_shared::ModelId;
use keel_shared::health::{HealthSignals, HealthStatus};
use leptos::prelude::*;

use crate::live::{Connection, use_live};

/// The model's status with its reasons as the tooltip; "Unknown" until evaluated.
#[component]
pub fn HealthBadge(model_id: ModelId) -> impl IntoView {
    let live = use_live();
    move || {
        let health = live.health_of(&model_id);
        let (class, label) = match health.as_ref().map(|health| health.status) {
            Some(status) => (status_class(status), status.label()),
            None => ("unknown", "Unknown"),
        };
        let reasons = health.map(|health| health.reasons.join("; ")).unwrap_or_default();
        view! { <span class=format!("badge health-{class}") title=reasons>{label}</span> }
    }
}

pub fn status_class(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::NoData => "no-data",
        HealthStatus::Healthy => "healthy",
        HealthStatus::Degraded => "degraded",
        HealthStatus::Critical => "critical",
    }
}

/// "Live" while the stream is open; says so when it is not.
#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let live = use_live();
    move || {
        let (class, text) = match live.connection.get() {
            Connection::Open => ("open", "Live"),
            Connection::Connecting => ("connecting", "Connecting…"),
            Connection::Reconnecting => ("lost", "Reconnecting…"),
        };
        view! {
            <p class=format!("connection connection-{class}") role="status" aria-live="polite">
                <span class="connection-dot" aria-hidden="true"></span>
                {text}
            </p>
        }
    }
}

/// The signals a model's health is judged on, formatted.
#[component]
pub fn KeyNumbers(signals: HealthSignals) -> impl IntoView {
    let number = |value: Option<f64>, format: fn(f64) -> String| value.map_or_else(|| "—".to_owned(), format);
    view! {
        <dl class="key-numbers">
            <div><dt>"Accuracy"</dt><dd>{number(signals.accuracy, |value| format!("{:.1} %", value * 100.0))}</dd></div>
            <div><dt>"p95 latency"</dt><dd>{number(signals.latency_p95_ms, |value| format!("{value:.0} ms"))}</dd></div>
            <div><dt>"Errors"</dt><dd>{number(signals.error_rate, |value| format!("{:.2} %", value * 100.0))}</dd></div>
            <div><dt>"Throughput"</dt><dd>{number(signals.requests_per_second, |value| format!("{value:.1}/s"))}</dd></div>
        </dl>
    }
}
