//! The new-change form. A model page opens it pre-filled (`?model=…&kind=promotion&version=…`
//! for "Request promotion", `kind=rollback` for "Roll back"); the risk the table gives is
//! shown as the model and kind are chosen. It creates a draft and opens it.

use chrono::{DateTime, NaiveDateTime, Utc};
use keel_shared::changes::{ChangeKind, ChangeType, CreateChangeRequest, RiskLevel, risk_for};
use keel_shared::models::{ModelResponse, Stage};
use keel_shared::{ErrorBody, ModelId};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api;
use crate::components::{ChangeRiskBadge, FieldError, FormAlert, ModelSelect, TextField, field_message, use_models};

/// A `datetime-local` value (in UTC) as a time, if filled.
fn parse_local(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").ok().map(|naive| naive.and_utc())
}

#[component]
pub fn NewChangePage() -> impl IntoView {
    let query = use_query_map();
    let initial = |key: &str| query.with_untracked(|query| query.get(key)).unwrap_or_default();
    let kind = RwSignal::new(initial("kind").parse::<ChangeKind>().unwrap_or(ChangeKind::Promotion));
    let change_type = RwSignal::new(initial("type").parse::<ChangeType>().unwrap_or(ChangeType::Normal));
    let model = RwSignal::new(initial("model"));
    let version = RwSignal::new(initial("version"));
    let target_stage = RwSignal::new(initial("stage").parse::<Stage>().unwrap_or(Stage::Production));
    let incident = initial("incident");
    let title = RwSignal::new(initial("title"));
    let description = RwSignal::new(String::new());
    let implementation_plan = RwSignal::new(String::new());
    let rollback_plan = RwSignal::new(String::new());
    let start = RwSignal::new(String::new());
    let end = RwSignal::new(String::new());
    let risk = RwSignal::new(String::new());
    let risk_reason = RwSignal::new(String::new());
    let models = use_models();
    let chosen = LocalResource::new(move || {
        let id = model.get();
        async move { if id.is_empty() { None } else { api::get_model(&ModelId(id)).await.ok() } }
    });
    // A rollback goes back to the version production held before, by default.
    Effect::new(move || {
        if kind.get() == ChangeKind::Rollback
            && let Some(Some(ModelResponse { model, .. })) = chosen.get()
            && let Some(previous) = model.rollback_version
        {
            version.set(previous);
        }
    });
    let navigate = use_navigate();
    let create = Action::new_local(move |request: &CreateChangeRequest| {
        let request = request.clone();
        async move { api::create_change(&request).await }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || create.value().get().and_then(Result::err));
    Effect::new(move || {
        if let Some(Ok(created)) = create.value().get() {
            navigate(&format!("/changes/{}", created.summary.id), Default::default());
        }
    });
    let (model_message, version_message, risk_message) =
        (field_message(error, "model_id"), field_message(error, "version"), field_message(error, "risk"));
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let kind = kind.get();
        create.dispatch(CreateChangeRequest {
            kind,
            change_type: change_type.get(),
            model_id: ModelId(model.get()),
            version: Some(version.get()).filter(|version| !version.is_empty()),
            target_stage: (kind == ChangeKind::Promotion).then(|| target_stage.get()),
            title: title.get(),
            description: description.get(),
            implementation_plan: implementation_plan.get(),
            rollback_plan: rollback_plan.get(),
            scheduled_start: parse_local(&start.get()),
            scheduled_end: parse_local(&end.get()),
            linked_incidents: incident.split(',').filter(|id| !id.is_empty()).map(str::to_owned).collect(),
            risk: risk.get().parse::<RiskLevel>().ok(),
            risk_reason: risk_reason.get(),
        });
    };
    view! {
        <div class="page-header">
            <div>
                <p class="breadcrumb"><a href="/changes">"Changes"</a></p>
                <h1>"Request a change"</h1>
                <p class="page-lede">"It starts as a draft: submit it for approval when it is complete. Someone other than you approves it."</p>
            </div>
        </div>
        <form class="card form" aria-label="Request a change" on:submit=submit>
            <FormAlert error />
            <div class="field-row">
                <div class="field">
                    <label for="change-kind">"Kind"</label>
                    <select id="change-kind" prop:value=move || kind.get().as_str().to_owned()
                        on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { kind.set(chosen) } }>
                        {ChangeKind::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="change-type">"Type"</label>
                    <select id="change-type" prop:value=move || change_type.get().as_str().to_owned()
                        on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { change_type.set(chosen) } }>
                        <option value="normal">"Normal: approved, then implemented"</option>
                        <option value="standard">"Standard: routine and low risk"</option>
                        <option value="emergency">"Emergency: implemented now, approved within 24 h"</option>
                    </select>
                </div>
            </div>
            <div class="field-row">
                <div class="field">
                    <label for="change-model">"Model"</label>
                    <ModelSelect models value=model empty="Choose a model" id="change-model" />
                    <FieldError id="change-model-error" message=model_message />
                </div>
                <div class="field">
                    <label for="change-version">"Version"</label>
                    <select id="change-version" prop:value=version on:change=move |event| version.set(event_target_value(&event))>
                        <option value="">"No particular version"</option>
                        {move || chosen.get().flatten().map(|response| response.versions.into_iter().map(|found| {
                            let label = format!("{} ({})", found.tag, found.stage.label().to_lowercase());
                            view! { <option value=found.tag>{label}</option> }
                        }).collect_view())}
                    </select>
                    <FieldError id="change-version-error" message=version_message />
                </div>
                <Show when=move || kind.get() == ChangeKind::Promotion>
                    <div class="field">
                        <label for="change-stage">"Promote to"</label>
                        <select id="change-stage" prop:value=move || target_stage.get().as_str().to_owned()
                            on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { target_stage.set(chosen) } }>
                            <option value="production">"Production"</option>
                            <option value="canary">"Canary"</option>
                        </select>
                    </div>
                </Show>
            </div>
            <p class="muted">
                {move || chosen.get().flatten().map(|response| {
                    let table = risk_for(response.model.risk_tier, kind.get());
                    view! {
                        "The risk table gives "<ChangeRiskBadge risk=table />
                        {format!(" for a {} of a {} model. It is frozen when you submit.", kind.get().label().to_lowercase(), response.model.risk_tier.label().to_lowercase())}
                    }
                })}
            </p>
            <TextField id="change-title" label="Title" field="title" value=title error required=true />
            <div class="field">
                <label for="change-description">"Description"</label>
                <textarea id="change-description" rows="3" prop:value=description on:input=move |event| description.set(event_target_value(&event))></textarea>
            </div>
            <div class="field">
                <label for="change-implementation">"Implementation plan"</label>
                <textarea id="change-implementation" rows="3" prop:value=implementation_plan on:input=move |event| implementation_plan.set(event_target_value(&event))></textarea>
            </div>
            <div class="field">
                <label for="change-rollback">"Rollback plan"</label>
                <textarea id="change-rollback" rows="3" prop:value=rollback_plan on:input=move |event| rollback_plan.set(event_target_value(&event))></textarea>
            </div>
            <div class="field-row">
                <div class="field">
                    <label for="change-start">"Window starts (UTC)"</label>
                    <input id="change-start" type="datetime-local" prop:value=start on:input=move |event| start.set(event_target_value(&event)) />
                </div>
                <div class="field">
                    <label for="change-end">"Window ends (UTC)"</label>
                    <input id="change-end" type="datetime-local" prop:value=end on:input=move |event| end.set(event_target_value(&event)) />
                </div>
            </div>
            <details>
                <summary>"Set the risk yourself"</summary>
                <div class="field-row">
                    <div class="field">
                        <label for="change-risk">"Risk"</label>
                        <select id="change-risk" prop:value=risk on:change=move |event| risk.set(event_target_value(&event))>
                            <option value="">"As the table says"</option>
                            {RiskLevel::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                        </select>
                        <FieldError id="change-risk-error" message=risk_message />
                    </div>
                    <div class="field">
                        <label for="change-risk-reason">"Why (needed to go lower)"</label>
                        <input id="change-risk-reason" prop:value=risk_reason on:input=move |event| risk_reason.set(event_target_value(&event)) />
                    </div>
                </div>
            </details>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || create.pending().get()>"Create draft"</button>
            </div>
        </form>
    }
}
