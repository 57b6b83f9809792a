//! `GET /api/health` (200 only when the store answers) and `GET /metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::IntoResponse;
use keel_shared::models::HealthResponse;

use super::Api;
use crate::AppState;
use crate::auth::Access;
use crate::domain::DomainError;
use crate::error::{ApiError, ApiResult};

pub fn routes(api: Api) -> Api {
    api.route(Method::GET, "/api/health", Access::Public, check_health).route(
        Method::GET,
        "/metrics",
        Access::Metrics,
        serve_metrics,
    )
}

async fn serve_metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

async fn check_health(State(state): State<AppState>) -> ApiResult<Json<HealthResponse>> {
    state.store.ping().await.map_err(|error| {
        tracing::warn!(%error, "health check: the store does not answer");
        match error {
            DomainError::Unavailable(why) => ApiError::Unavailable(why),
            other => ApiError::Unavailable(format!("the store does not answer ({other})")),
        }
    })?;
    Ok(Json(HealthResponse {
        status: "ok".into(),
        store: state.store.dialect().as_str().into(),
        version: env!("CARGO_PKG_VERSION").into(),
        singleton_jobs: state.leadership.is_leader(),
    }))
}
