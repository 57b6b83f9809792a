//! Telemetry in (`POST /api/ingest` JSON batches for scripts; OTLP/HTTP at `/v1/metrics`;
//! the Pushgateway API for Prometheus clients) and out (bucketed series).

use axum::Json;
use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use keel_shared::ModelId;
use keel_shared::auth::Permission;
use keel_shared::telemetry::{IngestResponse, PointInput, RejectedPoint, SeriesQuery, SeriesResponse, TimestampInput};
use keel_shared::validation::FieldErrors;
use serde::Deserialize;

use super::Api;
use crate::AppState;
use crate::analysis::rollups::into_buckets;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiPath, ApiQuery, parse_json};
use crate::ingest::otlp::{self, Encoding};
use crate::ingest::{prometheus, validate_point, validate_points};
use crate::store::rollups::{HOUR_MILLIS, Resolution};
use crate::store::telemetry::IdempotentAnswer;

pub fn routes(api: Api) -> Api {
    let ingest = Access::Permission(Permission::IngestTelemetry);
    api.route(Method::POST, "/api/ingest", ingest, ingest_json)
        .route(Method::POST, "/v1/metrics", ingest, ingest_otlp)
        // The Pushgateway API: PUT and POST, with grouping labels as path segments.
        .route(Method::PUT, "/metrics/job/{job}", ingest, push_prometheus)
        .route(Method::POST, "/metrics/job/{job}", ingest, push_prometheus)
        .route(Method::PUT, "/metrics/job/{job}/{*grouping}", ingest, push_prometheus_grouped)
        .route(Method::POST, "/metrics/job/{job}/{*grouping}", ingest, push_prometheus_grouped)
        .route(Method::GET, "/api/models/{id}/series", Access::Permission(Permission::ReadModels), query_series)
        .route(Method::GET, "/api/models/{id}/metrics", Access::Permission(Permission::ReadModels), list_metrics)
}

/// Longest accepted Idempotency-Key.
const MAX_IDEMPOTENCY_KEY: usize = 200;
pub const MAX_BUCKETS: u32 = 1000;

#[derive(Deserialize)]
struct IngestBody {
    /// Parsed one by one, so one bad point cannot sink the batch.
    points: Vec<serde_json::Value>,
}

async fn ingest_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Response> {
    let key = match headers.get("idempotency-key") {
        Some(value) => {
            let key =
                value.to_str().ok().map(str::trim).filter(|key| !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY);
            Some(
                key.ok_or_else(|| {
                    ApiError::BadRequest(format!("Idempotency-Key must be 1–{MAX_IDEMPOTENCY_KEY} visible characters"))
                })?
                .to_owned(),
            )
        }
        None => None,
    };
    if let Some(key) = &key
        && let Some(stored) = state.store.idempotent_response(key).await?
    {
        return Ok(replayed(stored));
    }
    let IngestBody { points } = parse_json(&body)?;
    let models = state.store.resolve_models(points.iter().filter_map(|point| point.get("model")?.as_str())).await?;
    let (valid, rejected) = validate_points(points, &models, state.clock.now().timestamp_millis());
    let response = IngestResponse { accepted: valid.len() as u64, rejected };
    let answer =
        key.map(|key| IdempotentAnswer { key, response: serde_json::to_string(&response).unwrap_or_default() });
    state.ingest.write(valid, answer).await?;
    Ok(Json(response).into_response())
}

