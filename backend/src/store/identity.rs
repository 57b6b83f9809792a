//! Users, browser sessions and API tokens. Secrets are stored only as SHA-256 hashes.

use keel_shared::audit::{AuditAction, AuditTarget};
use keel_shared::auth::{Role, TokenScope, TokenSummary, UserSummary};
use sqlx::FromRow;

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::{Store, from_millis, is_unique_violation, new_id};
use crate::domain::{DomainError, DomainResult};

/// A user who passed validation, with the argon2id hash of their password.
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
}

/// A user as the server needs them to authenticate.
pub struct UserCredentials {
    pub user: UserSummary,
    pub password_hash: String,
}

/// The owner of an API token and what the token may be used for.
pub struct TokenOwner {
    pub user: UserSummary,
    pub scopes: Vec<TokenScope>,
}

#[derive(FromRow)]
struct UserRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    password_hash: String,
    created_at: i64,
    deactivated_at: Option<i64>,
}

impl UserRow {
    fn into_credentials(self) -> DomainResult<UserCredentials> {
        let role = self
            .role
            .parse::<Role>()
            .map_err(|error| DomainError::Internal(anyhow::anyhow!("unexpected role in the store: {error}")))?;
        Ok(UserCredentials {
            user: UserSummary {
                id: self.id,
                username: self.username,
                display_name: self.display_name,
                role,
                created_at: from_millis(self.created_at),
                deactivated_at: self.deactivated_at.map(from_millis),
            },
            password_hash: self.password_hash,
        })
    }
}

#[derive(FromRow)]
struct TokenDbRow {
    id: String,
    username: String,
    name: String,
    prefix: String,
    scopes: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<TokenDbRow> for TokenSummary {
    fn from(row: TokenDbRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            owner: row.username,
            prefix: row.prefix,
            scopes: parse_scopes(&row.scopes),
            created_at: from_millis(row.created_at),
            last_used_at: row.last_used_at.map(from_millis),
            revoked_at: row.revoked_at.map(from_millis),
        }
    }
}

fn parse_scopes(text: &str) -> Vec<TokenScope> {
    text.split(',').filter_map(|scope| scope.parse().ok()).collect()
}

macro_rules! user_columns {
    () => {
        "id, username, display_name, role, password_hash, created_at, deactivated_at"
    };
}

macro_rules! token_columns {
    () => {
        "t.id, u.username, t.name, t.prefix, t.scopes, t.created_at, t.last_used_at, t.revoked_at"
    };
}

