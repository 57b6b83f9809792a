//! One change request: its risk, conflicts, evidence checklist, approvals (who, when,
//! what digest), plans and timeline, with only the actions its state and the signed-in
//! role allow; the requester edits it in draft or submitted. Updates live.

use keel_shared::ErrorBody;
use keel_shared::auth::Permission;
use keel_shared::changes::{ApprovalRequest, ChangeDetail, ChangeStatus, ChangeType, Decision, UpdateChangeRequest};
use keel_shared::evidence::EvidenceKind;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::target_text;
use crate::api;
use crate::auth::use_auth;
use crate::components::{
    ChangeRiskBadge, ChangeStatusBadge, DataTable, ErrorState, EvidenceBadge, FormAlert, Loading, Markdown, RiskBadge,
};
use crate::format;
use crate::live::use_live;

#[component]
pub fn ChangePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|params| params.get("id").unwrap_or_default());
    let live = use_live();
    let saved = RwSignal::new(0_u32);
    let change = LocalResource::new(move || {
        live.change_request_changes();
        saved.get();
        let id = id();
        async move { api::get_change(&id).await }
    });
    move || match change.get() {
        None => view! { <Loading what="the change" /> }.into_any(),
        Some(Err(error)) => {
            view! { <p class="breadcrumb"><a href="/changes">"Changes"</a></p><ErrorState error /> }.into_any()
        }
        Some(Ok(detail)) => view! { <Change detail saved /> }.into_any(),
    }
}

/// Runs `call`, bumping `saved` on success; an error lands in `error`.
fn run<F>(error: RwSignal<Option<ErrorBody>>, saved: RwSignal<u32>, call: F)
where
    F: Future<Output = api::ApiResult<ChangeDetail>> + 'static,
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

/// Where the evidence of `kind` is provided, for the checklist's links.
fn evidence_link(kind: EvidenceKind, detail: &ChangeDetail) -> Option<(String, &'static str)> {
    let model = &detail.summary.model_id;
    let version = detail.summary.version.as_deref()?;
    match kind {
        EvidenceKind::Fairness => Some((format!("/models/{model}/versions/{version}/fairness"), "Fairness review")),
        EvidenceKind::ModelCard => Some((format!("/models/{model}/versions/{version}/model-card"), "Model card")),
        EvidenceKind::Readiness => Some((format!("/models/{model}/readiness"), "Readiness")),
        EvidenceKind::Validation | EvidenceKind::Drift => Some((format!("/models/{model}/drift"), "Drift page")),
        EvidenceKind::Tests => None,
    }
}

