//! A model's health: its recent signals judged against thresholds. The rule is here so
//! the server (which evaluates it) and the console (which explains it) agree.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ModelId;

/// The metric names the health rule reads; model servers report under these names.
pub mod signal_metrics {
    pub const ACCURACY: &str = "accuracy";
    pub const LATENCY_MS: &str = "latency_ms";
    pub const ERROR_RATE: &str = "error_rate";
    pub const THROUGHPUT: &str = "requests_per_second";
}

/// Minutes of telemetry the signals summarise.
pub const SIGNAL_WINDOW_MINUTES: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// No point arrived within `no_data_after_minutes`.
    NoData,
    Healthy,
    Degraded,
    Critical,
}

impl HealthStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::NoData => "No data",
            Self::Healthy => "Healthy",
            Self::Degraded => "Degraded",
            Self::Critical => "Critical",
        }
    }
}

/// When a signal makes a model degraded or critical. Every field has a default, so a
/// stored `{}` means "the defaults".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthThresholds {
    /// Average accuracy (0–1) below which the model is degraded.
    pub accuracy_degraded_below: f64,
    pub accuracy_critical_below: f64,
    /// p95 latency in milliseconds above which the model is degraded.
    pub latency_p95_degraded_above_ms: f64,
    pub latency_p95_critical_above_ms: f64,
    /// Average error rate (0–1) above which the model is degraded.
    pub error_rate_degraded_above: f64,
    pub error_rate_critical_above: f64,
    /// Minutes without any point after which the status is "no data".
    pub no_data_after_minutes: u32,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        Self {
            accuracy_degraded_below: 0.85,
            accuracy_critical_below: 0.75,
            latency_p95_degraded_above_ms: 500.0,
            latency_p95_critical_above_ms: 1000.0,
            error_rate_degraded_above: 0.02,
            error_rate_critical_above: 0.05,
            no_data_after_minutes: 15,
        }
    }
}

impl HealthThresholds {
    /// Problems with the thresholds themselves, by field.
    pub fn validate(&self) -> crate::validation::FieldErrors {
        let mut errors = crate::validation::FieldErrors::new();
        let unit = |value: f64| (0.0..=1.0).contains(&value);
        if !unit(self.accuracy_degraded_below) || !unit(self.accuracy_critical_below) {
            errors.insert("accuracy_degraded_below".into(), "accuracy thresholds must be between 0 and 1".into());
        } else if self.accuracy_critical_below > self.accuracy_degraded_below {
            errors.insert("accuracy_critical_below".into(), "must not be above the degraded threshold".into());
        }
        if !(self.latency_p95_degraded_above_ms > 0.0 && self.latency_p95_degraded_above_ms.is_finite()) {
            errors.insert("latency_p95_degraded_above_ms".into(), "must be a positive number of milliseconds".into());
        } else if !(self.latency_p95_critical_above_ms >= self.latency_p95_degraded_above_ms
            && self.latency_p95_critical_above_ms.is_finite())
        {
            errors.insert("latency_p95_critical_above_ms".into(), "must not be below the degraded threshold".into());
        }
        if !unit(self.error_rate_degraded_above) || !unit(self.error_rate_critical_above) {
            errors.insert("error_rate_degraded_above".into(), "error rate thresholds must be between 0 and 1".into());
        } else if self.error_rate_critical_above < self.error_rate_degraded_above {
            errors.insert("error_rate_critical_above".into(), "must not be below the degraded threshold".into());
        }
        if !(1..=10_080).contains(&self.no_data_after_minutes) {
            errors.insert("no_data_after_minutes".into(), "must be between 1 and 10080 (a week)".into());
        }
        errors
    }
}

/// The model's recent telemetry, summarised over the last `SIGNAL_WINDOW_MINUTES`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthSignals {
    pub accuracy: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub error_rate: Option<f64>,
    pub requests_per_second: Option<f64>,
    /// Start of the newest minute holding any point of the model.
    pub last_point_at: Option<DateTime<Utc>>,
}

/// A model's status with the reasons for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHealth {
    pub model_id: ModelId,
    pub status: HealthStatus,
    /// Why the status is not healthy, one sentence per signal at fault.
    pub reasons: Vec<String>,
    pub signals: HealthSignals,
    pub thresholds: HealthThresholds,
    pub evaluated_at: DateTime<Utc>,
}

/// `GET /api/fleet`: one tile per model of the page, in the order of `GET /api/models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetResponse {
    pub tiles: Vec<FleetTile>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetTile {
    pub model: crate::models::ModelSummary,
    /// `None` until the health monitor has evaluated a newly registered model.
    pub health: Option<ModelHealth>,
    /// The last day of the key signals, `SPARKLINE_BUCKETS` values each.
    pub sparklines: Vec<Sparkline>,
}

/// Buckets of a fleet tile's sparkline (30 minutes each over the last day).
pub const SPARKLINE_BUCKETS: u32 = 48;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sparkline {
    pub metric: String,
    /// What each value is: `avg` or `p95`.
    pub statistic: String,
    /// Oldest first; `None` where the bucket holds no points.
    pub values: Vec<Option<f64>>,
}

