//! One incident: its header with the actions the state machine and the signed-in role
//! allow, SLA deadlines, fields, the runbook checklist, the timeline and comments, the
//! postmortem editor and, for a high-risk model, the EU AI Act Art. 73 panel. Updates
//! live.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use keel_shared::ErrorBody;
use keel_shared::auth::Permission;
use keel_shared::incidents::{
    ActionItem, IncidentDetail, IncidentStatus, Postmortem, SeriousCategory, SeriousIncidentRequest, Severity,
    UpdateIncidentRequest, WebhookDelivery,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::{IncidentStatusBadge, SeverityBadge, SlaBadge, model_cell, ticking_now};
use crate::api;
use crate::auth::use_auth;
use crate::components::{DataTable, FormAlert, Markdown, loaded};
use crate::format;
use crate::live::use_live;

#[component]
pub fn IncidentPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|params| params.get("id").unwrap_or_default());
    let live = use_live();
    // Bumped after each change made here; live events cover everyone else's.
    let saved = RwSignal::new(0_u32);
    let incident = LocalResource::new(move || {
        live.incident_changes();
        saved.get();
        let id = id();
        async move {
            let detail = api::get_incident(&id).await;
            // Seen as it stands: no longer unread in the bell.
            if detail.is_ok() && api::mark_incident_read(&id).await.is_ok() {
                live.incident_read();
            }
            detail
        }
    });
    loaded(incident, "the incident", move |detail| view! { <Incident detail saved /> }.into_any())
}

/// Runs `call` and bumps `saved` on success; the error (if any) lands in `error`.
fn run<F>(error: RwSignal<Option<ErrorBody>>, saved: RwSignal<u32>, call: F)
where
    F: Future<Output = api::ApiResult<IncidentDetail>> + 'static,
{
    spawn_local(async move {
        match call.await {
            Ok(_) => {
                error.set(None);
                saved.update(|count| *count += 1);
            }
            Err(body) => error.set(Some(body)),
        }
    });
}

