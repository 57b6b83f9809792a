//! Drift monitoring of a model: its settings, the reference of each version (uploaded
//! as CSV or JSON, or taken from a past window of live rows), the feature rows and labels
//! it reports, and evaluation runs (on demand here; on a schedule in `monitoring`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::IntoResponse;
use keel_shared::ModelId;
use keel_shared::auth::Permission;
use keel_shared::drift::FeatureValue;
use keel_shared::monitoring::{
    BatchResponse, DriftHistory, DriftHistoryQuery, DriftOverview, DriftRun, EvaluateRequest, MonitoringSettings,
    ReferenceSummary, ReferenceWindowRequest,
};
use serde::Deserialize;

use super::Api;
use crate::AppState;
use crate::auth::{Access, Principal};
use crate::dataset_drift::Dataset;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery, parse_json};
use crate::monitoring::evaluation::{evaluate, freshness};
use crate::monitoring::reference;
use crate::monitoring::rows::{Versions, validate_labels, validate_rows};
use crate::routes::analysis::DRIFT_BODY_LIMIT_BYTES;
use crate::store::monitoring::NewReference;

/// Batches of feature rows or labels.
pub const BATCH_BODY_LIMIT_BYTES: usize = 16 * 1024 * 1024;
const HISTORY_DEFAULT: u32 = 200;
const HISTORY_MAX: u32 = 1000;

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadModels);
    let write = Access::Permission(Permission::WriteModels);
    let ingest = Access::Permission(Permission::IngestTelemetry);
    api.route(Method::GET, "/api/models/{id}/monitoring", read, get_settings)
        .route(Method::PUT, "/api/models/{id}/monitoring", write, put_settings)
        .route(Method::GET, "/api/models/{id}/references", read, list_references)
        .route(Method::PUT, "/api/models/{id}/versions/{tag}/reference", write, upload_reference)
        .route(Method::POST, "/api/models/{id}/versions/{tag}/reference/window", write, reference_from_window)
        .route(Method::POST, "/api/models/{id}/features", ingest, ingest_features)
        .route(Method::POST, "/api/models/{id}/labels", ingest, ingest_labels)
        .route(Method::GET, "/api/models/{id}/drift", read, drift_overview)
        .route(Method::POST, "/api/models/{id}/drift/runs", write, evaluate_now)
        .route(Method::GET, "/api/models/{id}/drift/history", read, drift_history)
}

async fn get_settings(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<MonitoringSettings>> {
    Ok(Json(state.store.monitoring_settings(&ModelId(id)).await?))
}

async fn put_settings(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(settings): ApiJson<MonitoringSettings>,
) -> ApiResult<Json<MonitoringSettings>> {
    let errors = settings.validate();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    state.store.set_monitoring_settings(&ModelId(id), &settings, &principal.actor()).await?;
    Ok(Json(settings))
}

async fn list_references(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<ReferenceSummary>>> {
    Ok(Json(state.store.reference_summaries(&ModelId(id)).await?))
}

#[derive(Deserialize)]
struct UploadQuery {
    /// The uploaded file's name, kept as the reference's source.
    #[serde(default)]
    filename: Option<String>,
}

/// `PUT …/reference`: a CSV file (header row; cells typed as pandas reads them) or a JSON
/// array of row objects. Replaces the version's earlier reference.
async fn upload_reference(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, tag)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes<DRIFT_BODY_LIMIT_BYTES>,
) -> ApiResult<(StatusCode, Json<ReferenceSummary>)> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let (dataset, format) = match mime.as_str() {
        "text/csv" => (Dataset::from_csv(body.as_ref()).map_err(|error| ApiError::field("body", error))?, "CSV"),
        "application/json" => {
            let rows: Vec<BTreeMap<String, FeatureValue>> = parse_json(&body)?;
            (Dataset::from_rows(&rows), "JSON")
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "send the reference as text/csv (with a header row) or application/json (an array of row objects)"
                    .into(),
            ));
        }
    };
    let source = match query.filename.map(|name| name.trim().chars().take(200).collect::<String>()) {
        Some(name) if !name.is_empty() => format!("upload: {name}"),
        _ => format!("upload ({format})"),
    };
    let summary = store_reference(&state, &ModelId(id), &tag, dataset, source, &principal).await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

