//! Change requests: the list (with "waiting for my approval"), one change with its
//! evidence, conflicts, approvals and timeline, creating, editing, transitions, approvals,
//! the approval policy and freeze windows, and PagerDuty Change Events at
//! `/v2/change/enqueue` (deployments CI/CD pipelines report).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_shared::ModelId;
use keel_shared::audit::AuditAction;
use keel_shared::auth::Permission;
use keel_shared::changes::{
    ApprovalPolicy, ApprovalRequest, ChangeDetail, ChangeListResponse, ChangeQuery, ChangeStatus,
    ChangeTransitionRequest, CreateChangeRequest, FreezeWindows, ObservedDeployment, UpdateChangeRequest,
};
use keel_shared::models::UnknownVariant;
use serde::Deserialize;
use serde_json::json;

use super::Api;
use crate::AppState;
use crate::auth::principal::Credential;
use crate::auth::{Access, Principal};
use crate::domain::DomainError;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::services::changes::{self, FREEZE_SETTING, POLICY_SETTING, Person};
use crate::services::deployments;
use crate::store::changes::ChangeFilter;

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadModels);
    let request = Access::Permission(Permission::RequestChanges);
    let approve = Access::Permission(Permission::ApproveChanges);
    let admin = Access::Permission(Permission::ManageUsers);
    api.route(Method::GET, "/api/changes", read, list_changes)
        .route(Method::POST, "/api/changes", request, create_change)
        .route(Method::GET, "/api/changes/policy", read, get_policy)
        .route(Method::PUT, "/api/changes/policy", admin, put_policy)
        .route(Method::GET, "/api/changes/freeze-windows", read, get_freeze_windows)
        .route(Method::PUT, "/api/changes/freeze-windows", admin, put_freeze_windows)
        .route(Method::GET, "/api/changes/{id}", read, get_change)
        .route(Method::PATCH, "/api/changes/{id}", request, update_change)
        .route(Method::POST, "/api/changes/{id}/transitions", request, transition_change)
        .route(Method::POST, "/api/changes/{id}/approvals", approve, decide_change)
        .route(Method::GET, "/api/models/{id}/deployments", read, list_deployments)
        .route(Method::POST, "/v2/change/enqueue", Access::Public, change_event)
}

fn person(principal: &Principal) -> Person {
    Person {
        actor: principal.actor(),
        role: principal.user.role,
        via_token: matches!(principal.credential, Credential::Token { .. }),
    }
}

fn parse_list<T: std::str::FromStr<Err = UnknownVariant>>(field: &str, text: Option<&str>) -> ApiResult<Vec<T>> {
    text.filter(|text| !text.is_empty())
        .map(|text| text.split(',').map(|name| name.trim().parse::<T>()).collect::<Result<Vec<T>, _>>())
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|error| ApiError::field(field, error.to_string()))
}

async fn list_changes(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ChangeQuery>,
) -> ApiResult<Json<ChangeListResponse>> {
    let statuses = match query.status.as_deref() {
        Some("open") => ChangeStatus::ALL.iter().copied().filter(|status| status.is_open()).collect(),
        other => parse_list("status", other).map_err(|_| {
            ApiError::field("status", format!("give statuses from: {}, or open", names(ChangeStatus::ALL)))
        })?,
    };
    let filter = ChangeFilter {
        statuses,
        kinds: parse_list("kind", query.kind.as_deref())?,
        model: query.model.filter(|model| !model.is_empty()).map(ModelId),
    };
    let waiting_for = match query.waiting_for.as_deref() {
        None | Some("") => None,
        Some("me") => Some((principal.user.username.as_str(), principal.user.role)),
        Some(other) => return Err(ApiError::field("waiting_for", format!("only 'me' is understood, not '{other}'"))),
    };
    let items = changes::list(&state.store, &filter, waiting_for).await?;
    Ok(Json(ChangeListResponse { total: items.len() as u64, items }))
}

fn names<T: std::fmt::Display>(values: &[T]) -> String {
    values.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

async fn create_change(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateChangeRequest>,
) -> ApiResult<impl IntoResponse> {
    let change = changes::create(&state.store, request, &person(&principal)).await?;
    let location = format!("/api/changes/{}", change.id);
    let detail = changes::detail(&state.store, &change.id).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(detail)))
}

