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

/// A labelled text input bound to `value`, with the server's message for `field` under it
/// (wired up with `aria-describedby` and `aria-invalid`).
#[component]
pub fn TextField(
    /// The input's id; the message's id is `<id>-error`.
    id: &'static str,
    label: &'static str,
    /// The request field it fills, as the server names it in `ErrorBody.fields`.
    field: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<ErrorBody>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let message = field_message(error, field);
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                name=field
                type=kind
                autocomplete=autocomplete
                required=required
                aria-describedby=error_id.clone()
                aria-invalid=move || message.get().is_some().to_string()
                prop:value=value
                on:input=move |event| value.set(event_target_value(&event))
            />
            <FieldError id=error_id message />
        </div>
    }
}

/// A problem found in the browser before anything is sent, shown like the server's.
pub fn local_error(field: &str, detail: &str) -> ErrorBody {
    ErrorBody {
        kind: "/problems/client".into(),
        title: "Check the form".into(),
        status: 0,
        detail: format!("{field}: {detail}"),
        fields: [(field.to_owned(), detail.to_owned())].into(),
    }
}

/// The file chosen in the `<input type="file">` a change event came from, with the input
/// (to clear it once the upload is done).
pub fn chosen_file(event: &leptos::ev::Event) -> Option<(web_sys::HtmlInputElement, web_sys::File)> {
    use wasm_bindgen::JsCast;
    let input = event.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
    let file = input.files()?.get(0)?;
    Some((input, file))
}
