//! Deployments CI/CD pipelines report (PagerDuty Change Events): each is recorded on the
//! model and on the change that covers it — an implemented change of that model and
//! version within the last day. One that no change covers is an unauthorised change: it
//! opens an incident.

use chrono::Duration;
use keel_shared::ModelId;
use keel_shared::alerting::IntegrationKind;
use keel_shared::changes::{ChangeStatus, ObservedDeployment};
use keel_shared::incidents::{IncidentSource, Severity};

use super::incidents::{self, Opening};
use crate::auth::secrets::secret_hash;
use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::changes::ChangeFilter;

/// How long after its implementation a change covers a reported deployment.
pub const COVERED_WITHIN_HOURS: i64 = 24;

/// What a pipeline reported.
pub struct Reported {
    pub summary: String,
    pub source: String,
    /// `custom_details.model_id`: the model's name or id.
    pub model: Option<String>,
    /// `custom_details.model_version`.
    pub version: Option<String>,
}

/// Records a reported deployment for the PagerDuty integration key `routing_key`; `None`
/// when the key is not an active PagerDuty key.
pub async fn observe(store: &Store, routing_key: &str, reported: Reported) -> DomainResult<Option<ObservedDeployment>> {
    let Some(key) = store.integration_by_key(&secret_hash(routing_key)).await? else {
        return Ok(None);
    };
    if key.kind != IntegrationKind::PagerDuty {
        return Ok(None);
    }
    let actor = Actor { id: None, name: format!("{} ({})", key.name, key.kind) };
    let model_id = match (&key.model, &reported.model) {
        (Some(model), _) => model.clone(),
        (None, Some(reference)) => {
            let found = store.resolve_models([reference.as_str()]).await?;
            ModelId(found.get(reference.as_str()).cloned().ok_or_else(|| {
                DomainError::field(
                    "payload.custom_details.model_id",
                    format!("Keel has no model named or with id '{reference}'"),
                )
            })?)
        }
        (None, None) => {
            return Err(DomainError::field(
                "payload.custom_details.model_id",
                "name the deployed model (its name or id) in custom_details.model_id",
            ));
        }
    };
    let model = store.get_model(&model_id).await?.model;
    let now = store.clock().now();
    let filter = ChangeFilter {
        statuses: vec![ChangeStatus::Implementing, ChangeStatus::Implemented, ChangeStatus::Verified],
        model: Some(model_id.clone()),
        ..ChangeFilter::default()
    };
    let covering = store.list_changes(&filter).await?.into_iter().find(|change| {
        change.version == reported.version
            && change.implemented_at.is_some_and(|at| now - at <= Duration::hours(COVERED_WITHIN_HOURS))
    });
    let version_text = reported.version.clone().unwrap_or_else(|| "an unnamed version".into());
    let incident_id = match &covering {
        Some(_) => None,
        None => {
            let opening = Opening {
                title: format!(
                    "Unauthorised change: {} {version_text} deployed without an implemented change",
                    model.name
                ),
                severity: Severity::Sev3,
                model: Some(model_id.clone()),
                model_label: None,
                version: reported.version.clone(),
                source: IncidentSource::PagerDuty,
                fingerprint: format!("deployment:{model_id}:{version_text}"),
                rule_id: None,
                runbook_id: None,
                impact: format!("{} reported: {}", reported.source, reported.summary),
                note: format!(
                    "{} reported a deployment that no change implemented in the last {COVERED_WITHIN_HOURS} hours covers: {}",
                    reported.source, reported.summary
                ),
            };
            Some(incidents::open(store, opening, &actor).await?.0.id)
        }
    };
    let deployment = ObservedDeployment {
        id: uuid::Uuid::now_v7().to_string(),
        model_id,
        version: reported.version,
        summary: reported.summary,
        source: reported.source,
        at: now,
        change_id: covering.map(|change| change.id),
        incident_id,
    };
    store.record_deployment(&deployment, &actor).await?;
    Ok(Some(deployment))
}
