//! The monthly governance report, printable on A4 (style/print.css): models and their
//! status, changes approved and implemented, incidents with MTTA/MTTR and Art. 73
//! deadlines, KPI status, ROI and payback — in Czech or English. Freezing stores the report
//! with its digest in the audit chain; a frozen report is shown again unchanged.

use keel_shared::ErrorBody;
use keel_shared::auth::Permission;
use keel_shared::ledger::{ReportCurrency, YearMonth};
use keel_shared::reports::{FrozenReport, GovernanceReport, ReportLanguage, ReportQuery};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::business::light_class;
use crate::api;
use crate::auth::use_auth;
use crate::components::{CsvDownload, FormAlert, csv_text, loaded};
use crate::format;

/// The report's words in its language.
fn t(language: ReportLanguage, key: &str) -> &'static str {
    let czech = language == ReportLanguage::Czech;
    match key {
        "title" if czech => "Měsíční zpráva o správě modelů",
        "title" => "Monthly model governance report",
        "models" if czech => "Modely a jejich stav",
        "models" => "Models and their status",
        "model" if czech => "Model",
        "model" => "Model",
        "tier" if czech => "Riziková třída (AI Act)",
        "tier" => "EU AI Act tier",
        "production" if czech => "V produkci",
        "production" => "In production",
        "health" if czech => "Stav",
        "health" => "Health",
        "changes" if czech => "Schválené a provedené změny",
        "changes" => "Changes approved and implemented",
        "change" if czech => "Změna",
        "change" => "Change",
        "risk" if czech => "Riziko",
        "risk" => "Risk",
        "approved_by" if czech => "Schválili",
        "approved_by" => "Approved by",
        "implemented" if czech => "Provedeno",
        "implemented" => "Implemented",
        "incidents" if czech => "Incidenty",
        "incidents" => "Incidents",
        "severity" if czech => "Závažnost",
        "severity" => "Severity",
        "detected" if czech => "Zjištěno",
        "detected" => "Detected",
        "mtta" if czech => "Doba do potvrzení",
        "mtta" => "Time to acknowledge",
        "mttr" if czech => "Doba do vyřešení",
        "mttr" => "Time to resolve",
        "art73" if czech => "Lhůta čl. 73",
        "art73" => "Art. 73 deadline",
        "kpis" if czech => "Stav KPI",
        "kpis" => "KPI status",
        "value" if czech => "Návratnost investic",
        "value" => "ROI and payback",
        "net" if czech => "Čistá hodnota",
        "net" => "Net value",
        "payback" if czech => "Návratnost",
        "payback" => "Payback",
        "none" if czech => "Žádné",
        "none" => "None",
        "means" if czech => "Průměr: potvrzení {a}, vyřešení {r}",
        "means" => "Mean time to acknowledge {a}, to resolve {r}",
        "simulated" if czech => "Simulace (P10 / P50 / P90), ne interval spolehlivosti",
        "simulated" => "Simulated (P10 / P50 / P90), not a confidence interval",
        _ => "",
    }
}

fn duration(seconds: Option<f64>) -> String {
    seconds.map_or("—".into(), |seconds| format::span(seconds as i64))
}

