//! Incidents: the list with filters and SLA countdowns, updated live, and a form to open
//! one by hand. `detail` is one incident's page.

mod detail;

pub use detail::IncidentPage;

use chrono::{DateTime, Utc};
use keel_shared::ErrorBody;
use keel_shared::ModelId;
use keel_shared::auth::Permission;
use keel_shared::incidents::{
    CreateIncidentRequest, IncidentQuery, IncidentStatsQuery, IncidentStatus, IncidentSummary, Severity,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api;
use crate::auth::use_auth;
use crate::components::{
    DataTable, EmptyState, FieldError, FormAlert, ModelSelect, TextField, field_message, loaded, use_models,
};
use crate::format;
use crate::live::use_live;

/// Now, ticking every few seconds so countdowns move.
pub fn ticking_now() -> RwSignal<DateTime<Utc>> {
    let now = RwSignal::new(Utc::now());
    let handle = set_interval_with_handle(move || now.set(Utc::now()), std::time::Duration::from_secs(5));
    on_cleanup(move || {
        if let Ok(handle) = handle {
            handle.clear();
        }
    });
    now
}

#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("badge severity-{}", severity.as_str())>{severity.label()}</span> }
}

#[component]
pub fn IncidentStatusBadge(status: IncidentStatus) -> impl IntoView {
    view! { <span class=format!("badge incident-{}", status.as_str())>{status.label()}</span> }
}

/// The deadline that matters now: acknowledging while in triage, else resolving; none
/// once resolved.
#[component]
pub fn SlaBadge(incident: IncidentSummary, now: RwSignal<DateTime<Utc>>) -> impl IntoView {
    move || {
        let now = now.get();
        let (what, deadline, met) = if incident.acknowledged_at.is_none() && incident.status.is_open() {
            ("Ack", incident.acknowledge_by, None)
        } else if incident.status.is_open() {
            ("Resolve", incident.resolve_by, None)
        } else {
            ("Resolved", incident.resolve_by, Some(!incident.resolve_breached(now)))
        };
        match met {
            Some(true) => view! { <span class="badge sla-met">"Within SLA"</span> }.into_any(),
            Some(false) => view! { <span class="badge sla-breached">"SLA breached"</span> }.into_any(),
            None => {
                let late = deadline < now;
                let class = if late { "badge sla-breached" } else { "badge sla-running" };
                view! {
                    <span class=class title=format!("{what} by {}", format::timestamp(&deadline))>
                        {format!("{what} {}", format::countdown(&deadline, &now))}
                    </span>
                }
                .into_any()
            }
        }
    }
}

/// MTTA, MTTR and incident counts over a chosen range (30 days at first), for one model or
/// the fleet; refreshed as incidents change.
#[component]
pub fn IncidentStatsLine(#[prop(optional)] model: Option<ModelId>) -> impl IntoView {
    let live = use_live();
    let link = model.as_ref().map_or_else(|| "/incidents".to_owned(), |model| format!("/incidents?model={model}"));
    let model_id = model.map(|model| model.0);
    let days = RwSignal::new(30_i64);
    let stats = LocalResource::new(move || {
        live.incident_changes();
        let query = IncidentStatsQuery {
            model: model_id.clone(),
            from: Some(Utc::now() - chrono::Duration::days(days.get())),
            to: None,
        };
        async move { api::incident_stats(&query).await }
    });
    let mean =
        |seconds: Option<f64>| seconds.map_or_else(|| "—".to_owned(), |seconds| format::span(seconds.round() as i64));
    move || {
        stats.get().and_then(Result::ok).map(|stats| {
            view! {
                <p class="incident-stats">
                    <a href=link.clone()><strong>{stats.open}</strong>{if stats.open == 1 { " open incident" } else { " open incidents" }}</a>
                    <span>{format!("{} detected in the last", stats.incidents)}" "
                        <select aria-label="Range" prop:value=move || days.get().to_string()
                            on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { days.set(chosen) } }>
                            <option value="7">"7 days"</option>
                            <option value="30">"30 days"</option>
                            <option value="90">"90 days"</option>
                            <option value="365">"year"</option>
                        </select>
                    </span>
                    <span title="Mean time to acknowledge">"MTTA "<strong>{mean(stats.mtta_seconds)}</strong></span>
                    <span title="Mean time to resolve">"MTTR "<strong>{mean(stats.mttr_seconds)}</strong></span>
                </p>
            }
        })
    }
}

