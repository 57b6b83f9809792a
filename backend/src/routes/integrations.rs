//! Inbound alert integrations: their keys (admins), Alertmanager's webhook at
//! `/api/integrations/alertmanager` and PagerDuty Events API v2 at `/v2/enqueue`.
//!
//! Alertmanager drops a notification answered 4xx and retries 5xx, so overload and an
//! unavailable store answer 503. `/v2/enqueue` speaks PagerDuty's own answers (202
//! `{"status":"success",…}`, 400 with `errors`, 429 when overloaded), which its clients
//! expect instead of Keel's `ErrorBody`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_shared::alerting::{CreateIntegrationRequest, CreatedIntegration, Integration, IntegrationKind};
use keel_shared::auth::{Permission, token_can};
use serde_json::json;

use super::Api;
use crate::AppState;
use crate::alerting::inbound::{self, AlertmanagerWebhook, PagerDutyEvent};
use crate::auth::secrets::{new_integration_key, secret_hash};
use crate::auth::{Access, Principal};
use crate::domain::DomainError;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::store::audit::Actor;

pub fn routes(api: Api) -> Api {
    let manage = Access::Permission(Permission::ManageIntegrations);
    api.route(Method::GET, "/api/integrations", manage, list_integrations)
        .route(Method::POST, "/api/integrations", manage, create_integration)
        .route(Method::DELETE, "/api/integrations/{id}", manage, revoke_integration)
        // Authenticated by the integration key or an ingest token, checked here.
        .route(Method::POST, "/api/integrations/alertmanager", Access::Public, alertmanager_webhook)
        .route(Method::POST, "/v2/enqueue", Access::Public, pagerduty_enqueue)
}

async fn list_integrations(State(state): State<AppState>) -> ApiResult<Json<Vec<Integration>>> {
    Ok(Json(state.store.integrations().await?))
}

async fn create_integration(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateIntegrationRequest>,
) -> ApiResult<(StatusCode, Json<CreatedIntegration>)> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field("name", "give the integration a name of 1 to 100 characters"));
    }
    let key = new_integration_key();
    let integration = state
        .store
        .create_integration(name, request.kind, request.model.as_ref(), &secret_hash(&key), &principal.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedIntegration { integration, key })))
}

async fn revoke_integration(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.revoke_integration(&id, &principal.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who sent an inbound alert: an integration key of `kind` (with its model, if fixed), or,
/// where `tokens_allowed`, an API token whose scopes include ingest.
async fn sender(
    state: &AppState,
    secret: &str,
    kind: IntegrationKind,
    tokens_allowed: bool,
) -> Result<Option<(Actor, Option<keel_shared::ModelId>)>, DomainError> {
    if let Some(key) = state.store.integration_by_key(&secret_hash(secret)).await? {
        return Ok((key.kind == kind).then(|| (Actor { id: None, name: format!("{} ({kind})", key.name) }, key.model)));
    }
    if tokens_allowed && let Some(owner) = state.store.token_user(&secret_hash(secret)).await? {
        let allowed = token_can(owner.user.role, &owner.scopes, Permission::IngestTelemetry);
        return Ok(
            allowed.then(|| (Actor { id: Some(owner.user.id.clone()), name: owner.user.username.clone() }, None))
        );
    }
    Ok(None)
}

async fn alertmanager_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let Ok(_permit) = state.inbound_alerts.clone().try_acquire_owned() else {
        return Err(ApiError::Overloaded { retry_after_secs: 1 });
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "send an Alertmanager integration key or an ingest token as `Authorization: Bearer …`".into(),
            )
        })?;
    let Some((actor, model)) = sender(&state, bearer, IntegrationKind::Alertmanager, true).await? else {
        return Err(ApiError::Unauthorized(
            "the key is not an active Alertmanager integration key or ingest token".into(),
        ));
    };
    let webhook: AlertmanagerWebhook = serde_json::from_slice(&body)
        .map_err(|error| ApiError::BadRequest(format!("not an Alertmanager webhook payload: {error}")))?;
    if webhook.version != "4" {
        return Err(ApiError::field("version", format!("Keel reads webhook version 4, not '{}'", webhook.version)));
    }
    let handled = inbound::alertmanager(&state.store, webhook, model.as_ref(), &actor).await?;
    Ok((StatusCode::OK, Json(handled)).into_response())
}

fn pagerduty_answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn invalid_event(errors: &[String]) -> Response {
    pagerduty_answer(
        StatusCode::BAD_REQUEST,
        json!({ "status": "invalid event", "message": "Event object is invalid", "errors": errors }),
    )
}

fn throttled() -> Response {
    let mut response = pagerduty_answer(
        StatusCode::TOO_MANY_REQUESTS,
        json!({ "status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later." }),
    );
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    response
}

async fn pagerduty_enqueue(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(_permit) = state.inbound_alerts.clone().try_acquire_owned() else {
        return throttled();
    };
    let event: PagerDutyEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(error) => return invalid_event(&[format!("the body is not a JSON event object: {error}")]),
    };
    let Some(routing_key) = event.routing_key.clone().filter(|key| !key.is_empty()) else {
        return invalid_event(&["'routing_key' is missing or blank".into()]);
    };
    let problems = inbound::pagerduty_problems(&event);
    if !problems.is_empty() {
        return invalid_event(&problems);
    }
    let outcome = async {
        let Some((actor, model)) = sender(&state, &routing_key, IntegrationKind::PagerDuty, false).await? else {
            return Ok(None);
        };
        inbound::pagerduty(&state.store, event, model.as_ref(), &actor).await.map(Some)
    };
    match outcome.await {
        Ok(Some(dedup_key)) => pagerduty_answer(
            StatusCode::ACCEPTED,
            json!({ "status": "success", "message": "Event processed", "dedup_key": dedup_key }),
        ),
        Ok(None) => invalid_event(&["'routing_key' is not an active PagerDuty integration key of this Keel".into()]),
        Err(DomainError::Unavailable(_) | DomainError::Conflict(_)) => throttled(),
        Err(error) => {
            tracing::error!(%error, "a PagerDuty event could not be handled");
            pagerduty_answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "status": "error", "message": "the event could not be handled; the error has been logged" }),
            )
        }
    }
}
