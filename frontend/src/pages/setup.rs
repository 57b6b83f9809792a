//! First start: choosing the administrator's password through the one-time link that
//! `keel` printed (`/setup#<secret>`).

use keel_shared::ErrorBody;
use keel_shared::auth::SetupRequest;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

use crate::api;
use crate::auth::use_auth;
use crate::components::{FieldError, field_message};

#[component]
pub fn SetupPage() -> impl IntoView {
    let auth = use_auth();
    let location = use_location();
    let password = RwSignal::new(String::new());
    let set_up = Action::new_local(|request: &SetupRequest| {
        let request = request.clone();
        async move { api::set_up(&request).await }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || set_up.value().get().and_then(Result::err));
    let navigate = use_navigate();
    Effect::new(move || {
        if let Some(Ok(me)) = set_up.value().get() {
            auth.me.set(Some(me));
            navigate("/models", Default::default());
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let token = location.hash.get_untracked().trim_start_matches('#').to_owned();
        set_up.dispatch(SetupRequest { token, password: password.get() });
    };
    view! {
        <main class="login" id="main">
            <form class="card login-card" on:submit=submit aria-labelledby="setup-heading">
                <p class="brand brand-on-card"><span class="brand-mark" aria-hidden="true">"◆"</span>" Keel"</p>
                <h1 id="setup-heading">"Set up Keel"</h1>
                <p class="muted">"Choose the password of the administrator, "<strong>"admin"</strong>". This link works once."</p>
                {move || error.get().filter(|body| body.fields.is_empty()).map(|body| view! {
                    <div class="alert alert-error" role="alert">{body.detail}</div>
                })}
                <div class="field">
                    <label for="setup-password">"Password"</label>
                    <input
                        id="setup-password"
                        name="password"
                        type="password"
                        autocomplete="new-password"
                        required
                        aria-describedby="setup-password-error"
                        prop:value=password
                        on:input=move |event| password.set(event_target_value(&event))
                    />
                    <FieldError id="setup-password-error" message=field_message(error, "password") />
                </div>
                <button type="submit" class="button button-primary button-wide" disabled=move || set_up.pending().get()>
                    "Create administrator"
                </button>
            </form>
        </main>
    }
}
