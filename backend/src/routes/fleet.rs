//! The fleet at a glance: every model's health, and tiles with sparklines for the overview.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use chrono::Duration;
use keel_shared::ModelId;
use keel_shared::auth::Permission;
use keel_shared::health::{
    FleetResponse, FleetTile, HealthThresholds, ModelHealth, SPARKLINE_BUCKETS, Sparkline, signal_metrics,
};
use keel_shared::models::ModelListQuery;
use keel_shared::telemetry::SeriesBucket;

use super::Api;
use crate::AppState;
use crate::analysis::rollups::into_buckets;
use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::health::evaluate_models;
use crate::store::rollups::Resolution;

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadModels);
    api.route(Method::GET, "/api/fleet", read, fleet)
        .route(Method::GET, "/api/fleet/health", read, fleet_health)
        .route(Method::GET, "/api/models/{id}/sparklines", read, model_sparklines)
        .route(
            Method::PUT,
            "/api/models/{id}/health-thresholds",
            Access::Permission(Permission::WriteModels),
            set_thresholds,
        )
}

/// Reads one statistic of a bucket.
type Pick = fn(&SeriesBucket) -> Option<f64>;

/// The signals drawn on every tile: (metric, statistic, how to read a bucket).
const SPARKLINES: [(&str, &str, Pick); 3] = [
    (signal_metrics::ACCURACY, "avg", |bucket| bucket.avg),
    (signal_metrics::LATENCY_MS, "p95", |bucket| bucket.p95),
    (signal_metrics::THROUGHPUT, "avg", |bucket| bucket.avg),
];

async fn fleet(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ModelListQuery>,
) -> ApiResult<Json<FleetResponse>> {
    let filter = query.validate().map_err(ApiError::Validation)?;
    let (models, total) = state.store.list_models(&filter).await?;
    let mut tiles = Vec::with_capacity(models.len());
    for model in models {
        let sparklines = sparklines(&state, &model.id).await?;
        tiles.push(FleetTile { health: state.health.get(&model.id), model, sparklines });
    }
    Ok(Json(FleetResponse { tiles, total, page: filter.page, per_page: filter.per_page }))
}

/// One tile's sparklines: what the overview refetches when that model's points arrive.
async fn model_sparklines(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<Sparkline>>> {
    let model_id = ModelId(id);
    state.store.get_model(&model_id).await?;
    Ok(Json(sparklines(&state, &model_id).await?))
}

/// The model's last day of each tile signal.
async fn sparklines(state: &AppState, model_id: &ModelId) -> ApiResult<Vec<Sparkline>> {
    let to = state.clock.now().timestamp_millis();
    let from = to - Duration::days(1).num_milliseconds();
    let mut sparklines = Vec::with_capacity(SPARKLINES.len());
    for (metric, statistic, pick) in SPARKLINES {
        let rollups = state.store.metric_rollups(&model_id.0, metric, from, to, Resolution::Minute).await?;
        let values = into_buckets(rollups, from, to, SPARKLINE_BUCKETS).iter().map(pick).collect();
        sparklines.push(Sparkline { metric: metric.to_owned(), statistic: statistic.to_owned(), values });
    }
    Ok(sparklines)
}

async fn fleet_health(State(state): State<AppState>) -> Json<Vec<ModelHealth>> {
    let mut all = state.health.all();
    all.sort_by(|a, b| a.model_id.cmp(&b.model_id));
    Json(all)
}

/// Replaces the model's thresholds and answers with its health judged by them.
async fn set_thresholds(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(thresholds): ApiJson<HealthThresholds>,
) -> ApiResult<Json<ModelHealth>> {
    let errors = thresholds.validate();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let model_id = ModelId(id);
    state.store.set_health_thresholds(&model_id, &thresholds, &principal.actor()).await?;
    evaluate_models(&state.store, &state.health, Some(&[model_id.clone()].into())).await?;
    state.health.get(&model_id).map(Json).ok_or_else(|| ApiError::NotFound(format!("no model with id '{model_id}'")))
}
