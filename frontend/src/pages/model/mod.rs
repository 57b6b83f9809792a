//! One model: what it is for, who owns it, its health and its versions by stage.

mod drift;
mod governance;
mod health;
mod reference_upload;

use keel_shared::auth::Permission;
use keel_shared::models::{ChangeStageRequest, CreateVersionRequest, ModelResponse, Stage, StageMove, VersionSummary};
use keel_shared::validation::{NOTES_MAX, TRAINING_DATA_REF_MAX, VERSION_TAG_MAX};
use keel_shared::{ErrorBody, ModelId};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api;
use crate::auth::use_auth;
use crate::components::{
    DataTable, ErrorState, FieldError, FormAlert, HealthBadge, Loading, RiskBadge, StageBadge, field_message,
};
use crate::format;
use crate::live::use_live;
pub use drift::DriftPage;
use governance::GovernanceSection;
use health::HealthSection;

/// The model the route's `:id` names, loading.
fn route_model() -> (Memo<ModelId>, LocalResource<api::ApiResult<ModelResponse>>) {
    let params = use_params_map();
    let model_id = Memo::new(move |_| ModelId(params.read().get("id").unwrap_or_default()));
    let live = use_live();
    let model = LocalResource::new(move || {
        let id = model_id.get();
        // A version of this model moved stage (here or in another console): reload.
        live.model_stage_moves(&id);
        async move { api::get_model(&id).await }
    });
    (model_id, model)
}

/// `page` once the model has loaded; until then a loading line, and if it fails, the
/// error under a way back to the list.
fn once_loaded(
    model: LocalResource<api::ApiResult<ModelResponse>>,
    page: impl Fn(ModelResponse) -> AnyView + Send + 'static,
) -> impl IntoView {
    move || match model.get() {
        None => view! { <Loading what="the model" /> }.into_any(),
        Some(Err(error)) => view! {
            <p class="breadcrumb"><a href="/models">"Models"</a></p>
            <ErrorState error />
        }
        .into_any(),
        Some(Ok(response)) => page(response),
    }
}

#[component]
pub fn ModelPage() -> impl IntoView {
    let (_, model) = route_model();
    once_loaded(model, move |response| {
        view! { <ModelDetails response on_version_added=move || model.refetch() /> }.into_any()
    })
}

#[component]
fn ModelDetails(response: ModelResponse, on_version_added: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let ModelResponse { model, versions } = response;
    let model_id = model.id.clone();
    view! {
        <div class="page-header">
            <div>
                <p class="breadcrumb"><a href="/models">"Models"</a></p>
                <h1>{model.name.clone()}</h1>
                <p class="page-lede">{model.use_case.clone()}</p>
            </div>
            <div class="page-header-badges">
                <HealthBadge model_id=model.id.clone() />
                <RiskBadge tier=model.risk_tier />
            </div>
        </div>
        <p class="toolbar"><a class="button" href=format!("/models/{}/drift", model.id)>"Drift and data quality"</a><a class="button" href=format!("/models/{}/value", model.id)>"Business value"</a></p>
        {(!model.risk_tier.allows_production()).then(|| view! {
            <div class="alert alert-error" role="note">
                <strong>"Prohibited practice."</strong>
                " The EU AI Act bans this use; no version of this model can be put into production."
            </div>
        })}
        <section class="card" aria-labelledby="about-heading">
            <h2 id="about-heading">"About"</h2>
            <dl class="facts">
                <div><dt>"Owner"</dt><dd>{model.owner.clone()}</dd></div>
                <div><dt>"Risk tier"</dt><dd>{model.risk_tier.label()}</dd></div>
                <div><dt>"In production"</dt><dd>{model.production_version.clone().unwrap_or_else(|| "No version".into())}</dd></div>
                <div><dt>"Registered"</dt><dd>{format::timestamp(&model.created_at)}</dd></div>
                <div><dt>"Last changed"</dt><dd>{format::timestamp(&model.updated_at)}</dd></div>
            </dl>
            {(!model.description.is_empty()).then(|| view! { <p class="description">{model.description.clone()}</p> })}
        </section>
        <HealthSection model_id=model.id.clone() versions=versions.clone() />
        <GovernanceSection model=model.clone() versions=versions.clone() />
        <section class="card" aria-labelledby="versions-heading">
            <h2 id="versions-heading">"Versions"</h2>
            <VersionsTable model_id=model_id.clone() versions on_moved=on_version_added />
            {use_auth().can(Permission::WriteModels).then(|| view! {
                <NewVersionForm model_id on_added=on_version_added />
            })}
        </section>
    }
}

