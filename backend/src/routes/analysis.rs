//! Stateless analysis for notebooks and CI: send two samples, get the drift statistics
//! back. Nothing is stored.

use axum::Json;
use axum::http::Method;
use keel_shared::auth::Permission;
use keel_shared::drift::{DriftRequest, DriftResponse};

use super::Api;
use crate::analysis::drift;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;

/// Whole samples: 64 MiB holds about 3.5 million numbers in JSON.
pub const DRIFT_BODY_LIMIT_BYTES: usize = 64 * 1024 * 1024;

pub fn routes(api: Api) -> Api {
    api.route(Method::POST, "/api/analysis/drift", Access::Permission(Permission::ReadModels), compare_drift)
}

async fn compare_drift(
    ApiJson(request): ApiJson<DriftRequest, DRIFT_BODY_LIMIT_BYTES>,
) -> ApiResult<Json<DriftResponse>> {
    // Sorting a large sample takes milliseconds of CPU: off the async workers.
    let report = tokio::task::spawn_blocking(move || {
        let methods = request.methods.as_deref();
        drift::report(&request.reference, &request.current, request.kind, methods, &request.thresholds)
    })
    .await
    .map_err(|error| ApiError::Internal(anyhow::anyhow!("the drift computation failed: {error}")))?;
    report.map(Json).map_err(|error| ApiError::field(&error.field(), error.to_string()))
}
