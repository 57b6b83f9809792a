//! The fleet at a glance: a tile per model with its status, key numbers and the last
//! day as sparklines, refreshed as new telemetry arrives.

use keel_shared::ModelId;
use keel_shared::health::{FleetTile, HealthStatus};
use keel_shared::incidents::IncidentQuery;
use keel_shared::models::ModelListQuery;
use leptos::prelude::*;

use crate::api;
use crate::components::{EmptyState, HealthBadge, KeyNumbers, RiskBadge, Sparkline, loaded, status_class};
use crate::live::use_live;
use crate::pages::IncidentStatsLine;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let live = use_live();
    // Each tile refreshes its own sparklines; the whole fleet is read again only after a
    // resync.
    let fleet = LocalResource::new(move || {
        live.resynced();
        async move { api::fleet(&ModelListQuery::default()).await }
    });
    // Open incidents per model, for the tiles.
    let open_incidents = LocalResource::new(move || {
        live.incident_changes();
        async move {
            let query = IncidentQuery { status: Some("open".into()), ..IncidentQuery::default() };
            api::list_incidents(&query).await
        }
    });
    let open_of = move |model: &ModelId| {
        open_incidents
            .get()
            .and_then(Result::ok)
            .map_or(0, |list| list.items.iter().filter(|incident| incident.model.as_ref() == Some(model)).count())
    };
    view! {
        <div class="page-header">
            <div>
                <h1>"Overview"</h1>
                <p class="page-lede">"Is every model healthy right now? Status, key numbers and the last 24 hours."</p>
            </div>
        </div>
        <StatusCounts />
        <IncidentStatsLine />
        {loaded(fleet, "the fleet", move |value| match value {
            response if response.tiles.is_empty() => view! {
                <EmptyState title="No models yet" message="Register a model, then point its telemetry at Keel.">
                    <a class="button button-primary" href="/models/new">"Register model"</a>
                </EmptyState>
            }.into_any(),
            response => view! {
                <ul class="tile-grid" aria-label="Models">
                    {response.tiles.into_iter().map(|tile| {
                        let model = tile.model.id.clone();
                        view! { <Tile tile open_incidents=Signal::derive(move || open_of(&model)) /> }
                    }).collect_view()}
                </ul>
            }.into_any(),
        })}
    }
}

/// How many models are in each status, from the live health.
#[component]
fn StatusCounts() -> impl IntoView {
    let live = use_live();
    move || {
        let counts = live.health.with(|all| {
            [HealthStatus::Critical, HealthStatus::Degraded, HealthStatus::Healthy, HealthStatus::NoData]
                .map(|status| (status, all.values().filter(|health| health.status == status).count()))
        });
        view! {
            <p class="status-counts">
                {counts.map(|(status, count)| view! {
                    <span class=format!("status-count health-{}", status_class(status))>
                        <strong>{count}</strong>" "{status.label().to_lowercase()}
                    </span>
                }).collect_view()}
            </p>
        }
    }
}

#[component]
fn Tile(tile: FleetTile, open_incidents: Signal<usize>) -> impl IntoView {
    let FleetTile { model, health, sparklines } = tile;
    let live = use_live();
    let model_id = model.id.clone();
    let sparklines = RwSignal::new(sparklines);
    // The model's new points: read its last day again (the first run only subscribes).
    let refreshed_for = model.id.clone();
    Effect::new(move |seen: Option<u64>| {
        let changes = live.model_changes(&refreshed_for);
        if seen.is_some_and(|seen| seen != changes) {
            let model_id = refreshed_for.clone();
            leptos::task::spawn_local(async move {
                if let Ok(fresh) = api::model_sparklines(&model_id).await {
                    sparklines.set(fresh);
                }
            });
        }
        changes
    });
    let model_link = model.id.0.clone();
    let production = model
        .production_version
        .map_or_else(|| "No version in production".into(), |tag| format!("{tag} in production"));
    // The live status wins over the tile's snapshot once it changes.
    let signals =
        move || live.health_of(&model_id).or_else(|| health.clone()).map(|health| (health.signals, health.reasons));
    view! {
        <li class="tile card">
            <div class="tile-header">
                <a class="tile-name" href=format!("/models/{}", model.id)>{model.name}</a>
                <HealthBadge model_id=model.id.clone() />
            </div>
            <p class="tile-meta"><RiskBadge tier=model.risk_tier />" "{production}</p>
            {move || match open_incidents.get() {
                0 => None,
                count => Some(view! {
                    <a class="tile-incidents" href=format!("/incidents?model={model_link}")>
                        {if count == 1 { "1 open incident".to_owned() } else { format!("{count} open incidents") }}
                    </a>
                }),
            }}
            {move || signals().map(|(signals, reasons)| view! {
                <KeyNumbers signals />
                {reasons_summary(&reasons).map(|summary| view! {
                    <p class="tile-reasons" title=reasons.join("; ")>{summary}</p>
                })}
            })}
            <div class="tile-sparklines">
                {move || sparklines.get().into_iter().map(|line| {
                    let label = sparkline_label(&line.metric, &line.statistic);
                    view! {
                        <div class="tile-sparkline">
                            <span class="tile-sparkline-label">{label.clone()}</span>
                            <Sparkline values=line.values label=format!("{label}, last 24 hours") />
                        </div>
                    }
                }).collect_view()}
            </div>
        </li>
    }
}

/// A tile shows the first reason and how many more there are (all of them on hover and
/// on the model page), so one troubled model does not stretch its row of tiles.
fn reasons_summary(reasons: &[String]) -> Option<String> {
    match reasons {
        [] => None,
        [only] => Some(only.clone()),
        [first, rest @ ..] => Some(format!("{first}; and {} more", rest.len())),
    }
}

fn sparkline_label(metric: &str, statistic: &str) -> String {
    match (metric, statistic) {
        ("accuracy", _) => "Accuracy".into(),
        ("latency_ms", "p95") => "p95 latency".into(),
        ("requests_per_second", _) => "Throughput".into(),
        _ => format!("{metric} ({statistic})"),
    }
}
