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
    /// Reads models, their health and the business figures; changes nothing.
    Viewer,
    /// Registers and changes models and versions, pushes telemetry and evidence, runs
    /// incidents, requests and implements changes, keeps the alert rules.
    Engineer,
    /// Reviews and approves changes, reads the audit trail, keeps the KPIs and ledgers,
    /// and may open an incident.
    Approver,
    /// Everything, including users, API tokens and integrations.
    Admin,
}

/// One thing a request may need to be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ReadModels,
    WriteModels,
    IngestTelemetry,
    /// Upload test results, evaluation sets and other evidence a change is gated on.
    UploadEvidence,
    ReadAudit,
    ManageUsers,
    ManageTokens,
    OpenIncidents,
    /// Acknowledge, assign, escalate and comment on incidents.
    TriageIncidents,
    /// Mitigate, resolve and write the postmortem.
    ResolveIncidents,
    ManageAlertRules,
    /// Inbound alert integrations (Alertmanager, PagerDuty Events) and their keys.
    ManageIntegrations,
    RequestChanges,
    /// Approve or reject someone else's change request (never one's own).
    ApproveChanges,
    /// Carry out an approved change, which moves the registry.
    ImplementChanges,
    ReadKpis,
    /// Edit KPIs, cost and benefit ledgers, exchange rates.
    EditKpis,
}

impl Permission {
    pub const ALL: [Permission; 17] = [
        Self::ReadModels,
        Self::WriteModels,
        Self::IngestTelemetry,
        Self::UploadEvidence,
        Self::ReadAudit,
        Self::ManageUsers,
        Self::ManageTokens,
        Self::OpenIncidents,
        Self::TriageIncidents,
        Self::ResolveIncidents,
        Self::ManageAlertRules,
        Self::ManageIntegrations,
        Self::RequestChanges,
        Self::ApproveChanges,
        Self::ImplementChanges,
        Self::ReadKpis,
        Self::EditKpis,
    ];
}

impl Role {
    pub const ALL: [Role; 4] = [Self::Viewer, Self::Engineer, Self::Approver, Self::Admin];

    /// The permission matrix.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Self::Viewer => &[ReadModels, ReadKpis],
            Self::Engineer => &[
                ReadModels,
                WriteModels,
                IngestTelemetry,
                UploadEvidence,
                OpenIncidents,
                TriageIncidents,
                ResolveIncidents,
                ManageAlertRules,
                RequestChanges,
                ImplementChanges,
                ReadKpis,
            ],
            Self::Approver => &[ReadModels, ReadAudit, ApproveChanges, ReadKpis, EditKpis],
            Self::Admin => &Permission::ALL,
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
    /// Upload evidence from CI: test results, evaluation sets.
    Evidence,
}

impl TokenScope {
    pub const ALL: [TokenScope; 3] = [Self::Ingest, Self::Read, Self::Evidence];

    /// What a scope allows. No scope approves or implements a change: those are for people.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Self::Ingest => &[Permission::IngestTelemetry],
            Self::Read => &[Permission::ReadModels, Permission::ReadKpis],
            Self::Evidence => &[Permission::UploadEvidence],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ingest => "ingest",
            Self::Read => "read",
            Self::Evidence => "evidence",
        }
    }
}

impl FromStr for TokenScope {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownVariant { given: s.to_owned(), expected: &["ingest", "read", "evidence"] })
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
    /// Set while the user is deactivated: their sessions and tokens do not work.
    #[serde(default)]
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// `POST /api/auth/password`: the signed-in user changes their own password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
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

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    /// The matrix as a table: for each permission, which roles hold it (viewer, engineer,
    /// approver, admin) and which token scopes grant it (ingest, read, evidence).
    const MATRIX: [(Permission, [bool; 4], [bool; 3]); 17] = [
        (ReadModels, [true, true, true, true], [false, true, false]),
        (WriteModels, [false, true, false, true], [false, false, false]),
        (IngestTelemetry, [false, true, false, true], [true, false, false]),
        (UploadEvidence, [false, true, false, true], [false, false, true]),
        (ReadAudit, [false, false, true, true], [false, false, false]),
        (ManageUsers, [false, false, false, true], [false, false, false]),
        (ManageTokens, [false, false, false, true], [false, false, false]),
        (OpenIncidents, [false, true, false, true], [false, false, false]),
        (TriageIncidents, [false, true, false, true], [false, false, false]),
        (ResolveIncidents, [false, true, false, true], [false, false, false]),
        (ManageAlertRules, [false, true, false, true], [false, false, false]),
        (ManageIntegrations, [false, false, false, true], [false, false, false]),
        (RequestChanges, [false, true, false, true], [false, false, false]),
        (ApproveChanges, [false, false, true, true], [false, false, false]),
        (ImplementChanges, [false, true, false, true], [false, false, false]),
        (ReadKpis, [true, true, true, true], [false, true, false]),
        (EditKpis, [false, false, true, true], [false, false, false]),
    ];

    #[test]
    fn every_cell_of_the_role_and_scope_matrix_is_as_the_table_says() {
        for (permission, roles, scopes) in MATRIX {
            for (role, expected) in Role::ALL.into_iter().zip(roles) {
                assert_eq!(role.can(permission), expected, "{role:?} {permission:?}");
            }
            for (scope, expected) in TokenScope::ALL.into_iter().zip(scopes) {
                assert_eq!(scope.permissions().contains(&permission), expected, "{scope:?} {permission:?}");
            }
        }
        assert_eq!(MATRIX.map(|(permission, ..)| permission), Permission::ALL, "every permission has its row");
    }

    #[test]
    fn no_token_approves_or_implements_a_change() {
        for role in Role::ALL {
            for permission in [ApproveChanges, ImplementChanges] {
                assert!(!token_can(role, &TokenScope::ALL, permission), "{role:?} token {permission:?}");
            }
        }
    }
}
