//! Request extractors whose rejections are `ApiError`s, so malformed input gets the
//! same `ErrorBody` as every other failure instead of axum's plain-text answers.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body of at most `LIMIT` bytes (default: `BODY_LIMIT_BYTES`; a route that
/// takes whole samples allows more). Undecodable JSON is a 400; JSON of the wrong shape
/// is a 422 naming the field at fault; a longer body is a 413 stating this limit.
pub struct ApiJson<T, const LIMIT: usize = { crate::BODY_LIMIT_BYTES }>(pub T);

impl<S, T, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType("expected a body with Content-Type: application/json".into()));
        }
        parse_json(&read_body(request, LIMIT).await?).map(ApiJson)
    }
}

/// Reads the body with the extractor's own limit rather than the router-wide default.
async fn read_body(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(request.into_body(), limit).await.map_err(|error| {
        let inner = error.into_inner();
        if inner.is::<http_body_util::LengthLimitError>() {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::BadRequest(format!("cannot read the request body: {inner}"))
        }
    })
}

/// A raw body of at most `LIMIT` bytes, inflated when sent with `Content-Encoding: gzip`.
/// Over the limit (before or after inflating) is a 413, a broken gzip stream a 400.
pub struct ApiBytes<const LIMIT: usize = { crate::BODY_LIMIT_BYTES }>(pub Bytes);

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for ApiBytes<LIMIT> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let encoding =
            request.headers().get(header::CONTENT_ENCODING).map(|value| value.as_bytes().to_ascii_lowercase());
        let bytes = read_body(request, LIMIT).await?;
        match encoding.as_deref() {
            None | Some(b"identity") => Ok(Self(bytes)),
            Some(b"gzip") => gunzip(&bytes, LIMIT).map(|inflated| Self(inflated.into())),
            Some(_) => Err(ApiError::UnsupportedMediaType("Content-Encoding must be gzip or identity".into())),
        }
    }
}

fn gunzip(compressed: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(compressed)
        .take(limit as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|error| ApiError::BadRequest(format!("the gzip body cannot be inflated: {error}")))?;
    if inflated.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    Ok(inflated)
}

/// Decodes JSON, telling syntax errors (400) from shape errors (422 naming the field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => match deserializer.end() {
            Ok(()) => Ok(value),
            Err(trailing) => Err(ApiError::BadRequest(format!("request body is not valid JSON: {trailing}"))),
        },
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if !inner.is_data() {
                return Err(ApiError::BadRequest(format!("request body is not valid JSON: {inner}")));
            }
            // "." is the whole body: e.g. an array where an object was expected.
            let field = if path == "." { "body" } else { path.as_str() };
            // serde_json appends the position, which means nothing next to a form field.
            let position = format!(" at line {} column {}", inner.line(), inner.column());
            let message = inner.to_string();
            Err(ApiError::field(field, message.strip_suffix(&position).unwrap_or(&message)))
        }
    }
}

/// A query string, decoded with the parameter at fault named in a 400.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(ApiQuery).map_err(|error| {
            ApiError::BadRequest(format!("invalid query parameter {}: {}", error.path(), error.inner()))
        })
    }
}

/// A path parameter.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection: PathRejection| ApiError::BadRequest(rejection.body_text()))
    }
}