#[component]
fn Change(detail: ChangeDetail, saved: RwSignal<u32>) -> impl IntoView {
    let auth = use_auth();
    let me = auth.me.with_untracked(|me| me.as_ref().map(|me| (me.user.username.clone(), me.user.role)));
    let (username, role) = me.unzip();
    let username = username.unwrap_or_default();
    let error = RwSignal::new(None::<ErrorBody>);
    let summary = detail.summary.clone();
    let id = summary.id.clone();
    let actions = role.map(|role| summary.status.actions_for(summary.change_type, role)).unwrap_or_default();
    let is_requester = summary.requester == username;
    let retro = summary.change_type == ChangeType::Emergency
        && matches!(summary.status, ChangeStatus::Implementing | ChangeStatus::Implemented)
        && !detail.policy.met;
    let may_decide =
        auth.can(Permission::ApproveChanges) && !is_requester && (summary.status == ChangeStatus::Submitted || retro);
    let may_edit = summary.status.editable()
        && (is_requester || role == Some(keel_shared::auth::Role::Admin))
        && auth.can(Permission::RequestChanges);
    let transition = {
        let id = id.clone();
        move |to: ChangeStatus| {
            let question = match to {
                ChangeStatus::Cancelled => Some("Cancel this change? Cancelled is final."),
                ChangeStatus::Implemented => {
                    Some("Implement this change now? A promotion or rollback moves the registry at once.")
                }
                ChangeStatus::RolledBack => {
                    Some("Roll this change back? A promotion's previous production version returns.")
                }
                _ => None,
            };
            if question.is_some_and(|question| !window().confirm_with_message(question).unwrap_or(false)) {
                return;
            }
            let id = id.clone();
            run(error, saved, async move { api::transition_change(&id, to).await });
        }
    };
    let comment = RwSignal::new(String::new());
    let decide = {
        move |decision: Decision| {
            let id = id.clone();
            let request = ApprovalRequest { decision, comment: comment.get_untracked() };
            run(error, saved, async move { api::decide_change(&id, &request).await });
        }
    };
    let (approve, reject) = (decide.clone(), decide);
    let blocking: Vec<String> = detail
        .evidence
        .iter()
        .filter(|item| item.status != keel_shared::evidence::EvidenceStatus::Pass)
        .map(|item| item.kind.label().to_owned())
        .collect();
    let detail_for_evidence = detail.clone();
    let for_editing = detail.clone();
    let editing = RwSignal::new(false);
    view! {
        <div class="page-header">
            <div>
                <p class="breadcrumb"><a href="/changes">"Changes"</a></p>
                <h1>{format!("CHG-{} ", summary.number)}{summary.title.clone()}</h1>
                <p class="page-lede">
                    <ChangeStatusBadge status=summary.status />" "
                    <ChangeRiskBadge risk=summary.risk />" "
                    <RiskBadge tier=summary.tier />" "
                    {(summary.change_type != ChangeType::Normal).then(|| view! { <span class="badge">{summary.change_type.as_str()}</span>" " })}
                    {summary.retro_overdue.then(|| view! { <span class="badge sla-breached">"Retrospective approval overdue"</span>" " })}
                    {summary.kind.label()}" · "
                    <a class="table-link" href=format!("/models/{}", summary.model_id)>{target_text(&summary)}</a>
                </p>
            </div>
            <div class="page-header-actions" role="group" aria-label="Change actions">
                {may_edit.then(|| view! {
                    <button type="button" class="button" on:click=move |_| editing.update(|open| *open = !*open)>
                        {move || if editing.get() { "Close editor" } else { "Edit" }}
                    </button>
                })}
                {actions.into_iter().map(|to| {
                    let transition = transition.clone();
                    let class = match to {
                        ChangeStatus::Cancelled | ChangeStatus::RolledBack => "button button-danger",
                        ChangeStatus::Submitted | ChangeStatus::Implemented | ChangeStatus::Verified => "button button-primary",
                        _ => "button",
                    };
                    view! { <button type="button" class=class on:click=move |_| transition(to)>{ChangeStatus::action_label(to)}</button> }
                }).collect_view()}
            </div>
        </div>
        <FormAlert error=Signal::from(error) />
        <Show when=move || editing.get()>
            <EditChange detail=for_editing.clone() saved editing />
        </Show>
        <div class="incident-layout">
            <div class="incident-main">
                {(!detail.conflicts.is_empty()).then(|| view! {
                    <section class="card" aria-labelledby="conflicts-heading">
                        <h2 id="conflicts-heading">"Conflicts"</h2>
                        <ul class="conflicts">
                            {detail.conflicts.iter().map(|conflict| view! {
                                <li class=if conflict.blocking { "conflict conflict-blocking" } else { "conflict" }>
                                    <strong>{if conflict.blocking { "Blocks implementation: " } else { "Note: " }}</strong>
                                    {conflict.message.clone()}
                                </li>
                            }).collect_view()}
                        </ul>
                    </section>
                })}
                {(!detail.evidence.is_empty()).then(|| view! {
                    <section class="card" aria-labelledby="evidence-heading">
                        <h2 id="evidence-heading">"Evidence for production"</h2>
                        {(!blocking.is_empty()).then(|| view! {
                            <p class="muted">{format!("Approval waits for: {}.", blocking.join(", "))}</p>
                        })}
                        <DataTable label="Evidence" columns=&["Gate", "Verdict", "What Keel found", "Source"]>
                                {detail_for_evidence.evidence.iter().map(|item| {
                                    let link = evidence_link(item.kind, &detail_for_evidence);
                                    view! {
                                        <tr class=format!("evidence-{}", item.status.as_str())>
                                            <td>
                                                {item.kind.label()}
                                                {link.map(|(href, label)| view! { <div class="cell-sub"><a href=href>{label}</a></div> })}
                                            </td>
                                            <td><EvidenceBadge status=item.status /></td>
                                            <td>
                                                {item.value.clone()}
                                                {(item.status != keel_shared::evidence::EvidenceStatus::Pass).then(|| view! { <div class="cell-sub">{format!("Who can provide it: {}", item.provider)}</div> })}
                                            </td>
                                            <td class="cell-sub">{item.source.clone()}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </DataTable>
                    </section>
                })}
                <section class="card" aria-labelledby="approvals-heading">
                    <h2 id="approvals-heading">
                        "Approvals "
                        <span class="muted">{format!("{} of {} needed", detail.policy.counted.len(), detail.policy.requirement.approvals)}
                            {detail.policy.requirement.approver_role.then_some(", one from an approver")}</span>
                    </h2>
                    {if detail.approvals.is_empty() {
                        view! { <p class="muted">"No approvals yet. The requester never counts, nor does the implementer's own approval."</p> }.into_any()
                    } else {
                        view! {
                            <DataTable label="Approvals" columns=&["Who", "Decision", "When", "Comment", "Bound to"]>
                                    {detail.approvals.iter().map(|approval| view! {
                                        <tr class=if approval.voided.is_some() { "approval-voided" } else { "" }>
                                            <td>{approval.approver.clone()}<div class="cell-sub">{approval.approver_role.label()}</div></td>
                                            <td>
                                                {match approval.decision { Decision::Approve => "Approved", Decision::Reject => "Rejected" }}
                                                {approval.voided.clone().map(|reason| view! { <div class="cell-sub">{format!("Voided: {reason}")}</div> })}
                                            </td>
                                            <td>{format::timestamp(&approval.at)}</td>
                                            <td>{approval.comment.clone()}</td>
                                            <td class="mono" title=format!("change {}\nevidence {}", approval.change_digest, approval.evidence_digest)>
                                                {format!("sha256:{}…", &approval.change_digest[..approval.change_digest.len().min(12)])}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </DataTable>
                        }.into_any()
                    }}
                    {(!detail.policy.not_counted.is_empty()).then(|| view! {
                        <ul class="muted">
                            {detail.policy.not_counted.iter().map(|(who, why)| view! { <li>{format!("{who}: {why}")}</li> }).collect_view()}
                        </ul>
                    })}
                    {may_decide.then(|| view! {
                        <form class="form approval-form" aria-label="Approve or reject" on:submit=|event| event.prevent_default()>
                            <div class="field">
                                <label for="approval-comment">{if retro { "Comment (retrospective approval)" } else { "Comment" }}</label>
                                <textarea id="approval-comment" rows="2" prop:value=comment on:input=move |event| comment.set(event_target_value(&event))></textarea>
                                <p class="field-hint">{format!("Your decision is bound to this change (sha256:{}…) and its evidence; an edit or new evidence voids it.", &detail.change_digest[..12])}</p>
                            </div>
                            <div class="form-actions">
                                <button type="button" class="button button-primary" on:click=move |_| approve(Decision::Approve)>"Approve"</button>
                                <button type="button" class="button button-danger" on:click=move |_| reject(Decision::Reject)>"Reject"</button>
                            </div>
                        </form>
                    })}
                </section>
                <section class="card" aria-labelledby="plan-heading">
                    <h2 id="plan-heading">"What, how and how back"</h2>
                    <h3>"Description"</h3>
                    <Markdown source=detail.description.clone() />
                    <h3>"Implementation plan"</h3>
                    <Markdown source=if detail.implementation_plan.is_empty() { "_None written._".to_owned() } else { detail.implementation_plan.clone() } />
                    <h3>"Rollback plan"</h3>
                    <Markdown source=if detail.rollback_plan.is_empty() { "_None written._".to_owned() } else { detail.rollback_plan.clone() } />
                    {(!detail.risk_reason.is_empty()).then(|| view! { <p class="muted">{format!("Risk set to {} instead of the table's {}: {}", detail.summary.risk.as_str(), detail.table_risk.as_str(), detail.risk_reason)}</p> })}
                </section>
            </div>
            <aside class="incident-side">
                <section class="card" aria-labelledby="facts-heading">
                    <h2 id="facts-heading">"Facts"</h2>
                    <dl class="facts facts-stacked">
                        <div><dt>"Requested by"</dt><dd>{summary.requester.clone()}</dd></div>
                        <div><dt>"Implemented by"</dt><dd>{summary.implementer.clone().unwrap_or_else(|| "—".into())}</dd></div>
                        <div><dt>"Created"</dt><dd>{format::timestamp(&summary.created_at)}</dd></div>
                        {summary.submitted_at.map(|at| view! { <div><dt>"Submitted (tier and risk frozen)"</dt><dd>{format::timestamp(&at)}</dd></div> })}
                        {summary.implemented_at.map(|at| view! { <div><dt>"Implemented"</dt><dd>{format::timestamp(&at)}</dd></div> })}
                        {detail.retro_due_by.map(|at| view! { <div><dt>"Retro-approval due"</dt><dd>{format::timestamp(&at)}</dd></div> })}
                        {summary.scheduled_start.map(|at| view! { <div><dt>"Window"</dt><dd>{format::timestamp(&at)}{summary.scheduled_end.map(|end| format!(" – {}", format::timestamp(&end)))}</dd></div> })}
                        {(!detail.linked_incidents.is_empty()).then(|| view! {
                            <div><dt>"Linked incidents"</dt><dd>{detail.linked_incidents.iter().map(|incident| view! { <a href=format!("/incidents/{incident}")>"incident"</a>" " }).collect_view()}</dd></div>
                        })}
                        <div><dt>"Digest"</dt><dd class="mono wrap">{detail.change_digest.clone()}</dd></div>
                    </dl>
                </section>
                <section class="card" aria-labelledby="timeline-heading">
                    <h2 id="timeline-heading">"Timeline"</h2>
                    <ol class="timeline">
                        {detail.timeline.iter().rev().map(|entry| view! {
                            <li class=format!("timeline-entry timeline-{}", entry.kind.as_str())>
                                <time datetime=entry.at.to_rfc3339()>{format::timestamp(&entry.at)}</time>
                                <span class="timeline-actor">{entry.actor.clone()}</span>
                                <span class="timeline-text">{entry.text.clone()}</span>
                            </li>
                        }).collect_view()}
                    </ol>
                </section>
            </aside>
        </div>
    }
}

/// The requester's editor: title, description and plans (an edit voids approvals).
#[component]
fn EditChange(detail: ChangeDetail, saved: RwSignal<u32>, editing: RwSignal<bool>) -> impl IntoView {
    let title = RwSignal::new(detail.summary.title.clone());
    let description = RwSignal::new(detail.description.clone());
    let implementation = RwSignal::new(detail.implementation_plan.clone());
    let rollback = RwSignal::new(detail.rollback_plan.clone());
    let error = RwSignal::new(None::<ErrorBody>);
    let id = detail.summary.id.clone();
    let has_approvals = detail.approvals.iter().any(|approval| approval.voided.is_none());
    view! {
        <form class="card form" aria-label="Edit the change" on:submit=move |event| {
            event.prevent_default();
            let id = id.clone();
            let request = UpdateChangeRequest {
                title: Some(title.get()),
                description: Some(description.get()),
                implementation_plan: Some(implementation.get()),
                rollback_plan: Some(rollback.get()),
                ..UpdateChangeRequest::default()
            };
            spawn_local(async move {
                match api::update_change(&id, &request).await {
                    Ok(_) => {
                        editing.set(false);
                        saved.update(|count| *count += 1);
                    }
                    Err(body) => error.set(Some(body)),
                }
            });
        }>
            <h2>"Edit the change"</h2>
            {has_approvals.then(|| view! { <div class="alert" role="note">"Saving voids the approvals given so far: they were bound to the change as it was."</div> })}
            <FormAlert error=Signal::from(error) />
            <div class="field"><label for="edit-title">"Title"</label>
                <input id="edit-title" prop:value=title on:input=move |event| title.set(event_target_value(&event)) /></div>
            <div class="field"><label for="edit-description">"Description"</label>
                <textarea id="edit-description" rows="4" prop:value=description on:input=move |event| description.set(event_target_value(&event))></textarea></div>
            <div class="field"><label for="edit-implementation">"Implementation plan"</label>
                <textarea id="edit-implementation" rows="3" prop:value=implementation on:input=move |event| implementation.set(event_target_value(&event))></textarea></div>
            <div class="field"><label for="edit-rollback">"Rollback plan"</label>
                <textarea id="edit-rollback" rows="3" prop:value=rollback on:input=move |event| rollback.set(event_target_value(&event))></textarea></div>
            <div class="form-actions"><button type="submit" class="button button-primary">"Save"</button></div>
        </form>
    }
}
