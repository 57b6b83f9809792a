//! The stored forms of the settings people edit — each model's health thresholds and
//! monitoring settings, the organisation's service levels and escalation chains:
//! versioned, and separate from the API's types in `shared`, so renaming or adding an
//! API field changes nothing on disk, and reading old rows is this module's job.
//!
//! On disk: `{"version": N, "value": {…}}`. Version 1 was first written bare (the
//! value without the envelope), so a bare object is read as version 1. A value that does
//! not decode, or a version this build does not know, is `DomainError::Corrupt` with
//! context — never a silent default.

use std::collections::BTreeMap;

use keel_shared::drift::DriftMethod;
use keel_shared::health::HealthThresholds;
use keel_shared::incidents::{EscalationChains, EscalationLevel, Sla, SlaPolicy};
use keel_shared::monitoring::{FeatureRule, MonitoringSettings};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::{DomainError, DomainResult};

/// The health thresholds as stored, version 1.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsV1 {
    accuracy_degraded_below: f64,
    accuracy_critical_below: f64,
    latency_p95_degraded_above_ms: f64,
    latency_p95_critical_above_ms: f64,
    error_rate_degraded_above: f64,
    error_rate_critical_above: f64,
    no_data_after_minutes: u32,
}

/// The monitoring settings as stored, version 1.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MonitoringV1 {
    window_minutes: u32,
    evaluate_every_minutes: u32,
    freshness_sla_minutes: u32,
    performance_tolerance: f64,
    features: Vec<FeatureRuleV1>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeatureRuleV1 {
    feature: String,
    /// Evidently's method names as `DriftMethod` spells them in version 1.
    method: DriftMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    threshold: Option<f64>,
}

#[derive(Serialize)]
struct Envelope<T> {
    version: u32,
    value: T,
}

impl From<HealthThresholds> for ThresholdsV1 {
    fn from(thresholds: HealthThresholds) -> Self {
        let HealthThresholds {
            accuracy_degraded_below,
            accuracy_critical_below,
            latency_p95_degraded_above_ms,
            latency_p95_critical_above_ms,
            error_rate_degraded_above,
            error_rate_critical_above,
            no_data_after_minutes,
        } = thresholds;
        Self {
            accuracy_degraded_below,
            accuracy_critical_below,
            latency_p95_degraded_above_ms,
            latency_p95_critical_above_ms,
            error_rate_degraded_above,
            error_rate_critical_above,
            no_data_after_minutes,
        }
    }
}

impl From<ThresholdsV1> for HealthThresholds {
    fn from(stored: ThresholdsV1) -> Self {
        let ThresholdsV1 {
            accuracy_degraded_below,
            accuracy_critical_below,
            latency_p95_degraded_above_ms,
            latency_p95_critical_above_ms,
            error_rate_degraded_above,
            error_rate_critical_above,
            no_data_after_minutes,
        } = stored;
        Self {
            accuracy_degraded_below,
            accuracy_critical_below,
            latency_p95_degraded_above_ms,
            latency_p95_critical_above_ms,
            error_rate_degraded_above,
            error_rate_critical_above,
            no_data_after_minutes,
        }
    }
}

pub fn encode_thresholds(thresholds: &HealthThresholds) -> DomainResult<String> {
    encode(ThresholdsV1::from(*thresholds))
}

pub fn decode_thresholds(json: &str, owner: &str) -> DomainResult<HealthThresholds> {
    let what = "health thresholds";
    let (version, value) = open(json, what, owner)?;
    match version {
        1 => Ok(decode::<ThresholdsV1>(value, what, owner)?.into()),
        other => Err(unknown_version(other, what, owner)),
    }
}

impl From<&MonitoringSettings> for MonitoringV1 {
    fn from(settings: &MonitoringSettings) -> Self {
        Self {
            window_minutes: settings.window_minutes,
            evaluate_every_minutes: settings.evaluate_every_minutes,
            freshness_sla_minutes: settings.freshness_sla_minutes,
            performance_tolerance: settings.performance_tolerance,
            features: settings
                .features
                .iter()
                .map(|rule| FeatureRuleV1 {
                    feature: rule.feature.clone(),
                    method: rule.method,
                    threshold: rule.threshold,
                })
                .collect(),
        }
    }
}