#[component]
pub fn IncidentsPage() -> impl IntoView {
    let auth = use_auth();
    let live = use_live();
    let query = use_query_map();
    let status = RwSignal::new("open".to_owned());
    let severity = RwSignal::new(String::new());
    let model = RwSignal::new(query.with_untracked(|query| query.get("model")).unwrap_or_default());
    let mine = RwSignal::new(query.with_untracked(|query| query.get("assignee").as_deref() == Some("me")));
    let creating = RwSignal::new(false);
    let now = ticking_now();
    let models = use_models();
    let incidents = LocalResource::new(move || {
        live.incident_changes();
        let query = IncidentQuery {
            status: Some(status.get()).filter(|status| !status.is_empty()),
            severity: Some(severity.get()).filter(|severity| !severity.is_empty()),
            model: Some(model.get()).filter(|model| !model.is_empty()),
            assignee: mine.get().then(|| "me".to_owned()),
        };
        async move { api::list_incidents(&query).await }
    });
    let filtered =
        move || status.get() != "open" || !severity.get().is_empty() || !model.get().is_empty() || mine.get();
    let clear = move |_| {
        status.set("open".into());
        severity.set(String::new());
        model.set(String::new());
        mine.set(false);
    };
    let can_open = auth.can(Permission::OpenIncidents);
    view! {
        <div class="page-header">
            <div>
                <h1>"Incidents"</h1>
                <p class="page-lede">"What is wrong right now, who is on it, and how much time is left against the SLA."</p>
            </div>
            <Show when=move || can_open>
                <button type="button" class="button button-primary" on:click=move |_| creating.update(|open| *open = !*open)>
                    {move || if creating.get() { "Close form" } else { "Open incident" }}
                </button>
            </Show>
        </div>
        <Show when=move || creating.get()>
            <NewIncidentForm models on_done=move || creating.set(false) />
        </Show>
        <form class="filters" role="search" on:submit=|event| event.prevent_default()>
            <label class="filter">
                <span class="filter-label">"Status"</span>
                <select name="status" prop:value=status on:change=move |event| status.set(event_target_value(&event))>
                    <option value="open">"Open"</option>
                    <option value="">"Any status"</option>
                    {IncidentStatus::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                </select>
            </label>
            <label class="filter">
                <span class="filter-label">"Severity"</span>
                <select name="severity" prop:value=severity on:change=move |event| severity.set(event_target_value(&event))>
                    <option value="">"Any severity"</option>
                    {Severity::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                </select>
            </label>
            <label class="filter">
                <span class="filter-label">"Model"</span>
                <ModelSelect models value=model empty="Any model" name="model" />
            </label>
            <label class="filter filter-check">
                <input type="checkbox" name="mine" prop:checked=mine on:change=move |event| mine.set(event_target_checked(&event)) />
                <span>"Assigned to me"</span>
            </label>
            <Show when=filtered>
                <button type="button" class="button button-quiet" on:click=clear>"Clear filters"</button>
            </Show>
        </form>
        {loaded(incidents, "incidents", move |value| match value {
            list if list.items.is_empty() && status.get() == "open" && !filtered() => view! {
                <EmptyState title="No open incidents" message="Nothing needs a responder right now. Alert rules open incidents by themselves when a model misbehaves.">
                    <a class="button" href="/alerts">"See alert rules"</a>
                </EmptyState>
            }.into_any(),
            list if list.items.is_empty() => view! {
                <EmptyState title="No matching incidents" message="No incident matches these filters.">
                    <button type="button" class="button" on:click=clear>"Clear filters"</button>
                </EmptyState>
            }.into_any(),
            list => view! {
                <DataTable label="Incidents" columns=&["Incident", "Severity", "Status", "SLA", "Model", "Assignee", "Opened"]>
                            {list.items.into_iter().map(|incident| {
                                let href = format!("/incidents/{}", incident.id);
                                view! {
                                    <tr class="incident-row">
                                        <td>
                                            <a class="table-link" href=href>{format!("INC-{} ", incident.number)}{incident.title.clone()}</a>
                                            <div class="cell-sub">{incident.source.as_str().replace('_', " ")}</div>
                                        </td>
                                        <td><SeverityBadge severity=incident.severity /></td>
                                        <td><IncidentStatusBadge status=incident.status /></td>
                                        <td><SlaBadge incident=incident.clone() now /></td>
                                        <td>{model_cell(incident.model.clone(), incident.model_name.clone())}</td>
                                        <td>{incident.assignee.clone().unwrap_or_else(|| "—".into())}</td>
                                        <td><time datetime=incident.opened_at.to_rfc3339()>{format::timestamp(&incident.opened_at)}</time></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </DataTable>
            }.into_any(),
        })}
    }
}

pub fn model_cell(model: Option<ModelId>, name: Option<String>) -> AnyView {
    match (model, name) {
        (Some(model), name) => {
            view! { <a class="table-link" href=format!("/models/{model}")>{name.unwrap_or_else(|| model.0.clone())}</a> }.into_any()
        }
        (None, Some(label)) => view! { <span title="Keel does not know this model">{label}" (fleet)"</span> }.into_any(),
        (None, None) => "Fleet-wide".into_any(),
    }
}

#[component]
fn NewIncidentForm(
    models: LocalResource<api::ApiResult<keel_shared::models::ModelListResponse>>,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let severity = RwSignal::new(Severity::Sev3);
    let model = RwSignal::new(String::new());
    let impact = RwSignal::new(String::new());
    let navigate = use_navigate();
    let create = Action::new_local(move |request: &CreateIncidentRequest| {
        let request = request.clone();
        async move { api::create_incident(&request).await }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || create.value().get().and_then(Result::err));
    Effect::new(move || {
        if let Some(Ok(created)) = create.value().get() {
            on_done();
            navigate(&format!("/incidents/{}", created.id), Default::default());
        }
    });
    let impact_message = field_message(error, "impact");
    view! {
        <form class="card form" aria-label="Open an incident" on:submit=move |event| {
            event.prevent_default();
            create.dispatch(CreateIncidentRequest {
                title: title.get(),
                severity: severity.get(),
                model: Some(model.get()).filter(|model| !model.is_empty()).map(ModelId),
                version: None,
                impact: impact.get(),
            });
        }>
            <h2>"Open an incident"</h2>
            <FormAlert error />
            <TextField id="incident-title" label="Title" field="title" value=title error required=true />
            <div class="field">
                <label for="incident-severity">"Severity"</label>
                <select id="incident-severity" prop:value=move || severity.get().as_str().to_owned()
                    on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { severity.set(chosen) } }>
                    {Severity::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                </select>
                <p class="field-hint">"SEV1 is the worst. A model in the high-risk tier gets one level more."</p>
            </div>
            <div class="field">
                <label for="incident-model">"Model"</label>
                <ModelSelect models value=model empty="Fleet-wide" id="incident-model" />
            </div>
            <div class="field">
                <label for="incident-impact">"Impact"</label>
                <textarea id="incident-impact" rows="3" aria-describedby="incident-impact-error"
                    prop:value=impact on:input=move |event| impact.set(event_target_value(&event))></textarea>
                <FieldError id="incident-impact-error" message=impact_message />
            </div>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || create.pending().get()>"Open incident"</button>
            </div>
        </form>
    }
}
