//! Who may do what: roles, the permission matrix, and API-token scopes. The server
//! enforces these functions; the console calls the same ones to show only what the
//! signed-in user may do.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::models::UnknownVariant;

/// A person's role. Each role's permissions are listed in `Role::permissions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads models and their health; changes nothing.
    Viewer,
    /// Registers and changes models and versions; pushes telemetry.
    Engineer,
    /// Reviews and approves changes; reads the audit trail.
    Approver,
    /// Everything, including users and API tokens.
    Admin,
}

/// One thing a request may need to be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ReadModels,
    WriteModels,
    IngestTelemetry,
    ReadAudit,
    ManageUsers,
    ManageTokens,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Self::ReadModels,
        Self::WriteModels,
        Self::IngestTelemetry,
        Self::ReadAudit,
        Self::ManageUsers,
        Self::ManageTokens,
    ];
}

impl Role {
    pub const ALL: [Role; 4] = [Self::Viewer, Self::Engineer, Self::Approver, Self::Admin];

    /// The permission matrix.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Self::Viewer => &[ReadModels],
            Self::Engineer => &[ReadModels, WriteModels, IngestTelemetry],
            Self::Approver => &[ReadModels, ReadAudit],
            Self::Admin => &[ReadModels, WriteModels, IngestTelemetry, ReadAudit, ManageUsers, ManageTokens],
        }
    }

    pub fn can(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Engineer => "engineer",
            Self::Approver => "approver",
            Self::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Viewer => "Viewer",
            Self::Engineer => "Engineer",
            Self::Approver => "Approver",
            Self::Admin => "Admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|role| role.as_str() == s).ok_or_else(|| UnknownVariant {
            given: s.to_owned(),
            expected: &["viewer", "engineer", "approver", "admin"],
        })
    }
}

/// What an API token may be used for. A token never exceeds its owner's role either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// Push telemetry and feature data.
    Ingest,
    /// Read models, health and reports.
    Read,
}

impl TokenScope {
    pub const ALL: [TokenScope; 2] = [Self::Ingest, Self::Read];

    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Self::Ingest => &[Permission::IngestTelemetry],
            Self::Read => &[Permission::ReadModels],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ingest => "ingest",
            Self::Read => "read",
        }
    }
}

impl FromStr for TokenScope {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownVariant { given: s.to_owned(), expected: &["ingest", "read"] })
    }
}

/// Whether a token with these scopes, owned by someone of `role`, may do `permission`.
pub fn token_can(role: Role, scopes: &[TokenScope], permission: Permission) -> bool {
    role.can(permission) && scopes.iter().any(|scope| scope.permissions().contains(&permission))
}

/// A user as lists show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    /// Login name, unique.
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/auth/login`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// `GET /api/auth/me`: who is signed in and what they may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeResponse {
    pub user: UserSummary,
    pub permissions: Vec<Permission>,
}

/// `POST /api/users` (admins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateUserRequest {
    pub username: String,
    /// Defaults to the username.
    pub display_name: String,
    /// Required.
    pub role: Option<Role>,
    /// At least 12 characters.
    pub password: String,
}

/// An API token as lists show it; its secret is never shown again after creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub id: String,
    pub name: String,
    /// Username of the user the token acts as.
    pub owner: String,
    /// The first characters of the secret, e.g. `keel_3f9a…`.
    pub prefix: String,
    pub scopes: Vec<TokenScope>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api/tokens` (admins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateTokenRequest {
    /// What the token is for, e.g. `fraud-model-server`.
    pub name: String,
    /// At least one.
    pub scopes: Vec<TokenScope>,
    /// Username the token acts as; defaults to the caller.
    pub owner: Option<String>,
}

/// `POST /api/tokens`: the secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedTokenResponse {
    /// `keel_…`: send as `Authorization: Bearer <token>`.
    pub token: String,
    pub summary: TokenSummary,
}

/// `POST /api/auth/setup`: choose the first administrator's password through the
/// one-time link printed at first start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SetupRequest {
    /// The secret after `#` in the setup link.
    pub token: String,
    /// At least 12 characters.
    pub password: String,
}
