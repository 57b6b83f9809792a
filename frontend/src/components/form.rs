//! Showing the server's validation messages in forms.

use keel_shared::ErrorBody;
use leptos::prelude::*;

/// The server's message for `field`, if the last submission failed on it.
pub fn field_message(error: Signal<Option<ErrorBody>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|body| body.fields.get(field).cloned()))
}

/// The message under a field; `id` is what the input's `aria-describedby` names.
#[component]
pub fn FieldError(#[prop(into)] id: String, message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="field-error" id=id aria-live="polite">
            {move || message.get()}
        </p>
    }
}

/// The summary above a form whose submission failed.
#[component]
pub fn FormAlert(error: Signal<Option<ErrorBody>>) -> impl IntoView {
    move || {
        error.get().map(|body| {
            let summary =
                if body.fields.is_empty() { body.detail } else { "Please correct the highlighted fields.".to_owned() };
            view! {
                <div class="alert alert-error" role="alert">
                    <strong>{body.title}</strong>
                    " "
                    {summary}
                </div>
            }
        })
    }
}
