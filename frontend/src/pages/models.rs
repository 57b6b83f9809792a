//! The model registry: every model, searchable and filterable by stage and risk tier.

use keel_shared::auth::Permission;
use keel_shared::models::{ModelListQuery, ModelSummary, RiskTier, Stage};
use leptos::prelude::*;

use crate::api;
use crate::auth::use_auth;
use crate::components::{DataTable, EmptyState, HealthBadge, Pager, RiskBadge, loaded};
use crate::format;

const PER_PAGE: u32 = 25;

#[component]
pub fn ModelsPage() -> impl IntoView {
    let can_write = use_auth().can(Permission::WriteModels);
    let search = RwSignal::new(String::new());
    let stage = RwSignal::new(None::<Stage>);
    let risk_tier = RwSignal::new(None::<RiskTier>);
    let page = RwSignal::new(1_u32);
    let filtered = move || !search.get().trim().is_empty() || stage.get().is_some() || risk_tier.get().is_some();
    let clear_filters = move |_| {
        search.set(String::new());
        stage.set(None);
        risk_tier.set(None);
        page.set(1);
    };

    let models = LocalResource::new(move || {
        let query = ModelListQuery {
            q: Some(search.get()).filter(|text| !text.trim().is_empty()),
            stage: stage.get(),
            risk_tier: risk_tier.get(),
            page: Some(page.get()),
            per_page: Some(PER_PAGE),
        };
        async move { api::list_models(&query).await }
    });

    view! {
        <div class="page-header">
            <div>
                <h1>"Models"</h1>
                <p class="page-lede">"Every model the organisation runs or plans to run, with its risk tier and what is in production."</p>
            </div>
            <Show when=move || can_write>
                <a class="button button-primary" href="/models/new">"Register model"</a>
            </Show>
        </div>
        <form class="filters" role="search" on:submit=|event| event.prevent_default()>
            <label class="filter">
                <span class="filter-label">"Search"</span>
                <input
                    type="search"
                    name="q"
                    placeholder="Name, owner, use case…"
                    prop:value=search
                    on:input=move |event| {
                        search.set(event_target_value(&event));
                        page.set(1);
                    }
                />
            </label>
            <label class="filter">
                <span class="filter-label">"Stage"</span>
                <select
                    name="stage"
                    on:change=move |event| {
                        stage.set(event_target_value(&event).parse().ok());
                        page.set(1);
                    }
                    prop:value=move || stage.get().map_or("", Stage::as_str)
                >
                    <option value="">"Any stage"</option>
                    {Stage::ALL.map(|option| view! { <option value=option.as_str()>{option.label()}</option> })}
                </select>
            </label>
            <label class="filter">
                <span class="filter-label">"Risk tier"</span>
                <select
                    name="risk_tier"
                    on:change=move |event| {
                        risk_tier.set(event_target_value(&event).parse().ok());
                        page.set(1);
                    }
                    prop:value=move || risk_tier.get().map_or("", RiskTier::as_str)
                >
                    <option value="">"Any tier"</option>
                    {RiskTier::ALL.map(|option| view! { <option value=option.as_str()>{option.label()}</option> })}
                </select>
            </label>
            <Show when=filtered>
                <button type="button" class="button button-quiet" on:click=clear_filters>"Clear filters"</button>
            </Show>
        </form>
        {loaded(models, "models", move |value| match value {
            list if list.items.is_empty() && filtered() => view! {
                <EmptyState title="No matching models" message="No model matches these filters.">
                    <button type="button" class="button" on:click=clear_filters>"Clear filters"</button>
                </EmptyState>
            }.into_any(),
            list if list.items.is_empty() => view! {
                <EmptyState title="No models yet" message="Register the first model to start governing it.">
                    <Show when=move || can_write>
                        <a class="button button-primary" href="/models/new">"Register model"</a>
                    </Show>
                </EmptyState>
            }.into_any(),
            list => {
                let shown = list.items.len();
                view! {
                    <DataTable label="Models" columns=&["Name", "Health", "Risk tier", "In production", "Latest version", "Owner", "Updated"]>{list.items.into_iter().map(model_row).collect_view()}</DataTable>
                    <Pager page at=list.page per_page=list.per_page shown total=list.total one="model" many="models" />
                }.into_any()
            }
        })}
    }
}

fn model_row(model: ModelSummary) -> impl IntoView {
    let href = format!("/models/{}", model.id);
    let versions = format::count(u64::from(model.version_count), "version", "versions");
    view! {
        <tr>
            <td>
                <a class="table-link" href=href>{model.name}</a>
                <div class="cell-sub">{model.use_case}</div>
            </td>
            <td><HealthBadge model_id=model.id.clone() /></td>
            <td><RiskBadge tier=model.risk_tier /></td>
            <td>{model.production_version.unwrap_or_else(|| "—".into())}</td>
            <td>
                {model.latest_version.unwrap_or_else(|| "—".into())}
                <div class="cell-sub">{versions}</div>
            </td>
            <td>{model.owner}</td>
            <td><time datetime=model.updated_at.to_rfc3339()>{format::timestamp(&model.updated_at)}</time></td>
        </tr>
    }
}