#[component]
fn VersionsTable(
    model_id: ModelId,
    versions: Vec<VersionSummary>,
    on_moved: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    if versions.is_empty() {
        return view! { <p class="muted">"No versions registered yet."</p> }.into_any();
    }
    let can_move = use_auth().can(Permission::WriteModels);
    let move_stage = Action::new_local(move |(model_id, tag, stage): &(ModelId, String, Stage)| {
        let (model_id, tag, request) = (model_id.clone(), tag.clone(), ChangeStageRequest { stage: *stage });
        async move { api::change_stage(&model_id, &tag, &request).await }
    });
    Effect::new(move || {
        if let Some(Ok(_)) = move_stage.value().get() {
            on_moved();
        }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || move_stage.value().get().and_then(Result::err));
    view! {
        <DataTable label="Versions" columns=if can_move { &VERSION_COLUMNS } else { &VERSION_COLUMNS[..5] }>
                    {versions.into_iter().map(|version| {
                        let (model_id, tag, from) = (model_id.clone(), version.tag.clone(), version.stage);
                        // Only the moves that need no change request are offered here.
                        let moves: Vec<Stage> =
                            Stage::ALL.into_iter().filter(|to| from.move_to(*to) == StageMove::Direct).collect();
                        view! {
                            <tr>
                                <td class="mono">{version.tag.clone()}</td>
                                <td><StageBadge stage=version.stage /></td>
                                <td class="mono wrap">{version.training_data_ref}</td>
                                <td>{version.notes}</td>
                                <td>{format::timestamp(&version.created_at)}</td>
                                {can_move.then(|| view! {
                                    <td class="stage-moves">
                                        {moves.into_iter().map(|to| {
                                            let (model_id, tag) = (model_id.clone(), tag.clone());
                                            view! {
                                                <button
                                                    type="button"
                                                    class="button button-small"
                                                    aria-label=format!("Move {tag} to {}", to.label())
                                                    disabled=move || move_stage.pending().get()
                                                    on:click=move |_| { move_stage.dispatch((model_id.clone(), tag.clone(), to)); }
                                                >{to.label()}</button>
                                            }
                                        }).collect_view()}
                                    </td>
                                })}
                            </tr>
                        }
                    }).collect_view()}
        </DataTable>
        <FormAlert error />
        {can_move.then(|| view! {
            <p class="muted">"Canary and production are reached, and production is left, only through an approved change request."</p>
        })}
    }
    .into_any()
}

/// The versions table's columns; the last only for those who may move stages.
const VERSION_COLUMNS: [&str; 6] = ["Tag", "Stage", "Training data", "Notes", "Registered", "Move to"];

#[component]
fn NewVersionForm(model_id: ModelId, on_added: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let tag = RwSignal::new(String::new());
    let stage = RwSignal::new(Stage::Development);
    let training_data_ref = RwSignal::new(String::new());
    let notes = RwSignal::new(String::new());

    let create = Action::new_local(move |request: &CreateVersionRequest| {
        let request = request.clone();
        let model_id = model_id.clone();
        async move { api::create_version(&model_id, &request).await }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || create.value().get().and_then(Result::err));
    Effect::new(move || {
        if let Some(Ok(_)) = create.value().get() {
            on_added();
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        create.dispatch(CreateVersionRequest {
            tag: tag.get(),
            training_data_ref: training_data_ref.get(),
            notes: notes.get(),
            stage: stage.get(),
        });
    };
    let invalid = move |field: &'static str| field_message(error, field);
    let stages: Vec<Stage> = Stage::ALL.into_iter().filter(|stage| stage.registrable()).collect();

    view! {
        <form class="form form-inline" on:submit=submit aria-labelledby="new-version-heading">
            <h3 id="new-version-heading">"Register a version"</h3>
            <FormAlert error />
            <div class="form-row">
                <div class="field">
                    <label for="version-tag">"Tag"</label>
                    <input
                        id="version-tag"
                        name="tag"
                        required
                        maxlength=VERSION_TAG_MAX
                        placeholder="v1.3.0"
                        aria-describedby="version-tag-error"
                        aria-invalid=move || invalid("tag").get().is_some().to_string()
                        prop:value=tag
                        on:input=move |event| tag.set(event_target_value(&event))
                    />
                    <FieldError id="version-tag-error" message=invalid("tag") />
                </div>
                <div class="field">
                    <label for="version-stage">"Stage"</label>
                    <select
                        id="version-stage"
                        name="stage"
                        aria-describedby="version-stage-error"
                        on:change=move |event| {
                            if let Ok(chosen) = event_target_value(&event).parse() {
                                stage.set(chosen);
                            }
                        }
                        prop:value=move || stage.get().as_str()
                    >
                        {stages.into_iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                    </select>
                    <FieldError id="version-stage-error" message=invalid("stage") />
                </div>
                <div class="field field-grow">
                    <label for="version-data">"Training data " <span class="optional">"(optional)"</span></label>
                    <input
                        id="version-data"
                        name="training_data_ref"
                        maxlength=TRAINING_DATA_REF_MAX
                        placeholder="s3://bucket/dataset@snapshot"
                        aria-describedby="version-data-error"
                        prop:value=training_data_ref
                        on:input=move |event| training_data_ref.set(event_target_value(&event))
                    />
                    <FieldError id="version-data-error" message=invalid("training_data_ref") />
                </div>
            </div>
            <div class="field">
                <label for="version-notes">"Notes " <span class="optional">"(optional)"</span></label>
                <textarea
                    id="version-notes"
                    name="notes"
                    rows="2"
                    maxlength=NOTES_MAX
                    aria-describedby="version-notes-error"
                    prop:value=notes
                    on:input=move |event| notes.set(event_target_value(&event))
                ></textarea>
                <FieldError id="version-notes-error" message=invalid("notes") />
            </div>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Registering…" } else { "Register version" }}
                </button>
            </div>
        </form>
    }
}
