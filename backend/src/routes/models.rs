//! The model registry: models and their versions.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use keel_shared::ModelId;
use keel_shared::auth::Permission;
use keel_shared::models::{
    ChangeStageRequest, CreateModelRequest, CreateVersionRequest, ModelListQuery, ModelListResponse, ModelResponse,
    ModelSummary, UpdateModelRequest, VersionSummary,
};

use super::Api;
use crate::AppState;
use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::services;

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadModels);
    let write = Access::Permission(Permission::WriteModels);
    api.route(Method::GET, "/api/models", read, list_models)
        .route(Method::POST, "/api/models", write, create_model)
        .route(Method::GET, "/api/models/{id}", read, get_model)
        .route(Method::PATCH, "/api/models/{id}", write, update_model)
        .route(Method::GET, "/api/models/{id}/versions", read, list_versions)
        .route(Method::POST, "/api/models/{id}/versions", write, create_version)
        .route(Method::POST, "/api/models/{id}/versions/{tag}/stage", write, change_version_stage)
}

async fn list_models(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ModelListQuery>,
) -> ApiResult<Json<ModelListResponse>> {
    let filter = query.validate().map_err(ApiError::Validation)?;
    let (items, total) = state.store.list_models(&filter).await?;
    Ok(Json(ModelListResponse { items, total, page: filter.page, per_page: filter.per_page }))
}

async fn create_model(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateModelRequest>,
) -> ApiResult<impl IntoResponse> {
    let model = request.validate().map_err(ApiError::Validation)?;
    let created: ModelSummary = state.store.create_model(&model, &principal.actor()).await?;
    // On the health board (as "no data") from the start, not only after the next sweep.
    let created_id = [created.id.clone()].into();
    if let Err(error) = crate::health::evaluate_models(&state.store, &state.health, Some(&created_id)).await {
        tracing::warn!(%error, "the new model's health is left to the next sweep");
    }
    let location = format!("/api/models/{}", created.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(created)))
}

async fn get_model(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<ModelResponse>> {
    Ok(Json(state.store.get_model(&ModelId(id)).await?))
}

async fn update_model(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<UpdateModelRequest>,
) -> ApiResult<Json<ModelSummary>> {
    let changes = request.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_model(&ModelId(id), &changes, &principal.actor()).await?))
}

async fn list_versions(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<VersionSummary>>> {
    Ok(Json(state.store.list_versions(&ModelId(id)).await?))
}

async fn create_version(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<CreateVersionRequest>,
) -> ApiResult<impl IntoResponse> {
    let version = request.validate().map_err(ApiError::Validation)?;
    let created =
        services::registry::register_version(&state.store, &ModelId(id), &version, &principal.actor()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Moves a version to another stage, where the stage table allows it without a change.
async fn change_version_stage(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, tag)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<ChangeStageRequest>,
) -> ApiResult<Json<VersionSummary>> {
    let moved =
        services::registry::change_stage(&state.store, &ModelId(id), &tag, request.stage, &principal.actor()).await?;
    Ok(Json(moved))
}
