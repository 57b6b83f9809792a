//! `GET /api/health`: 200 only when the store answers.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use keel_shared::models::HealthResponse;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(check_health))
}

async fn check_health(State(state): State<AppState>) -> ApiResult<Json<HealthResponse>> {
    state.store.ping().await.map_err(|error| {
        tracing::warn!(%error, "health check: the store does not answer");
        ApiError::Unavailable("the store does not answer".into())
    })?;
    Ok(Json(HealthResponse {
        status: "ok".into(),
        store: state.store.dialect().as_str().into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}
