//! A model's drift page: the latest evaluation's features sorted by drift score, the
//! selected feature's distributions and score over time, data quality, performance once
//! labels arrive, and the references with an upload form. Refreshed live after each run.

use keel_shared::auth::Permission;
use keel_shared::drift::{ColumnDrift, DriftMethodResult};
use keel_shared::models::ModelResponse;
use keel_shared::monitoring::{
    DriftHistoryQuery, DriftOverview, DriftRun, Freshness, PerformanceReport, lower_is_better,
};
use keel_shared::{ErrorBody, ModelId};
use leptos::prelude::*;

use super::reference_upload::ReferenceUpload;
use super::{once_loaded, route_model};
use crate::api;
use crate::auth::use_auth;
use crate::components::{
    DataTable, DriftBadge, EmptyState, FormAlert, HealthBadge, HistogramOverlay, ScoreHistory, format_score, loaded,
};
use crate::format;
use crate::live::use_live;

#[component]
pub fn DriftPage() -> impl IntoView {
    let (model_id, model) = route_model();
    let live = use_live();
    let overview = LocalResource::new(move || {
        let id = model_id.get();
        // Refetched when a run finishes: the page updates in place.
        live.model_drift_runs(&id);
        async move { api::drift_overview(&id).await }
    });
    // Outside what a refresh redraws: the chosen feature stays chosen.
    let selected = RwSignal::new(None::<String>);
    let refresh = move || overview.refetch();

    once_loaded(model, move |ModelResponse { model, versions }| {
        let can_write = use_auth().can(Permission::WriteModels);
        view! {
                    <div class="page-header">
                        <div>
                            <p class="breadcrumb">
                                <a href="/models">"Models"</a>" / "<a href=format!("/models/{}", model.id)>{model.name.clone()}</a>
                            </p>
                            <h1>"Drift and data quality"</h1>
                            <p class="page-lede">{format!("Does {} still see the data it was validated on?", model.name)}</p>
                        </div>
                        <div class="page-header-badges"><HealthBadge model_id=model.id.clone() /></div>
                    </div>
                    {can_write.then(|| view! { <EvaluateButton model_id=model.id.clone() on_done=refresh /> })}
                    {loaded(overview, "drift", move |overview| view! { <Overview model_id=model_id.get() overview selected /> }.into_any())}
                    {(can_write && !versions.is_empty()).then(|| view! {
                        <section class="card" aria-labelledby="upload-heading">
                            <ReferenceUpload model_id=model.id versions on_uploaded=refresh />
                        </section>
                    })}
                }.into_any()
    })
}

