//! A model's business value: ROI, payback (actual and planned), NPV and IRR in EUR or
//! CZK, the cumulative net value chart, its KPIs, the ledger (upload all or nothing,
//! download, every entry with the rate it was converted at) and the incident cost.

use keel_shared::auth::Permission;
use keel_shared::kpis::KpiQuery;
use keel_shared::ledger::{IncidentCost, Ledger, ReportCurrency, RoiQuery};
use keel_shared::{ErrorBody, ModelId};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::business::light_class;
use crate::api;
use crate::auth::use_auth;
use crate::components::{DataTable, FormAlert, chosen_file, loaded, local_error};
use crate::format;
use crate::live::use_live;

#[component]
pub fn ValuePage() -> impl IntoView {
    let params = use_params_map();
    let live = use_live();
    let auth = use_auth();
    let model = Memo::new(move |_| ModelId(params.read().get("id").unwrap_or_default()));
    let currency = RwSignal::new(ReportCurrency::Eur);
    let query = Memo::new(move |_| RoiQuery { currency: currency.get(), ..RoiQuery::default() });
    let figures = LocalResource::new(move || {
        live.business_changes();
        let (model, query) = (model.get(), query.get());
        async move { api::roi(&model, &query).await }
    });
    let ledger = LocalResource::new(move || {
        live.business_changes();
        let model = model.get();
        async move { api::ledger(&model).await }
    });
    let kpis = LocalResource::new(move || {
        live.business_changes();
        let model = model.get();
        async move { api::list_kpis(&KpiQuery { model_id: Some(model.0), programme: None }).await }
    });
    let chart = move || api::roi_chart_url(&model.get(), &query.get(), live.business_changes());
    view! {
        <div class="page-header">
            <div>
                <p class="breadcrumb"><a href=move || format!("/models/{}", model.get())>"Model"</a>" / "<a href="/business">"Business value"</a></p>
                <h1>"Business value"</h1>
                <p class="page-lede">"Month 0 is the first ledger month; payback is interpolated inside the month the cumulative net value crosses zero; NPV discounts at 8 % a year."</p>
            </div>
            <div class="segmented" role="group" aria-label="Currency">
                {[ReportCurrency::Eur, ReportCurrency::Czk].into_iter().map(|choice| view! {
                    <button type="button" class="segment" aria-pressed=move || (currency.get() == choice).to_string() on:click=move |_| currency.set(choice)>{choice.as_str()}</button>
                }).collect_view()}
            </div>
        </div>
        {loaded(figures, "the figures", move |value| match value {
            figures if figures.months.is_empty() => view! {
                <section class="card"><p class="muted">"No ledger yet: upload the model's costs and benefits below."</p></section>
            }.into_any(),
            figures => {
                let currency = figures.currency.as_str();
                view! {
                    <section class="summary-cards" aria-label="Figures">
                        <div class="card summary-card"><span class="summary-label">"Net value"</span><strong>{format::money(figures.net_value, currency)}</strong>
                            <span class="cell-sub">{format!("{} benefits − {} costs", format::money(figures.total_benefit, currency), format::money(figures.total_cost, currency))}</span></div>
                        <div class="card summary-card"><span class="summary-label">"ROI"</span><strong>{figures.roi.map_or("—".into(), format::percent)}</strong>
                            <span class="cell-sub">{format!("NPV {} · IRR {} a month", format::money(figures.npv, currency), figures.irr_monthly.map_or("—".into(), |irr| format!("{:.2} %", irr * 100.0)))}</span></div>
                        <div class="card summary-card"><span class="summary-label">"Payback"</span><strong>{format::months(figures.payback_months, figures.months_covered)}</strong>
                            <span class="cell-sub">{figures.planned_payback_months.map_or("no plan rows".into(), |plan| format!("business case: {plan:.1} months"))}</span></div>
                    </section>
                }.into_any()
            }
        })}
        <figure class="card chart-card"><img class="server-chart" src=chart alt="Cumulative net value per month, actual and planned" /></figure>
        <section class="card" aria-labelledby="model-kpis-heading">
            <h2 id="model-kpis-heading">"KPIs"</h2>
            {move || kpis.get().and_then(Result::ok).map(|list| if list.is_empty() {
                view! { <p class="muted">"No KPIs for this model. "<a href="/business">"Define one"</a></p> }.into_any()
            } else {
                view! {
                    <ul class="kpi-list">
                        {list.into_iter().map(|kpi| view! {
                            <li><span class=light_class(kpi.status) aria-hidden="true"></span>" "<a href=format!("/kpis/{}", kpi.id)>{kpi.definition.name.clone()}</a>" — "{kpi.status.label()}</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
        {move || auth.can(Permission::EditKpis).then(|| view! { <LedgerUpload model=model.get() /> })}
        {loaded(ledger, "the ledger", move |ledger| view! { <LedgerTable ledger /> }.into_any())}
    }
}

#[component]
fn LedgerUpload(model: ModelId) -> impl IntoView {
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);
    let per_minute = RwSignal::new(String::new());
    let cost_currency = RwSignal::new(ReportCurrency::Czk);
    let czk_per_eur = RwSignal::new(String::new());
    let upload = {
        let model = model.clone();
        move |event: leptos::ev::Event| {
            let Some((input, file)) = chosen_file(&event) else { return };
            let model = model.clone();
            spawn_local(async move {
                match api::upload_ledger(&model, file).await {
                    Ok(ledger) => {
                        error.set(None);
                        notice.set(Some(format!("Ledger replaced: {} entries.", ledger.entries.len())));
                    }
                    Err(body) => error.set(Some(body)),
                }
                input.set_value("");
            });
        }
    };
    let save_cost = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Ok(amount) = per_minute.get_untracked().trim().parse::<f64>() else {
            error.set(Some(local_error("per_minute", "enter the cost of a minute of downtime as a number")));
            return;
        };
        let cost = IncidentCost {
            per_minute: amount,
            currency: cost_currency.get_untracked(),
            czk_per_eur: czk_per_eur.get_untracked().trim().parse().ok(),
        };
        let model = model.clone();
        spawn_local(async move {
            match api::set_incident_cost(&model, &cost).await {
                Ok(_) => {
                    error.set(None);
                    notice.set(Some("Incident cost saved; the incidents' entries were rewritten.".into()));
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="upload-heading">
            <h2 id="upload-heading">"Update the ledger"</h2>
            <FormAlert error=Signal::from(error) />
            {move || notice.get().map(|text| view! { <p class="notice" role="status">{text}</p> })}
            <label class="file-label">"Replace the ledger with a CSV (month,kind,category,amount,currency,czk_per_unit[,low,high,planned]; all rows or none): "
                <input type="file" accept=".csv,text/csv" on:change=upload /></label>
            <form class="inline-form" on:submit=save_cost>
                <label>"Incident downtime costs "<input inputmode="decimal" aria-label="Cost per minute" prop:value=per_minute on:input=move |event| per_minute.set(event_target_value(&event)) /></label>
                <select aria-label="Currency of the incident cost" on:change=move |event| cost_currency.set(if event_target_value(&event) == "EUR" { ReportCurrency::Eur } else { ReportCurrency::Czk })>
                    <option value="CZK">"CZK"</option><option value="EUR">"EUR"</option>
                </select>
                <span>" a minute; CZK per EUR when no fixing covers a month "</span>
                <input inputmode="decimal" aria-label="CZK per EUR" prop:value=czk_per_eur on:input=move |event| czk_per_eur.set(event_target_value(&event)) placeholder="25.0" />
                <button type="submit" class="button button-small">"Save"</button>
            </form>
        </section>
    }
}

#[component]
fn LedgerTable(ledger: Ledger) -> impl IntoView {
    let download = api::ledger_csv_url(&ledger.model_id);
    view! {
        <section class="card" aria-labelledby="ledger-heading">
            <div class="card-header">
                <h2 id="ledger-heading">"Ledger"</h2>
                <a class="button button-small" href=download download="">"Export CSV"</a>
            </div>
            {ledger.incident_cost.as_ref().map(|cost| view! { <p class="muted">{format!("Incidents cost {} {} a minute of downtime (detected → mitigated).", cost.per_minute, cost.currency)}</p> })}
            {if ledger.entries.is_empty() {
                view! { <p class="muted">"No entries."</p> }.into_any()
            } else {
                view! {
                    <DataTable label="Ledger entries" columns=&["Month", "Category", "Amount", "Range", "Rate", ""] numeric=&["Amount"]>
                            {ledger.entries.into_iter().map(|entry| view! {
                                <tr>
                                    <td>{entry.month.to_string()}</td>
                                    <td>{entry.category.label()}<div class="cell-sub">{entry.kind.to_string()}</div></td>
                                    <td class="numeric">{format!("{:.2} {}", entry.amount, entry.currency)}</td>
                                    <td>{match (entry.low, entry.high) { (Some(low), Some(high)) => format!("{low}–{high}"), _ => "exact".into() }}</td>
                                    <td>{format!("{:.4} CZK", entry.czk_per_unit)}<div class="cell-sub">{entry.rate_source.clone()}</div></td>
                                    <td>{if entry.planned { "plan" } else if entry.incident_id.is_some() { "from an incident" } else { "" }}</td>
                                </tr>
                            }).collect_view()}
                        </DataTable>
                }.into_any()
            }}
        </section>
    }
}
