//! The stakeholder page: models in production with their health, open incidents and SLA
//! breaches, approvals waiting, KPI traffic lights with their ranges, ROI and payback per
//! model and programme in EUR or CZK, over a chosen range — live.

use keel_shared::ErrorBody;
use keel_shared::auth::Permission;
use keel_shared::kpis::{KpiAggregation, KpiCadence, KpiDefinition, KpiDirection, KpiSource, KpiStatus, KpiUnit};
use keel_shared::ledger::ReportCurrency;
use keel_shared::reports::{KpiLight, ModelValue, ProgrammeValue, StakeholderQuery, StakeholderView};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::auth::use_auth;
use crate::components::{
    CsvDownload, DataTable, FormAlert, ModelSelect, chosen_file, csv_text, loaded, status_class, use_models,
};
use crate::format;
use crate::live::use_live;

/// The range choices, in months.
const RANGES: [u32; 4] = [3, 6, 12, 36];

pub fn light_class(status: KpiStatus) -> &'static str {
    match status {
        KpiStatus::OnTrack => "light light-green",
        KpiStatus::AtRisk => "light light-amber",
        KpiStatus::OffTrack => "light light-red",
        KpiStatus::Stale | KpiStatus::NoData => "light light-grey",
    }
}

/// A value with its range: `27 (25–29) %`.
pub fn ranged(light: &KpiLight) -> String {
    match &light.latest {
        None => "—".into(),
        Some(value) => match (value.low, value.high) {
            (Some(low), Some(high)) if low != high => format!(
                "{} ({}–{}) {}",
                format::value(value.likely),
                format::value(low),
                format::value(high),
                light.unit
            ),
            _ => format!("{} {}", format::value(value.likely), light.unit),
        },
    }
}

#[component]
fn KpiLightBadge(light: KpiLight) -> impl IntoView {
    let title = format!(
        "{}: {} — latest {}, planned {:.1}",
        light.name,
        light.status.label(),
        ranged(&light),
        light.planned_now
    );
    view! {
        <a class="kpi-light" href=format!("/kpis/{}", light.id) title=title.clone() aria-label=title>
            <span class=light_class(light.status) aria-hidden="true"></span>
            {light.name.clone()}
        </a>
    }
}

#[component]
pub fn BusinessPage() -> impl IntoView {
    let live = use_live();
    let currency = RwSignal::new(ReportCurrency::Eur);
    let months = RwSignal::new(12_u32);
    let query = Memo::new(move |_| StakeholderQuery { currency: currency.get(), months: months.get() });
    let view_data = LocalResource::new(move || {
        live.business_changes();
        live.incident_changes();
        live.change_request_changes();
        let query = query.get();
        async move { api::stakeholder(&query).await }
    });
    let chart_url = move || api::stakeholder_chart_url(&query.get(), live.business_changes() + live.incident_changes());
    view! {
        <div class="page-header">
            <div>
                <h1>"Business value"</h1>
                <p class="page-lede">"What each model delivers against its business case, whether it pays back, and whether it is healthy and well governed."</p>
            </div>
            <div class="toolbar">
                <div class="segmented" role="group" aria-label="Currency">
                    {[ReportCurrency::Eur, ReportCurrency::Czk].into_iter().map(|choice| view! {
                        <button type="button" class="segment" aria-pressed=move || (currency.get() == choice).to_string() on:click=move |_| currency.set(choice)>{choice.as_str()}</button>
                    }).collect_view()}
                </div>
                <label class="inline-label">"Range "
                    <select aria-label="Range" on:change=move |event| months.set(event_target_value(&event).parse().unwrap_or(12))>
                        {RANGES.into_iter().map(|choice| view! { <option value=choice.to_string() selected=choice == 12>{format!("{choice} months")}</option> }).collect_view()}
                    </select>
                </label>
                <a class="button" href="/reports/governance">"Governance report"</a>
            </div>
        </div>
        {loaded(view_data, "the business figures", move |data| view! { <Stakeholder data chart_url=Signal::derive(chart_url) /> }.into_any())}
        <NewKpi />
        <RatesUpload />
    }
}