#[component]
fn Overview(model_id: ModelId, overview: DriftOverview, selected: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        {match overview.latest.clone() {
            Some(run) => view! { <RunSections model_id run freshness=overview.freshness.clone() selected /> }.into_any(),
            None => view! {
                <EmptyState
                    title="No evaluation yet"
                    message=if overview.references.is_empty() {
                        "Upload a reference for a version, then send feature rows to POST /api/models/{id}/features; evaluations run on the schedule or on demand."
                    } else {
                        "Feature rows of the referenced version are compared on the schedule, or now with Evaluate now."
                    }
                >
                    <FreshnessLine freshness=overview.freshness.clone() />
                </EmptyState>
            }.into_any(),
        }}
        <section class="card" aria-labelledby="references-heading">
            <h2 id="references-heading">"References"</h2>
            {if overview.references.is_empty() {
                view! { <p class="muted">"No reference uploaded yet."</p> }.into_any()
            } else {
                view! {
                    <DataTable label="References" columns=&["Version", "Source", "Rows", "Columns", "Baseline", "Uploaded"]>
                                {overview.references.iter().map(|reference| view! {
                                    <tr>
                                        <td class="mono">{reference.version.clone()}</td>
                                        <td class="wrap">{reference.source.clone()}</td>
                                        <td>{reference.rows}</td>
                                        <td class="wrap">{reference.columns.iter().map(|column| column.name.clone()).collect::<Vec<_>>().join(", ")}</td>
                                        <td>{reference.baseline.as_ref().map(|baseline| baseline.metrics.iter().map(|metric| format!("{} {}", metric.name, format_score(metric.value))).collect::<Vec<_>>().join(", ")).unwrap_or_else(|| "—".into())}</td>
                                        <td>{format!("{} by {}", format::timestamp(&reference.created_at), reference.created_by)}</td>
                                    </tr>
                                }).collect_view()}
                            </DataTable>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn EvaluateButton(model_id: ModelId, on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let run = Action::new_local(move |_: &()| {
        let model_id = model_id.clone();
        async move { api::evaluate_drift(&model_id).await }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || run.value().get().and_then(Result::err));
    Effect::new(move || {
        if let Some(Ok(_)) = run.value().get() {
            on_done();
        }
    });
    view! {
        <div class="toolbar">
            <button type="button" class="button button-primary" on:click=move |_| { run.dispatch(()); } disabled=move || run.pending().get()>
                {move || if run.pending().get() { "Evaluating…" } else { "Evaluate now" }}
            </button>
        </div>
        <FormAlert error />
    }
}

#[component]
fn FreshnessLine(freshness: Freshness) -> impl IntoView {
    let last = freshness
        .last_row_at
        .map_or_else(|| "no feature rows yet".to_owned(), |at| format!("last feature row {}", format::timestamp(&at)));
    view! {
        <p>
            <span class=if freshness.breached { "badge health-degraded" } else { "badge health-healthy" }>
                {if freshness.breached { "Stale" } else { "Fresh" }}
            </span>
            {format!(" {last}; SLA {} minutes", freshness.sla_minutes)}
        </p>
    }
}

/// How far a result is past its threshold: ≥ 1 means drift. Distances grow with drift,
/// p-values shrink, so both become "times the threshold".
fn severity(result: &DriftMethodResult) -> f64 {
    if result.method.is_p_value() {
        result.threshold / result.value.max(1e-300)
    } else {
        result.value / result.threshold.max(1e-300)
    }
}

fn column_severity(column: &ColumnDrift) -> f64 {
    column.report.as_ref().and_then(|report| report.results.first()).map_or(-1.0, severity)
}

#[component]
fn RunSections(
    model_id: ModelId,
    run: DriftRun,
    freshness: Freshness,
    /// The feature whose charts are shown; default: the most drifted.
    selected: RwSignal<Option<String>>,
) -> impl IntoView {
    let mut columns = run.report.columns.clone();
    columns.sort_by(|a, b| column_severity(b).total_cmp(&column_severity(a)));
    let most_drifted = columns.first().map(|column| column.column.clone()).unwrap_or_default();
    let known: Vec<String> = columns.iter().map(|column| column.column.clone()).collect();
    let selected_or_first =
        move || selected.get().filter(|feature| known.contains(feature)).unwrap_or_else(|| most_drifted.clone());
    let selected_or_first = Signal::derive(selected_or_first);
    let histograms = run.histograms.clone();
    let history = LocalResource::new(move || {
        let model_id = model_id.clone();
        let query = DriftHistoryQuery { feature: selected_or_first.get(), limit: None };
        async move { api::drift_history(&model_id, &query).await }
    });
    let report = run.report.clone();
    view! {
        <section class="card" aria-labelledby="run-heading">
            <h2 id="run-heading">"Latest evaluation"</h2>
            <dl class="facts">
                <div><dt>"Version"</dt><dd class="mono">{run.version.clone()}</dd></div>
                <div><dt>"Evaluated"</dt><dd>{format::timestamp(&run.evaluated_at)}</dd></div>
                <div><dt>"Window"</dt><dd>{format::time_range(&run.window_from, &run.window_to)}</dd></div>
                <div><dt>"Rows"</dt><dd>{run.current_rows}</dd></div>
                <div><dt>"Dataset"</dt><dd>
                    <DriftBadge drifted=report.drifted />
                    {format!(" {} of {} features drifted", report.drifted_columns, report.compared_columns)}
                </dd></div>
            </dl>
            <FreshnessLine freshness />
            <DataTable label="Features by drift score" columns=&["Feature", "Kind", "Method", "Score", "Threshold", "Drift"]>
                        {columns.iter().map(|column| {
                            let name = column.column.clone();
                            let result = column.report.as_ref().and_then(|report| Some((report.kind, *report.results.first()?)));
                            let is_selected = { let name = name.clone(); move || selected_or_first.get() == name };
                            view! {
                                <tr class:selected=is_selected.clone() aria-selected=move || is_selected().to_string()>
                                    <td><button type="button" class="link-button" on:click=move |_| selected.set(Some(name.clone()))>{column.column.clone()}</button></td>
                                    {match result {
                                        Some((kind, result)) => view! {
                                            <td>{format!("{kind:?}").to_lowercase()}</td>
                                            <td class="mono">{result.method.name()}</td>
                                            <td>{format_score(result.value)}</td>
                                            <td>{format_score(result.threshold)}</td>
                                            <td><DriftBadge drifted=result.drifted /></td>
                                        }.into_any(),
                                        None => view! {
                                            <td colspan="4" class="muted">{column.error.clone().unwrap_or_default()}</td>
                                            <td><span class="badge health-no-data">"Not compared"</span></td>
                                        }.into_any(),
                                    }}
                                </tr>
                            }
                        }).collect_view()}
                    </DataTable>
        </section>
        <div class="chart-grid" id="feature-charts">
            <figure class="chart card">
                <figcaption class="chart-title">{move || format!("Distribution of {}", selected_or_first.get())}</figcaption>
                {move || {
                    let feature = selected_or_first.get();
                    let bins = histograms.iter().find(|histogram| histogram.feature == feature).map(|histogram| histogram.bins.clone()).unwrap_or_default();
                    view! { <HistogramOverlay feature bins /> }
                }}
            </figure>
            <figure class="chart card">
                <figcaption class="chart-title">{move || format!("Drift score of {} over time", selected_or_first.get())}</figcaption>
                {move || match history.get() {
                    None => view! { <div class="chart-empty" role="status">"Loading…"</div> }.into_any(),
                    Some(Err(error)) => view! { <div class="chart-empty" role="alert">{error.detail}</div> }.into_any(),
                    Some(Ok(history)) => view! { <ScoreHistory points=history.points /> }.into_any(),
                }}
            </figure>
        </div>
        <QualitySection run=run.clone() />
        {run.performance.map(|performance| view! { <PerformanceSection performance /> })}
    }
}

#[component]
fn QualitySection(run: DriftRun) -> impl IntoView {
    let percent = |share: f64| format!("{:.1} %", share * 100.0);
    let report = run.report;
    let distinct = |count: Option<usize>| {
        count.map_or_else(|| "—".to_owned(), |count| if count >= 1000 { "≥ 1000".into() } else { count.to_string() })
    };
    view! {
        <section class="card" aria-labelledby="quality-heading">
            <h2 id="quality-heading">"Data quality"</h2>
            <dl class="facts">
                <div><dt>"Duplicate rows"</dt><dd>{format!("{} reference, {} current", report.duplicate_rows_reference, report.duplicate_rows_current)}</dd></div>
                <div><dt>"Missing from live rows"</dt><dd>{if report.only_in_reference.is_empty() { "none".to_owned() } else { report.only_in_reference.join(", ") }}</dd></div>
                <div><dt>"Unknown to the reference"</dt><dd>{if report.only_in_current.is_empty() { "none".to_owned() } else { report.only_in_current.join(", ") }}</dd></div>
            </dl>
            <DataTable label="Data quality by feature" columns=&["Feature", "Missing (reference)", "Missing (current)", "Outside the reference", "Distinct (reference → current)", "Type"]>
                        {report.columns.iter().filter_map(|column| Some((column.column.clone(), column.quality.clone()?))).map(|(name, quality)| view! {
                            <tr>
                                <td>{name}</td>
                                <td>{percent(quality.missing_share_reference)}</td>
                                <td>{percent(quality.missing_share_current)}</td>
                                <td>{quality.unseen_share_current.map_or_else(|| "—".to_owned(), percent)}</td>
                                <td>{format!("{} → {}", distinct(quality.distinct_reference), distinct(quality.distinct_current))}</td>
                                <td>{quality.type_mismatch.unwrap_or_else(|| "same".into())}</td>
                            </tr>
                        }).collect_view()}
                    </DataTable>
        </section>
    }
}

#[component]
fn PerformanceSection(performance: PerformanceReport) -> impl IntoView {
    let PerformanceReport { current, baseline, degraded } = performance;
    view! {
        <section class="card" aria-labelledby="performance-heading">
            <h2 id="performance-heading">"Performance"</h2>
            <p class="muted">{format!("{} labelled predictions in the window ({}).", current.labelled_rows, format!("{:?}", current.task).to_lowercase())}</p>
            {(!degraded.is_empty()).then(|| view! {
                <div class="alert alert-error" role="alert">
                    <strong>"Worse than the reference. "</strong>{degraded.join("; ")}
                </div>
            })}
            <DataTable label="Performance" columns=&["Metric", "Current", "Reference", "Better when"]>
                        {current.metrics.iter().map(|metric| {
                            let reference = baseline.as_ref().and_then(|baseline| baseline.metrics.iter().find(|then| then.name == metric.name)).map(|then| format_score(then.value));
                            view! {
                                <tr>
                                    <td class="mono">{metric.name.clone()}</td>
                                    <td>{format_score(metric.value)}</td>
                                    <td>{reference.unwrap_or_else(|| "—".into())}</td>
                                    <td>{if lower_is_better(&metric.name) { "lower" } else { "higher" }}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </DataTable>
        </section>
    }
}
