//! A version's model card: each section of Mitchell et al. edited as Markdown beside its
//! preview, pre-filled from what Keel knows until saved; for a high-risk model the EU AI
//! Act Annex IV headings and which the card covers; exported as Markdown.

use std::collections::BTreeMap;

use keel_shared::auth::Permission;
use keel_shared::evidence::{MODEL_CARD_SECTIONS, ModelCard, ModelCardResponse};
use keel_shared::{ErrorBody, ModelId};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use crate::api;
use crate::auth::use_auth;
use crate::components::{FormAlert, Markdown, loaded};
use crate::format;

#[component]
pub fn ModelCardPage() -> impl IntoView {
    let params = use_params_map();
    let model = Memo::new(move |_| ModelId(params.read().get("id").unwrap_or_default()));
    let tag = Memo::new(move |_| params.read().get("tag").unwrap_or_default());
    let saved = RwSignal::new(0_u32);
    let card = LocalResource::new(move || {
        saved.get();
        let (model, tag) = (model.get(), tag.get());
        async move { api::model_card(&model, &tag).await }
    });
    view! {
        <div class="page-header">
            <div>
                <p class="breadcrumb"><a href=move || format!("/models/{}", model.get())>"Model"</a></p>
                <h1>{move || format!("Model card of {}", tag.get())}</h1>
                <p class="page-lede">"The sections of Mitchell et al., “Model Cards for Model Reporting”. A promotion to production needs every section written."</p>
            </div>
            <a class="button" href=move || api::model_card_markdown_url(&model.get(), &tag.get()) download="">"Export Markdown"</a>
        </div>
        {loaded(card, "the model card", move |response| view! { <Editor response model=model.get_untracked() tag=tag.get_untracked() saved /> }.into_any())}
    }
}

#[component]
fn Editor(response: ModelCardResponse, model: ModelId, tag: String, saved: RwSignal<u32>) -> impl IntoView {
    let can_edit = use_auth().can(Permission::WriteModels);
    let sections: Vec<(&'static str, &'static str, RwSignal<String>)> = MODEL_CARD_SECTIONS
        .iter()
        .map(|(key, label)| {
            (*key, *label, RwSignal::new(response.card.sections.get(*key).cloned().unwrap_or_default()))
        })
        .collect();
    let error = RwSignal::new(None::<ErrorBody>);
    let saving = RwSignal::new(false);
    let for_save = sections.clone();
    let save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let card = ModelCard {
            sections: for_save
                .iter()
                .map(|(key, _, text)| ((*key).to_owned(), text.get_untracked()))
                .collect::<BTreeMap<_, _>>(),
        };
        let (model, tag) = (model.clone(), tag.clone());
        saving.set(true);
        spawn_local(async move {
            let answer = api::save_model_card(&model, &tag, &card).await;
            saving.set(false);
            match answer {
                Ok(_) => {
                    error.set(None);
                    saved.update(|count| *count += 1);
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="card-status-heading">
            <h2 id="card-status-heading">{if response.saved { "Saved" } else { "Draft pre-filled by Keel: not saved yet" }}</h2>
            {response.updated_at.map(|at| view! { <p class="muted">{format!("Last saved by {} on {}.", response.updated_by.clone().unwrap_or_default(), format::timestamp(&at))}</p> })}
            {(!response.missing.is_empty()).then(|| view! { <p>{format!("Sections still empty: {}.", response.missing.join(", "))}</p> })}
            {(!response.annex_iv.is_empty()).then(|| view! {
                <h3>"EU AI Act Annex IV"</h3>
                <ul class="checklist">
                    {response.annex_iv.iter().map(|heading| view! {
                        <li>{if heading.covered { "✓ " } else { "✗ " }}{heading.heading.clone()}{if heading.covered { "" } else { " — not covered yet" }}</li>
                    }).collect_view()}
                </ul>
            })}
        </section>
        <form class="form" aria-label="Model card" on:submit=save>
            <FormAlert error=Signal::from(error) />
            {sections.into_iter().map(|(key, label, text)| {
                let id = format!("card-{key}");
                view! {
                    <section class="card card-section">
                        <h2><label for=id.clone()>{label}</label></h2>
                        <div class="editor-with-preview">
                            <textarea id=id rows="6" disabled=!can_edit prop:value=text on:input=move |event| text.set(event_target_value(&event))></textarea>
                            <div class="preview" aria-label=format!("{label} preview")><Markdown source=Signal::derive(move || text.get()) /></div>
                        </div>
                    </section>
                }
            }).collect_view()}
            {can_edit.then(|| view! {
                <div class="form-actions"><button type="submit" class="button button-primary" disabled=move || saving.get()>"Save model card"</button></div>
            })}
        </form>
    }
}
