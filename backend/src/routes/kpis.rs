//! Business KPIs: `GET`/`POST /api/kpis`, one KPI, and `POST /api/kpis/{id}/values`
//! (JSON `{"values": […]}` or a `text/csv` file with `day,value[,low,high,note]`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::IntoResponse;
use keel_shared::auth::Permission;
use keel_shared::kpis::{Kpi, KpiDefinition, KpiQuery, KpiValuesRequest};

use super::Api;
use crate::AppState;
use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery};
use crate::services::kpis;

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadKpis);
    let edit = Access::Permission(Permission::EditKpis);
    api.route(Method::GET, "/api/kpis", read, list_kpis)
        .route(Method::POST, "/api/kpis", edit, create_kpi)
        .route(Method::GET, "/api/kpis/{id}", read, get_kpi)
        .route(Method::POST, "/api/kpis/{id}/values", edit, add_values)
        .route(Method::GET, "/api/kpis/{id}/chart.svg", read, kpi_chart)
}

async fn kpi_chart(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<impl IntoResponse> {
    let kpi = kpis::get(&state.store, &id).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")], crate::charts::kpi(&kpi)))
}

async fn list_kpis(State(state): State<AppState>, ApiQuery(query): ApiQuery<KpiQuery>) -> ApiResult<Json<Vec<Kpi>>> {
    Ok(Json(kpis::list(&state.store, query.model_id.as_deref(), query.programme.as_deref()).await?))
}

async fn create_kpi(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(definition): ApiJson<KpiDefinition>,
) -> ApiResult<(StatusCode, Json<Kpi>)> {
    Ok((StatusCode::CREATED, Json(kpis::create(&state.store, definition, &principal.actor()).await?)))
}

async fn get_kpi(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Kpi>> {
    Ok(Json(kpis::get(&state.store, &id).await?))
}

async fn add_values(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Json<Kpi>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let content_type = content_type.trim().to_ascii_lowercase();
    let values = if content_type.starts_with("text/csv") {
        let text = std::str::from_utf8(&body).map_err(|_| ApiError::field("body", "the CSV is not UTF-8 text"))?;
        kpis::parse_values_csv(text)?
    } else if content_type.starts_with("application/json") {
        let request: KpiValuesRequest = serde_json::from_slice(&body)
            .map_err(|error| ApiError::field("body", format!("not a {{\"values\": [...]}} body: {error}")))?;
        request.values
    } else {
        return Err(ApiError::UnsupportedMediaType("send application/json ({\"values\": [...]}) or text/csv".into()));
    };
    Ok(Json(kpis::add_values(&state.store, &id, values, &principal.actor()).await?))
}
