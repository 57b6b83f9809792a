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
