//! Alert rules (with a preview and their history), silences and runbooks.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use keel_shared::ModelId;
use keel_shared::alerting::{
    AlertHistoryEntry, AlertRule, AlertRuleDetail, AlertRuleSpec, AlertState, RuleInstance, RulePreview, Runbook,
    RunbookSpec, Silence, SilenceSpec,
};
use keel_shared::auth::Permission;
use keel_shared::incidents::{EscalationChains, SlaPolicy};
use keel_shared::validation::FieldErrors;

use super::Api;
use crate::AppState;
use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::store::alerting::{StoredRule, StoredState};

const HISTORY_LIMIT: i64 = 200;
const MAX_RUNBOOK_BYTES: usize = 100_000;

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadModels);
    let manage = Access::Permission(Permission::ManageAlertRules);
    api.route(Method::GET, "/api/alert-rules", read, list_rules)
        .route(Method::POST, "/api/alert-rules", manage, create_rule)
        .route(Method::POST, "/api/alert-rules/preview", read, preview_rule)
        .route(Method::GET, "/api/alert-rules/{id}", read, get_rule)
        .route(Method::PUT, "/api/alert-rules/{id}", manage, update_rule)
        .route(Method::GET, "/api/alert-history", read, alert_history)
        .route(Method::GET, "/api/silences", read, list_silences)
        .route(Method::POST, "/api/silences", manage, create_silence)
        .route(Method::DELETE, "/api/silences/{id}", manage, expire_silence)
        .route(Method::GET, "/api/runbooks", read, list_runbooks)
        .route(Method::POST, "/api/runbooks", manage, create_runbook)
        .route(Method::PUT, "/api/runbooks/{id}", manage, update_runbook)
        .route(Method::GET, "/api/escalation", manage, get_escalation)
        .route(Method::PUT, "/api/escalation", manage, set_escalation)
        .route(
            Method::GET,
            "/api/escalation/signing-secret",
            Access::Permission(Permission::ManageIntegrations),
            signing_secret,
        )
        .route(Method::GET, "/api/sla", read, get_sla)
        .route(Method::PUT, "/api/sla", manage, set_sla)
}

fn checked(spec: &AlertRuleSpec) -> ApiResult<()> {
    let problems = spec.problems();
    if problems.is_empty() {
        return Ok(());
    }
    let fields: FieldErrors = problems.into_iter().map(|(field, message)| (field.to_owned(), message)).collect();
    Err(ApiError::Validation(fields))
}

/// The rule with how many models it is firing for.
fn rule_view(rule: StoredRule, states: &HashMap<(String, ModelId), StoredState>) -> AlertRule {
    let firing = states.iter().filter(|((rule_id, _), stored)| rule_id == &rule.id && stored.state.is_firing()).count();
    AlertRule {
        id: rule.id,
        spec: rule.spec,
        builtin: rule.builtin,
        created_at: rule.created_at,
        updated_at: rule.updated_at,
        firing: u32::try_from(firing).unwrap_or(u32::MAX),
    }
}

async fn list_rules(State(state): State<AppState>) -> ApiResult<Json<Vec<AlertRule>>> {
    let states = state.store.alert_states().await?;
    let rules = state.store.alert_rules().await?;
    Ok(Json(rules.into_iter().map(|rule| rule_view(rule, &states)).collect()))
}

async fn create_rule(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(spec): ApiJson<AlertRuleSpec>,
) -> ApiResult<(StatusCode, Json<AlertRule>)> {
    checked(&spec)?;
    let rule = state.store.create_alert_rule(&spec, &principal.actor()).await?;
    Ok((StatusCode::CREATED, Json(rule_view(rule, &state.store.alert_states().await?))))
}

async fn update_rule(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(spec): ApiJson<AlertRuleSpec>,
) -> ApiResult<Json<AlertRule>> {
    checked(&spec)?;
    let rule = state.store.update_alert_rule(&id, &spec, &principal.actor()).await?;
    Ok(Json(rule_view(rule, &state.store.alert_states().await?)))
}

