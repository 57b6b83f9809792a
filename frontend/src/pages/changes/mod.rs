//! Change requests: the list with "waiting for my approval" and filters, updated live.
//! `detail` is one change's page, `new` the request form.

mod detail;
mod new;

pub use detail::ChangePage;
pub use new::NewChangePage;

use keel_shared::auth::Permission;
use keel_shared::changes::{ChangeKind, ChangeQuery, ChangeStatus, ChangeSummary};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api;
use crate::auth::use_auth;
use crate::components::{ChangeRiskBadge, ChangeStatusBadge, DataTable, EmptyState, ModelSelect, loaded, use_models};
use crate::format;
use crate::live::use_live;

/// "Model v2 → production", or the model alone.
pub fn target_text(change: &ChangeSummary) -> String {
    match (&change.version, change.target_stage) {
        (Some(version), Some(stage)) => format!("{} {version} → {}", change.model_name, stage.label().to_lowercase()),
        (Some(version), None) => format!("{} {version}", change.model_name),
        (None, _) => change.model_name.clone(),
    }
}

#[component]
pub fn ChangesPage() -> impl IntoView {
    let auth = use_auth();
    let live = use_live();
    let query = use_query_map();
    let can_approve = auth.can(Permission::ApproveChanges);
    let waiting =
        RwSignal::new(query.with_untracked(|query| query.get("waiting_for").as_deref() == Some("me")) || can_approve);
    let status = RwSignal::new("open".to_owned());
    let kind = RwSignal::new(String::new());
    let model = RwSignal::new(query.with_untracked(|query| query.get("model")).unwrap_or_default());
    let models = use_models();
    let changes = LocalResource::new(move || {
        live.change_request_changes();
        let query = ChangeQuery {
            status: Some(status.get()).filter(|status| !status.is_empty()),
            model: Some(model.get()).filter(|model| !model.is_empty()),
            kind: Some(kind.get()).filter(|kind| !kind.is_empty()),
            waiting_for: waiting.get().then(|| "me".to_owned()),
        };
        async move { api::list_changes(&query).await }
    });
    let filtered = move || waiting.get() || status.get() != "open" || !kind.get().is_empty() || !model.get().is_empty();
    let clear = move |_| {
        waiting.set(false);
        status.set("open".into());
        kind.set(String::new());
        model.set(String::new());
    };
    view! {
        <div class="page-header">
            <div>
                <h1>"Changes"</h1>
                <p class="page-lede">"Promotions, retraining, rollbacks and every other change to a model: requested, approved by someone else, implemented — and the registry moves with them."</p>
            </div>
            <Show when=move || auth.can(Permission::RequestChanges)>
                <a class="button button-primary" href="/changes/new">"Request a change"</a>
            </Show>
        </div>
        <form class="filters" role="search" on:submit=|event| event.prevent_default()>
            // Only those who may approve have changes waiting for them.
            <Show when=move || can_approve>
                <label class="filter filter-check">
                    <input type="checkbox" name="waiting" prop:checked=waiting on:change=move |event| waiting.set(event_target_checked(&event)) />
                    <span>"Waiting for my approval"</span>
                </label>
            </Show>
            <label class="filter">
                <span class="filter-label">"Status"</span>
                <select name="status" prop:value=status on:change=move |event| status.set(event_target_value(&event))>
                    <option value="open">"Open"</option>
                    <option value="">"Any status"</option>
                    {ChangeStatus::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                </select>
            </label>
            <label class="filter">
                <span class="filter-label">"Kind"</span>
                <select name="kind" prop:value=kind on:change=move |event| kind.set(event_target_value(&event))>
                    <option value="">"Any kind"</option>
                    {ChangeKind::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                </select>
            </label>
            <label class="filter">
                <span class="filter-label">"Model"</span>
                <ModelSelect models value=model empty="Any model" name="model" />
            </label>
            <Show when=filtered>
                <button type="button" class="button button-quiet" on:click=clear>"Clear filters"</button>
            </Show>
        </form>
        {loaded(changes, "changes", move |value| match value {
            list if list.items.is_empty() && waiting.get() => view! {
                <EmptyState title="Nothing waits for your approval" message="Changes others submit appear here until you approve or reject them.">
                    <button type="button" class="button" on:click=move |_| waiting.set(false)>"Show all open changes"</button>
                </EmptyState>
            }.into_any(),
            list if list.items.is_empty() => view! {
                <EmptyState title="No matching changes" message="No change request matches these filters. Request a promotion from a model's page, or a change here.">
                    <button type="button" class="button" on:click=clear>"Clear filters"</button>
                </EmptyState>
            }.into_any(),
            list => view! {
                <DataTable label="Changes" columns=&["Change", "Target", "Risk", "Status", "Approvals", "Requested by", "Updated"]>
                            {list.items.into_iter().map(|change| {
                                let href = format!("/changes/{}", change.id);
                                view! {
                                    <tr class="change-row">
                                        <td>
                                            <a class="table-link" href=href>{format!("CHG-{} ", change.number)}{change.title.clone()}</a>
                                            <div class="cell-sub">{change.kind.label()}{(change.change_type != keel_shared::changes::ChangeType::Normal).then(|| format!(" · {}", change.change_type))}</div>
                                        </td>
                                        <td>{target_text(&change)}</td>
                                        <td><ChangeRiskBadge risk=change.risk /></td>
                                        <td>
                                            <ChangeStatusBadge status=change.status />
                                            {change.retro_overdue.then(|| view! { " "<span class="badge sla-breached">"Retro-approval overdue"</span> })}
                                        </td>
                                        <td>{format!("{} of {}", change.approvals_counted, change.approvals_needed)}</td>
                                        <td>{change.requester.clone()}</td>
                                        <td><time datetime=change.updated_at.to_rfc3339()>{format::timestamp(&change.updated_at)}</time></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </DataTable>
            }.into_any(),
        })}
    }
}
