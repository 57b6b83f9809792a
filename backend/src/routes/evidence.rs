//! Evidence per model version — JUnit results from CI, fairness reviews, model cards — and
//! the readiness assessment and fairness thresholds per model.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, header};
use axum::response::IntoResponse;
use keel_shared::ModelId;
use keel_shared::audit::AuditAction;
use keel_shared::auth::Permission;
use keel_shared::evidence::{
    FairnessQuery, FairnessReview, FairnessThresholds, ModelCard, ModelCardResponse, ReadinessAssessment,
    ReadinessRequest, SignOffRequest, TestResults,
};

use super::Api;
use crate::AppState;
use crate::auth::{Access, Principal};
use crate::domain::DomainError;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery};
use crate::routes::analysis::DRIFT_BODY_LIMIT_BYTES;
use crate::services::evidence::{self, EvaluationSet};
use crate::store::evidence::EvidenceSlot;

/// Largest JUnit XML accepted.
const JUNIT_LIMIT_BYTES: usize = 16 * 1024 * 1024;

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadModels);
    let upload = Access::Permission(Permission::UploadEvidence);
    let write = Access::Permission(Permission::WriteModels);
    let approve = Access::Permission(Permission::ApproveChanges);
    api.route(Method::GET, "/api/models/{id}/versions/{tag}/evidence/junit", read, get_tests)
        .route(Method::PUT, "/api/models/{id}/versions/{tag}/evidence/junit", upload, put_tests)
        .route(Method::GET, "/api/models/{id}/versions/{tag}/fairness", read, get_fairness)
        .route(Method::PUT, "/api/models/{id}/versions/{tag}/fairness", upload, put_fairness)
        .route(Method::POST, "/api/models/{id}/versions/{tag}/fairness/sign-off", approve, sign_off)
        .route(Method::GET, "/api/models/{id}/fairness-thresholds", read, get_thresholds)
        .route(Method::PUT, "/api/models/{id}/fairness-thresholds", write, put_thresholds)
        .route(Method::GET, "/api/models/{id}/versions/{tag}/model-card", read, get_model_card)
        .route(Method::PUT, "/api/models/{id}/versions/{tag}/model-card", write, put_model_card)
        .route(Method::GET, "/api/models/{id}/versions/{tag}/model-card.md", read, model_card_markdown)
        .route(Method::GET, "/api/models/{id}/readiness", read, get_readiness)
        .route(Method::PUT, "/api/models/{id}/readiness", read, put_readiness)
}

fn text(body: &[u8]) -> ApiResult<&str> {
    std::str::from_utf8(body).map_err(|_| ApiError::field("body", "the body is not UTF-8 text"))
}

async fn get_tests(
    State(state): State<AppState>,
    ApiPath((id, tag)): ApiPath<(String, String)>,
) -> ApiResult<Json<TestResults>> {
    let model_id = ModelId(id);
    let stored = state.store.evidence::<TestResults>(&model_id, &tag, EvidenceSlot::Tests).await?;
    let stored = stored.ok_or_else(|| DomainError::NotFound(format!("version '{tag}' has no test results yet")))?;
    Ok(Json(stored.value))
}

async fn put_tests(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, tag)): ApiPath<(String, String)>,
    ApiBytes(body): ApiBytes<JUNIT_LIMIT_BYTES>,
) -> ApiResult<Json<TestResults>> {
    let results = evidence::upload_tests(&state.store, &ModelId(id), &tag, text(&body)?, &principal.actor()).await?;
    Ok(Json(results))
}

async fn get_fairness(
    State(state): State<AppState>,
    ApiPath((id, tag)): ApiPath<(String, String)>,
) -> ApiResult<Json<FairnessReview>> {
    let stored = state.store.evidence::<FairnessReview>(&ModelId(id), &tag, EvidenceSlot::Fairness).await?;
    let stored = stored.ok_or_else(|| DomainError::NotFound(format!("version '{tag}' has no fairness review yet")))?;
    Ok(Json(stored.value))
}

async fn put_fairness(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath((id, tag)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<FairnessQuery>,
    ApiBytes(body): ApiBytes<DRIFT_BODY_LIMIT_BYTES>,
) -> ApiResult<Json<FairnessReview>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !content_type.trim().to_ascii_lowercase().starts_with("text/csv") {
        return Err(ApiError::UnsupportedMediaType("send the evaluation set as text/csv with a header row".into()));
    }
    let attributes: Vec<String> =
        query.attributes.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect();
    let set =
        EvaluationSet { csv: text(&body)?.to_owned(), truth: query.truth, prediction: query.prediction, attributes };
    let review = evidence::review_fairness(&state.store, &ModelId(id), &tag, set, &principal.actor()).await?;
    Ok(Json(review))
}

async fn sign_off(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, tag)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<SignOffRequest>,
) -> ApiResult<Json<FairnessReview>> {
    Ok(Json(evidence::sign_off(&state.store, &ModelId(id), &tag, &request.comment, &principal.actor()).await?))
}

async fn get_thresholds(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<FairnessThresholds>> {
    let model_id = ModelId(id);
    state.store.get_model(&model_id).await?;
    Ok(Json(state.store.setting(&evidence::thresholds_setting(&model_id)).await?))
}

async fn put_thresholds(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(thresholds): ApiJson<FairnessThresholds>,
) -> ApiResult<Json<FairnessThresholds>> {
    let model_id = ModelId(id);
    state.store.get_model(&model_id).await?;
    let problems = thresholds.problems();
    if !problems.is_empty() {
        return Err(DomainError::Invalid(problems.into_iter().collect()).into());
    }
    let name = evidence::thresholds_setting(&model_id);
    state.store.put_setting(&name, &thresholds, AuditAction::FairnessThresholds, &principal.actor()).await?;
    Ok(Json(thresholds))
}

async fn get_model_card(
    State(state): State<AppState>,
    ApiPath((id, tag)): ApiPath<(String, String)>,
) -> ApiResult<Json<ModelCardResponse>> {
    Ok(Json(evidence::model_card(&state.store, &ModelId(id), &tag).await?))
}

async fn put_model_card(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, tag)): ApiPath<(String, String)>,
    ApiJson(card): ApiJson<ModelCard>,
) -> ApiResult<Json<ModelCardResponse>> {
    Ok(Json(evidence::save_model_card(&state.store, &ModelId(id), &tag, card, &principal.actor()).await?))
}

async fn model_card_markdown(
    State(state): State<AppState>,
    ApiPath((id, tag)): ApiPath<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let model_id = ModelId(id);
    let model = state.store.get_model(&model_id).await?.model;
    let card = evidence::model_card(&state.store, &model_id, &tag).await?;
    let markdown = evidence::model_card_markdown(&model.name, &tag, &card);
    let disposition = format!("attachment; filename=\"model-card-{}-{tag}.md\"", model.name);
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        markdown,
    ))
}

async fn get_readiness(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ReadinessAssessment>> {
    Ok(Json(evidence::readiness(&state.store, &ModelId(id)).await?))
}

/// Engineers and approvers attest; viewers and tokens may not.
async fn put_readiness(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ReadinessRequest>,
) -> ApiResult<Json<ReadinessAssessment>> {
    if !(principal.can(Permission::WriteModels) || principal.can(Permission::ApproveChanges)) {
        return Err(ApiError::Forbidden("attesting readiness is for engineers, approvers and admins".into()));
    }
    Ok(Json(evidence::attest(&state.store, &ModelId(id), request, &principal.actor()).await?))
}
