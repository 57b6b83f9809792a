//! One KPI: its traffic light, its chart (values with their ranges against the planned
//! path, drawn by the server), entering a value or uploading a CSV of values — the chart
//! and the light follow without a reload.

use keel_shared::ErrorBody;
use keel_shared::auth::Permission;
use keel_shared::kpis::{Kpi, KpiValue, KpiValuesRequest};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::business::light_class;
use crate::api;
use crate::auth::use_auth;
use crate::components::{CsvDownload, DataTable, FormAlert, chosen_file, csv_text, loaded};
use crate::format;
use crate::live::use_live;

#[component]
pub fn KpiPage() -> impl IntoView {
    let params = use_params_map();
    let live = use_live();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let kpi = LocalResource::new(move || {
        live.business_changes();
        let id = id.get();
        async move { api::get_kpi(&id).await }
    });
    view! {
        {loaded(kpi, "the KPI", move |kpi| view! { <KpiView kpi revision=live.business_changes() /> }.into_any())}
    }
}

#[component]
fn KpiView(kpi: Kpi, revision: u64) -> impl IntoView {
    let auth = use_auth();
    let definition = kpi.definition.clone();
    let chart = format!("/api/kpis/{}/chart.svg?r={revision}", kpi.id);
    let rows: Vec<Vec<String>> = kpi
        .values
        .iter()
        .map(|value| {
            let number = |value: Option<f64>| value.map(|value| value.to_string()).unwrap_or_default();
            vec![
                value.day.to_string(),
                number(value.low),
                value.likely.to_string(),
                number(value.high),
                value.note.clone(),
                value.entered_by.clone(),
            ]
        })
        .collect();
    let csv = csv_text(&["day", "low", "value", "high", "note", "entered_by"], &rows);
    let back = definition.model_id.as_ref().map_or("/business".to_owned(), |model| format!("/models/{model}/value"));
    view! {
        <div class="page-header">
            <div>
                <p class="breadcrumb"><a href="/business">"Business value"</a>" / "<a href=back>{kpi.model_name.clone().unwrap_or_else(|| definition.programme.clone().unwrap_or_default())}</a></p>
                <h1>{definition.name.clone()}</h1>
                <p class="page-lede">
                    <span class=light_class(kpi.status) aria-hidden="true"></span>" "
                    <strong class="kpi-status">{kpi.status.label()}</strong>
                    {format!(" · {} is better · from {} {} ({}) to {} {} by {} · {} · owner {}",
                        if definition.direction == keel_shared::kpis::KpiDirection::HigherIsBetter { "higher" } else { "lower" },
                        definition.baseline, definition.unit, definition.baseline_date, definition.target, definition.unit,
                        definition.target_date, definition.cadence, if definition.owner.is_empty() { "—" } else { definition.owner.as_str() })}
                </p>
                {definition.source.as_ref().map(|source| view! {
                    <p class="muted">{format!("Measured by Keel from telemetry: {}.", source.describe(definition.cadence))}</p>
                })}
            </div>
        </div>
        <figure class="card chart-card">
            <img class="server-chart" src=chart alt=format!("{} against its planned path", definition.name) />
        </figure>
        {auth.can(Permission::EditKpis).then(|| view! { <EnterValue id=kpi.id.clone() /> })}
        <section class="card" aria-labelledby="values-heading">
            <div class="card-header">
                <h2 id="values-heading">"Values"</h2>
                <CsvDownload filename=format!("kpi-{}.csv", kpi.id) csv=Signal::derive(move || csv.clone()) />
            </div>
            {if kpi.values.is_empty() {
                view! { <p class="muted">"No values yet."</p> }.into_any()
            } else {
                view! {
                    <DataTable label="Values" columns=&["Day", "Low", "Value", "High", "Note", "Entered by"] numeric=&["Low", "Value", "High"]>
                            {kpi.values.iter().rev().map(|value| view! {
                                <tr>
                                    <td>{value.day.to_string()}</td>
                                    <td class="numeric">{value.low.map(format::value).unwrap_or_default()}</td>
                                    <td class="numeric">{format::value(value.likely)}</td>
                                    <td class="numeric">{value.high.map(format::value).unwrap_or_default()}</td>
                                    <td>{value.note.clone()}</td>
                                    <td>{value.entered_by.clone()}</td>
                                </tr>
                            }).collect_view()}
                        </DataTable>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn EnterValue(id: String) -> impl IntoView {
    let today = chrono::Utc::now().date_naive().to_string();
    let day = RwSignal::new(today);
    let likely = RwSignal::new(String::new());
    let low = RwSignal::new(String::new());
    let high = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let saved = RwSignal::new(None::<String>);
    let optional = |text: String| text.trim().parse::<f64>().ok();
    let submit = {
        let id = id.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            let Ok(parsed_day) = day.get_untracked().parse() else {
                error.set(Some(crate::components::local_error("day", "choose a day")));
                return;
            };
            let Some(value) = optional(likely.get_untracked()) else {
                error.set(Some(crate::components::local_error("likely", "enter the value as a number")));
                return;
            };
            let request = KpiValuesRequest {
                values: vec![KpiValue {
                    day: parsed_day,
                    likely: value,
                    low: optional(low.get_untracked()),
                    high: optional(high.get_untracked()),
                    note: note.get_untracked(),
                    entered_by: String::new(),
                }],
            };
            let id = id.clone();
            spawn_local(async move {
                match api::add_kpi_values(&id, &request).await {
                    Ok(kpi) => {
                        error.set(None);
                        saved.set(Some(format!("Saved: now {}", kpi.status.label().to_lowercase())));
                        likely.set(String::new());
                        low.set(String::new());
                        high.set(String::new());
                        note.set(String::new());
                    }
                    Err(body) => error.set(Some(body)),
                }
            });
        }
    };
    let upload = move |event: leptos::ev::Event| {
        let Some((input, file)) = chosen_file(&event) else { return };
        let id = id.clone();
        spawn_local(async move {
            match api::upload_kpi_values(&id, file).await {
                Ok(kpi) => {
                    error.set(None);
                    saved.set(Some(format!(
                        "Imported: {} values, now {}",
                        kpi.values.len(),
                        kpi.status.label().to_lowercase()
                    )));
                }
                Err(body) => error.set(Some(body)),
            }
            input.set_value("");
        });
    };
    view! {
        <section class="card" aria-labelledby="enter-heading">
            <h2 id="enter-heading">"Enter a value"</h2>
            <FormAlert error=Signal::from(error) />
            {move || saved.get().map(|text| view! { <p class="notice" role="status">{text}</p> })}
            <form class="form-grid" on:submit=submit>
                <label>"Day"<input type="date" required prop:value=day on:input=move |event| day.set(event_target_value(&event)) /></label>
                <label>"Value (likely)"<input name="likely" required inputmode="decimal" prop:value=likely on:input=move |event| likely.set(event_target_value(&event)) /></label>
                <label>"Low"<input name="low" inputmode="decimal" prop:value=low on:input=move |event| low.set(event_target_value(&event)) placeholder="optional" /></label>
                <label>"High"<input name="high" inputmode="decimal" prop:value=high on:input=move |event| high.set(event_target_value(&event)) placeholder="optional" /></label>
                <label>"Note"<input prop:value=note on:input=move |event| note.set(event_target_value(&event)) /></label>
                <div class="form-actions"><button type="submit" class="button button-primary">"Save value"</button></div>
            </form>
            <label class="file-label">"Or import a CSV (day,value,low,high,note; all rows or none): "
                <input type="file" accept=".csv,text/csv" on:change=upload /></label>
        </section>
    }
}
