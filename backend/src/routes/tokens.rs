//! API tokens for machines (admins): created with scopes, shown once, revocable.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use keel_shared::auth::{CreateTokenRequest, CreatedTokenResponse, Permission, TokenSummary};

use super::Api;
use crate::AppState;
use crate::auth::secrets::{DISPLAY_PREFIX_LEN, new_api_token, secret_hash};
use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};

pub fn routes(api: Api) -> Api {
    let manage = Access::Permission(Permission::ManageTokens);
    api.route(Method::GET, "/api/tokens", manage, list_tokens)
        .route(Method::POST, "/api/tokens", manage, create_token)
        .route(Method::POST, "/api/tokens/{id}/revoke", manage, revoke_token)
}

async fn list_tokens(State(state): State<AppState>) -> ApiResult<Json<Vec<TokenSummary>>> {
    Ok(Json(state.store.list_tokens().await?))
}

async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedTokenResponse>)> {
    let input = request.validate().map_err(ApiError::Validation)?;
    let owner = match &input.owner {
        Some(username) => {
            state
                .store
                .user_by_username(username)
                .await?
                .ok_or_else(|| ApiError::field("owner", format!("no user named '{username}'")))?
                .user
        }
        None => principal.user.clone(),
    };
    let token = new_api_token();
    let summary = state
        .store
        .create_token(
            &owner,
            &input.name,
            &input.scopes,
            &secret_hash(&token),
            &token[..DISPLAY_PREFIX_LEN],
            &principal.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedTokenResponse { token, summary })))
}

async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TokenSummary>> {
    Ok(Json(state.store.revoke_token(&id, &principal.actor()).await?))
}
