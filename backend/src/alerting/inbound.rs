//! Alerts from other tools: Alertmanager's webhook (version 4) and PagerDuty Events API
//! v2, turned into incidents. One open incident per sender fingerprint or dedup key; an
//! event about a model Keel does not know opens a fleet-wide incident naming the label.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use keel_shared::ModelId;
use keel_shared::incidents::{IncidentSource, Severity};
use serde::Deserialize;

use crate::domain::DomainResult;
use crate::services::incidents::{self, Opening};
use crate::store::Store;
use crate::store::alerting::ModelFacts;
use crate::store::audit::Actor;

/// Alertmanager's webhook body (`version` "4").
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerWebhook {
    pub version: String,
    #[serde(default)]
    pub group_key: String,
    #[serde(default)]
    pub receiver: String,
    pub alerts: Vec<AlertmanagerAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    pub fingerprint: String,
}

/// What one webhook call did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Handled {
    pub opened: usize,
    pub attached: usize,
    pub resolved: usize,
    pub silenced: usize,
}

/// The model an event is about: the key's model, else the first label naming a known
/// model by id or name; otherwise the label's text for a fleet-wide incident.
fn resolve_model(
    models: &[ModelFacts],
    fixed: Option<&ModelId>,
    labels: &[Option<&str>],
) -> (Option<ModelFacts>, Option<String>) {
    if let Some(fixed) = fixed {
        return (models.iter().find(|model| &model.id == fixed).cloned(), None);
    }
    let named: Vec<&str> = labels.iter().flatten().copied().filter(|label| !label.is_empty()).collect();
    for label in &named {
        if let Some(model) = models.iter().find(|model| model.id.0 == *label || model.name == *label) {
            return (Some(model.clone()), None);
        }
    }
    (None, named.first().map(|label| (*label).to_owned()))
}

fn title_for(summary: Option<&str>, fallback: &str, model: Option<&ModelFacts>, label: Option<&str>) -> String {
    let what = summary.filter(|text| !text.trim().is_empty()).unwrap_or(fallback);
    let on = model.map(|model| model.name.as_str()).or(label);
    let title = match on {
        Some(on) if !what.contains(on) => format!("{what} on {on}"),
        _ => what.to_owned(),
    };
    title.chars().take(200).collect()
}

async fn silenced(
    store: &Store,
    model: Option<&ModelId>,
    severity: Severity,
    labels: &BTreeMap<String, String>,
) -> DomainResult<bool> {
    let now = store.clock().now();
    Ok(store.active_silences().await?.iter().any(|silence| silence.spec.matches(model, None, severity, labels, now)))
}

/// Handles every alert of an Alertmanager notification.
pub async fn alertmanager(
    store: &Store,
    webhook: AlertmanagerWebhook,
    fixed_model: Option<&ModelId>,
    actor: &Actor,
) -> DomainResult<Handled> {
    let models = store.model_facts().await?;
    let mut handled = Handled::default();
    for alert in webhook.alerts {
        let fingerprint = format!("alertmanager:{}", alert.fingerprint);
        let alertname = alert.labels.get("alertname").map_or("Alertmanager alert", String::as_str);
        if alert.status == "resolved" {
            let note = format!("Alertmanager: {alertname} resolved");
            incidents::condition_cleared(store, &fingerprint, &note, actor).await?;
            handled.resolved += 1;
            continue;
        }
        let (model, label) = resolve_model(
            &models,
            fixed_model,
            &[alert.labels.get("model_id"), alert.labels.get("service"), alert.labels.get("job")]
                .map(|label| label.map(String::as_str)),
        );
        let severity = Severity::from_alertmanager(alert.labels.get("severity").map(String::as_str));
        if silenced(store, model.as_ref().map(|model| &model.id), severity, &alert.labels).await? {
            handled.silenced += 1;
            continue;
        }
        let summary = alert.annotations.get("summary").or(alert.annotations.get("description"));
        let labels: Vec<String> = alert.labels.iter().map(|(name, value)| format!("{name}={value}")).collect();
        let opening = Opening {
            title: title_for(summary.map(String::as_str), alertname, model.as_ref(), label.as_deref()),
            severity,
            version: model.as_ref().and_then(|model| model.production_version.clone()),
            model: model.map(|model| model.id),
            model_label: label,
            source: IncidentSource::Alertmanager,
            fingerprint,
            rule_id: None,
            runbook_id: None,
            impact: alert.annotations.get("description").cloned().unwrap_or_default(),
            note: format!(
                "Alertmanager ({}, group {}): {alertname} firing since {} [{}]",
                webhook.receiver,
                webhook.group_key,
                alert.starts_at.map_or_else(|| "now".to_owned(), |at| at.to_rfc3339()),
                labels.join(", ")
            ),
        };
        if incidents::open(store, opening, actor).await?.1 {
            handled.opened += 1;
        } else {
            handled.attached += 1;
        }
    }
    Ok(handled)
}

