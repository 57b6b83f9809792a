//! A model's change management on its page: request a promotion or a rollback, its open
//! changes, its readiness score, each version's evidence, and the deployments pipelines
//! reported — an uncovered one flagged as an unauthorised change.

use keel_shared::auth::Permission;
use keel_shared::changes::ChangeQuery;
use keel_shared::models::{ModelSummary, Stage, VersionSummary};
use leptos::prelude::*;

use crate::api;
use crate::auth::use_auth;
use crate::components::{ChangeRiskBadge, ChangeStatusBadge};
use crate::format;
use crate::live::use_live;
use crate::pages::ReadinessScore;

#[component]
pub fn GovernanceSection(model: ModelSummary, versions: Vec<VersionSummary>) -> impl IntoView {
    let auth = use_auth();
    let live = use_live();
    let ModelSummary { id: model_id, rollback_version, risk_tier, .. } = model;
    let candidate = versions
        .iter()
        .filter(|version| !matches!(version.stage, Stage::Production | Stage::Archived))
        .max_by_key(|version| version.created_at)
        .map(|version| version.tag.clone());
    let changes = {
        let model_id = model_id.clone();
        LocalResource::new(move || {
            live.change_request_changes();
            let query =
                ChangeQuery { model: Some(model_id.0.clone()), status: Some("open".into()), ..ChangeQuery::default() };
            async move { api::list_changes(&query).await }
        })
    };
    let readiness = {
        let model_id = model_id.clone();
        LocalResource::new(move || {
            live.change_request_changes();
            let model_id = model_id.clone();
            async move { api::readiness(&model_id).await }
        })
    };
    let deployments = {
        let model_id = model_id.clone();
        LocalResource::new(move || {
            live.incident_changes();
            let model_id = model_id.clone();
            async move { api::deployments(&model_id).await }
        })
    };
    let promote = format!(
        "/changes/new?model={}&kind=promotion{}",
        model_id,
        candidate.map(|tag| format!("&version={tag}")).unwrap_or_default()
    );
    let roll_back =
        rollback_version.clone().map(|tag| format!("/changes/new?model={model_id}&kind=rollback&version={tag}"));
    let can_request = auth.can(Permission::RequestChanges);
    let readiness_link = format!("/models/{model_id}/readiness");
    view! {
        <section class="card" aria-labelledby="changes-heading">
            <div class="card-header">
                <h2 id="changes-heading">"Changes"</h2>
                {can_request.then(|| view! {
                    <div class="toolbar">
                        {risk_tier.allows_production().then(|| view! { <a class="button button-primary" href=promote.clone()>"Request promotion"</a> })}
                        {roll_back.clone().map(|href| view! { <a class="button" href=href>{format!("Roll back to {}", rollback_version.clone().unwrap_or_default())}</a> })}
                    </div>
                })}
            </div>
            {move || changes.get().and_then(Result::ok).map(|list| if list.items.is_empty() {
                view! { <p class="muted">"No open change requests."</p> }.into_any()
            } else {
                view! {
                    <ul class="change-list">
                        {list.items.into_iter().map(|change| view! {
                            <li>
                                <a class="table-link" href=format!("/changes/{}", change.id)>{format!("CHG-{} ", change.number)}{change.title.clone()}</a>" "
                                <ChangeStatusBadge status=change.status />" "<ChangeRiskBadge risk=change.risk />
                                <span class="muted">{format!(" {} of {} approvals", change.approvals_counted, change.approvals_needed)}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
            <p><a href=format!("/changes?model={model_id}")>"Every change of this model"</a></p>
            <h3><a href=readiness_link>"Production readiness"</a></h3>
            {move || readiness.get().and_then(Result::ok).map(|assessment| view! { <ReadinessScore assessment /> })}
            <h3>"Evidence per version"</h3>
            <ul class="change-list">
                {versions.into_iter().map(|version| {
                    let base = format!("/models/{model_id}/versions/{}", version.tag);
                    view! {
                        <li>
                            <span class="mono">{version.tag}</span>" · "
                            <a href=format!("{base}/model-card")>"Model card"</a>" · "
                            <a href=format!("{base}/fairness")>"Fairness review"</a>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <h3>"Reported deployments"</h3>
            {move || deployments.get().and_then(Result::ok).map(|list| if list.is_empty() {
                view! { <p class="muted">"No pipeline has reported a deployment (PagerDuty Change Events to /v2/change/enqueue)."</p> }.into_any()
            } else {
                view! {
                    <ul class="change-list">
                        {list.into_iter().map(|deployment| view! {
                            <li>
                                {match (&deployment.change_id, &deployment.incident_id) {
                                    (Some(change), _) => view! { <a class="badge health-healthy" href=format!("/changes/{change}")>"Covered by a change"</a> }.into_any(),
                                    (None, Some(incident)) => view! { <a class="badge health-critical" href=format!("/incidents/{incident}")>"Unauthorised change"</a> }.into_any(),
                                    (None, None) => view! { <span class="badge health-critical">"Unauthorised change"</span> }.into_any(),
                                }}
                                " "{deployment.summary.clone()}
                                <span class="muted">{format!(" — {} {} · {}", deployment.source, deployment.version.clone().unwrap_or_default(), format::timestamp(&deployment.at))}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
    }
}
