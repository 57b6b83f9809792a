//! Small coloured labels for enums, always with text so colour is never the only cue.

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
