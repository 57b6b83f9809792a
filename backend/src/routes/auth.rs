//! Signing in and out, and who the caller is.

use keel_shared::audit::{AuditAction, AuditTarget};
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_shared::auth::{ChangePasswordRequest, LoginRequest, MeResponse, Permission, SetupRequest, UserSummary};
use keel_shared::validation::USERNAME_MAX;

use super::Api;
use crate::AppState;
use crate::auth::principal::Credential;
use crate::auth::secrets::{random_secret, secret_hash};
use crate::auth::{Access, Principal, SESSION_COOKIE, SESSION_LIFETIME_HOURS, passwords};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::store::audit::{Actor, AuditRecord};

pub fn routes(api: Api) -> Api {
    api.route(Method::POST, "/api/auth/login", Access::Public, log_in)
        .route(Method::POST, "/api/auth/logout", Access::Authenticated, log_out)
        .route(Method::GET, "/api/auth/me", Access::Authenticated, who_am_i)
        .route(Method::POST, "/api/auth/setup", Access::Public, set_up_first_admin)
        .route(Method::POST, "/api/auth/password", Access::Authenticated, change_password)
}

const BAD_CREDENTIALS: &str = "unknown username or wrong password";

async fn log_in(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let address = client.ip().to_string();
    let username = request.username.trim().to_owned();
    // No username is this long, and an attacker's megabyte must not reach the limiter or the audit log.
    if username.chars().count() > USERNAME_MAX {
        return Err(ApiError::field("username", format!("must be at most {USERNAME_MAX} characters")));
    }
    let attempt = state
        .login_limiter
        .begin(&username, &address)
        .map_err(|wait| ApiError::TooManyRequests { retry_after_secs: wait.as_secs() })?;
    let found = state.store.user_by_username(&username).await?;
    // Verify against a dummy hash for unknown users, so timing does not reveal who exists.
    let phc = found.as_ref().map_or_else(|| passwords::dummy_hash().to_owned(), |user| user.password_hash.clone());
    let matches = passwords::verify_limited(request.password, phc).await?;
    let Some(user) = found.filter(|_| matches).map(|credentials| credentials.user) else {
        let actor = Actor { id: None, name: username.clone() };
        let record = AuditRecord {
            actor: &actor,
            action: AuditAction::SessionLoginFailed,
            target: AuditTarget::User,
            target_id: &username,
            changes: Default::default(),
        };
        state.store.record_audit(record).await?;
        return Err(ApiError::Unauthorized(BAD_CREDENTIALS.into()));
    };
    state.login_limiter.succeeded(attempt, &username, &address);
    if user.deactivated_at.is_some() {
        return Err(ApiError::Unauthorized("this account is deactivated; ask an administrator".into()));
    }
    start_session(&state, user).await
}

/// Opens a session for `user`: the cookie, and who they are.
async fn start_session(state: &AppState, user: UserSummary) -> ApiResult<Response> {
    let secret = random_secret();
    let lifetime = chrono::Duration::hours(SESSION_LIFETIME_HOURS);
    state.store.create_session(&user, &secret_hash(&secret), (state.clock.now() + lifetime).timestamp_millis()).await?;
    let cookie = session_cookie(&secret, lifetime.num_seconds(), state.settings.secure_cookies);
    let body = MeResponse { permissions: user.role.permissions().to_vec(), user };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Creates `admin` with the chosen password, once, for the holder of the setup link.
async fn set_up_first_admin(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SetupRequest>,
) -> ApiResult<Response> {
    let expected = state.setup_secret_hash.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let Some(expected) = expected else {
        return Err(ApiError::Conflict("Keel already has an administrator: sign in instead".into()));
    };
    if secret_hash(request.token.trim()) != expected {
        return Err(ApiError::Forbidden("this setup link is not valid; use the one printed at start-up".into()));
    }
    passwords::check_new_password(&request.password).map_err(|message| ApiError::field("password", message))?;
    let password = request.password;
    let hash = tokio::task::spawn_blocking(move || passwords::hash_password(&password))
        .await
        .map_err(anyhow::Error::from)??;
    let admin = state.store.create_first_admin(&hash).await?;
    // The link works once.
    *state.setup_secret_hash.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    start_session(&state, admin).await
}

/// The signed-in person changes their own password (with a session, never a token);
/// their other sessions end.
async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let Credential::Session { secret_hash } = &principal.credential else {
        return Err(ApiError::Forbidden("a password is changed by its owner, signed in, not with a token".into()));
    };
    passwords::check_new_password(&request.new_password).map_err(|message| ApiError::field("new_password", message))?;
    let credentials = state
        .store
        .user_by_username(&principal.user.username)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the signed-in user is gone".into()))?;
    if !passwords::verify_limited(request.current_password, credentials.password_hash).await? {
        return Err(ApiError::field("current_password", "is not your current password"));
    }
    let new_password = request.new_password;
    let hash = tokio::task::spawn_blocking(move || passwords::hash_password(&new_password))
        .await
        .map_err(anyhow::Error::from)??;
    state.store.change_password(&principal.user, &hash, secret_hash, &principal.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn log_out(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    if let Credential::Session { secret_hash } = &principal.credential {
        state.store.revoke_session(secret_hash, &principal.actor()).await?;
    }
    let expired = session_cookie("", 0, state.settings.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired)]).into_response())
}

async fn who_am_i(principal: Principal) -> Json<MeResponse> {
    let permissions = Permission::ALL.into_iter().filter(|permission| principal.can(*permission)).collect();
    Json(MeResponse { user: principal.user, permissions })
}

fn session_cookie(secret: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("keel_session=; Max-Age=0"))
}
