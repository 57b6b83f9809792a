//! Money: a model's ledger (`PUT` as `text/csv`, all or nothing; `GET` as JSON or
//! `ledger.csv`), its ROI figures, its incident cost per minute, exchange-rate files
//! (CNB, ECB) and programmes with their summed figures and Monte Carlo range.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, header};
use axum::response::IntoResponse;
use keel_shared::ModelId;
use keel_shared::auth::Permission;
use keel_shared::ledger::{IncidentCost, Ledger, NetValueRange, RatesImported, RoiFigures, RoiQuery};
use serde::{Deserialize, Serialize};

use super::Api;
use crate::AppState;
use crate::auth::{Access, Principal};
use crate::domain::DomainError;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery};
use crate::services::{exchange_rates, ledger};

/// Largest ledger or rates file accepted.
const FILE_LIMIT_BYTES: usize = 16 * 1024 * 1024;

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadKpis);
    let edit = Access::Permission(Permission::EditKpis);
    api.route(Method::GET, "/api/models/{id}/ledger", read, get_ledger)
        .route(Method::PUT, "/api/models/{id}/ledger", edit, put_ledger)
        .route(Method::GET, "/api/models/{id}/ledger.csv", read, ledger_csv)
        .route(Method::GET, "/api/models/{id}/roi", read, get_roi)
        .route(Method::PUT, "/api/models/{id}/incident-cost", edit, put_incident_cost)
        .route(Method::GET, "/api/exchange-rates", read, rate_coverage)
        .route(Method::POST, "/api/exchange-rates", edit, import_rates)
        .route(Method::GET, "/api/programmes", read, list_programmes)
        .route(Method::PUT, "/api/programmes/{name}", edit, put_programme)
        .route(Method::GET, "/api/programmes/{name}/roi", read, programme_roi)
}

fn text(body: &[u8]) -> ApiResult<&str> {
    std::str::from_utf8(body).map_err(|_| ApiError::field("body", "the file is not UTF-8 text"))
}

async fn ledger_of(state: &AppState, model_id: ModelId) -> ApiResult<Ledger> {
    let entries = state.store.ledger(&model_id).await?;
    let incident_cost = ledger::incident_cost(&state.store, &model_id).await?;
    Ok(Ledger { model_id, entries, incident_cost })
}

async fn get_ledger(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Ledger>> {
    let model_id = ModelId(id);
    state.store.get_model(&model_id).await?;
    Ok(Json(ledger_of(&state, model_id).await?))
}

async fn put_ledger(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiBytes(body): ApiBytes<FILE_LIMIT_BYTES>,
) -> ApiResult<Json<Ledger>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !content_type.trim().to_ascii_lowercase().starts_with("text/csv") {
        return Err(ApiError::UnsupportedMediaType(
            "send the ledger as text/csv with the header month,kind,category,amount,currency,czk_per_unit".into(),
        ));
    }
    let model_id = ModelId(id);
    ledger::replace(&state.store, &model_id, text(&body)?, &principal.actor()).await?;
    Ok(Json(ledger_of(&state, model_id).await?))
}

async fn ledger_csv(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<impl IntoResponse> {
    let model_id = ModelId(id);
    let model = state.store.get_model(&model_id).await?.model;
    let csv = ledger::to_csv(&state.store.ledger(&model_id).await?)?;
    let disposition = format!("attachment; filename=\"ledger-{}.csv\"", model.name);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        csv,
    ))
}

async fn get_roi(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<RoiQuery>,
) -> ApiResult<Json<RoiFigures>> {
    Ok(Json(ledger::roi(&state.store, &ModelId(id), query.currency, query.discount_rate).await?))
}

async fn put_incident_cost(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(cost): ApiJson<IncidentCost>,
) -> ApiResult<Json<Ledger>> {
    let model_id = ModelId(id);
    ledger::set_incident_cost(&state.store, &model_id, cost, &principal.actor()).await?;
    Ok(Json(ledger_of(&state, model_id).await?))
}

/// What rates are stored, per source.
#[derive(Debug, Serialize)]
struct RateCoverage {
    source: String,
    rates: i64,
    first_day: String,
    last_day: String,
}

async fn rate_coverage(State(state): State<AppState>) -> ApiResult<Json<Vec<RateCoverage>>> {
    let coverage = state.store.rate_coverage().await?;
    Ok(Json(
        coverage
            .into_iter()
            .map(|(source, rates, first_day, last_day)| RateCoverage { source, rates, first_day, last_day })
            .collect(),
    ))
}

async fn import_rates(
    State(state): State<AppState>,
    principal: Principal,
    ApiBytes(body): ApiBytes<FILE_LIMIT_BYTES>,
) -> ApiResult<Json<RatesImported>> {
    Ok(Json(exchange_rates::import(&state.store, text(&body)?, &principal.actor()).await?))
}

/// A programme: a named group of models.
#[derive(Debug, Serialize, Deserialize)]
struct Programme {
    #[serde(default)]
    name: String,
    /// Model ids or names.
    models: Vec<String>,
}

async fn list_programmes(State(state): State<AppState>) -> ApiResult<Json<Vec<Programme>>> {
    let programmes = state.store.programmes().await?;
    Ok(Json(
        programmes
            .into_iter()
            .map(|(name, models)| Programme { name, models: models.into_iter().map(|id| id.0).collect() })
            .collect(),
    ))
}

async fn put_programme(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(name): ApiPath<String>,
    ApiJson(programme): ApiJson<Programme>,
) -> ApiResult<Json<Programme>> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::field("name", "a programme's name has 1 to 100 characters"));
    }
    let found = state.store.resolve_models(programme.models.iter().map(String::as_str)).await?;
    let mut ids = Vec::new();
    for reference in &programme.models {
        let id = found.get(reference).ok_or_else(|| DomainError::field("models", format!("no model '{reference}'")))?;
        ids.push(ModelId(id.clone()));
    }
    ids.sort_by(|a, b| a.0.cmp(&b.0));
    ids.dedup();
    state.store.put_programme(&name, &ids, &principal.actor()).await?;
    Ok(Json(Programme { name, models: ids.into_iter().map(|id| id.0).collect() }))
}

/// A programme's summed figures and the Monte Carlo range of its net value.
#[derive(Debug, Serialize)]
struct ProgrammeRoi {
    name: String,
    figures: RoiFigures,
    range: NetValueRange,
}

async fn programme_roi(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<RoiQuery>,
) -> ApiResult<Json<ProgrammeRoi>> {
    let programmes = state.store.programmes().await?;
    let (_, models) = programmes
        .into_iter()
        .find(|(candidate, _)| *candidate == name)
        .ok_or_else(|| DomainError::NotFound(format!("no programme '{name}'")))?;
    let (figures, range) =
        ledger::programme_figures(&state.store, &models, query.currency, query.discount_rate).await?;
    Ok(Json(ProgrammeRoi { name, figures, range }))
}