#[component]
pub fn GovernanceReportPage() -> impl IntoView {
    let auth = use_auth();
    let now = chrono::Utc::now().date_naive();
    let previous = YearMonth::from_index(YearMonth::of(now).index() - 1);
    let month = RwSignal::new(previous.to_string());
    let language = RwSignal::new(ReportLanguage::English);
    let currency = RwSignal::new(ReportCurrency::Eur);
    let query = Memo::new(move |_| ReportQuery {
        month: month.get().parse().ok(),
        language: language.get(),
        currency: currency.get(),
    });
    let report = LocalResource::new(move || {
        let query = query.get();
        async move { api::governance_report(&query).await }
    });
    let error = RwSignal::new(None::<ErrorBody>);
    let frozen = RwSignal::new(None::<FrozenReport>);
    let freeze = move |_| {
        if !window()
            .confirm_with_message(
                "Freeze this report? Its digest goes into the audit trail and it can be shown again unchanged.",
            )
            .unwrap_or(false)
        {
            return;
        }
        let query = query.get_untracked();
        spawn_local(async move {
            match api::freeze_report(&query).await {
                Ok(report) => {
                    error.set(None);
                    frozen.set(Some(report));
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let frozen_list = LocalResource::new(move || {
        frozen.get();
        api::frozen_reports()
    });
    view! {
        <div class="page-header no-print">
            <div>
                <p class="breadcrumb"><a href="/business">"Business value"</a></p>
                <h1>"Governance report"</h1>
            </div>
            <div class="toolbar">
                <label class="inline-label">"Month "<input type="month" aria-label="Month" prop:value=month on:input=move |event| month.set(event_target_value(&event)) /></label>
                <div class="segmented" role="group" aria-label="Language">
                    {[(ReportLanguage::English, "English"), (ReportLanguage::Czech, "Čeština")].into_iter().map(|(choice, label)| view! {
                        <button type="button" class="segment" aria-pressed=move || (language.get() == choice).to_string() on:click=move |_| language.set(choice)>{label}</button>
                    }).collect_view()}
                </div>
                <div class="segmented" role="group" aria-label="Currency">
                    {[ReportCurrency::Eur, ReportCurrency::Czk].into_iter().map(|choice| view! {
                        <button type="button" class="segment" aria-pressed=move || (currency.get() == choice).to_string() on:click=move |_| currency.set(choice)>{choice.as_str()}</button>
                    }).collect_view()}
                </div>
                <button type="button" class="button" on:click=move |_| { let _ = window().print(); }>"Print / PDF"</button>
                <Show when=move || auth.can(Permission::EditKpis)>
                    <button type="button" class="button button-primary" on:click=freeze>"Freeze"</button>
                </Show>
            </div>
        </div>
        <div class="no-print">
            <FormAlert error=Signal::from(error) />
            {move || frozen.get().map(|report| view! {
                <p class="notice" role="status">"Frozen: "<a href=format!("/reports/frozen/{}", report.id)>{format!("report {} ({})", report.month, report.language)}</a>{format!(", SHA-256 {}", report.digest)}</p>
            })}
        </div>
        {loaded(report, "the report", move |report| view! { <Report report frozen=None /> }.into_any())}
        <section class="card no-print" aria-labelledby="frozen-heading">
            <h2 id="frozen-heading">"Frozen reports"</h2>
            {move || frozen_list.get().and_then(Result::ok).map(|list| if list.is_empty() {
                view! { <p class="muted">"None yet."</p> }.into_any()
            } else {
                view! {
                    <ul>{list.into_iter().map(|report| view! {
                        <li><a href=format!("/reports/frozen/{}", report.id)>{format!("{} ({})", report.month, report.language)}</a>
                            {format!(" — frozen by {} on {}, SHA-256 {}…", report.frozen_by, format::timestamp(&report.frozen_at), &report.digest[..12.min(report.digest.len())])}</li>
                    }).collect_view()}</ul>
                }.into_any()
            })}
        </section>
    }
}

/// A frozen report, exactly as the board saw it.
#[component]
pub fn FrozenReportPage() -> impl IntoView {
    let params = use_params_map();
    let report = LocalResource::new(move || {
        let id = params.read().get("id").unwrap_or_default();
        async move { api::frozen_report(&id).await }
    });
    view! {
        <div class="page-header no-print">
            <div><p class="breadcrumb"><a href="/reports/governance">"Governance report"</a></p><h1>"Frozen report"</h1></div>
            <button type="button" class="button" on:click=move |_| { let _ = window().print(); }>"Print / PDF"</button>
        </div>
        {loaded(report, "the report", move |frozen| match frozen.report.clone() {
                Some(report) => view! { <Report report frozen=Some(frozen) /> }.into_any(),
                None => view! { <p>"The report body is missing."</p> }.into_any(),
            })}
    }
}

#[component]
fn Report(report: GovernanceReport, frozen: Option<FrozenReport>) -> impl IntoView {
    let language = report.language;
    let word = move |key: &str| t(language, key);
    let currency = report.currency.as_str();
    let chart = format!("/api/stakeholder/chart.svg?currency={currency}&months=36");
    let means =
        word("means").replace("{a}", &duration(report.mtta_seconds)).replace("{r}", &duration(report.mttr_seconds));
    let month = report.month.to_string();
    let optional = |value: Option<f64>| value.map(|value| format!("{value:.0}")).unwrap_or_default();
    let models_csv = csv_text(
        &["model", "risk_tier", "production_version", "health", "kpis"],
        &report
            .models
            .iter()
            .map(|model| {
                vec![
                    model.name.clone(),
                    model.risk_tier.as_str().to_owned(),
                    model.production_version.clone().unwrap_or_default(),
                    model.health.map(|health| health.label().to_owned()).unwrap_or_default(),
                    model.kpis.iter().map(|kpi| format!("{}: {}", kpi.name, kpi.status)).collect::<Vec<_>>().join("; "),
                ]
            })
            .collect::<Vec<_>>(),
    );
    let changes_csv = csv_text(
        &["change", "title", "model", "kind", "status", "risk", "approved_by", "implemented_at"],
        &report
            .changes
            .iter()
            .map(|change| {
                vec![
                    format!("CHG-{}", change.number),
                    change.title.clone(),
                    change.model_name.clone(),
                    change.kind.to_string(),
                    change.status.to_string(),
                    change.risk.to_string(),
                    change.approved_by.join("; "),
                    change.implemented_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    let incidents_csv = csv_text(
        &[
            "incident",
            "title",
            "model",
            "severity",
            "status",
            "detected_at",
            "acknowledge_seconds",
            "resolve_seconds",
            "art73_deadline",
        ],
        &report
            .incidents
            .iter()
            .map(|incident| {
                vec![
                    format!("INC-{}", incident.number),
                    incident.title.clone(),
                    incident.model_name.clone().unwrap_or_default(),
                    incident.severity.to_string(),
                    incident.status.to_string(),
                    incident.detected_at.to_rfc3339(),
                    optional(incident.acknowledge_seconds),
                    optional(incident.resolve_seconds),
                    incident.art73_deadline.map(|at| at.to_rfc3339()).unwrap_or_default(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    let roi_csv = csv_text(
        &["model", "net_value", "roi", "payback_months", "planned_payback_months"],
        &report
            .models
            .iter()
            .filter_map(|model| model.roi.as_ref().map(|roi| (model.name.clone(), roi)))
            .map(|(name, roi)| {
                vec![
                    name,
                    format!("{:.2}", roi.net_value),
                    roi.roi.map(|roi| format!("{roi:.4}")).unwrap_or_default(),
                    roi.payback_months.map(|months| format!("{months:.2}")).unwrap_or_default(),
                    roi.planned_payback_months.map(|months| format!("{months:.2}")).unwrap_or_default(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    let export = move |name: &str, csv: String| {
        let filename = format!("{name}-{month}.csv");
        view! { <p class="no-print"><CsvDownload filename=filename csv=Signal::derive(move || csv.clone()) /></p> }
    };
    view! {
        <article class="report" lang=language.as_str()>
            <header class="report-header">
                <h1>{word("title")}" — "{report.month.to_string()}</h1>
                <p class="muted">{format!("Keel · {} · {}", format::timestamp(&report.generated_at), currency)}
                    {frozen.map(|frozen| format!(" · frozen by {} on {} · SHA-256 {}", frozen.frozen_by, format::timestamp(&frozen.frozen_at), frozen.digest))}</p>
            </header>
            <section class="report-section">
                <h2>{word("models")}</h2>
                {export("models", models_csv)}
                <table class="table">
                    <thead><tr><th>{word("model")}</th><th>{word("tier")}</th><th>{word("production")}</th><th>{word("health")}</th><th>{word("kpis")}</th></tr></thead>
                    <tbody>{report.models.iter().map(|model| view! {
                        <tr>
                            <td>{model.name.clone()}</td>
                            <td>{model.risk_tier.as_str()}</td>
                            <td>{model.production_version.clone().unwrap_or_else(|| "—".into())}</td>
                            <td>{model.health.map_or("—", |health| health.label())}</td>
                            <td>{model.kpis.iter().map(|kpi| view! { <span class="kpi-light"><span class=light_class(kpi.status) aria-hidden="true"></span>{format!("{}: {}", kpi.name, kpi.status.label())}</span> }).collect_view()}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            </section>
            <section class="report-section">
                <h2>{word("changes")}</h2>
                {export("changes", changes_csv)}
                {if report.changes.is_empty() { view! { <p>{word("none")}</p> }.into_any() } else { view! {
                    <table class="table">
                        <thead><tr><th>{word("change")}</th><th>{word("model")}</th><th>{word("risk")}</th><th>{word("approved_by")}</th><th>{word("implemented")}</th></tr></thead>
                        <tbody>{report.changes.iter().map(|change| view! {
                            <tr>
                                <td>{format!("CHG-{} {}", change.number, change.title)}<div class="cell-sub">{format!("{} · {}", change.kind, change.status)}</div></td>
                                <td>{change.model_name.clone()}</td>
                                <td>{change.risk.to_string()}</td>
                                <td>{change.approved_by.join(", ")}</td>
                                <td>{change.implemented_at.as_ref().map_or("—".into(), format::timestamp)}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any() }}
            </section>
            <section class="report-section">
                <h2>{word("incidents")}</h2>
                {export("incidents", incidents_csv)}
                <p>{means}</p>
                {if report.incidents.is_empty() { view! { <p>{word("none")}</p> }.into_any() } else { view! {
                    <table class="table">
                        <thead><tr><th>"#"</th><th>{word("model")}</th><th>{word("severity")}</th><th>{word("detected")}</th><th>{word("mtta")}</th><th>{word("mttr")}</th><th>{word("art73")}</th></tr></thead>
                        <tbody>{report.incidents.iter().map(|incident| view! {
                            <tr>
                                <td>{format!("INC-{} {}", incident.number, incident.title)}</td>
                                <td>{incident.model_name.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{incident.severity.label()}</td>
                                <td>{format::timestamp(&incident.detected_at)}</td>
                                <td>{duration(incident.acknowledge_seconds)}</td>
                                <td>{duration(incident.resolve_seconds)}</td>
                                <td>{incident.art73_deadline.as_ref().map_or("—".into(), format::timestamp)}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any() }}
            </section>
            <section class="report-section">
                <h2>{word("value")}</h2>
                {export("roi", roi_csv)}
                <figure class="report-chart"><img src=chart alt="Cumulative net value" /></figure>
                <table class="table">
                    <thead><tr><th>{word("model")}</th><th class="numeric">{word("net")}</th><th class="numeric">"ROI"</th><th>{word("payback")}</th></tr></thead>
                    <tbody>{report.models.iter().filter_map(|model| model.roi.clone().map(|roi| (model.name.clone(), roi))).map(|(name, roi)| view! {
                        <tr>
                            <td>{name}</td>
                            <td class="numeric">{format::money(roi.net_value, currency)}</td>
                            <td class="numeric">{roi.roi.map_or("—".into(), format::percent)}</td>
                            <td>{format::months(roi.payback_months, roi.months_covered)}{roi.planned_payback_months.map(|plan| format!(" (plan {plan:.1})"))}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
                {report.programme.range.clone().map(|range| view! {
                    <p>{format!("{}: {} / {} / {}", word("simulated"), format::money(range.p10, currency), format::money(range.p50, currency), format::money(range.p90, currency))}</p>
                })}
            </section>
        </article>
    }
}
