//! Any path the console does not know.

use leptos::prelude::*;

use crate::components::EmptyState;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <EmptyState title="Page not found" message="There is nothing at this address.">
            <a class="button" href="/models">"Go to models"</a>
        </EmptyState>
    }
}
