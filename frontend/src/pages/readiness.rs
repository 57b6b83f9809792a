//! A model's readiness across the four gaps of moving a pilot to production, and
//! governance: Keel's own checks, attestations by named people, a score per section and
//! overall (the weakest section).

use keel_shared::auth::Permission;
use keel_shared::evidence::{ReadinessAssessment, ReadinessRequest, ReadinessSection, ReadinessState};
use keel_shared::{ErrorBody, ModelId};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use crate::api;
use crate::auth::use_auth;
use crate::components::{FormAlert, loaded};
use crate::format;

fn percent(score: f64) -> String {
    format!("{:.0} %", score * 100.0)
}

#[component]
pub fn ReadinessPage() -> impl IntoView {
    let params = use_params_map();
    let model = Memo::new(move |_| ModelId(params.read().get("id").unwrap_or_default()));
    let saved = RwSignal::new(0_u32);
    let assessment = LocalResource::new(move || {
        saved.get();
        let model = model.get();
        async move { api::readiness(&model).await }
    });
    view! {
        <div class="page-header">
            <div>
                <p class="breadcrumb"><a href=move || format!("/models/{}", model.get())>"Model"</a></p>
                <h1>"Production readiness"</h1>
                <p class="page-lede">"What Keel checks itself counts 1, what a named person attests ½, what is missing 0. The overall score is the weakest section's; a first production promotion needs every section at the floor."</p>
            </div>
        </div>
        {loaded(assessment, "the assessment", move |assessment| view! { <Assessment assessment model=model.get_untracked() saved /> }.into_any())}
    }
}

/// The score line the model page shows too.
#[component]
pub fn ReadinessScore(assessment: ReadinessAssessment) -> impl IntoView {
    view! {
        <div class="readiness-scores">
            <p>
                <strong>{percent(assessment.overall)}</strong>" overall · "
                {if assessment.ready { "every section at the floor" } else { "below the floor" }}
                {format!(" ({})", percent(assessment.floor))}
            </p>
            <ul class="score-bars">
                {assessment.sections.into_iter().map(|section| {
                    let class = if section.score >= assessment.floor { "score-fill" } else { "score-fill score-low" };
                    view! {
                    <li>
                        <span class="score-label">{section.section.label()}</span>
                        <span class="score-bar"><span class=class style=format!("width: {:.0}%", section.score * 100.0)></span></span>
                        <span class="score-value">{percent(section.score)}</span>
                    </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn Assessment(assessment: ReadinessAssessment, model: ModelId, saved: RwSignal<u32>) -> impl IntoView {
    let auth = use_auth();
    let can_attest = auth.can(Permission::WriteModels) || auth.can(Permission::ApproveChanges);
    let error = RwSignal::new(None::<ErrorBody>);
    let attest = move |item: String, note: Option<String>| {
        let model = model.clone();
        let mut request = ReadinessRequest::default();
        request.attestations.insert(item, note);
        spawn_local(async move {
            match api::attest_readiness(&model, &request).await {
                Ok(_) => {
                    error.set(None);
                    saved.update(|count| *count += 1);
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let items = assessment.items.clone();
    view! {
        <section class="card"><ReadinessScore assessment=assessment /></section>
        <FormAlert error=Signal::from(error) />
        {ReadinessSection::ALL.iter().map(|section| {
            let attest = attest.clone();
            view! {
                <section class="card" aria-label=section.label()>
                    <h2>{section.label()}</h2>
                    <ul class="readiness-items">
                        {items.iter().filter(|item| item.section == *section).map(|item| {
                            let note = RwSignal::new(String::new());
                            let (attest, withdraw) = (attest.clone(), attest.clone());
                            let (key, key_again) = (item.key.clone(), item.key.clone());
                            let badge = match item.state {
                                ReadinessState::Checked => ("badge health-healthy", "Checked by Keel"),
                                ReadinessState::Attested => ("badge health-degraded", "Attested"),
                                ReadinessState::Missing => ("badge health-critical", "Missing"),
                            };
                            view! {
                                <li class="readiness-item">
                                    <div>
                                        <span class=badge.0>{badge.1}</span>" "
                                        <strong>{item.question.clone()}</strong>
                                        {(!item.detail.is_empty()).then(|| view! { <div class="cell-sub">{item.detail.clone()}</div> })}
                                        {item.attestation.clone().map(|attestation| view! {
                                            <div class="cell-sub">{format!("Attested by {} on {}: {}", attestation.by, format::timestamp(&attestation.at), attestation.note)}</div>
                                        })}
                                    </div>
                                    {(can_attest && item.state != ReadinessState::Checked).then(|| if item.attestation.is_some() {
                                        view! { <button type="button" class="button button-small" on:click=move |_| withdraw(key_again.clone(), None)>"Withdraw"</button> }.into_any()
                                    } else {
                                        view! {
                                            <form class="inline-form" on:submit=move |event| { event.prevent_default(); attest(key.clone(), Some(note.get_untracked())); }>
                                                <input aria-label="How it is met" placeholder="How it is met" prop:value=note on:input=move |event| note.set(event_target_value(&event)) />
                                                <button type="submit" class="button button-small">"Attest"</button>
                                            </form>
                                        }.into_any()
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            }
        }).collect_view()}
    }
}