/// Importing a CNB or ECB exchange-rate file, for those who keep the ledgers.
#[component]
fn RatesUpload() -> impl IntoView {
    let auth = use_auth();
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);
    let upload = move |event: leptos::ev::Event| {
        let Some((input, file)) = chosen_file(&event) else { return };
        spawn_local(async move {
            match api::upload_rates(file).await {
                Ok(imported) => {
                    error.set(None);
                    notice.set(Some(format!(
                        "{}: {} rates over {} days imported ({} to {}).",
                        imported.source,
                        imported.rates,
                        imported.days,
                        imported.first_day.map(|day| day.to_string()).unwrap_or_default(),
                        imported.last_day.map(|day| day.to_string()).unwrap_or_default()
                    )));
                }
                Err(body) => error.set(Some(body)),
            }
            input.set_value("");
        });
    };
    view! {
        <Show when=move || auth.can(Permission::EditKpis)>
            <section class="card" aria-labelledby="rates-heading">
                <h2 id="rates-heading">"Exchange rates"</h2>
                <FormAlert error=Signal::from(error) />
                {move || notice.get().map(|text| view! { <p class="notice" role="status">{text}</p> })}
                <label class="file-label">"Import the CNB daily or yearly fixing (denni_kurz.txt, rok.txt) or the ECB reference rates (eurofxref CSV): "
                    <input type="file" accept=".txt,.csv,text/plain,text/csv" on:change=upload /></label>
            </section>
        </Show>
    }
}

#[component]
fn Stakeholder(data: StakeholderView, chart_url: Signal<String>) -> impl IntoView {
    let currency = data.currency.as_str();
    let fleet = data.fleet.clone();
    let fleet_net = fleet.roi.as_ref().map_or("—".into(), |roi| format::money(roi.net_value, currency));
    let fleet_range = fleet.range.as_ref().map(|range| {
        format!(
            "P10 {} · P50 {} · P90 {}",
            format::money(range.p10, currency),
            format::money(range.p50, currency),
            format::money(range.p90, currency)
        )
    });
    view! {
        <section class="summary-cards" aria-label="Summary">
            <div class="card summary-card"><span class="summary-label">"Net value to date"</span><strong>{fleet_net}</strong>
                {fleet_range.map(|range| view! { <span class="cell-sub" title=fleet.range.as_ref().map(|range| range.label.clone()).unwrap_or_default()>{range}" (simulated)"</span> })}</div>
            <div class="card summary-card"><span class="summary-label">"Open incidents"</span><strong>{data.open_incidents}</strong>
                <span class="cell-sub">{format!("{} past their SLA", data.sla_breaches)}</span></div>
            <div class="card summary-card"><span class="summary-label">"Approvals waiting"</span><strong>{data.approvals_waiting}</strong>
                <a class="cell-sub" href="/changes">"Changes"</a></div>
        </section>
        <figure class="card chart-card">
            <img class="server-chart" src=chart_url alt="Cumulative net value of all models per month" />
        </figure>
        <Models models=data.models.clone() currency />
        <Programmes programmes=data.programmes.clone() currency />
        <Kpis models=data.models programmes=data.programmes />
    }
}

fn payback_text(model: &ModelValue) -> String {
    model.roi.as_ref().map_or_else(
        || "—".into(),
        |roi| {
            let actual = format::months(roi.payback_months, roi.months_covered);
            match roi.planned_payback_months {
                Some(plan) => format!("{actual} (plan {plan:.1})"),
                None => actual,
            }
        },
    )
}

