//! Runbooks: Markdown checklists shown on the incidents of a model or a severity, edited
//! with a preview.

use keel_shared::ErrorBody;
use keel_shared::ModelId;
use keel_shared::alerting::{Runbook, RunbookSpec};
use keel_shared::auth::Permission;
use keel_shared::incidents::{Severity, runbook_steps};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::auth::use_auth;
use crate::components::{EmptyState, FormAlert, Markdown, ModelSelect, TextField, loaded, use_models};

const TEMPLATE: &str = "## When this fires\n\nWhat the alert means.\n\n- [ ] Open the model's health page and confirm the signal\n- [ ] Check recent changes to the model and its data\n- [ ] Roll back or mitigate, then record it on the incident\n";

#[component]
pub fn RunbooksPage() -> impl IntoView {
    let can_manage = use_auth().can(Permission::ManageAlertRules);
    let changed = RwSignal::new(0_u32);
    let editing = RwSignal::new(None::<Option<Runbook>>);
    let runbooks = LocalResource::new(move || {
        changed.get();
        api::list_runbooks()
    });
    view! {
        <div class="page-header">
            <div>
                <h1>"Runbooks"</h1>
                <p class="page-lede">"What a responder does, step by step. An incident shows the runbook of its rule, its model or its severity, and each ticked step lands on its timeline."</p>
            </div>
            <Show when=move || can_manage>
                <button type="button" class="button button-primary" on:click=move |_| editing.set(Some(None))>"New runbook"</button>
            </Show>
        </div>
        {move || editing.get().map(|runbook| view! {
            <RunbookEditor runbook on_done=move || { editing.set(None); changed.update(|count| *count += 1); } />
        })}
        {loaded(runbooks, "runbooks", move |value| match value {
            list if list.is_empty() => view! {
                <EmptyState title="No runbooks yet" message="Write the first one so responders know what to do.">
                    <span></span>
                </EmptyState>
            }.into_any(),
            list => view! {
                <ul class="runbook-list">
                    {list.into_iter().map(|runbook| {
                        let steps = runbook_steps(&runbook.spec.body).len();
                        let applies = match (&runbook.spec.model, runbook.spec.severity) {
                            (Some(_), Some(severity)) => format!("one model, {}", severity.label()),
                            (Some(_), None) => "one model".to_owned(),
                            (None, Some(severity)) => format!("every {} incident", severity.label()),
                            (None, None) => "when a rule names it".to_owned(),
                        };
                        let edit = runbook.clone();
                        view! {
                            <li class="card">
                                <h2>{runbook.spec.title.clone()}</h2>
                                <p class="cell-sub">{format!("{steps} steps · {applies}")}</p>
                                <Markdown source=runbook.spec.body />
                                <Show when=move || can_manage>
                                    <button type="button" class="button" on:click={
                                        let edit = edit.clone();
                                        move |_| editing.set(Some(Some(edit.clone())))
                                    }>"Edit"</button>
                                </Show>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        })}
    }
}

#[component]
fn RunbookEditor(runbook: Option<Runbook>, on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let id = runbook.as_ref().map(|runbook| runbook.id.clone());
    let spec = runbook.map(|runbook| runbook.spec);
    let title = RwSignal::new(spec.as_ref().map(|spec| spec.title.clone()).unwrap_or_default());
    let body = RwSignal::new(spec.as_ref().map_or_else(|| TEMPLATE.to_owned(), |spec| spec.body.clone()));
    let model = RwSignal::new(
        spec.as_ref().and_then(|spec| spec.model.as_ref()).map(|model| model.0.clone()).unwrap_or_default(),
    );
    let severity = RwSignal::new(
        spec.as_ref().and_then(|spec| spec.severity).map(|severity| severity.as_str().to_owned()).unwrap_or_default(),
    );
    let error = RwSignal::new(None::<ErrorBody>);
    let models = use_models();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let spec = RunbookSpec {
            title: title.get(),
            body: body.get(),
            model: Some(model.get()).filter(|model| !model.is_empty()).map(ModelId),
            severity: severity.get().parse::<Severity>().ok(),
        };
        let id = id.clone();
        spawn_local(async move {
            match api::save_runbook(id.as_deref(), &spec).await {
                Ok(_) => on_done(),
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let error_signal = Signal::from(error);
    view! {
        <form class="card form" aria-label="Runbook" on:submit=submit>
            <FormAlert error=error_signal />
            <TextField id="runbook-title" label="Title" field="title" value=title error=error_signal required=true />
            <div class="field">
                <label for="runbook-model">"For the incidents of"</label>
                <ModelSelect models value=model empty="Any model" id="runbook-model" />
                <select aria-label="Severity" prop:value=severity on:change=move |event| severity.set(event_target_value(&event))>
                    <option value="">"Any severity"</option>
                    {Severity::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="editor-with-preview">
                <div class="field">
                    <label for="runbook-body">"Markdown (steps are task items: - [ ] step)"</label>
                    <textarea id="runbook-body" rows="14" prop:value=body on:input=move |event| body.set(event_target_value(&event))></textarea>
                </div>
                <div class="preview" aria-label="Preview"><Markdown source=body /></div>
            </div>
            <div class="form-actions">
                <button type="button" class="button button-quiet" on:click=move |_| on_done()>"Cancel"</button>
                <button type="submit" class="button button-primary">"Save runbook"</button>
            </div>
        </form>
    }
}