/// Judges the signals: the worst signal decides; without recent points, "no data".
/// `degradation` holds why the latest drift evaluation found performance worse than the
/// reference's (see `monitoring`): each reason makes the model at least degraded.
pub fn evaluate(
    signals: &HealthSignals,
    thresholds: &HealthThresholds,
    degradation: &[String],
    now: DateTime<Utc>,
) -> (HealthStatus, Vec<String>) {
    let silent_for = signals.last_point_at.map(|last| (now - last).num_minutes());
    match silent_for {
        None => return (HealthStatus::NoData, vec!["no telemetry has arrived yet".into()]),
        Some(minutes) if minutes >= i64::from(thresholds.no_data_after_minutes) => {
            return (HealthStatus::NoData, vec![format!("no telemetry for {minutes} minutes")]);
        }
        Some(_) => {}
    }
    let mut status = HealthStatus::Healthy;
    let mut reasons = Vec::new();
    let mut judge = |level: HealthStatus, reason: String| {
        status = status.max(level);
        reasons.push(reason);
    };
    if let Some(accuracy) = signals.accuracy {
        let percent = |value: f64| format!("{:.1} %", value * 100.0);
        if accuracy < thresholds.accuracy_critical_below {
            let limit = percent(thresholds.accuracy_critical_below);
            judge(HealthStatus::Critical, format!("accuracy {} is below {limit}", percent(accuracy)));
        } else if accuracy < thresholds.accuracy_degraded_below {
            let limit = percent(thresholds.accuracy_degraded_below);
            judge(HealthStatus::Degraded, format!("accuracy {} is below {limit}", percent(accuracy)));
        }
    }
    if let Some(latency) = signals.latency_p95_ms {
        if latency > thresholds.latency_p95_critical_above_ms {
            let limit = thresholds.latency_p95_critical_above_ms;
            judge(HealthStatus::Critical, format!("p95 latency {latency:.0} ms is above {limit:.0} ms"));
        } else if latency > thresholds.latency_p95_degraded_above_ms {
            let limit = thresholds.latency_p95_degraded_above_ms;
            judge(HealthStatus::Degraded, format!("p95 latency {latency:.0} ms is above {limit:.0} ms"));
        }
    }
    if let Some(errors) = signals.error_rate {
        let percent = |value: f64| format!("{:.2} %", value * 100.0);
        if errors > thresholds.error_rate_critical_above {
            let limit = percent(thresholds.error_rate_critical_above);
            judge(HealthStatus::Critical, format!("error rate {} is above {limit}", percent(errors)));
        } else if errors > thresholds.error_rate_degraded_above {
            let limit = percent(thresholds.error_rate_degraded_above);
            judge(HealthStatus::Degraded, format!("error rate {} is above {limit}", percent(errors)));
        }
    }
    for reason in degradation {
        judge(HealthStatus::Degraded, reason.clone());
    }
    (status, reasons)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn the_worst_signal_decides_and_silence_is_no_data() {
        let now = Utc::now();
        let thresholds = HealthThresholds::default();
        let fresh = HealthSignals { last_point_at: Some(now - Duration::minutes(1)), ..HealthSignals::default() };
        assert_eq!(evaluate(&fresh, &thresholds, &[], now), (HealthStatus::Healthy, vec![]));

        let degraded = HealthSignals { accuracy: Some(0.83), latency_p95_ms: Some(120.0), ..fresh };
        assert_eq!(
            evaluate(&degraded, &thresholds, &[], now),
            (HealthStatus::Degraded, vec!["accuracy 83.0 % is below 85.0 %".to_owned()])
        );
        let critical = HealthSignals { error_rate: Some(0.08), ..degraded };
        let (status, reasons) = evaluate(&critical, &thresholds, &[], now);
        assert_eq!(status, HealthStatus::Critical);
        assert_eq!(reasons[1], "error rate 8.00 % is above 5.00 %");

        let worse = ["f1 0.610 is 20 % worse than the reference's 0.760 (tolerance 10 %)".to_owned()];
        assert_eq!(evaluate(&fresh, &thresholds, &worse, now), (HealthStatus::Degraded, worse.to_vec()));
        assert_eq!(evaluate(&critical, &thresholds, &worse, now).0, HealthStatus::Critical, "the worst decides");

        let silent = HealthSignals { last_point_at: Some(now - Duration::minutes(20)), ..critical };
        assert_eq!(evaluate(&silent, &thresholds, &[], now).0, HealthStatus::NoData);
        assert_eq!(evaluate(&HealthSignals::default(), &thresholds, &[], now).0, HealthStatus::NoData);
    }

    #[test]
    fn thresholds_are_checked_and_partial_json_takes_defaults() {
        let parsed: HealthThresholds =
            serde_json::from_str(r#"{"latency_p95_degraded_above_ms": 1500, "latency_p95_critical_above_ms": 3000}"#)
                .expect("parses");
        assert_eq!(parsed.accuracy_degraded_below, 0.85);
        assert!(parsed.validate().is_empty());
        let inverted = HealthThresholds { accuracy_critical_below: 0.9, ..HealthThresholds::default() };
        assert_eq!(inverted.validate().keys().collect::<Vec<_>>(), ["accuracy_critical_below"]);
        assert!(serde_json::from_str::<HealthThresholds>(r#"{"acuracy": 1}"#).is_err());
    }
}