/// A PagerDuty Events API v2 event.
#[derive(Debug, Deserialize)]
pub struct PagerDutyEvent {
    #[serde(default)]
    pub routing_key: Option<String>,
    #[serde(default)]
    pub event_action: Option<String>,
    #[serde(default)]
    pub dedup_key: Option<String>,
    #[serde(default)]
    pub payload: Option<PagerDutyPayload>,
}

#[derive(Debug, Deserialize)]
pub struct PagerDutyPayload {
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub component: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub custom_details: Option<serde_json::Value>,
}

/// What PagerDuty checks of an event, each problem as its `errors` lists it.
pub fn pagerduty_problems(event: &PagerDutyEvent) -> Vec<String> {
    let mut problems = Vec::new();
    match event.event_action.as_deref() {
        Some("trigger") => match &event.payload {
            None => problems.push("'payload' is missing or blank".to_owned()),
            Some(payload) => {
                for (field, value) in
                    [("summary", &payload.summary), ("source", &payload.source), ("severity", &payload.severity)]
                {
                    if value.as_deref().is_none_or(|value| value.trim().is_empty()) {
                        problems.push(format!("'payload.{field}' is missing or blank"));
                    }
                }
                if let Some(severity) = payload.severity.as_deref().filter(|severity| !severity.is_empty())
                    && !["critical", "error", "warning", "info"].contains(&severity)
                {
                    problems.push("'payload.severity' must be one of critical, error, warning or info".to_owned());
                }
                if payload.summary.as_deref().is_some_and(|summary| summary.chars().count() > 1024) {
                    problems.push("'payload.summary' must be at most 1024 characters".to_owned());
                }
            }
        },
        Some("acknowledge" | "resolve") => {
            if event.dedup_key.as_deref().is_none_or(str::is_empty) {
                problems.push("'dedup_key' is required for acknowledge and resolve events".to_owned());
            }
        }
        Some(other) => problems.push(format!("'event_action' must be trigger, acknowledge or resolve, not '{other}'")),
        None => problems.push("'event_action' is missing or blank".to_owned()),
    }
    if event.dedup_key.as_deref().is_some_and(|key| key.len() > 255) {
        problems.push("'dedup_key' must be at most 255 characters".to_owned());
    }
    problems
}

/// Applies a checked event; returns its dedup key (generated for a trigger without one).
pub async fn pagerduty(
    store: &Store,
    event: PagerDutyEvent,
    fixed_model: Option<&ModelId>,
    actor: &Actor,
) -> DomainResult<String> {
    let dedup_key = event
        .dedup_key
        .clone()
        .filter(|key| !key.is_empty())
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let fingerprint = format!("pagerduty:{dedup_key}");
    match event.event_action.as_deref() {
        Some("acknowledge") => incidents::acknowledge_by_sender(store, &fingerprint, actor).await?,
        Some("resolve") => {
            let note = format!("PagerDuty event: resolve ({dedup_key})");
            incidents::condition_cleared(store, &fingerprint, &note, actor).await?;
        }
        _ => {
            let payload = event.payload.unwrap_or(PagerDutyPayload {
                summary: None,
                source: None,
                severity: None,
                component: None,
                group: None,
                class: None,
                custom_details: None,
            });
            let models = store.model_facts().await?;
            let details_model = payload
                .custom_details
                .as_ref()
                .and_then(|details| details.get("model_id").or(details.get("model")))
                .and_then(|value| value.as_str())
                .map(str::to_owned);
            let (model, label) = resolve_model(
                &models,
                fixed_model,
                &[details_model.as_deref(), payload.component.as_deref(), payload.source.as_deref()],
            );
            let severity = Severity::from_pagerduty(payload.severity.as_deref().unwrap_or_default());
            let mut labels = BTreeMap::new();
            for (name, value) in [
                ("source", &payload.source),
                ("component", &payload.component),
                ("group", &payload.group),
                ("class", &payload.class),
            ] {
                if let Some(value) = value {
                    labels.insert(name.to_owned(), value.clone());
                }
            }
            if silenced(store, model.as_ref().map(|model| &model.id), severity, &labels).await? {
                return Ok(dedup_key);
            }
            let summary = payload.summary.clone().unwrap_or_default();
            let opening = Opening {
                title: title_for(Some(&summary), "PagerDuty event", model.as_ref(), label.as_deref()),
                severity,
                version: model.as_ref().and_then(|model| model.production_version.clone()),
                model: model.map(|model| model.id),
                model_label: label,
                source: IncidentSource::PagerDuty,
                fingerprint,
                rule_id: None,
                runbook_id: None,
                impact: String::new(),
                note: format!(
                    "PagerDuty event: trigger ({dedup_key}), {} from {}: {summary}",
                    payload.severity.as_deref().unwrap_or("warning"),
                    payload.source.as_deref().unwrap_or("unknown source")
                ),
            };
            incidents::open(store, opening, actor).await?;
        }
    }
    Ok(dedup_key)
}
