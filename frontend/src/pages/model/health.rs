//! The model page's health section: status with its reasons and signals, the
//! thresholds it is judged by (editable by engineers), and the charts.

use chrono::{DateTime, NaiveDateTime, Utc};
use keel_shared::auth::Permission;
use keel_shared::health::{HealthThresholds, ModelHealth, signal_metrics};
use keel_shared::models::VersionSummary;
use keel_shared::{ErrorBody, ModelId};
use leptos::prelude::*;

use crate::api;
use crate::auth::use_auth;
use crate::components::{
    Annotation, FieldError, FormAlert, KeyNumbers, MetricChart, Statistic, TimeRange, Window, field_message,
};
use crate::live::use_live;
use crate::pages::IncidentStatsLine;

/// The metrics charted with their own titles and units; others get a plain chart.
const STANDARD_METRICS: [&str; 4] =
    [signal_metrics::LATENCY_MS, signal_metrics::ACCURACY, signal_metrics::ERROR_RATE, signal_metrics::THROUGHPUT];

#[component]
pub fn HealthSection(model_id: ModelId, versions: Vec<VersionSummary>) -> impl IntoView {
    let live = use_live();
    let shown = RwSignal::new(Window::Last(TimeRange::Day));
    let annotations: Signal<Vec<Annotation>> = Signal::stored(
        versions.into_iter().map(|version| Annotation { at: version.created_at, label: version.tag }).collect(),
    );
    let chart_model = model_id.clone();
    let custom_model = model_id.clone();
    let metrics_model = model_id.clone();
    let incidents_model = model_id.clone();
    // Every other metric the model reports gets a chart too; new ones appear live.
    let custom_metrics = LocalResource::new(move || {
        live.model_changes(&metrics_model);
        let model_id = metrics_model.clone();
        async move { api::model_metrics(&model_id).await }
    });
    let chart = move |metric: &'static str,
                      title: &'static str,
                      scale: f64,
                      unit: &'static str,
                      statistic: Statistic| {
        view! {
            <MetricChart model_id=chart_model.clone() metric title scale unit statistic window=shown.into() annotations />
        }
    };
    view! {
        <IncidentStatsLine model=incidents_model />
        <section aria-labelledby="health-heading" class="health">
            <div class="section-header">
                <h2 id="health-heading">"Health"</h2>
                <div class="segmented" role="group" aria-label="Time range">
                    {TimeRange::ALL.map(|option| view! {
                        <button
                            type="button"
                            class="segment"
                            aria-pressed=move || (shown.get() == Window::Last(option)).to_string()
                            on:click=move |_| shown.set(Window::Last(option))
                        >
                            {option.label()}
                        </button>
                    })}
                </div>
            </div>
            <CustomRange shown />
            {move || live.health_of(&model_id).map(|health| view! { <StatusSummary health /> })}
            <div class="chart-grid">
                {chart(signal_metrics::LATENCY_MS, "Latency", 1.0, "ms", Statistic::Quantiles)}
                {chart(signal_metrics::ACCURACY, "Accuracy", 100.0, "%", Statistic::Average)}
                {chart(signal_metrics::ERROR_RATE, "Error rate", 100.0, "%", Statistic::Average)}
                {chart(signal_metrics::THROUGHPUT, "Throughput", 1.0, "req/s", Statistic::Average)}
                {move || custom_metrics.get().and_then(Result::ok).map(|metrics| {
                    metrics
                        .into_iter()
                        .filter(|metric| !STANDARD_METRICS.contains(&metric.as_str()))
                        .map(|metric| view! {
                            <MetricChart
                                model_id=custom_model.clone()
                                metric=metric.clone()
                                title=metric
                                scale=1.0
                                unit=""
                                statistic=Statistic::Average
                                window=shown.into()
                                annotations
                            />
                        })
                        .collect_view()
                })}
            </div>
        </section>
    }
}

/// Two date-time fields for a fixed window (UTC), applied together. They show the range
/// on screen (a preset's too), so a custom range starts from what is shown.
#[component]
fn CustomRange(shown: RwSignal<Window>) -> impl IntoView {
    let format = |at: DateTime<Utc>| at.format("%Y-%m-%dT%H:%M").to_string();
    let (start, end) = shown.get_untracked().resolve();
    let from = RwSignal::new(format(start));
    let to = RwSignal::new(format(end));
    Effect::new(move || {
        let (start, end) = shown.get().resolve();
        from.set(format(start));
        to.set(format(end));
    });
    let problem = RwSignal::new(None::<String>);
    let apply = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let parse = |text: String| NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M").map(|at| at.and_utc());
        match (parse(from.get()), parse(to.get())) {
            (Ok(start), Ok(end)) if start < end => {
                problem.set(None);
                shown.set(Window::Between(start, end));
            }
            (Ok(_), Ok(_)) => problem.set(Some("The start must be before the end.".into())),
            _ => problem.set(Some("Enter both times as date and time.".into())),
        }
    };
    view! {
        <form class="custom-range" on:submit=apply aria-label="Custom time range">
            <label>"From (UTC) "<input type="datetime-local" name="from" prop:value=from on:input=move |event| from.set(event_target_value(&event)) /></label>
            <label>"To (UTC) "<input type="datetime-local" name="to" prop:value=to on:input=move |event| to.set(event_target_value(&event)) /></label>
            <button type="submit" class="button" aria-pressed=move || matches!(shown.get(), Window::Between(..)).to_string()>"Show range"</button>
            <span class="field-error" role="status">{move || problem.get()}</span>
        </form>
    }
}