impl From<MonitoringV1> for MonitoringSettings {
    fn from(stored: MonitoringV1) -> Self {
        Self {
            window_minutes: stored.window_minutes,
            evaluate_every_minutes: stored.evaluate_every_minutes,
            freshness_sla_minutes: stored.freshness_sla_minutes,
            performance_tolerance: stored.performance_tolerance,
            features: stored
                .features
                .into_iter()
                .map(|rule| FeatureRule { feature: rule.feature, method: rule.method, threshold: rule.threshold })
                .collect(),
        }
    }
}

pub fn encode_monitoring(settings: &MonitoringSettings) -> DomainResult<String> {
    encode(MonitoringV1::from(settings))
}

pub fn decode_monitoring(json: &str, owner: &str) -> DomainResult<MonitoringSettings> {
    let what = "monitoring settings";
    let (version, value) = open(json, what, owner)?;
    match version {
        1 => Ok(decode::<MonitoringV1>(value, what, owner)?.into()),
        other => Err(unknown_version(other, what, owner)),
    }
}

/// The service levels as stored, version 1.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlaPolicyV1 {
    sev1: SlaV1,
    sev2: SlaV1,
    sev3: SlaV1,
    sev4: SlaV1,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlaV1 {
    acknowledge_seconds: i64,
    resolve_seconds: i64,
}

impl From<Sla> for SlaV1 {
    fn from(Sla { acknowledge_seconds, resolve_seconds }: Sla) -> Self {
        Self { acknowledge_seconds, resolve_seconds }
    }
}

impl From<SlaV1> for Sla {
    fn from(SlaV1 { acknowledge_seconds, resolve_seconds }: SlaV1) -> Self {
        Self { acknowledge_seconds, resolve_seconds }
    }
}

/// The escalation chains as stored, version 1.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationV1 {
    fleet: Vec<LevelV1>,
    models: BTreeMap<String, Vec<LevelV1>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelV1 {
    users: Vec<String>,
    webhook_url: Option<String>,
}

impl From<&EscalationLevel> for LevelV1 {
    fn from(level: &EscalationLevel) -> Self {
        Self { users: level.users.clone(), webhook_url: level.webhook_url.clone() }
    }
}

impl From<LevelV1> for EscalationLevel {
    fn from(LevelV1 { users, webhook_url }: LevelV1) -> Self {
        Self { users, webhook_url }
    }
}

pub fn encode_sla(policy: &SlaPolicy) -> DomainResult<String> {
    let SlaPolicy { sev1, sev2, sev3, sev4 } = *policy;
    encode(SlaPolicyV1 { sev1: sev1.into(), sev2: sev2.into(), sev3: sev3.into(), sev4: sev4.into() })
}

pub fn decode_sla(json: &str) -> DomainResult<SlaPolicy> {
    let (what, owner) = ("service levels", "the organisation");
    let (version, value) = open(json, what, owner)?;
    match version {
        1 => {
            let SlaPolicyV1 { sev1, sev2, sev3, sev4 } = decode(value, what, owner)?;
            Ok(SlaPolicy { sev1: sev1.into(), sev2: sev2.into(), sev3: sev3.into(), sev4: sev4.into() })
        }
        other => Err(unknown_version(other, what, owner)),
    }
}

pub fn encode_escalation(chains: &EscalationChains) -> DomainResult<String> {
    let chain = |levels: &[EscalationLevel]| levels.iter().map(LevelV1::from).collect::<Vec<_>>();
    encode(EscalationV1 {
        fleet: chain(&chains.fleet),
        models: chains.models.iter().map(|(model, levels)| (model.clone(), chain(levels))).collect(),
    })
}

