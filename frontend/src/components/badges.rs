//! Small coloured labels for enums, always with text so colour is never the only cue.

use keel_shared::changes::{ChangeStatus, RiskLevel};
use keel_shared::evidence::EvidenceStatus;
use keel_shared::models::{RiskTier, Stage};
use leptos::prelude::*;

#[component]
pub fn RiskBadge(tier: RiskTier) -> impl IntoView {
    view! {
        <span class=format!("badge risk-{}", tier.as_str()) title="EU AI Act risk tier">
            {tier.label()}
        </span>
    }
}

#[component]
pub fn StageBadge(stage: Stage) -> impl IntoView {
    view! { <span class=format!("badge stage-{}", stage.as_str())>{stage.label()}</span> }
}

/// A feature's or a dataset's drift verdict.
#[component]
pub fn DriftBadge(drifted: bool) -> impl IntoView {
    let (class, label) =
        if drifted { ("badge health-critical", "Drifted") } else { ("badge health-healthy", "Stable") };
    view! { <span class=class>{label}</span> }
}

/// A change request's risk (what its approvals depend on).
#[component]
pub fn ChangeRiskBadge(risk: RiskLevel) -> impl IntoView {
    view! { <span class=format!("badge change-risk-{}", risk.as_str()) title="Change risk">{format!("{} risk", risk.label())}</span> }
}

#[component]
pub fn ChangeStatusBadge(status: ChangeStatus) -> impl IntoView {
    view! { <span class=format!("badge change-{}", status.as_str())>{status.label()}</span> }
}

/// An evidence gate's verdict.
#[component]
pub fn EvidenceBadge(status: EvidenceStatus) -> impl IntoView {
    let (class, label) = match status {
        EvidenceStatus::Pass => ("badge health-healthy", "Pass"),
        EvidenceStatus::Fail => ("badge health-critical", "Fail"),
        EvidenceStatus::Missing => ("badge health-degraded", "Missing"),
    };
    view! { <span class=class>{label}</span> }
}