/// `POST …/reference/window`: the version's own rows observed in the window (with their
/// predictions, and labels as the target) become its reference.
async fn reference_from_window(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, tag)): ApiPath<(String, String)>,
    ApiJson(window): ApiJson<ReferenceWindowRequest>,
) -> ApiResult<(StatusCode, Json<ReferenceSummary>)> {
    if window.from >= window.to {
        return Err(ApiError::field("to", "must be after from"));
    }
    if window.from > state.clock.now() {
        return Err(ApiError::field("from", "is in the future: a reference is data already seen"));
    }
    let model_id = ModelId(id);
    if !state.store.list_versions(&model_id).await?.iter().any(|version| version.tag == tag) {
        return Err(ApiError::NotFound(format!("model '{model_id}' has no version '{tag}'; register it first")));
    }
    let rows = state.store.window_rows(&model_id, &tag, window.from, window.to).await?;
    if rows.is_empty() {
        return Err(ApiError::field("from", format!("version '{tag}' has no feature rows in this window")));
    }
    let rows: Vec<BTreeMap<String, FeatureValue>> = rows.iter().map(|row| row.values(true)).collect();
    let source = format!("window: {} – {}", window.from.to_rfc3339(), window.to.to_rfc3339());
    let summary = store_reference(&state, &model_id, &tag, Dataset::from_rows(&rows), source, &principal).await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

/// Columns a reference may have: every one is profiled and stored in the write
/// transaction that saves it, so a very wide file would hold the store's writer.
pub const REFERENCE_COLUMNS_MAX: usize = 1_000;

async fn store_reference(
    state: &AppState,
    model_id: &ModelId,
    version: &str,
    dataset: Dataset,
    source: String,
    principal: &Principal,
) -> ApiResult<ReferenceSummary> {
    if dataset.names.len() > REFERENCE_COLUMNS_MAX {
        return Err(ApiError::field(
            "body",
            format!(
                "a reference has at most {REFERENCE_COLUMNS_MAX} columns (features, prediction, target); this one has {}",
                dataset.names.len()
            ),
        ));
    }
    // Sorting a million values takes tens of milliseconds of CPU: off the async workers.
    let (rows, duplicate_rows) = (dataset.rows() as u64, dataset.duplicate_rows as u64);
    let built = tokio::task::spawn_blocking(move || reference::build(&dataset))
        .await
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("building the reference failed: {error}")))?;
    let reference::ReferenceParts { columns, baseline } = built.map_err(ApiError::Validation)?;
    let reference = NewReference { version, source, rows, duplicate_rows, columns, baseline };
    Ok(state.store.save_reference(model_id, reference, &principal.actor()).await?)
}

#[derive(Deserialize)]
struct RowsBody {
    /// Checked one by one, so one bad row cannot sink the batch.
    rows: Vec<serde_json::Value>,
}

/// `POST …/features`: rows stored once per prediction id (a resent row is harmless).
async fn ingest_features(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiBytes(body): ApiBytes<BATCH_BODY_LIMIT_BYTES>,
) -> ApiResult<Json<BatchResponse>> {
    let RowsBody { rows } = parse_json(&body)?;
    let model_id = ModelId(id);
    let model = state.store.get_model(&model_id).await?;
    let known: Vec<String> = model.versions.iter().map(|version| version.tag.clone()).collect();
    let versions = Versions { known: &known, production: model.model.production_version.as_deref() };
    let (valid, rejected) = validate_rows(rows, &versions, state.clock.now().timestamp_millis());
    state.store.insert_feature_rows(&model_id, &valid).await?;
    Ok(Json(BatchResponse { accepted: valid.len() as u64, rejected }))
}

#[derive(Deserialize)]
struct LabelsBody {
    labels: Vec<serde_json::Value>,
}

/// `POST …/labels`: ground truth by prediction id; a label sent again replaces the earlier one.
async fn ingest_labels(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiBytes(body): ApiBytes<BATCH_BODY_LIMIT_BYTES>,
) -> ApiResult<Json<BatchResponse>> {
    let LabelsBody { labels } = parse_json(&body)?;
    let model_id = ModelId(id);
    state.store.get_model(&model_id).await?;
    let (valid, rejected) = validate_labels(labels);
    state.store.upsert_labels(&model_id, &valid).await?;
    Ok(Json(BatchResponse { accepted: valid.len() as u64, rejected }))
}

async fn drift_overview(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<DriftOverview>> {
    let model_id = ModelId(id);
    let settings = state.store.monitoring_settings(&model_id).await?;
    let freshness = freshness(&state.store, &model_id, &settings, state.clock.now()).await?;
    Ok(Json(DriftOverview {
        references: state.store.reference_summaries(&model_id).await?,
        latest: state.store.latest_drift_run(&model_id).await?,
        settings,
        freshness,
    }))
}

/// `POST …/drift/runs`: evaluate now (an empty body or `{}` takes the default version).
async fn evaluate_now(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<impl IntoResponse> {
    let request: EvaluateRequest =
        if body.iter().all(u8::is_ascii_whitespace) { EvaluateRequest::default() } else { parse_json(&body)? };
    let run: DriftRun =
        evaluate(&state.store, &principal.actor(), &ModelId(id), request.version.as_deref(), state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

async fn drift_history(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<DriftHistoryQuery>,
) -> ApiResult<Json<DriftHistory>> {
    let limit = query.limit.unwrap_or(HISTORY_DEFAULT);
    if !(1..=HISTORY_MAX).contains(&limit) {
        return Err(ApiError::field("limit", format!("must be between 1 and {HISTORY_MAX}")));
    }
    let points = state.store.drift_history(&ModelId(id), &query.feature, limit).await?;
    Ok(Json(DriftHistory { feature: query.feature, points }))
}