impl Store {
    /// How many users hold the admin role.
    pub async fn count_admins(&self) -> DomainResult<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'").fetch_one(&self.pool).await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    #[tracing::instrument(skip_all, fields(username = %user.username))]
    pub async fn create_user(&self, user: &NewUser, actor: &Actor) -> DomainResult<UserSummary> {
        let id = new_id();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO users (id, username, display_name, role, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                DomainError::Conflict(format!("a user named '{}' already exists", user.username))
            } else {
                error.into()
            }
        })?;
        let changes = ChangeSet::default()
            .field("username", None, Some(&user.username))
            .field("display_name", None, Some(&user.display_name))
            .field("role", None, Some(user.role.as_str()))
            .build();
        self.append_audit(
            &mut tx,
            AuditRecord { actor, action: AuditAction::UserCreate, target: AuditTarget::User, target_id: &id, changes },
        )
        .await?;
        tx.commit().await?;
        Ok(self.user_by_id(&id).await?.user)
    }

    /// Creates the first administrator, `admin`, unless an administrator exists by now.
    pub async fn create_first_admin(&self, password_hash: &str) -> DomainResult<UserSummary> {
        if self.count_admins().await? > 0 {
            return Err(DomainError::Conflict("Keel already has an administrator: sign in instead".into()));
        }
        let user = NewUser {
            username: crate::FIRST_ADMIN.into(),
            display_name: "Administrator".into(),
            role: Role::Admin,
            password_hash: password_hash.to_owned(),
        };
        self.create_user(&user, &Actor::system()).await
    }

    pub async fn list_users(&self) -> DomainResult<Vec<UserSummary>> {
        let rows: Vec<UserRow> =
            sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users ORDER BY lower(username)"))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|row| row.into_credentials().map(|credentials| credentials.user)).collect()
    }

    pub async fn user_by_username(&self, username: &str) -> DomainResult<Option<UserCredentials>> {
        let row: Option<UserRow> =
            sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE lower(username) = lower($1)"))
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        row.map(UserRow::into_credentials).transpose()
    }

    async fn user_by_id(&self, id: &str) -> DomainResult<UserCredentials> {
        let row: Option<UserRow> = sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.ok_or_else(|| DomainError::NotFound(format!("no user with id '{id}'")))?.into_credentials()
    }

    /// Deactivates (`active: false`) or reactivates a user, with an audit entry. A
    /// deactivated user's sessions end for good and their tokens stop working until they
    /// are reactivated. The last active administrator stays active.
    pub async fn set_user_active(&self, id: &str, active: bool, actor: &Actor) -> DomainResult<UserSummary> {
        let mut tx = self.begin_write().await?;
        let user = self.user_by_id(id).await?.user;
        if user.deactivated_at.is_none() == active {
            return Ok(user);
        }
        let now = self.now_millis();
        if !active {
            if user.role == Role::Admin {
                let others: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM users WHERE role = 'admin' AND deactivated_at IS NULL AND id <> $1",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                if others == 0 {
                    return Err(DomainError::Conflict(format!(
                        "'{}' is the last active administrator; make another one first",
                        user.username
                    )));
                }
            }
            sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE users SET deactivated_at = $2 WHERE id = $1")
            .bind(id)
            .bind((!active).then_some(now))
            .execute(&mut *tx)
            .await?;
        let (action, before, after) = if active {
            (AuditAction::UserReactivate, "false", "true")
        } else {
            (AuditAction::UserDeactivate, "true", "false")
        };
        let changes = ChangeSet::default().field("active", Some(before), Some(after)).build();
        self.append_audit(&mut tx, AuditRecord { actor, action, target: AuditTarget::User, target_id: id, changes })
            .await?;
        tx.commit().await?;
        Ok(self.user_by_id(id).await?.user)
    }

    /// Replaces a user's password hash and ends their other sessions, with an audit entry.
    pub async fn change_password(
        &self,
        user: &UserSummary,
        password_hash: &str,
        keep_session: &str,
        actor: &Actor,
    ) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(&user.id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE sessions SET revoked_at = $3 WHERE user_id = $1 AND secret_hash <> $2 AND revoked_at IS NULL",
        )
        .bind(&user.id)
        .bind(keep_session)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?;
        let record = AuditRecord {
            actor,
            action: AuditAction::UserPassword,
            target: AuditTarget::User,
            target_id: &user.id,
            changes: Default::default(),
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opens a session whose secret hashes to `secret_hash`, recording the login.
    pub async fn create_session(&self, user: &UserSummary, secret_hash: &str, expires_at: i64) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO sessions (secret_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(secret_hash)
            .bind(&user.id)
            .bind(self.now_millis())
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        let actor = Actor { id: Some(user.id.clone()), name: user.username.clone() };
        let record = AuditRecord {
            actor: &actor,
            action: AuditAction::SessionLogin,
            target: AuditTarget::User,
            target_id: &user.id,
            changes: Default::default(),
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a session for good, recording the logout.
    pub async fn revoke_session(&self, secret_hash: &str, actor: &Actor) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        let revoked = sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE secret_hash = $1 AND revoked_at IS NULL")
            .bind(secret_hash)
            .bind(self.now_millis())
            .execute(&mut *tx)
            .await?;
        if revoked.rows_affected() > 0 {
            let target = actor.id.clone().unwrap_or_default();
            let record = AuditRecord {
                actor,
                action: AuditAction::SessionLogout,
                target: AuditTarget::User,
                target_id: &target,
                changes: Default::default(),
            };
            self.append_audit(&mut tx, record).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user of a live (unexpired, unrevoked) session of an active user.
    pub async fn session_user(&self, secret_hash: &str) -> DomainResult<Option<UserSummary>> {
        let user_id: Option<String> = sqlx::query_scalar(
            "SELECT s.user_id FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.secret_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.deactivated_at IS NULL",
        )
        .bind(secret_hash)
        .bind(self.now_millis())
        .fetch_optional(&self.pool)
        .await?;
        match user_id {
            Some(id) => Ok(Some(self.user_by_id(&id).await?.user)),
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip_all, fields(name = %name))]
    pub async fn create_token(
        &self,
        owner: &UserSummary,
        name: &str,
        scopes: &[TokenScope],
        secret_hash: &str,
        prefix: &str,
        actor: &Actor,
    ) -> DomainResult<TokenSummary> {
        let id = new_id();
        let scope_text = scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(",");
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, secret_hash, prefix, scopes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&owner.id)
        .bind(name)
        .bind(secret_hash)
        .bind(prefix)
        .bind(&scope_text)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?;
        let changes = ChangeSet::default()
            .field("name", None, Some(name))
            .field("owner", None, Some(&owner.username))
            .field("scopes", None, Some(&scope_text))
            .build();
        self.append_audit(
            &mut tx,
            AuditRecord {
                actor,
                action: AuditAction::TokenCreate,
                target: AuditTarget::ApiToken,
                target_id: &id,
                changes,
            },
        )
        .await?;
        tx.commit().await?;
        self.token(&id).await
    }

    pub async fn list_tokens(&self) -> DomainResult<Vec<TokenSummary>> {
        let rows: Vec<TokenDbRow> = sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.created_at DESC, t.id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(TokenSummary::from).collect())
    }

    async fn token(&self, id: &str) -> DomainResult<TokenSummary> {
        let row: Option<TokenDbRow> = sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TokenSummary::from).ok_or_else(|| DomainError::NotFound(format!("no API token with id '{id}'")))
    }

    /// Revokes a token; revoking a revoked token changes nothing.
    pub async fn revoke_token(&self, id: &str, actor: &Actor) -> DomainResult<TokenSummary> {
        let mut tx = self.begin_write().await?;
        let revoked = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(self.now_millis())
            .execute(&mut *tx)
            .await?;
        if revoked.rows_affected() > 0 {
            let changes = ChangeSet::default().field("revoked", Some("false"), Some("true")).build();
            self.append_audit(
                &mut tx,
                AuditRecord {
                    actor,
                    action: AuditAction::TokenRevoke,
                    target: AuditTarget::ApiToken,
                    target_id: id,
                    changes,
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.token(id).await
    }

    /// The owner and scopes of a live token of an active user, noting its use.
    pub async fn token_user(&self, secret_hash: &str) -> DomainResult<Option<TokenOwner>> {
        let row: Option<(String, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT t.id, t.user_id, t.scopes, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND u.deactivated_at IS NULL",
        )
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((token_id, user_id, scopes, last_used_at)) = row else {
            return Ok(None);
        };
        // A write per request would cost the ingest path dearly: minute precision is enough.
        let now = self.now_millis();
        if last_used_at.is_none_or(|at| now - at > 60_000) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(&token_id)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        let user = self.user_by_id(&user_id).await?.user;
        Ok(Some(TokenOwner { user, scopes: parse_scopes(&scopes) }))
    }
}
