//! Who is signed in, shared with every page through context. The permissions come from
//! the server, computed by the same `keel_shared::auth` matrix that it enforces.

use keel_shared::auth::{MeResponse, Permission};
use leptos::prelude::*;

/// The signed-in user, or `None` when signed out.
#[derive(Clone, Copy)]
pub struct Auth {
    pub me: RwSignal<Option<MeResponse>>,
}

impl Auth {
    /// Whether the signed-in user may do `permission` (to show only what they can use).
    pub fn can(&self, permission: Permission) -> bool {
        self.me.with(|me| me.as_ref().is_some_and(|me| me.permissions.contains(&permission)))
    }
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

thread_local! {
    /// The app's `Auth`, so the API client can sign the console out when the server
    /// answers 401 (the session expired or was revoked elsewhere).
    static CURRENT: std::cell::Cell<Option<Auth>> = const { std::cell::Cell::new(None) };
}

/// Makes `auth` the one `session_ended` signs out.
pub fn register(auth: Auth) {
    CURRENT.with(|current| current.set(Some(auth)));
}

/// Shows the sign-in page; the address stays, so signing in again returns to it.
pub fn session_ended() {
    CURRENT.with(|current| {
        // Only when signed in: re-rendering the sign-in page would drop what it shows.
        if let Some(auth) = current.get().filter(|auth| auth.me.with_untracked(Option::is_some)) {
            auth.me.set(None);
        }
    });
}
