//! The signed-in person's own account: changing their password.

use keel_shared::ErrorBody;
use keel_shared::auth::ChangePasswordRequest;
use leptos::prelude::*;

use crate::api;
use crate::components::{FormAlert, TextField};

#[component]
pub fn AccountPage() -> impl IntoView {
    let current_password = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let change = Action::new_local(|request: &ChangePasswordRequest| {
        let request = request.clone();
        async move { api::change_password(&request).await }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || change.value().get().and_then(Result::err));
    Effect::new(move || {
        if let Some(Ok(())) = change.value().get() {
            current_password.set(String::new());
            new_password.set(String::new());
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        change.dispatch(ChangePasswordRequest {
            current_password: current_password.get(),
            new_password: new_password.get(),
        });
    };
    view! {
        <div class="page-header">
            <div>
                <h1>"Your account"</h1>
                <p class="page-lede">"Changing your password signs you out everywhere else."</p>
            </div>
        </div>
        <form class="card form form-spaced" on:submit=submit aria-labelledby="password-heading">
            <h2 id="password-heading">"Change password"</h2>
            <FormAlert error />
            {move || matches!(change.value().get(), Some(Ok(()))).then(|| view! {
                <div class="alert alert-success" role="status">"Password changed. Your other sessions have ended."</div>
            })}
            <TextField id="current-password" label="Current password" field="current_password" value=current_password
                error kind="password" autocomplete="current-password" required=true />
            <TextField id="new-password" label="New password (at least 12 characters)" field="new_password"
                value=new_password error kind="password" autocomplete="new-password" required=true />
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || change.pending().get()>
                    {move || if change.pending().get() { "Changing…" } else { "Change password" }}
                </button>
            </div>
        </form>
    }
}
