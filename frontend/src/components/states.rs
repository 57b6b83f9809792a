//! What a page shows while it waits, when it has nothing, and when it failed.

use keel_shared::ErrorBody;
use leptos::prelude::*;

#[component]
pub fn Loading(what: &'static str) -> impl IntoView {
    view! {
        <div class="state state-loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            {format!("Loading {what}…")}
        </div>
    }
}

#[component]
pub fn EmptyState(#[prop(into)] title: String, #[prop(into)] message: String, children: Children) -> impl IntoView {
    view! {
        <div class="state state-empty">
            <h2>{title}</h2>
            <p>{message}</p>
            {children()}
        </div>
    }
}

/// A failed load, with the server's explanation.
#[component]
pub fn ErrorState(error: ErrorBody) -> impl IntoView {
    view! {
        <div class="state state-error" role="alert">
            <h2>{error.title}</h2>
            <p>{error.detail}</p>
        </div>
    }
}

/// The one way a page shows what it loads: "Loading …" while it waits, the server's
/// explanation when the load failed, and `show` of the value once it came.
pub fn loaded<T, V>(
    resource: LocalResource<crate::api::ApiResult<T>>,
    what: &'static str,
    show: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + 'static,
    V: IntoView + 'static,
{
    move || match resource.get() {
        None => view! { <Loading what /> }.into_any(),
        Some(Err(error)) => view! { <ErrorState error /> }.into_any(),
        Some(Ok(value)) => show(value).into_any(),
    }
}
