//! User management (admins).

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use keel_shared::auth::{CreateUserRequest, Permission, UserSummary};

use super::Api;
use crate::AppState;
use crate::auth::{Access, Principal, passwords};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::store::identity::NewUser;

pub fn routes(api: Api) -> Api {
    let manage = Access::Permission(Permission::ManageUsers);
    api.route(Method::GET, "/api/users", manage, list_users)
        .route(Method::POST, "/api/users", manage, create_user)
        .route(Method::POST, "/api/users/{id}/deactivate", manage, deactivate_user)
        .route(Method::POST, "/api/users/{id}/reactivate", manage, reactivate_user)
}

async fn list_users(State(state): State<AppState>) -> ApiResult<Json<Vec<UserSummary>>> {
    Ok(Json(state.store.list_users().await?))
}

async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<UserSummary>)> {
    let input = request.validate().map_err(ApiError::Validation)?;
    let password_hash = tokio::task::spawn_blocking(move || passwords::hash_password(&input.password))
        .await
        .map_err(anyhow::Error::from)??;
    let user = NewUser { username: input.username, display_name: input.display_name, role: input.role, password_hash };
    let created = state.store.create_user(&user, &principal.actor()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Deactivates a user: their sessions end and their tokens stop working at once.
async fn deactivate_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<UserSummary>> {
    if id == principal.user.id {
        return Err(ApiError::Conflict("you cannot deactivate yourself".into()));
    }
    Ok(Json(state.store.set_user_active(&id, false, &principal.actor()).await?))
}

async fn reactivate_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<UserSummary>> {
    Ok(Json(state.store.set_user_active(&id, true, &principal.actor()).await?))
}
