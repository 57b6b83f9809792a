//! Who is making a request: resolved once per request from a session cookie or a
//! bearer token, then checked against each route's `Access`.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keel_shared::auth::{Permission, TokenScope, UserSummary, token_can};

use super::SESSION_COOKIE;
use super::secrets::secret_hash;
use crate::AppState;
use crate::error::ApiError;
use crate::store::audit::Actor;

/// What a route requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user or valid token.
    Authenticated,
    /// A caller holding this permission.
    Permission(Permission),
    /// `/metrics`: anyone while `metrics_public` is on (the default, as Prometheus
    /// scrapes), else a caller who may read models (a `read` token in the scrape config).
    Metrics,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session; the hash identifies it for logout.
    Session { secret_hash: String },
    /// An API token with these scopes.
    Token { scopes: Vec<TokenScope> },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: UserSummary,
    pub credential: Credential,
}

impl Principal {
    pub fn can(&self, permission: Permission) -> bool {
        match &self.credential {
            Credential::Session { .. } => self.user.role.can(permission),
            Credential::Token { scopes } => token_can(self.user.role, scopes, permission),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor { id: Some(self.user.id.clone()), name: self.user.username.clone() }
    }
}

/// Why no principal was found, kept for the 401's message.
#[derive(Debug, Clone, Copy)]
enum Unauthenticated {
    Missing,
    BadToken,
    BadSession,
}

impl Unauthenticated {
    fn error(self) -> ApiError {
        ApiError::Unauthorized(
            match self {
                Self::Missing => "sign in, or send an API token as `Authorization: Bearer …`",
                Self::BadToken => "the API token is invalid or has been revoked",
                Self::BadSession => "your session has expired or ended: sign in again",
            }
            .into(),
        )
    }
}

async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Result<Principal, Unauthenticated>, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(|value| value.strip_prefix("Bearer ")).map(str::trim);
        let Some(token) = token.filter(|token| !token.is_empty()) else {
            return Ok(Err(Unauthenticated::BadToken));
        };
        return Ok(match state.store.token_user(&secret_hash(token)).await? {
            Some(found) => Ok(Principal { user: found.user, credential: Credential::Token { scopes: found.scopes } }),
            None => Err(Unauthenticated::BadToken),
        });
    }
    let Some(secret) = session_cookie(headers) else {
        return Ok(Err(Unauthenticated::Missing));
    };
    let hash = secret_hash(secret);
    Ok(match state.store.session_user(&hash).await? {
        Some(user) => Ok(Principal { user, credential: Credential::Session { secret_hash: hash } }),
        None => Err(Unauthenticated::BadSession),
    })
}

/// The session secret from the `Cookie` header, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
        .filter(|secret| !secret.is_empty())
}

/// A state-changing request whose `Origin` is missing or is not this server — scheme,
/// host and port: `https` when Keel sets secure cookies (it is served over TLS), else
/// `http`. Browsers send `Origin` with every such request, and a page cannot forge it;
/// SameSite=Strict on the cookie is the second line.
fn is_cross_site_write(request: &Request, scheme: &str) -> bool {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    let origin_host = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .and_then(|origin| origin.split_once("://"))
        .filter(|(origin_scheme, _)| origin_scheme.eq_ignore_ascii_case(scheme))
        .map(|(_, authority)| authority);
    !matches!((host, origin_host), (Some(host), Some(origin)) if host.eq_ignore_ascii_case(origin))
}

/// Route layer: resolves the caller (only on routes that need one, so static files and
/// public routes cost no store lookup), refuses cross-site writes made with a session
/// cookie, and refuses callers who do not satisfy `access`.
pub async fn check_access(state: AppState, access: Access, mut request: Request, next: Next) -> Response {
    let access = match access {
        Access::Metrics if state.settings.metrics_public => Access::Public,
        Access::Metrics => Access::Permission(Permission::ReadModels),
        other => other,
    };
    if access == Access::Public {
        return next.run(request).await;
    }
    let principal = match resolve(&state, request.headers()).await {
        Ok(Ok(principal)) => principal,
        Ok(Err(reason)) => return reason.error().into_response(),
        Err(error) => {
            tracing::warn!(%error, "cannot authenticate the request");
            return ApiError::Unavailable("the store does not answer".into()).into_response();
        }
    };
    let scheme = if state.settings.secure_cookies { "https" } else { "http" };
    if matches!(principal.credential, Credential::Session { .. }) && is_cross_site_write(&request, scheme) {
        return ApiError::Forbidden(
            "cross-site request refused: a signed-in browser may change data only from Keel's own pages".into(),
        )
        .into_response();
    }
    if let Access::Permission(permission) = access
        && !principal.can(permission)
    {
        return ApiError::Forbidden(match principal.credential {
            Credential::Session { .. } => {
                format!("the {} role does not have the {permission:?} permission", principal.user.role)
            }
            Credential::Token { .. } => format!("this API token's scopes do not include the {permission:?} permission"),
        })
        .into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| Unauthenticated::Missing.error())
    }
}
