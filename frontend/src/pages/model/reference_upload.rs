//! Uploading a version's reference file (CSV or JSON, up to 64 MiB) with a progress bar
//! and a Cancel button: `XMLHttpRequest`, because `fetch` reports no upload progress.

use std::cell::RefCell;
use std::rc::Rc;

use keel_shared::models::VersionSummary;
use keel_shared::{ErrorBody, ModelId};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{HtmlInputElement, ProgressEvent, XmlHttpRequest};

use crate::api;
use crate::components::FormAlert;

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq)]
enum Upload {
    Idle,
    /// Bytes sent of the total.
    Sending(f64, f64),
    /// The server is building the reference.
    Processing,
    Done(String),
    Cancelled,
}

/// The request in flight and its callbacks (kept alive until it ends).
#[derive(Default)]
struct InFlight {
    request: Option<XmlHttpRequest>,
    callbacks: Vec<Closure<dyn FnMut(ProgressEvent)>>,
}

#[component]
pub fn ReferenceUpload(
    model_id: ModelId,
    versions: Vec<VersionSummary>,
    on_uploaded: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let default_version = versions
        .iter()
        .find(|version| version.stage == keel_shared::models::Stage::Production)
        .or(versions.first())
        .map(|version| version.tag.clone())
        .unwrap_or_default();
    let version = RwSignal::new(default_version);
    let state = RwSignal::new(Upload::Idle);
    let error = RwSignal::new(None::<ErrorBody>);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let in_flight = SendWrapper::new(Rc::new(RefCell::new(InFlight::default())));

    let start = {
        let in_flight = in_flight.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            error.set(None);
            let Some(input) = file_input.get_untracked() else { return };
            let input: &HtmlInputElement = &input;
            let Some(file) = input.files().and_then(|files| files.get(0)) else {
                error.set(Some(client_problem("Choose a CSV or JSON file first.")));
                return;
            };
            let name = file.name();
            let content_type =
                if name.to_ascii_lowercase().ends_with(".json") { "application/json" } else { "text/csv" };
            let Ok(request) = XmlHttpRequest::new() else { return };
            let url = api::reference_upload_url(&model_id, &version.get_untracked(), &name);
            if request.open("PUT", &url).is_err() || request.set_request_header("content-type", content_type).is_err() {
                return;
            }
            let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
                if event.length_computable() {
                    let (sent, total) = (event.loaded(), event.total());
                    state.set(if sent >= total { Upload::Processing } else { Upload::Sending(sent, total) });
                }
            });
            let finished = {
                let request = request.clone();
                let in_flight = in_flight.clone();
                Closure::<dyn FnMut(ProgressEvent)>::new(move |_: ProgressEvent| {
                    let status = request.status().unwrap_or_default();
                    let body = request.response_text().ok().flatten().unwrap_or_default();
                    if (200..300).contains(&status) {
                        state.set(Upload::Done(name.clone()));
                        on_uploaded();
                    } else if status == 0 {
                        state.set(Upload::Idle);
                        error.set(Some(client_problem("The upload did not reach the server. Try again.")));
                    } else {
                        state.set(Upload::Idle);
                        error.set(Some(serde_json::from_str(&body).unwrap_or_else(|_| client_problem(&body))));
                    }
                    in_flight.borrow_mut().request = None;
                })
            };
            if let Ok(upload) = request.upload() {
                upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
            }
            request.set_onloadend(Some(finished.as_ref().unchecked_ref()));
            state.set(Upload::Sending(0.0, f64::from(file.size() as u32)));
            if request.send_with_opt_blob(Some(&file)).is_ok() {
                let mut in_flight = in_flight.borrow_mut();
                in_flight.request = Some(request);
                in_flight.callbacks = vec![on_progress, finished];
            }
        }
    };
    let cancel = move |_| {
        let request = in_flight.borrow_mut().request.take();
        if let Some(request) = request {
            // `loadend` still fires: with status 0, which the handler must not report.
            request.set_onloadend(None);
            let _ = request.abort();
            state.set(Upload::Cancelled);
        }
    };
    let busy = move || matches!(state.get(), Upload::Sending(..) | Upload::Processing);

    view! {
        <form class="form form-inline" on:submit=start aria-labelledby="upload-heading">
            <h3 id="upload-heading">"Upload a reference"</h3>
            <p class="muted">
                "The data a version was validated on: CSV with a header row, or JSON rows. A "
                <span class="mono">"target"</span>" column (the truth) and a "<span class="mono">"prediction"</span>
                " column give the performance baseline. Replaces the version's earlier reference."
            </p>
            <FormAlert error=Signal::derive(move || error.get()) />
            <div class="form-row">
                <div class="field">
                    <label for="reference-version">"Version"</label>
                    <select
                        id="reference-version"
                        on:change=move |event| version.set(event_target_value(&event))
                        prop:value=move || version.get()
                    >
                        {versions.into_iter().map(|option| { let label = option.tag.clone(); view! { <option value=option.tag>{label}</option> } }).collect_view()}
                    </select>
                </div>
                <div class="field field-grow">
                    <label for="reference-file">"File"</label>
                    <input id="reference-file" type="file" accept=".csv,.json,text/csv,application/json" node_ref=file_input />
                </div>
            </div>
            {move || match state.get() {
                Upload::Sending(sent, total) => {
                    let percent = if total > 0.0 { (sent / total * 100.0).round() } else { 0.0 };
                    view! {
                        <div class="upload-progress" role="status">
                            <progress max="100" value=percent.to_string()></progress>
                            {format!(" {percent:.0} % of {:.1} MB sent", total / 1e6)}
                        </div>
                    }.into_any()
                }
                Upload::Processing => view! { <p class="muted" role="status">"Uploaded; building the reference…"</p> }.into_any(),
                Upload::Done(name) => view! { <p class="alert alert-success" role="status">{format!("{name} is the reference now.")}</p> }.into_any(),
                Upload::Cancelled => view! { <p class="muted" role="status">"Upload cancelled; nothing was stored."</p> }.into_any(),
                Upload::Idle => ().into_any(),
            }}
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=busy>
                    {move || if busy() { "Uploading…" } else { "Upload reference" }}
                </button>
                // Once sent, the server builds the reference whatever the browser does.
                {move || matches!(state.get(), Upload::Sending(..)).then(|| view! {
                    <button type="button" class="button" on:click=cancel.clone()>"Cancel upload"</button>
                })}
            </div>
        </form>
    }
}

fn client_problem(detail: &str) -> ErrorBody {
    ErrorBody {
        kind: "/problems/client".into(),
        title: "Upload failed".into(),
        status: 0,
        detail: detail.into(),
        fields: Default::default(),
    }
}
