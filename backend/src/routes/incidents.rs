//! Incidents: the list, one incident with its timeline, opening by hand, fields,
//! transitions, comments, runbook steps, the postmortem, Art. 73, MTTA/MTTR and the
//! signed-in user's notifications.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use chrono::Duration;
use keel_shared::ModelId;
use keel_shared::auth::Permission;
use keel_shared::incidents::{
    CommentRequest, CreateIncidentRequest, IncidentDetail, IncidentListResponse, IncidentQuery, IncidentStats,
    IncidentStatsQuery, IncidentStatus, IncidentSummary, Notification, Postmortem, RunbookStepRequest,
    SeriousIncidentRequest, Severity, TransitionRequest, UpdateIncidentRequest,
};

use super::Api;
use crate::AppState;
use crate::auth::principal::Credential;
use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::services::incidents::{self, Responder};
use crate::store::incidents::IncidentFilter;

mod report;

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadModels);
    let open = Access::Permission(Permission::OpenIncidents);
    let triage = Access::Permission(Permission::TriageIncidents);
    let resolve = Access::Permission(Permission::ResolveIncidents);
    api.route(Method::GET, "/api/incidents", read, list_incidents)
        .route(Method::POST, "/api/incidents", open, create_incident)
        .route(Method::GET, "/api/incidents/stats", read, incident_stats)
        .route(Method::GET, "/api/incidents/{id}", read, get_incident)
        .route(Method::PATCH, "/api/incidents/{id}", triage, update_incident)
        .route(Method::POST, "/api/incidents/{id}/transitions", triage, transition_incident)
        .route(Method::POST, "/api/incidents/{id}/comments", read, comment_incident)
        .route(Method::POST, "/api/incidents/{id}/runbook-steps", triage, runbook_step)
        .route(Method::PUT, "/api/incidents/{id}/postmortem", resolve, save_postmortem)
        .route(Method::GET, "/api/incidents/{id}/postmortem.md", read, report::postmortem_markdown)
        .route(Method::PUT, "/api/incidents/{id}/serious", resolve, mark_serious)
        .route(Method::GET, "/api/incidents/{id}/serious-report.md", read, report::serious_report_markdown)
        .route(Method::POST, "/api/incidents/{id}/read", read, mark_read)
        .route(Method::GET, "/api/notifications", Access::Authenticated, notifications)
}

/// A comma-separated filter of enum names, e.g. `status=triage,investigating`.
fn parse_list<T: std::str::FromStr<Err = keel_shared::models::UnknownVariant>>(
    field: &str,
    text: Option<&str>,
) -> ApiResult<Vec<T>> {
    text.filter(|text| !text.is_empty())
        .map(|text| text.split(',').map(|name| name.trim().parse::<T>()).collect::<Result<Vec<T>, _>>())
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|error| ApiError::field(field, error.to_string()))
}

async fn list_incidents(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<IncidentQuery>,
) -> ApiResult<Json<IncidentListResponse>> {
    let mut statuses: Vec<IncidentStatus> = Vec::new();
    for name in query.status.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|name| !name.is_empty()) {
        if name == "open" {
            statuses.extend(IncidentStatus::ALL.iter().copied().filter(|status| status.is_open()));
        } else {
            statuses.push(name.parse().map_err(|error: keel_shared::models::UnknownVariant| {
                ApiError::field("status", format!("{error}, or open"))
            })?);
        }
    }
    let assignee = match query.assignee.as_deref() {
        Some("me") => Some(principal.user.username.clone()),
        other => other.filter(|name| !name.is_empty()).map(str::to_owned),
    };
    let filter = IncidentFilter {
        statuses,
        severities: parse_list::<Severity>("severity", query.severity.as_deref())?,
        model: query.model.filter(|model| !model.is_empty()).map(ModelId),
        assignee,
        ..IncidentFilter::default()
    };
    let items: Vec<IncidentSummary> =
        state.store.list_incidents(&filter).await?.iter().map(|incident| incident.summary()).collect();
    Ok(Json(IncidentListResponse { total: items.len() as u64, items }))
}

