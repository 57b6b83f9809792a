//! Registering a model. Validation is the server's: its messages appear next to the fields.

use keel_shared::ErrorBody;
use keel_shared::models::{CreateModelRequest, RiskTier};
use keel_shared::validation::{DESCRIPTION_MAX, MODEL_NAME_MAX, OWNER_MAX, USE_CASE_MAX};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api;
use crate::components::{FieldError, FormAlert, field_message};

#[component]
pub fn NewModelPage() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let owner = RwSignal::new(String::new());
    let use_case = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let risk_tier = RwSignal::new(None::<RiskTier>);

    let create = Action::new_local(|request: &CreateModelRequest| {
        let request = request.clone();
        async move { api::create_model(&request).await }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || create.value().get().and_then(Result::err));
    let navigate = use_navigate();
    Effect::new(move || {
        if let Some(Ok(model)) = create.value().get() {
            navigate(&format!("/models/{}", model.id), Default::default());
        }
    });

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        create.dispatch(CreateModelRequest {
            name: name.get(),
            description: description.get(),
            owner: owner.get(),
            use_case: use_case.get(),
            risk_tier: risk_tier.get(),
        });
    };
    let invalid = move |field: &'static str| field_message(error, field);

    view! {
        <div class="page-header">
            <div>
                <p class="breadcrumb"><a href="/models">"Models"</a></p>
                <h1>"Register a model"</h1>
                <p class="page-lede">"Give the model an owner, a business purpose and its EU AI Act risk tier. Versions are added on the model's page."</p>
            </div>
        </div>
        <form class="card form" on:submit=submit novalidate=false>
            <FormAlert error />
            <div class="field">
                <label for="model-name">"Name"</label>
                <input
                    id="model-name"
                    name="name"
                    required
                    maxlength=MODEL_NAME_MAX
                    autocomplete="off"
                    placeholder="credit-risk-scoring"
                    aria-describedby="model-name-hint model-name-error"
                    aria-invalid=move || invalid("name").get().is_some().to_string()
                    prop:value=name
                    on:input=move |event| name.set(event_target_value(&event))
                />
                <p class="field-hint" id="model-name-hint">"Letters, digits, '-', '_' and '.'; unique."</p>
                <FieldError id="model-name-error" message=invalid("name") />
            </div>
            <div class="field">
                <label for="model-owner">"Owner"</label>
                <input
                    id="model-owner"
                    name="owner"
                    required
                    maxlength=OWNER_MAX
                    placeholder="Team or person answerable for the model"
                    aria-describedby="model-owner-error"
                    aria-invalid=move || invalid("owner").get().is_some().to_string()
                    prop:value=owner
                    on:input=move |event| owner.set(event_target_value(&event))
                />
                <FieldError id="model-owner-error" message=invalid("owner") />
            </div>
            <div class="field">
                <label for="model-use-case">"Business use case"</label>
                <textarea
                    id="model-use-case"
                    name="use_case"
                    required
                    rows="2"
                    maxlength=USE_CASE_MAX
                    placeholder="Which business problem does it solve, and how is success measured?"
                    aria-describedby="model-use-case-error"
                    aria-invalid=move || invalid("use_case").get().is_some().to_string()
                    prop:value=use_case
                    on:input=move |event| use_case.set(event_target_value(&event))
                ></textarea>
                <FieldError id="model-use-case-error" message=invalid("use_case") />
            </div>
            <fieldset class="field" aria-describedby="model-risk-tier-error">
                <legend>"EU AI Act risk tier"</legend>
                <div class="choices">
                    {RiskTier::ALL.map(|tier| view! {
                        <label class="choice">
                            <input
                                type="radio"
                                name="risk_tier"
                                value=tier.as_str()
                                required
                                prop:checked=move || risk_tier.get() == Some(tier)
                                on:change=move |_| risk_tier.set(Some(tier))
                            />
                            <span>
                                <strong>{tier.label()}</strong>
                                <span class="choice-hint">{risk_tier_hint(tier)}</span>
                            </span>
                        </label>
                    })}
                </div>
                <FieldError id="model-risk-tier-error" message=invalid("risk_tier") />
            </fieldset>
            <div class="field">
                <label for="model-description">"Description " <span class="optional">"(optional)"</span></label>
                <textarea
                    id="model-description"
                    name="description"
                    rows="3"
                    maxlength=DESCRIPTION_MAX
                    aria-describedby="model-description-error"
                    prop:value=description
                    on:input=move |event| description.set(event_target_value(&event))
                ></textarea>
                <FieldError id="model-description-error" message=invalid("description") />
            </div>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Registering…" } else { "Register model" }}
                </button>
                <a class="button button-quiet" href="/models">"Cancel"</a>
            </div>
        </form>
    }
}

fn risk_tier_hint(tier: RiskTier) -> &'static str {
    match tier {
        RiskTier::Minimal => "Spam filters, forecasting, document extraction.",
        RiskTier::Limited => "Chatbots and other systems with transparency duties.",
        RiskTier::High => "Credit scoring, hiring, critical infrastructure (Annex III).",
        RiskTier::Prohibited => "Banned practices (Art. 5); never in production.",
    }
}