pub fn decode_escalation(json: &str) -> DomainResult<EscalationChains> {
    let (what, owner) = ("escalation chains", "the organisation");
    let (version, value) = open(json, what, owner)?;
    match version {
        1 => {
            let EscalationV1 { fleet, models } = decode(value, what, owner)?;
            let chain = |levels: Vec<LevelV1>| levels.into_iter().map(EscalationLevel::from).collect::<Vec<_>>();
            Ok(EscalationChains {
                fleet: chain(fleet),
                models: models.into_iter().map(|(model, levels)| (model, chain(levels))).collect(),
            })
        }
        other => Err(unknown_version(other, what, owner)),
    }
}

/// The current version's envelope.
fn encode<T: Serialize>(value: T) -> DomainResult<String> {
    serde_json::to_string(&Envelope { version: 1, value }).map_err(|error| DomainError::Internal(error.into()))
}

/// The version and the value inside the envelope (a bare object is version 1).
fn open(json: &str, what: &str, owner: &str) -> DomainResult<(u64, serde_json::Value)> {
    let mut value: serde_json::Value = serde_json::from_str(json).map_err(|error| corrupt(what, owner, &error))?;
    let Some(object) = value.as_object_mut() else {
        return Err(corrupt(what, owner, &"not a JSON object"));
    };
    match object.get("version") {
        None => Ok((1, value)),
        Some(version) => {
            let version = version.as_u64().ok_or_else(|| corrupt(what, owner, &"its version is not a number"))?;
            let inner = object.remove("value").ok_or_else(|| corrupt(what, owner, &"its value is missing"))?;
            Ok((version, inner))
        }
    }
}

fn decode<T: DeserializeOwned>(value: serde_json::Value, what: &str, owner: &str) -> DomainResult<T> {
    serde_json::from_value(value).map_err(|error| corrupt(what, owner, &error))
}

fn unknown_version(version: u64, what: &str, owner: &str) -> DomainError {
    corrupt(what, owner, &format!("version {version} is newer than this Keel knows"))
}

fn corrupt(what: &str, owner: &str, reason: &dyn std::fmt::Display) -> DomainError {
    DomainError::Corrupt(format!(
        "the stored {what} of {owner} cannot be read ({reason}); save them again to replace the stored value"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_their_stored_form() {
        let thresholds = HealthThresholds { no_data_after_minutes: 7, ..HealthThresholds::default() };
        let json = encode_thresholds(&thresholds).expect("encoded");
        assert!(json.starts_with(r#"{"version":1,"value":{"#), "{json}");
        assert_eq!(decode_thresholds(&json, "m").expect("decoded"), thresholds);
        let settings = MonitoringSettings {
            features: vec![FeatureRule { feature: "age".into(), method: DriftMethod::Psi, threshold: Some(0.2) }],
            ..MonitoringSettings::default()
        };
        assert_eq!(decode_monitoring(&encode_monitoring(&settings).expect("encoded"), "m").expect("decoded"), settings);
        let policy = SlaPolicy { sev2: Sla { acknowledge_seconds: 60, resolve_seconds: 600 }, ..SlaPolicy::default() };
        assert_eq!(decode_sla(&encode_sla(&policy).expect("encoded")).expect("decoded"), policy);
        let level =
            EscalationLevel { users: vec!["eva".into()], webhook_url: Some("https://pager.example/hook".into()) };
        let chains = EscalationChains { fleet: vec![level.clone()], models: [("m1".to_owned(), vec![level])].into() };
        assert_eq!(decode_escalation(&encode_escalation(&chains).expect("encoded")).expect("decoded"), chains);
    }

    #[test]
    fn a_bare_object_is_version_one() {
        let bare = serde_json::to_string(&HealthThresholds::default()).expect("encoded");
        assert_eq!(decode_thresholds(&bare, "m").expect("decoded"), HealthThresholds::default());
    }

    #[test]
    fn an_unknown_field_or_version_is_reported_with_its_owner() {
        let renamed = r#"{"version":1,"value":{"accuracy_warn_below":0.9}}"#;
        let error = decode_thresholds(renamed, "model 'churn'").expect_err("refused").to_string();
        assert!(error.contains("health thresholds of model 'churn'"), "{error}");
        let newer = r#"{"version":2,"value":{}}"#;
        assert!(decode_monitoring(newer, "m").expect_err("refused").to_string().contains("version 2"));
    }
}
