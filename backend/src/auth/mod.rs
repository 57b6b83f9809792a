//! Authentication and authorisation: passwords, sessions, API tokens, the principal of
//! each request, CSRF and login rate limits. The permission matrix itself lives in
//! `keel_shared::auth`, shared with the console.

pub mod passwords;
pub mod principal;
pub mod rate_limit;
pub mod secrets;

pub use principal::{Access, Principal};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "keel_session";

/// How long a browser session lasts.
pub const SESSION_LIFETIME_HOURS: i64 = 12;