#[component]
fn StatusSummary(health: ModelHealth) -> impl IntoView {
    let can_edit = use_auth().can(Permission::WriteModels);
    let ModelHealth { model_id, status, reasons, signals, thresholds, .. } = health;
    view! {
        <div class="card status-summary">
            <p class="status-line">
                <strong>{status.label()}</strong>
                {if reasons.is_empty() { " — every signal is within its thresholds.".to_owned() } else { format!(" — {}.", reasons.join("; ")) }}
            </p>
            <KeyNumbers signals />
            <details class="thresholds">
                <summary>"Thresholds"</summary>
                {if can_edit {
                    view! { <ThresholdsForm model_id thresholds /> }.into_any()
                } else {
                    view! { <ThresholdsList thresholds /> }.into_any()
                }}
            </details>
        </div>
    }
}

#[component]
fn ThresholdsList(thresholds: HealthThresholds) -> impl IntoView {
    let percent = |value: f64| format!("{:.1} %", value * 100.0);
    view! {
        <dl class="facts">
            <div><dt>"Accuracy"</dt><dd>{format!("degraded below {}, critical below {}", percent(thresholds.accuracy_degraded_below), percent(thresholds.accuracy_critical_below))}</dd></div>
            <div><dt>"p95 latency"</dt><dd>{format!("degraded above {} ms, critical above {} ms", thresholds.latency_p95_degraded_above_ms, thresholds.latency_p95_critical_above_ms)}</dd></div>
            <div><dt>"Error rate"</dt><dd>{format!("degraded above {}, critical above {}", percent(thresholds.error_rate_degraded_above), percent(thresholds.error_rate_critical_above))}</dd></div>
            <div><dt>"No data"</dt><dd>{format!("after {} minutes without telemetry", thresholds.no_data_after_minutes)}</dd></div>
        </dl>
    }
}

/// One threshold: (field, label, unit, factor from stored value to shown value).
const FIELDS: [(&str, &str, &str, f64); 7] = [
    ("accuracy_degraded_below", "Accuracy degraded below", "%", 100.0),
    ("accuracy_critical_below", "Accuracy critical below", "%", 100.0),
    ("latency_p95_degraded_above_ms", "p95 latency degraded above", "ms", 1.0),
    ("latency_p95_critical_above_ms", "p95 latency critical above", "ms", 1.0),
    ("error_rate_degraded_above", "Error rate degraded above", "%", 100.0),
    ("error_rate_critical_above", "Error rate critical above", "%", 100.0),
    ("no_data_after_minutes", "No data after", "min", 1.0),
];

#[component]
fn ThresholdsForm(model_id: ModelId, thresholds: HealthThresholds) -> impl IntoView {
    let stored = serde_json::to_value(thresholds).unwrap_or_default();
    let inputs: Vec<RwSignal<String>> = FIELDS
        .iter()
        .map(|(field, _, _, factor)| {
            let shown = stored[field].as_f64().map(|value| value * factor).unwrap_or_default();
            RwSignal::new(format!("{}", (shown * 1000.0).round() / 1000.0))
        })
        .collect();
    let save = Action::new_local(move |thresholds: &HealthThresholds| {
        let (model_id, thresholds) = (model_id.clone(), *thresholds);
        async move { api::set_health_thresholds(&model_id, &thresholds).await }
    });
    let client_error = RwSignal::new(None::<ErrorBody>);
    let error: Signal<Option<ErrorBody>> =
        Signal::derive(move || client_error.get().or_else(|| save.value().get().and_then(Result::err)));
    let live = use_live();
    Effect::new(move || {
        if let Some(Ok(health)) = save.value().get() {
            live.health.update(|all| {
                all.insert(health.model_id.clone(), health);
            });
        }
    });
    let fields_for_submit = inputs.clone();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let mut values = serde_json::Map::new();
        let mut problems = keel_shared::validation::FieldErrors::new();
        for ((field, _, _, factor), input) in FIELDS.iter().zip(&fields_for_submit) {
            match input.get_untracked().trim().parse::<f64>() {
                Ok(value) if *field == "no_data_after_minutes" => {
                    values.insert((*field).into(), serde_json::json!(value.round() as i64));
                }
                Ok(value) => {
                    values.insert((*field).into(), serde_json::json!(value / factor));
                }
                Err(_) => {
                    problems.insert((*field).into(), "must be a number".into());
                }
            }
        }
        match serde_json::from_value::<HealthThresholds>(serde_json::Value::Object(values)) {
            Ok(thresholds) if problems.is_empty() => {
                client_error.set(None);
                save.dispatch(thresholds);
            }
            _ => client_error.set(Some(ErrorBody {
                kind: "/problems/validation".into(),
                title: "Invalid thresholds".into(),
                status: 422,
                detail: "Some thresholds are not numbers.".into(),
                fields: problems,
            })),
        }
    };
    view! {
        <form class="form thresholds-form" on:submit=submit>
            <FormAlert error />
            <div class="form-row form-row-wrap">
                {FIELDS.iter().zip(inputs).map(|((field, label, unit, _), value)| {
                    let id = format!("threshold-{field}");
                    let error_id = format!("{id}-error");
                    let message = field_message(error, field);
                    view! {
                        <div class="field">
                            <label for=id.clone()>{format!("{label} ({unit})")}</label>
                            <input
                                id=id
                                name=*field
                                inputmode="decimal"
                                aria-describedby=error_id.clone()
                                aria-invalid=move || message.get().is_some().to_string()
                                prop:value=value
                                on:input=move |event| value.set(event_target_value(&event))
                            />
                            <FieldError id=error_id message />
                        </div>
                    }
                }).collect_view()}
            </div>
            <button type="submit" class="button button-primary" disabled=move || save.pending().get()>
                {move || if save.pending().get() { "Saving…" } else { "Save thresholds" }}
            </button>
            {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <p class="muted" role="status">"Saved."</p> })}
        </form>
    }
}