#[component]
fn Incident(detail: IncidentDetail, saved: RwSignal<u32>) -> impl IntoView {
    let auth = use_auth();
    let role = auth.me.with_untracked(|me| me.as_ref().map(|me| me.user.role));
    let username = auth.me.with_untracked(|me| me.as_ref().map(|me| me.user.username.clone())).unwrap_or_default();
    let now = ticking_now();
    let error = RwSignal::new(None::<ErrorBody>);
    let incident = detail.incident.clone();
    let id = incident.id.clone();
    let actions = role.map(|role| incident.status.actions_for(role)).unwrap_or_default();
    let can_triage = auth.can(Permission::TriageIncidents);
    let can_resolve = auth.can(Permission::ResolveIncidents);
    let editable = incident.status.is_open() || incident.status == IncidentStatus::Resolved;
    // A runbook step that rolls back offers the rollback change, pre-filled (an emergency
    // during a SEV1 or SEV2).
    let rollback_href = incident.model.as_ref().filter(|_| auth.can(Permission::RequestChanges)).map(|model| {
        let urgency = if matches!(incident.severity, Severity::Sev1 | Severity::Sev2) { "emergency" } else { "normal" };
        format!(
            "/changes/new?model={model}&kind=rollback&type={urgency}&incident={}&title=Roll%20back%20after%20INC-{}",
            incident.id, incident.number
        )
    });
    let transition = {
        let id = id.clone();
        move |to: IncidentStatus| {
            let question = match to {
                IncidentStatus::Cancelled => Some("Cancel this incident? Cancelled is final."),
                IncidentStatus::Closed => Some("Close this incident? Closed is final."),
                _ => None,
            };
            if question.is_some_and(|question| !window().confirm_with_message(question).unwrap_or(false)) {
                return;
            }
            let id = id.clone();
            run(error, saved, async move { api::transition_incident(&id, to).await });
        }
    };
    let from = incident.status;
    let (for_postmortem, for_fields, for_people, for_serious) =
        (detail.clone(), detail.clone(), detail.clone(), detail.clone());
    let high_risk = detail.high_risk;
    let deliveries = detail.deliveries.clone();
    view! {
        <div class="page-header">
            <div>
                <p class="breadcrumb"><a href="/incidents">"Incidents"</a></p>
                <h1>{format!("INC-{} ", incident.number)}{incident.title.clone()}</h1>
                <p class="page-lede">
                    <SeverityBadge severity=incident.severity />" "
                    <IncidentStatusBadge status=incident.status />" "
                    <SlaBadge incident=incident.clone() now />" "
                    {model_cell(incident.model.clone(), incident.model_name.clone())}
                    {incident.version.map(|version| format!(" · version {version}"))}
                </p>
            </div>
            <div class="page-header-actions" role="group" aria-label="Incident actions">
                {actions.into_iter().map(|to| {
                    let transition = transition.clone();
                    let class = match to {
                        IncidentStatus::Cancelled => "button button-danger",
                        IncidentStatus::Investigating | IncidentStatus::Resolved | IncidentStatus::Closed => "button button-primary",
                        _ => "button",
                    };
                    view! { <button type="button" class=class on:click=move |_| transition(to)>{from.action_label(to)}</button> }
                }).collect_view()}
            </div>
        </div>
        <FormAlert error=Signal::from(error) />
        <div class="incident-layout">
            <div class="incident-main">
                <Times detail=detail.clone() />
                {detail.runbook.clone().map(|runbook| {
                    let id = id.clone();
                    view! {
                        <section class="card" aria-labelledby="runbook-heading">
                            <h2 id="runbook-heading">"Runbook: "{runbook.title.clone()}</h2>
                            <ul class="checklist">
                                {runbook.steps.iter().enumerate().map(|(index, step)| {
                                    let id = id.clone();
                                    let done = step.done;
                                    view! {
                                        <li>
                                            <label>
                                                <input type="checkbox" prop:checked=done disabled=!can_triage || !editable
                                                    on:change=move |event| {
                                                        let id = id.clone();
                                                        let checked = event_target_checked(&event);
                                                        run(error, saved, async move { api::set_runbook_step(&id, index, checked).await });
                                                    } />
                                                " "{step.text.clone()}
                                            </label>
                                            {rollback_href.clone().filter(|_| step.text.to_lowercase().contains("roll")).map(|href| view! {
                                                " "<a class="button button-small" href=href>"Request the rollback"</a>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            <details>
                                <summary>"The whole runbook"</summary>
                                <Markdown source=runbook.body.clone() />
                            </details>
                        </section>
                    }
                })}
                <Timeline detail=detail error saved />
                <Deliveries deliveries />
                <Show when=move || can_resolve>
                    <PostmortemEditor detail=for_postmortem.clone() error saved />
                </Show>
            </div>
            <aside class="incident-side">
                <Show when=move || can_triage && editable>
                    <Fields detail=for_fields.clone() username=username.clone() error saved />
                </Show>
                <Show when=move || !(can_triage && editable)>
                    <section class="card">
                        <h2>"People"</h2>
                        <dl class="facts">
                            <dt>"Assignee"</dt><dd>{for_people.incident.assignee.clone().unwrap_or_else(|| "—".into())}</dd>
                            <dt>"Incident commander"</dt><dd>{for_people.incident.commander.clone().unwrap_or_else(|| "—".into())}</dd>
                        </dl>
                        <p>{if for_people.impact.is_empty() { "No impact described yet.".to_owned() } else { for_people.impact.clone() }}</p>
                    </section>
                </Show>
                <Show when=move || high_risk>
                    <SeriousPanel detail=for_serious.clone() can_edit=can_resolve now error saved />
                </Show>
            </aside>
        </div>
    }
}

#[component]
fn Times(detail: IncidentDetail) -> impl IntoView {
    let incident = detail.incident;
    let at = |time: Option<DateTime<Utc>>| time.map_or_else(|| "—".to_owned(), |time| format::timestamp(&time));
    view! {
        <section class="card" aria-label="Times">
            <dl class="facts facts-row">
                <div><dt>"Detected"</dt><dd>{format::timestamp(&incident.detected_at)}</dd></div>
                <div><dt>"Acknowledge by"</dt><dd>{format::timestamp(&incident.acknowledge_by)}</dd></div>
                <div><dt>"Acknowledged"</dt><dd>{at(incident.acknowledged_at)}</dd></div>
                <div><dt>"Mitigated"</dt><dd>{at(incident.mitigated_at)}</dd></div>
                <div><dt>"Resolve by"</dt><dd>{format::timestamp(&incident.resolve_by)}</dd></div>
                <div><dt>"Resolved"</dt><dd>{at(incident.resolved_at)}</dd></div>
                <div><dt>"Escalation"</dt><dd>{if incident.escalation_level == 0 { "—".to_owned() } else { format!("level {}", incident.escalation_level) }}</dd></div>
            </dl>
        </section>
    }
}

#[component]
fn Timeline(detail: IncidentDetail, error: RwSignal<Option<ErrorBody>>, saved: RwSignal<u32>) -> impl IntoView {
    let comment = RwSignal::new(String::new());
    let id = detail.incident.id.clone();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let (id, text) = (id.clone(), comment.get());
        spawn_local(async move {
            match api::comment_incident(&id, &text).await {
                Ok(_) => {
                    comment.set(String::new());
                    error.set(None);
                    saved.update(|count| *count += 1);
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <ol class="timeline">
                {detail.timeline.into_iter().map(|entry| view! {
                    <li class=format!("timeline-entry timeline-{}", entry.kind.as_str())>
                        <time datetime=entry.at.to_rfc3339()>{entry.at.format("%Y-%m-%d %H:%M:%S").to_string()}</time>
                        <span class="timeline-actor">{entry.actor}</span>
                        <span class="timeline-text">{entry.text}</span>
                    </li>
                }).collect_view()}
            </ol>
            <form class="comment-form" on:submit=submit>
                <label for="comment">"Add a comment"</label>
                <textarea id="comment" rows="2" prop:value=comment on:input=move |event| comment.set(event_target_value(&event))></textarea>
                <button type="submit" class="button" disabled=move || comment.get().trim().is_empty()>"Comment"</button>
            </form>
        </section>
    }
}

/// The escalation webhooks sent for this incident, with their attempts.
#[component]
fn Deliveries(deliveries: Vec<WebhookDelivery>) -> impl IntoView {
    (!deliveries.is_empty()).then(|| {
        view! {
            <section class="card" aria-labelledby="deliveries-heading">
                <h2 id="deliveries-heading">"Webhook deliveries"</h2>
                <DataTable label="Webhook deliveries" columns=&["Level", "URL", "Status", "Attempts", "Last error", "Next attempt"]>
                        {deliveries.into_iter().map(|delivery| view! {
                            <tr>
                                <td>{delivery.level}</td>
                                <td class="wrap">{delivery.url}</td>
                                <td>{delivery.status.as_str()}</td>
                                <td>{delivery.attempts}</td>
                                <td>{delivery.last_error.unwrap_or_else(|| "—".into())}</td>
                                <td>{delivery.next_attempt_at.map_or_else(|| "—".to_owned(), |at| at.format("%H:%M:%S UTC").to_string())}</td>
                            </tr>
                        }).collect_view()}
                    </DataTable>
            </section>
        }
    })
}

#[component]
fn Fields(
    detail: IncidentDetail,
    username: String,
    error: RwSignal<Option<ErrorBody>>,
    saved: RwSignal<u32>,
) -> impl IntoView {
    let incident = detail.incident;
    let assignee = RwSignal::new(incident.assignee.clone().unwrap_or_default());
    let commander = RwSignal::new(incident.commander.clone().unwrap_or_default());
    let severity = RwSignal::new(incident.severity);
    let impact = RwSignal::new(detail.impact);
    let id = incident.id;
    let save = {
        move |request: UpdateIncidentRequest| {
            let id = id.clone();
            run(error, saved, async move { api::update_incident(&id, &request).await });
        }
    };
    let submit = {
        let save = save.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            save(UpdateIncidentRequest {
                severity: Some(severity.get()),
                impact: Some(impact.get()),
                assignee: Some(assignee.get()),
                commander: Some(commander.get()),
                title: None,
            });
        }
    };
    let take = move |_| {
        save(UpdateIncidentRequest { assignee: Some(username.clone()), ..UpdateIncidentRequest::default() });
    };
    view! {
        <form class="card form" aria-label="Incident fields" on:submit=submit>
            <h2>"People and impact"</h2>
            <div class="field">
                <label for="assignee">"Assignee"</label>
                <input id="assignee" placeholder="username" prop:value=assignee on:input=move |event| assignee.set(event_target_value(&event)) />
                <button type="button" class="button button-quiet" on:click=take>"Assign to me"</button>
            </div>
            <div class="field">
                <label for="commander">"Incident commander"</label>
                <input id="commander" placeholder="username" prop:value=commander on:input=move |event| commander.set(event_target_value(&event)) />
            </div>
            <div class="field">
                <label for="severity">"Severity"</label>
                <select id="severity" prop:value=move || severity.get().as_str().to_owned()
                    on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse::<Severity>() { severity.set(chosen) } }>
                    {Severity::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="impact">"Impact"</label>
                <textarea id="impact" rows="3" prop:value=impact on:input=move |event| impact.set(event_target_value(&event))></textarea>
            </div>
            <div class="form-actions"><button type="submit" class="button">"Save"</button></div>
        </form>
    }
}

#[component]
fn PostmortemEditor(detail: IncidentDetail, error: RwSignal<Option<ErrorBody>>, saved: RwSignal<u32>) -> impl IntoView {
    let existing = detail.postmortem.clone().unwrap_or_default();
    let summary = RwSignal::new(existing.summary.clone());
    let impact = RwSignal::new(existing.impact.clone());
    let root_cause = RwSignal::new(existing.root_cause.clone());
    let factors = RwSignal::new(existing.contributing_factors.clone());
    let items = RwSignal::new(
        existing
            .action_items
            .iter()
            .map(|item| {
                (item.text.clone(), item.owner.clone(), item.due.map(|due| due.to_string()).unwrap_or_default())
            })
            .collect::<Vec<_>>(),
    );
    let id = detail.incident.id.clone();
    let needed = detail.incident.severity.needs_postmortem();
    let written = detail.postmortem.is_some();
    let download = api::postmortem_url(&id);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let postmortem = Postmortem {
            summary: summary.get(),
            impact: impact.get(),
            root_cause: root_cause.get(),
            contributing_factors: factors.get(),
            action_items: items
                .get()
                .into_iter()
                .filter(|(text, owner, _)| !text.trim().is_empty() || !owner.trim().is_empty())
                .map(|(text, owner, due)| ActionItem { text, owner, due: due.parse::<NaiveDate>().ok() })
                .collect(),
        };
        let id = id.clone();
        run(error, saved, async move { api::save_postmortem(&id, &postmortem).await });
    };
    let area = |id: &'static str, label: &'static str, value: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <textarea id=id rows="3" prop:value=value on:input=move |event| value.set(event_target_value(&event))></textarea>
            </div>
        }
    };
    view! {
        <form class="card form" aria-labelledby="postmortem-heading" on:submit=submit>
            <h2 id="postmortem-heading">"Postmortem"</h2>
            <p class="field-hint">{if needed { "Required before this incident can close." } else { "Optional for this severity." }}</p>
            {area("pm-summary", "Summary", summary)}
            {area("pm-impact", "Impact", impact)}
            {area("pm-root-cause", "Root cause", root_cause)}
            {area("pm-factors", "Contributing factors", factors)}
            <fieldset>
                <legend>"Action items"</legend>
                {move || items.get().into_iter().enumerate().map(|(index, (text, owner, due))| {
                    let set = move |part: usize, value: String| items.update(|items| {
                        let item = &mut items[index];
                        match part { 0 => item.0 = value, 1 => item.1 = value, _ => item.2 = value }
                    });
                    view! {
                        <div class="action-item">
                            <input aria-label="Action" placeholder="What will be done" prop:value=text on:change=move |event| set(0, event_target_value(&event)) />
                            <input aria-label="Owner" placeholder="Owner" prop:value=owner on:change=move |event| set(1, event_target_value(&event)) />
                            <input aria-label="Due" type="date" prop:value=due on:change=move |event| set(2, event_target_value(&event)) />
                        </div>
                    }
                }).collect_view()}
                <button type="button" class="button button-quiet" on:click=move |_| items.update(|items| items.push(Default::default()))>"Add action item"</button>
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="button button-primary">"Save postmortem"</button>
                <Show when=move || written>
                    <a class="button" href=download.clone() download="">"Download Markdown"</a>
                </Show>
            </div>
        </form>
    }
}

/// `datetime-local` text for a UTC time, and back (the console works in UTC).
fn local_input(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M").to_string()
}

fn parse_local(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").ok().map(|naive| naive.and_utc())
}

#[component]
fn SeriousPanel(
    detail: IncidentDetail,
    can_edit: bool,
    now: RwSignal<DateTime<Utc>>,
    error: RwSignal<Option<ErrorBody>>,
    saved: RwSignal<u32>,
) -> impl IntoView {
    let serious = detail.serious.clone();
    let chosen = RwSignal::new(serious.as_ref().map(|serious| serious.categories.clone()).unwrap_or_default());
    let aware =
        RwSignal::new(local_input(serious.as_ref().map_or(detail.incident.detected_at, |serious| serious.aware_at)));
    let id = detail.incident.id;
    let report = api::serious_report_url(&id);
    let send = move |reported: bool| {
        let Some(aware_at) = parse_local(&aware.get()) else {
            error.set(Some(ErrorBody {
                kind: "/problems/validation".into(),
                title: "Invalid date".into(),
                status: 422,
                detail: "give the moment the team became aware as a date and time".into(),
                fields: Default::default(),
            }));
            return;
        };
        let request =
            SeriousIncidentRequest { categories: chosen.get(), aware_at, reported_at: reported.then(Utc::now) };
        let id = id.clone();
        run(error, saved, async move { api::mark_serious(&id, &request).await });
    };
    let send_report = send.clone();
    view! {
        <section class="card" aria-labelledby="art73-heading">
            <h2 id="art73-heading">"EU AI Act Art. 73"</h2>
            <p class="field-hint">"A serious incident of a high-risk AI system must be reported to the market surveillance authority."</p>
            {serious.clone().map(|serious| view! {
                <p class="art73-deadline">
                    {match serious.reported_at {
                        Some(reported) => format!("Reported {}", format::timestamp(&reported)),
                        None => format!("Report due {} ({})", format::timestamp(&serious.deadline), format::countdown(&serious.deadline, &now.get())),
                    }}
                </p>
                <a class="button" href=report.clone() download="">"Download report draft"</a>
            })}
            <fieldset disabled=!can_edit>
                <legend>"Categories"</legend>
                {SeriousCategory::ALL.iter().map(|category| {
                    let category = *category;
                    view! {
                        <label class="check">
                            <input type="checkbox" prop:checked=move || chosen.get().contains(&category)
                                on:change=move |event| {
                                    let on = event_target_checked(&event);
                                    chosen.update(|chosen| {
                                        chosen.retain(|known| *known != category);
                                        if on { chosen.push(category); }
                                    });
                                } />
                            " "{category.label()}
                        </label>
                    }
                }).collect_view()}
                <div class="field">
                    <label for="aware-at">"Team aware since (UTC)"</label>
                    <input id="aware-at" type="datetime-local" prop:value=aware on:input=move |event| aware.set(event_target_value(&event)) />
                </div>
                <div class="form-actions">
                    <button type="button" class="button" on:click=move |_| send(false)>"Mark serious incident"</button>
                    <Show when=move || serious.as_ref().is_some_and(|serious| serious.reported_at.is_none())>
                        <button type="button" class="button button-primary" on:click={
                            let send_report = send_report.clone();
                            move |_| send_report(true)
                        }>"Record report filed"</button>
                    </Show>
                </div>
            </fieldset>
        </section>
    }
}
