//! Signing in.

use keel_shared::ErrorBody;
use keel_shared::auth::LoginRequest;
use leptos::prelude::*;

use crate::api;
use crate::auth::use_auth;

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = use_auth();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let log_in = Action::new_local(|request: &LoginRequest| {
        let request = request.clone();
        async move { api::log_in(&request).await }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || log_in.value().get().and_then(Result::err));
    Effect::new(move || {
        if let Some(Ok(me)) = log_in.value().get() {
            auth.me.set(Some(me));
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        log_in.dispatch(LoginRequest { username: username.get(), password: password.get() });
    };
    view! {
        <main class="login" id="main">
            <form class="card login-card" on:submit=submit aria-labelledby="login-heading">
                <p class="brand brand-on-card"><span class="brand-mark" aria-hidden="true">"◆"</span>" Keel"</p>
                <h1 id="login-heading">"Sign in"</h1>
                {move || error.get().map(|body| view! { <div class="alert alert-error" role="alert">{body.detail}</div> })}
                <div class="field">
                    <label for="login-username">"Username"</label>
                    <input
                        id="login-username"
                        name="username"
                        autocomplete="username"
                        required
                        prop:value=username
                        on:input=move |event| username.set(event_target_value(&event))
                    />
                </div>
                <div class="field">
                    <label for="login-password">"Password"</label>
                    <input
                        id="login-password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                        prop:value=password
                        on:input=move |event| password.set(event_target_value(&event))
                    />
                </div>
                <button type="submit" class="button button-primary button-wide" disabled=move || log_in.pending().get()>
                    {move || if log_in.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </main>
    }
}