async fn create_incident(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateIncidentRequest>,
) -> ApiResult<impl IntoResponse> {
    let incident = incidents::open_by_hand(&state.store, request, &principal.actor()).await?;
    let location = format!("/api/incidents/{}", incident.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(incident.summary())))
}

async fn get_incident(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<IncidentDetail>> {
    Ok(Json(incidents::detail(&state.store, &id).await?))
}

async fn update_incident(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<UpdateIncidentRequest>,
) -> ApiResult<Json<IncidentDetail>> {
    incidents::update(&state.store, &id, request, &principal.actor()).await?;
    Ok(Json(incidents::detail(&state.store, &id).await?))
}

async fn transition_incident(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<TransitionRequest>,
) -> ApiResult<Json<IncidentDetail>> {
    let responder = Responder { actor: principal.actor(), role: principal.user.role };
    incidents::transition(&state.store, &id, request.to, &responder).await?;
    Ok(Json(incidents::detail(&state.store, &id).await?))
}

async fn comment_incident(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<CommentRequest>,
) -> ApiResult<(StatusCode, Json<IncidentDetail>)> {
    if matches!(principal.credential, Credential::Token { .. }) {
        return Err(ApiError::Forbidden("comments are written by people: sign in to comment".into()));
    }
    incidents::comment(&state.store, &id, &request.text, &principal.actor()).await?;
    Ok((StatusCode::CREATED, Json(incidents::detail(&state.store, &id).await?)))
}

async fn runbook_step(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<RunbookStepRequest>,
) -> ApiResult<Json<IncidentDetail>> {
    incidents::set_runbook_step(&state.store, &id, request.step, request.done, &principal.actor()).await?;
    Ok(Json(incidents::detail(&state.store, &id).await?))
}

async fn save_postmortem(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(postmortem): ApiJson<Postmortem>,
) -> ApiResult<Json<IncidentDetail>> {
    incidents::save_postmortem(&state.store, &id, postmortem, &principal.actor()).await?;
    Ok(Json(incidents::detail(&state.store, &id).await?))
}

async fn mark_serious(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<SeriousIncidentRequest>,
) -> ApiResult<Json<IncidentDetail>> {
    incidents::mark_serious(&state.store, &id, request, &principal.actor()).await?;
    Ok(Json(incidents::detail(&state.store, &id).await?))
}

async fn incident_stats(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<IncidentStatsQuery>,
) -> ApiResult<Json<IncidentStats>> {
    let to = query.to.unwrap_or_else(|| state.clock.now());
    let from = query.from.unwrap_or(to - Duration::days(30));
    if from >= to {
        return Err(ApiError::field("from", "the range must start before it ends"));
    }
    let model = query.model.filter(|model| !model.is_empty()).map(ModelId);
    Ok(Json(incidents::stats(&state.store, from, to, model).await?))
}

/// Open incidents assigned to the signed-in user or escalated: the console's bell.
async fn notifications(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<Notification>>> {
    let incidents = incidents::notifications(&state.store, &principal.user.username, principal.user.role).await?;
    let ids: Vec<&str> = incidents.iter().map(|incident| incident.id.as_str()).collect();
    let unread = state.store.unread_incidents(&principal.user.id, &ids).await?;
    Ok(Json(
        incidents
            .iter()
            .map(|incident| Notification { unread: unread.contains(&incident.id), incident: incident.summary() })
            .collect(),
    ))
}

/// The signed-in user opened the incident: it is no longer unread in their bell. A read
/// marker, not a change to the incident, so it has no audit entry and no event.
async fn mark_read(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::http::StatusCode> {
    state.store.incident(&id).await?;
    state.store.mark_incident_read(&id, &principal.user.id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
