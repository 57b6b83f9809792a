//! The JSON API: one router per resource, merged under `/api`.

mod health;
mod models;

use axum::Router;

use crate::AppState;
use crate::error::ApiError;

pub fn api_router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(models::router())
        .fallback(|| async { ApiError::NotFound("no such API endpoint".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("this endpoint does not accept that method".into())
        })
}