async fn get_rule(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<AlertRuleDetail>> {
    let rule = state.store.alert_rule(&id).await?;
    let names: std::collections::HashMap<_, _> =
        state.store.model_facts().await?.into_iter().map(|model| (model.id, model.name)).collect();
    let states = state.store.alert_states().await?;
    let mut instances: Vec<RuleInstance> = states
        .iter()
        .filter(|((rule_id, _), stored)| rule_id == &id && stored.state != AlertState::Normal)
        .map(|((rule_id, model), stored)| RuleInstance {
            rule_id: rule_id.clone(),
            model_name: names.get(model).cloned().unwrap_or_default(),
            model: model.clone(),
            state: stored.state,
            since: stored.since,
            value: stored.value,
        })
        .collect();
    instances.sort_by(|a, b| a.model_name.cmp(&b.model_name));
    let history = state.store.alert_history(Some(&id), HISTORY_LIMIT).await?;
    Ok(Json(AlertRuleDetail { rule: rule_view(rule, &states), instances, history }))
}

async fn preview_rule(
    State(state): State<AppState>,
    ApiJson(spec): ApiJson<AlertRuleSpec>,
) -> ApiResult<Json<Vec<RulePreview>>> {
    checked(&spec)?;
    Ok(Json(crate::alerting::preview(&state.store, &state.health, &spec).await?))
}

async fn alert_history(State(state): State<AppState>) -> ApiResult<Json<Vec<AlertHistoryEntry>>> {
    Ok(Json(state.store.alert_history(None, HISTORY_LIMIT).await?))
}

async fn list_silences(State(state): State<AppState>) -> ApiResult<Json<Vec<Silence>>> {
    Ok(Json(state.store.active_silences().await?))
}

async fn create_silence(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(spec): ApiJson<SilenceSpec>,
) -> ApiResult<(StatusCode, Json<Silence>)> {
    if spec.ends_at <= spec.starts_at {
        return Err(ApiError::field("ends_at", "a silence must end after it starts"));
    }
    if spec.ends_at <= state.clock.now() {
        return Err(ApiError::field("ends_at", "this silence would already be over"));
    }
    if spec.reason.trim().is_empty() {
        return Err(ApiError::field("reason", "say why alerts are silenced"));
    }
    if spec.model.is_none() && spec.rule.is_none() && spec.severity.is_none() && spec.labels.is_empty() {
        return Err(ApiError::field("model", "a silence needs at least one matcher (model, rule, severity or label)"));
    }
    Ok((StatusCode::CREATED, Json(state.store.create_silence(&spec, &principal.actor()).await?)))
}

async fn expire_silence(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.expire_silence(&id, &principal.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_runbooks(State(state): State<AppState>) -> ApiResult<Json<Vec<Runbook>>> {
    Ok(Json(state.store.runbooks().await?))
}

fn checked_runbook(spec: &RunbookSpec) -> ApiResult<()> {
    if spec.title.trim().is_empty() || spec.title.chars().count() > 200 {
        return Err(ApiError::field("title", "give the runbook a title of 1 to 200 characters"));
    }
    if spec.body.len() > MAX_RUNBOOK_BYTES {
        return Err(ApiError::field("body", format!("a runbook is at most {MAX_RUNBOOK_BYTES} bytes")));
    }
    Ok(())
}

async fn create_runbook(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(spec): ApiJson<RunbookSpec>,
) -> ApiResult<(StatusCode, Json<Runbook>)> {
    checked_runbook(&spec)?;
    Ok((StatusCode::CREATED, Json(state.store.save_runbook(None, &spec, &principal.actor()).await?)))
}

async fn update_runbook(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(spec): ApiJson<RunbookSpec>,
) -> ApiResult<Json<Runbook>> {
    checked_runbook(&spec)?;
    Ok(Json(state.store.save_runbook(Some(&id), &spec, &principal.actor()).await?))
}

async fn get_sla(State(state): State<AppState>) -> ApiResult<Json<SlaPolicy>> {
    Ok(Json(state.store.sla_policy().await?))
}

/// Replaces the service levels; incidents opened (or re-graded) from now on use them.
async fn set_sla(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(policy): ApiJson<SlaPolicy>,
) -> ApiResult<Json<SlaPolicy>> {
    let problems = policy.problems();
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems.into_iter().collect()));
    }
    state.store.set_sla_policy(&policy, &principal.actor()).await?;
    Ok(Json(policy))
}

async fn get_escalation(State(state): State<AppState>) -> ApiResult<Json<EscalationChains>> {
    Ok(Json(state.store.escalation_chains().await?))
}

/// Replaces the escalation chains: every user must be active, every webhook an http(s) URL.
async fn set_escalation(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(chains): ApiJson<EscalationChains>,
) -> ApiResult<Json<EscalationChains>> {
    let chains_with_names = std::iter::once(("fleet".to_owned(), &chains.fleet))
        .chain(chains.models.iter().map(|(model, levels)| (format!("models.{model}"), levels)));
    for (name, levels) in chains_with_names {
        for (index, level) in levels.iter().enumerate() {
            let field = format!("{name}[{index}]");
            for user in &level.users {
                let active =
                    state.store.user_by_username(user).await?.is_some_and(|found| found.user.deactivated_at.is_none());
                if !active {
                    return Err(ApiError::field(&format!("{field}.users"), format!("'{user}' is not an active user")));
                }
            }
            if let Some(url) = &level.webhook_url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return Err(ApiError::field(
                    &format!("{field}.webhook_url"),
                    "a webhook is an http:// or https:// URL",
                ));
            }
            if level.users.is_empty() && level.webhook_url.is_none() {
                return Err(ApiError::field(&field, "a level names users, a webhook, or both"));
            }
        }
    }
    for model in chains.models.keys() {
        state.store.get_model(&ModelId(model.clone())).await?;
    }
    state.store.set_escalation_chains(&chains, &principal.actor()).await?;
    Ok(Json(chains))
}

/// The secret escalation webhooks are signed with (admins): receivers check
/// `X-Keel-Signature` against HMAC-SHA256 of the body under it.
async fn signing_secret(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let secret = state.store.webhook_secret(&crate::auth::secrets::random_secret()).await?;
    Ok(Json(serde_json::json!({ "secret": secret })))
}
