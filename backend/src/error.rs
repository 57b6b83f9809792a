//! `ApiError`, the one error type of the API, answered as an RFC 9457 `ErrorBody`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_shared::ErrorBody;
use keel_shared::validation::FieldErrors;

use crate::domain::DomainError;

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be understood (malformed JSON, bad query string).
    #[error("{0}")]
    BadRequest(String),
    /// No valid session or token.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with what the store holds (duplicate name, second production version).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Fields that break a validation rule, each with its message.
    #[error("{}", describe_fields(.0))]
    Validation(FieldErrors),
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// The ingest queue is full: retry shortly.
    #[error("Keel is busy storing earlier data; retry in {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
    /// A dependency (the store) does not answer.
    #[error("{0}")]
    Unavailable(String),
    /// Something stored does not decode (edited by hand, or written by a newer Keel): said
    /// plainly, never replaced by a default.
    #[error("{0}")]
    CorruptData(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The one place a domain error becomes an HTTP answer.
impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound(message) => Self::NotFound(message),
            DomainError::Conflict(message) => Self::Conflict(message),
            DomainError::Forbidden(message) => Self::Forbidden(message),
            DomainError::Invalid(fields) => Self::Validation(fields),
            DomainError::Corrupt(message) => Self::CorruptData(message),
            DomainError::Unavailable(message) => Self::Unavailable(message),
            DomainError::Internal(error) => Self::Internal(error),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        DomainError::from(error).into()
    }
}

impl ApiError {
    /// A validation error of one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::from([(field.to_owned(), message.into())]))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::CorruptData(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad-request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::Conflict(_) => "conflict",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::Validation(_) => "validation",
            Self::TooManyRequests { .. } => "too-many-requests",
            Self::Unavailable(_) => "unavailable",
            Self::Overloaded { .. } => "overloaded",
            Self::CorruptData(_) => "corrupt-data",
            Self::Internal(_) => "internal",
        }
    }

    pub fn to_body(&self) -> ErrorBody {
        let status = self.status();
        let detail = match self {
            // Internal detail goes to the log, never to the client.
            Self::Internal(_) => "the server failed to handle this request; the error has been logged".to_owned(),
            other => other.to_string(),
        };
        ErrorBody {
            kind: format!("/problems/{}", self.kind()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            fields: match self {
                Self::Validation(fields) => fields.clone(),
                _ => FieldErrors::new(),
            },
        }
    }
}

fn describe_fields(fields: &FieldErrors) -> String {
    let list: Vec<String> = fields.iter().map(|(field, message)| format!("{field} {message}")).collect();
    format!("invalid request: {}", list.join("; "))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let body = self.to_body();
        let mut response = (self.status(), axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Self::TooManyRequests { retry_after_secs } | Self::Overloaded { retry_after_secs } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if self.status() == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"keel\""));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let body = ApiError::Internal(anyhow::anyhow!("disk /secret/path is full")).to_body();
        assert_eq!(body.status, 500);
        assert!(!body.detail.contains("/secret/path"));
    }

    #[test]
    fn validation_errors_list_their_fields() {
        let body = ApiError::field("name", "is required").to_body();
        assert_eq!((body.status, body.kind.as_str()), (422, "/problems/validation"));
        assert_eq!(body.detail, "invalid request: name is required");
        assert_eq!(body.fields["name"], "is required");
    }
}
