//! `DomainError`: why the store or a service could not do what was asked, by meaning.
//! Only the HTTP edge (`error.rs`) turns it into an `ApiError` and its `ErrorBody`;
//! background jobs match on it (a conflict is an expected outcome, not a failure).

use keel_shared::validation::FieldErrors;

pub type DomainResult<T> = Result<T, DomainError>;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    NotFound(String),
    /// Clashes with what is stored or with a rule: a duplicate name, a second production
    /// version, a state that changed meanwhile, a move only a change request may make.
    #[error("{0}")]
    Conflict(String),
    /// A rule forbids this caller this action (the role may not make that move, a
    /// requester may not approve their own change).
    #[error("{0}")]
    Forbidden(String),
    /// Fields that break a rule, each with its message.
    #[error("invalid fields: {0:?}")]
    Invalid(FieldErrors),
    /// Something stored does not decode (edited by hand, or written by a newer Keel).
    #[error("{0}")]
    Corrupt(String),
    /// The store does not answer, or every connection to it is busy: retry shortly.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl DomainError {
    /// An invalid value of one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(FieldErrors::from([(field.to_owned(), message.into())]))
    }
}

impl From<sqlx::Error> for DomainError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut => {
                Self::Unavailable("every connection to the store is busy; retry shortly".into())
            }
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => {
                Self::Unavailable(format!("the store does not answer ({error})"))
            }
            sqlx::Error::Database(database) => match database.code().as_deref() {
                // SQLite's "database is locked" after its busy timeout: another writer held on.
                Some("5" | "517") => Self::Unavailable("the store is busy with another write; retry shortly".into()),
                // PostgreSQL refusing or ending connections: connection exceptions (08),
                // insufficient resources (53, e.g. too many connections), shutdown (57P),
                // the database gone (3D000).
                Some(code)
                    if code.starts_with("08")
                        || code.starts_with("53")
                        || code.starts_with("57P")
                        || code == "3D000" =>
                {
                    Self::Unavailable(format!("the store does not answer ({})", database.message()))
                }
                _ => Self::Internal(error.into()),
            },
            _ => Self::Internal(error.into()),
        }
    }
}

impl From<anyhow::Error> for DomainError {
    fn from(error: anyhow::Error) -> Self {
        Self::Internal(error)
    }
}