#[component]
fn Models(models: Vec<ModelValue>, currency: &'static str) -> impl IntoView {
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|model| {
            vec![
                model.name.clone(),
                model.production_version.clone().unwrap_or_default(),
                model.health.map(|health| health.label().to_owned()).unwrap_or_default(),
                model.open_incidents.to_string(),
                model.sla_breaches.to_string(),
                model.approvals_waiting.to_string(),
                model.roi.as_ref().map(|roi| format!("{:.2}", roi.net_value)).unwrap_or_default(),
                model.roi.as_ref().and_then(|roi| roi.roi).map(|roi| format!("{roi:.4}")).unwrap_or_default(),
                model
                    .roi
                    .as_ref()
                    .and_then(|roi| roi.payback_months)
                    .map(|months| format!("{months:.2}"))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let csv = csv_text(
        &[
            "model",
            "production_version",
            "health",
            "open_incidents",
            "sla_breaches",
            "approvals_waiting",
            "net_value",
            "roi",
            "payback_months",
        ],
        &rows,
    );
    view! {
        <section class="card" aria-labelledby="models-heading">
            <div class="card-header">
                <h2 id="models-heading">"Models"</h2>
                <CsvDownload filename=format!("models-{currency}.csv") csv=Signal::derive(move || csv.clone()) />
            </div>
            {if models.is_empty() {
                view! { <p class="muted">"No model is in production or has a ledger or KPIs yet."</p> }.into_any()
            } else {
                view! {
                    <DataTable label="Models" columns=&["Model", "Health", "Incidents", "Approvals waiting", "KPIs", "Net value", "ROI", "Payback"] numeric=&["Net value", "ROI"]>
                            {models.into_iter().map(|model| {
                                let health = model.health.map(|health| view! { <span class=status_class(health)>{health.label()}</span> });
                                let net = model.roi.as_ref().map_or_else(|| model.roi_problem.clone().map_or("No ledger".into(), |_| "No euro rate".into()), |roi| format::money(roi.net_value, currency));
                                let roi = model.roi.as_ref().and_then(|roi| roi.roi).map_or("—".into(), format::percent);
                                let payback = payback_text(&model);
                                view! {
                                    <tr>
                                        <td><a href=format!("/models/{}/value", model.model_id)>{model.name.clone()}</a>
                                            <div class="cell-sub">{model.production_version.clone().map_or("not in production".into(), |tag| format!("{tag} in production"))}</div></td>
                                        <td>{health}</td>
                                        <td>{model.open_incidents}{(model.sla_breaches > 0).then(|| view! { <span class="badge health-critical">{format!("{} SLA", model.sla_breaches)}</span> })}</td>
                                        <td>{model.approvals_waiting}</td>
                                        <td class="kpi-lights">{model.kpis.into_iter().map(|light| view! { <KpiLightBadge light /> }).collect_view()}</td>
                                        <td class="numeric" title=model.roi_problem.clone().unwrap_or_default()>{net}</td>
                                        <td class="numeric">{roi}</td>
                                        <td>{payback}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </DataTable>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Programmes(programmes: Vec<ProgrammeValue>, currency: &'static str) -> impl IntoView {
    if programmes.is_empty() {
        return ().into_any();
    }
    let rows: Vec<Vec<String>> = programmes
        .iter()
        .map(|programme| {
            let range = programme.range.as_ref();
            vec![
                programme.name.clone(),
                programme.models.len().to_string(),
                programme.roi.as_ref().map(|roi| format!("{:.2}", roi.net_value)).unwrap_or_default(),
                range.map(|range| format!("{:.2}", range.p10)).unwrap_or_default(),
                range.map(|range| format!("{:.2}", range.p50)).unwrap_or_default(),
                range.map(|range| format!("{:.2}", range.p90)).unwrap_or_default(),
                range.map(|range| format!("{:.4}", range.payback_probability)).unwrap_or_default(),
            ]
        })
        .collect();
    let csv = csv_text(&["programme", "models", "net_value", "p10", "p50", "p90", "payback_probability"], &rows);
    view! {
        <section class="card" aria-labelledby="programmes-heading">
            <div class="card-header">
                <h2 id="programmes-heading">"Programmes"</h2>
                <CsvDownload filename=format!("programmes-{currency}.csv") csv=Signal::derive(move || csv.clone()) />
            </div>
            <DataTable label="Programmes" columns=&["Programme", "Net value", "Simulated net value (P10 / P50 / P90)", "Payback within 36 months", "Payback"] numeric=&["Net value"]>
                    {programmes.into_iter().map(|programme| {
                        let label = programme.range.as_ref().map(|range| range.label.clone()).unwrap_or_default();
                        view! {
                            <tr>
                                <td>{programme.name.clone()}<div class="cell-sub">{format::count(programme.models.len() as u64, "model", "models")}</div></td>
                                <td class="numeric">{programme.roi.as_ref().map_or("—".into(), |roi| format::money(roi.net_value, currency))}</td>
                                <td title=label>{programme.range.as_ref().map_or("—".into(), |range| format!("{} / {} / {}", format::money(range.p10, currency), format::money(range.p50, currency), format::money(range.p90, currency)))}</td>
                                <td>{programme.range.as_ref().map_or("—".into(), |range| format!("{} of draws", format::percent(range.payback_probability)))}</td>
                                <td>{programme.roi.as_ref().map_or("—".into(), |roi| format::months(roi.payback_months, roi.months_covered))}</td>
                            </tr>
                        }
                    }).collect_view()}
                </DataTable>
            <p class="muted">"The simulated figures draw each model's cost and benefit lines from their low / likely / high estimates: a spread of estimates, not a confidence interval."</p>
        </section>
    }
    .into_any()
}

#[component]
fn Kpis(models: Vec<ModelValue>, programmes: Vec<ProgrammeValue>) -> impl IntoView {
    // Each model's KPIs, then each programme's: its own and the sums of its models'.
    let owner = |name: &str, light: &KpiLight| match light.models_summed {
        0 => name.to_owned(),
        count => format!("{name} (sum of {})", format::count(u64::from(count), "model", "models")),
    };
    let lights: Vec<(String, KpiLight)> =
        models
            .iter()
            .flat_map(|model| model.kpis.iter().map(|light| (model.name.clone(), light.clone())))
            .chain(programmes.iter().flat_map(|programme| {
                programme.kpis.iter().map(|light| (owner(&programme.name, light), light.clone()))
            }))
            .collect();
    let rows: Vec<Vec<String>> = lights
        .iter()
        .map(|(model, light)| {
            let latest = light.latest.as_ref();
            vec![
                model.clone(),
                light.name.clone(),
                light.unit.to_string(),
                light.status.to_string(),
                latest.map(|value| value.day.to_string()).unwrap_or_default(),
                latest.and_then(|value| value.low).map(|low| low.to_string()).unwrap_or_default(),
                latest.map(|value| value.likely.to_string()).unwrap_or_default(),
                latest.and_then(|value| value.high).map(|high| high.to_string()).unwrap_or_default(),
                format!("{:.2}", light.planned_now),
                light.target.to_string(),
            ]
        })
        .collect();
    let csv = csv_text(&["model", "kpi", "unit", "status", "day", "low", "likely", "high", "planned", "target"], &rows);
    view! {
        <section class="card" aria-labelledby="kpis-heading">
            <div class="card-header">
                <h2 id="kpis-heading">"KPIs"</h2>
                <CsvDownload filename="kpis.csv" csv=Signal::derive(move || csv.clone()) />
            </div>
            {if lights.is_empty() {
                view! { <p class="muted">"No KPIs yet: define one below."</p> }.into_any()
            } else {
                view! {
                    <DataTable label="KPIs" columns=&["KPI", "Status", "Latest (range)", "Planned now", "Target"] numeric=&["Planned now", "Target"]>
                            {lights.into_iter().map(|(model, light)| view! {
                                <tr>
                                    <td>
                                        {if light.id.is_empty() {
                                            view! { <span>{light.name.clone()}</span> }.into_any()
                                        } else {
                                            view! { <a href=format!("/kpis/{}", light.id)>{light.name.clone()}</a> }.into_any()
                                        }}
                                        <div class="cell-sub">{model}</div>
                                    </td>
                                    <td><span class=light_class(light.status) aria-hidden="true"></span>" "{light.status.label()}</td>
                                    <td>{ranged(&light)}</td>
                                    <td class="numeric">{format!("{:.1}", light.planned_now)}</td>
                                    <td class="numeric">{light.target}</td>
                                </tr>
                            }).collect_view()}
                        </DataTable>
                }.into_any()
            }}
        </section>
    }
}

/// Defining a KPI, for those who keep them.
#[component]
fn NewKpi() -> impl IntoView {
    let auth = use_auth();
    let models = use_models();
    let model = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    // Each select starts on its first option, so the signals start there too.
    let unit = RwSignal::new(KpiUnit::ALL[0]);
    let direction = RwSignal::new(KpiDirection::HigherIsBetter);
    let cadence = RwSignal::new(KpiCadence::Monthly);
    let baseline = RwSignal::new(String::new());
    let target = RwSignal::new(String::new());
    let baseline_date = RwSignal::new(String::new());
    let target_date = RwSignal::new(String::new());
    let owner = RwSignal::new(String::new());
    // Measured from telemetry when a metric is named.
    let metric = RwSignal::new(String::new());
    let aggregation = RwSignal::new(KpiAggregation::Avg);
    let scale = RwSignal::new("1".to_owned());
    let error = RwSignal::new(None::<ErrorBody>);
    let created = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let number = |text: String| text.trim().parse::<f64>().unwrap_or(f64::NAN);
        let day = |text: String| text.parse().unwrap_or_default();
        let definition = KpiDefinition {
            name: name.get_untracked(),
            unit: unit.get_untracked(),
            direction: direction.get_untracked(),
            model_id: Some(keel_shared::ModelId(model.get_untracked())).filter(|model| !model.0.is_empty()),
            programme: None,
            baseline: number(baseline.get_untracked()),
            baseline_date: day(baseline_date.get_untracked()),
            target: number(target.get_untracked()),
            target_date: day(target_date.get_untracked()),
            owner: owner.get_untracked(),
            cadence: cadence.get_untracked(),
            source: Some(metric.get_untracked().trim().to_owned()).filter(|metric| !metric.is_empty()).map(|metric| {
                KpiSource { metric, aggregation: aggregation.get_untracked(), scale: number(scale.get_untracked()) }
            }),
        };
        spawn_local(async move {
            match api::create_kpi(&definition).await {
                Ok(kpi) => {
                    error.set(None);
                    created.set(Some(kpi.id));
                    name.set(String::new());
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let select = |options: Vec<(&'static str, &'static str)>, on_change: Box<dyn Fn(String)>, label: &'static str| {
        view! {
            <label>{label}
                <select on:change=move |event| on_change(event_target_value(&event))>
                    {options.into_iter().map(|(value, text)| view! { <option value=value>{text}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <Show when=move || auth.can(Permission::EditKpis)>
            <section class="card" aria-labelledby="new-kpi-heading">
                <h2 id="new-kpi-heading">"Define a KPI"</h2>
                <FormAlert error=Signal::from(error) />
                {move || created.get().map(|id| view! { <p class="notice" role="status">"KPI defined. "<a href=format!("/kpis/{id}")>"Enter its values"</a></p> })}
                <form class="form-grid" on:submit=submit>
                    <label>"Model"<ModelSelect models=models value=model empty="Choose a model" /></label>
                    <label>"Name"<input required prop:value=name on:input=move |event| name.set(event_target_value(&event)) placeholder="Manual review rate" /></label>
                    {select(KpiUnit::ALL.iter().map(|unit| (unit.as_str(), unit.as_str())).collect(), Box::new(move |value| unit.set(value.parse().unwrap_or(KpiUnit::Percent))), "Unit")}
                    {select(vec![("higher", "Higher is better"), ("lower", "Lower is better")], Box::new(move |value| direction.set(value.parse().unwrap_or(KpiDirection::HigherIsBetter))), "Direction")}
                    <label>"Baseline"<input required inputmode="decimal" prop:value=baseline on:input=move |event| baseline.set(event_target_value(&event)) /></label>
                    <label>"Baseline date"<input required type="date" prop:value=baseline_date on:input=move |event| baseline_date.set(event_target_value(&event)) /></label>
                    <label>"Target"<input required inputmode="decimal" prop:value=target on:input=move |event| target.set(event_target_value(&event)) /></label>
                    <label>"Target date"<input required type="date" prop:value=target_date on:input=move |event| target_date.set(event_target_value(&event)) /></label>
                    {select(vec![("monthly", "Monthly"), ("weekly", "Weekly"), ("daily", "Daily")], Box::new(move |value| cadence.set(value.parse().unwrap_or(KpiCadence::Monthly))), "Cadence")}
                    <label>"Owner"<input prop:value=owner on:input=move |event| owner.set(event_target_value(&event)) placeholder="Head of Operations" /></label>
                    <label>"Measured from metric (optional)"<input prop:value=metric on:input=move |event| metric.set(event_target_value(&event)) placeholder="manual_review_rate" /></label>
                    {select(KpiAggregation::ALL.iter().map(|aggregation| (aggregation.as_str(), aggregation.as_str())).collect(), Box::new(move |value| aggregation.set(value.parse().unwrap_or(KpiAggregation::Avg))), "Aggregation per period")}
                    <label>"Scale"<input inputmode="decimal" prop:value=scale on:input=move |event| scale.set(event_target_value(&event)) title="100 shows a 0–1 share in %" /></label>
                    <div class="form-actions"><button type="submit" class="button button-primary">"Define KPI"</button></div>
                </form>
            </section>
        </Show>
    }
}
