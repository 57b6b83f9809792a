//! What stakeholders read: `GET /api/stakeholder`, the monthly governance report
//! (`GET /api/reports/governance`), frozen reports, and charts as SVG for slides and e-mail.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use keel_shared::ModelId;
use keel_shared::auth::Permission;
use keel_shared::ledger::RoiQuery;
use keel_shared::reports::{FrozenReport, GovernanceReport, ReportQuery, StakeholderQuery, StakeholderView};

use super::Api;
use crate::AppState;
use crate::auth::{Access, Principal};
use crate::charts;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::services::{ledger, reports};

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadKpis);
    let edit = Access::Permission(Permission::EditKpis);
    api.route(Method::GET, "/api/stakeholder", read, stakeholder)
        .route(Method::GET, "/api/reports/governance", read, governance)
        .route(Method::POST, "/api/reports/frozen", edit, freeze)
        .route(Method::GET, "/api/reports/frozen", read, frozen_reports)
        .route(Method::GET, "/api/reports/frozen/{id}", read, frozen)
        .route(Method::GET, "/api/models/{id}/roi/chart.svg", read, model_chart)
        .route(Method::GET, "/api/stakeholder/chart.svg", read, fleet_chart)
}

async fn stakeholder(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<StakeholderQuery>,
) -> ApiResult<Json<StakeholderView>> {
    Ok(Json(reports::stakeholder(&state.store, &state.health, query.currency, query.months).await?))
}

async fn governance(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Json<GovernanceReport>> {
    Ok(Json(reports::governance(&state.store, &state.health, query.month, query.language, query.currency).await?))
}

async fn freeze(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(query): ApiJson<ReportQuery>,
) -> ApiResult<(StatusCode, Json<FrozenReport>)> {
    let frozen =
        reports::freeze(&state.store, &state.health, query.month, query.language, query.currency, &principal.actor())
            .await?;
    Ok((StatusCode::CREATED, Json(frozen)))
}

async fn frozen_reports(State(state): State<AppState>) -> ApiResult<Json<Vec<FrozenReport>>> {
    Ok(Json(state.store.report_snapshots().await?))
}

async fn frozen(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<FrozenReport>> {
    Ok(Json(state.store.report_snapshot(&id).await?))
}

fn svg(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")], body)
}

async fn model_chart(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<RoiQuery>,
) -> ApiResult<impl IntoResponse> {
    let model_id = ModelId(id);
    let model = state.store.get_model(&model_id).await?.model;
    let figures = ledger::roi(&state.store, &model_id, query.currency, query.discount_rate).await?;
    let title = format!("{} — kumulovaná čistá hodnota / cumulative net value ({})", model.name, query.currency);
    Ok(svg(charts::cumulative_net_value(&title, query.currency, &figures.months, &figures.planned)))
}

async fn fleet_chart(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<StakeholderQuery>,
) -> ApiResult<impl IntoResponse> {
    let view = reports::stakeholder(&state.store, &state.health, query.currency, query.months).await?;
    let title = format!("Všechny modely — kumulovaná čistá hodnota / all models ({})", query.currency);
    Ok(svg(charts::cumulative_net_value(&title, query.currency, &view.fleet.months, &[])))
}