async fn get_change(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<ChangeDetail>> {
    Ok(Json(changes::detail(&state.store, &id).await?))
}

async fn update_change(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<UpdateChangeRequest>,
) -> ApiResult<Json<ChangeDetail>> {
    changes::update(&state.store, &id, request, &person(&principal)).await?;
    Ok(Json(changes::detail(&state.store, &id).await?))
}

async fn transition_change(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ChangeTransitionRequest>,
) -> ApiResult<Json<ChangeDetail>> {
    changes::transition(&state.store, &id, request.to, &person(&principal)).await?;
    Ok(Json(changes::detail(&state.store, &id).await?))
}

async fn decide_change(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ApprovalRequest>,
) -> ApiResult<Json<ChangeDetail>> {
    changes::decide(&state.store, &id, request, &person(&principal)).await?;
    Ok(Json(changes::detail(&state.store, &id).await?))
}

async fn get_policy(State(state): State<AppState>) -> ApiResult<Json<ApprovalPolicy>> {
    Ok(Json(changes::policy(&state.store).await?))
}

async fn put_policy(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(policy): ApiJson<ApprovalPolicy>,
) -> ApiResult<Json<ApprovalPolicy>> {
    let problems = policy.problems();
    if !problems.is_empty() {
        return Err(DomainError::Invalid(problems.into_iter().collect()).into());
    }
    state.store.put_setting(POLICY_SETTING, &policy, AuditAction::ChangePolicy, &principal.actor()).await?;
    Ok(Json(policy))
}

async fn get_freeze_windows(State(state): State<AppState>) -> ApiResult<Json<FreezeWindows>> {
    Ok(Json(state.store.setting(FREEZE_SETTING).await?))
}

async fn put_freeze_windows(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(windows): ApiJson<FreezeWindows>,
) -> ApiResult<Json<FreezeWindows>> {
    let problems = windows.problems();
    if !problems.is_empty() {
        return Err(DomainError::Invalid(problems.into_iter().collect()).into());
    }
    state.store.put_setting(FREEZE_SETTING, &windows, AuditAction::FreezeWindows, &principal.actor()).await?;
    Ok(Json(windows))
}

async fn list_deployments(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<ObservedDeployment>>> {
    let model_id = ModelId(id);
    state.store.get_model(&model_id).await?;
    Ok(Json(state.store.deployments(&model_id).await?))
}

/// A PagerDuty Change Event.
#[derive(Debug, Deserialize)]
struct ChangeEvent {
    #[serde(default)]
    routing_key: Option<String>,
    #[serde(default)]
    payload: Option<ChangeEventPayload>,
}

#[derive(Debug, Deserialize)]
struct ChangeEventPayload {
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    custom_details: Option<serde_json::Value>,
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn invalid_change_event(errors: &[String]) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        json!({ "status": "invalid event", "message": "Event object is invalid", "errors": errors }),
    )
}

/// `POST /v2/change/enqueue`, answered as PagerDuty's Change Events API answers.
async fn change_event(State(state): State<AppState>, body: Bytes) -> Response {
    let event: ChangeEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(error) => return invalid_change_event(&[format!("the body is not a JSON change event: {error}")]),
    };
    let Some(routing_key) = event.routing_key.filter(|key| !key.is_empty()) else {
        return invalid_change_event(&["'routing_key' is missing or blank".into()]);
    };
    let Some(payload) = event.payload else {
        return invalid_change_event(&["'payload' is missing".into()]);
    };
    let Some(summary) = payload.summary.filter(|summary| !summary.trim().is_empty()) else {
        return invalid_change_event(&["'payload.summary' is missing or blank".into()]);
    };
    let details = payload.custom_details.unwrap_or_default();
    let text = |key: &str| {
        details
            .get(key)
            .and_then(|value| value.as_str().map(str::to_owned).or_else(|| value.as_number().map(ToString::to_string)))
    };
    let reported = deployments::Reported {
        summary: summary.chars().take(1024).collect(),
        source: payload.source.unwrap_or_else(|| "CI/CD".into()).chars().take(255).collect(),
        model: text("model_id"),
        version: text("model_version"),
    };
    match deployments::observe(&state.store, &routing_key, reported).await {
        Ok(Some(_)) => {
            answer(StatusCode::ACCEPTED, json!({ "status": "success", "message": "Change event processed" }))
        }
        Ok(None) => {
            invalid_change_event(&["'routing_key' is not an active PagerDuty integration key of this Keel".into()])
        }
        Err(DomainError::Invalid(errors)) => invalid_change_event(
            &errors.into_iter().map(|(field, message)| format!("{field}: {message}")).collect::<Vec<_>>(),
        ),
        Err(DomainError::Unavailable(_) | DomainError::Conflict(_)) => answer(
            StatusCode::TOO_MANY_REQUESTS,
            json!({ "status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later." }),
        ),
        Err(error) => {
            tracing::error!(%error, "a PagerDuty change event could not be handled");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "status": "error", "message": "the event could not be handled; the error has been logged" }),
            )
        }
    }
}
