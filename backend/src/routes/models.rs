//! The model registry: models and their versions.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use keel_shared::ModelId;
use keel_shared::models::{
    CreateModelRequest, CreateVersionRequest, ModelListQuery, ModelListResponse, ModelResponse,
    ModelSummary, UpdateModelRequest, VersionSummary,
};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/models", get(list_models).post(create_model))
        .route("/models/{id}", get(get_model).patch(update_model))
        .route(
            "/models/{id}/versions",
            get(list_versions).post(create_version),
        )
}

async fn list_models(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ModelListQuery>,
) -> ApiResult<Json<ModelListResponse>> {
    let filter = query.validate().map_err(ApiError::Validation)?;
    let (items, total) = state.store.list_models(&filter).await?;
    Ok(Json(ModelListResponse {
        items,
        total,
        page: filter.page,
        per_page: filter.per_page,
    }))
}

async fn create_model(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateModelRequest>,
) -> ApiResult<impl IntoResponse> {
    let model = request.validate().map_err(ApiError::Validation)?;
    let created: ModelSummary = state.store.create_model(&model).await?;
    let location = format!("/api/models/{}", created.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    ))
}

async fn get_model(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ModelResponse>> {
    Ok(Json(state.store.get_model(&ModelId(id)).await?))
}

async fn update_model(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<UpdateModelRequest>,
) -> ApiResult<Json<ModelSummary>> {
    let changes = request.validate().map_err(ApiError::Validation)?;
    Ok(Json(
        state.store.update_model(&ModelId(id), &changes).await?,
    ))
}

async fn list_versions(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<VersionSummary>>> {
    Ok(Json(state.store.list_versions(&ModelId(id)).await?))
}

async fn create_version(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<CreateVersionRequest>,
) -> ApiResult<impl IntoResponse> {
    let version = request.validate().map_err(ApiError::Validation)?;
    let created = state.store.create_version(&ModelId(id), &version).await?;
    Ok((StatusCode::CREATED, Json(created)))
}