async fn push_prometheus(
    State(state): State<AppState>,
    ApiPath(job): ApiPath<String>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Json<IngestResponse>> {
    ingest_prometheus(&state, job, BTreeMap::new(), &headers, &body).await
}

async fn push_prometheus_grouped(
    State(state): State<AppState>,
    ApiPath((job, grouping)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Json<IngestResponse>> {
    let segments: Vec<&str> = grouping.split('/').filter(|segment| !segment.is_empty()).collect();
    if !segments.len().is_multiple_of(2) {
        return Err(ApiError::BadRequest("grouping labels come in pairs: /metrics/job/<job>/<name>/<value>/…".into()));
    }
    let labels = segments.chunks(2).map(|pair| (pair[0].to_owned(), pair[1].to_owned())).collect();
    ingest_prometheus(&state, job, labels, &headers, &body).await
}

/// OTLP/HTTP export: 200 with an empty response when every data point was stored,
/// with `partialSuccess` (count and the first reasons) when some were rejected.
///
/// Departure from the OTLP specification: errors (400, 401, 413, 415, 503) carry Keel's
/// `ErrorBody` like every other endpoint, not a `google.rpc.Status` message; exporters
/// act on the status code (and Retry-After) only, and one error shape keeps clients simple.
async fn ingest_otlp(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Response> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let encoding = Encoding::from_content_type(content_type).ok_or_else(|| {
        ApiError::UnsupportedMediaType("OTLP/HTTP takes application/x-protobuf or application/json".into())
    })?;
    let request = otlp::decode(&body, encoding).map_err(ApiError::BadRequest)?;
    let outcomes = otlp::data_points(request);
    let models =
        state.store.resolve_models(outcomes.iter().flatten().flatten().map(|point| point.model.as_str())).await?;
    let now = state.clock.now().timestamp_millis();
    let mut valid = Vec::with_capacity(outcomes.len());
    let mut rejected = 0_i64;
    let mut reasons: Vec<String> = Vec::new();
    for outcome in outcomes {
        let points = outcome.and_then(|points| {
            points.into_iter().map(|point| validate_point(point, &models, now)).collect::<Result<Vec<_>, _>>()
        });
        match points {
            Ok(points) => valid.extend(points),
            Err(reason) => {
                rejected += 1;
                if reasons.len() < MAX_OTLP_REASONS && !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
        }
    }
    state.ingest.write(valid, None).await?;
    let partial_success = (rejected > 0).then(|| otlp::messages::ExportMetricsPartialSuccess {
        rejected_data_points: rejected,
        error_message: reasons.join("; "),
    });
    let body = match encoding {
        Encoding::Protobuf => {
            prost::Message::encode_to_vec(&otlp::messages::ExportMetricsServiceResponse { partial_success })
        }
        // proto3 JSON: int64 as a string, an unset message left out.
        Encoding::Json => serde_json::to_vec(&match partial_success {
            Some(partial) => serde_json::json!({ "partialSuccess": {
                "rejectedDataPoints": partial.rejected_data_points.to_string(),
                "errorMessage": partial.error_message,
            } }),
            None => serde_json::json!({}),
        })
        .unwrap_or_default(),
    };
    Ok(([(header::CONTENT_TYPE, encoding.content_type())], body).into_response())
}

/// Distinct rejection reasons quoted in an OTLP partialSuccess message.
const MAX_OTLP_REASONS: usize = 3;

/// Samples become points of the model named by their `model_id` label, else by the job;
/// a `model_version` label names the version. Line numbers identify rejected samples.
async fn ingest_prometheus(
    state: &AppState,
    job: String,
    grouping: BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Json<IngestResponse>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("text/plain");
    if !content_type.starts_with("text/plain") {
        return Err(ApiError::UnsupportedMediaType(
            "expected the Prometheus text format (Content-Type: text/plain; version=0.0.4)".into(),
        ));
    }
    let text = std::str::from_utf8(body).map_err(|_| ApiError::BadRequest("the body is not UTF-8 text".into()))?;
    let now = state.clock.now().timestamp_millis();
    let mut rejected = Vec::new();
    let mut inputs = Vec::new();
    for (line, sample) in prometheus::parse(text) {
        match sample {
            Ok(sample) => {
                let mut labels = grouping.clone();
                labels.extend(sample.labels);
                let model = labels.remove("model_id").unwrap_or_else(|| job.clone());
                let version = labels.remove("model_version");
                let ts = TimestampInput::Millis(sample.timestamp.unwrap_or(now));
                inputs
                    .push((line, PointInput { model, version, metric: sample.name, labels, ts, value: sample.value }));
            }
            Err(reason) => rejected.push(RejectedPoint { index: line, reason }),
        }
    }
    let models = state.store.resolve_models(inputs.iter().map(|(_, input)| input.model.as_str())).await?;
    let mut valid = Vec::with_capacity(inputs.len());
    for (line, input) in inputs {
        match validate_point(input, &models, now) {
            Ok(point) => valid.push(point),
            Err(reason) => rejected.push(RejectedPoint { index: line, reason }),
        }
    }
    rejected.sort_by_key(|rejected| rejected.index);
    let response = IngestResponse { accepted: valid.len() as u64, rejected };
    state.ingest.write(valid, None).await?;
    Ok(Json(response))
}

/// The stored answer of an earlier request with the same Idempotency-Key.
fn replayed(stored: String) -> Response {
    let mut response = ([(axum::http::header::CONTENT_TYPE, "application/json")], stored).into_response();
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// Every metric the model has reported, so the console can chart custom ones too.
async fn list_metrics(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Vec<String>>> {
    let model = state.store.get_model(&ModelId(id)).await?.model;
    Ok(Json(state.store.model_metrics(&model.id.0).await?))
}

async fn query_series(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<SeriesQuery>,
) -> ApiResult<Json<SeriesResponse>> {
    let mut errors = FieldErrors::new();
    if query.metric.trim().is_empty() {
        errors.insert("metric".into(), "is required".into());
    }
    let to = query.to.unwrap_or_else(|| state.clock.now());
    let from = query.from.unwrap_or(to - Duration::hours(1));
    if from >= to {
        errors.insert("from".into(), "must be before `to`".into());
    }
    let buckets = query.buckets.unwrap_or(60);
    if !(1..=MAX_BUCKETS).contains(&buckets) {
        errors.insert("buckets".into(), format!("must be between 1 and {MAX_BUCKETS}"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // 404 for an unknown model, rather than an empty chart.
    let model = state.store.get_model(&ModelId(id)).await?.model;
    let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
    // Buckets of an hour or more are read from hourly rollups: a 30-day chart reads
    // 720 rows per series instead of 43,200.
    let resolution =
        if (to_ms - from_ms) / i64::from(buckets) >= HOUR_MILLIS { Resolution::Hour } else { Resolution::Minute };
    let rollups = state.store.metric_rollups(&model.id.0, &query.metric, from_ms, to_ms, resolution).await?;
    let buckets = into_buckets(rollups, from_ms, to_ms, buckets);
    Ok(Json(SeriesResponse { metric: query.metric, from, to, buckets }))
}
