//! The audit trail: who changed what, filterable, exportable as CSV, and verifiable.

use chrono::{DateTime, NaiveDate, Utc};
use keel_shared::audit::{AuditAction, AuditEntry, AuditQuery, AuditTarget};
use leptos::prelude::*;

use crate::api;
use crate::components::{DataTable, EmptyState, Pager, loaded};
use crate::format;

const PER_PAGE: u32 = 50;

/// Midnight UTC of a `YYYY-MM-DD` date input, if filled in.
fn day_start(text: &str, days_later: i64) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some((date + chrono::Duration::days(days_later)).and_hms_opt(0, 0, 0)?.and_utc())
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let target_type = RwSignal::new(String::new());
    let target_id = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let page = RwSignal::new(1_u32);
    let text = |signal: RwSignal<String>| Some(signal.get().trim().to_owned()).filter(|text| !text.is_empty());
    let query = Memo::new(move |_| AuditQuery {
        actor: text(actor),
        action: text(action).and_then(|name| name.parse().ok()),
        target_type: text(target_type).and_then(|name| name.parse().ok()),
        target_id: text(target_id),
        from: day_start(&from.get(), 0),
        // The "to" date is inclusive: entries before the next midnight.
        to: day_start(&to.get(), 1),
        page: Some(page.get()),
        per_page: Some(PER_PAGE),
    });
    let entries = LocalResource::new(move || {
        let query = query.get();
        async move { api::list_audit(&query).await }
    });
    let verify = Action::new_local(|_: &()| api::verify_audit());
    let export_url = move || api::audit_export_url(&AuditQuery { page: None, per_page: None, ..query.get() });
    let filter_input = move |label: &'static str, name: &'static str, signal: RwSignal<String>, kind: &'static str| {
        view! {
            <label class="filter">
                <span class="filter-label">{label}</span>
                <input type=kind name=name prop:value=signal on:input=move |event| { signal.set(event_target_value(&event)); page.set(1); } />
            </label>
        }
    };

    // Actions and target types are a fixed vocabulary: chosen, not typed.
    let filter_select = move |label: &'static str,
                              name: &'static str,
                              signal: RwSignal<String>,
                              options: Vec<&'static str>| {
        view! {
            <label class="filter">
                <span class="filter-label">{label}</span>
                <select name=name prop:value=signal on:change=move |event| { signal.set(event_target_value(&event)); page.set(1); }>
                    <option value="">"Any"</option>
                    {options.into_iter().map(|option| view! { <option value=option>{option}</option> }).collect_view()}
                </select>
            </label>
        }
    };

    view! {
        <div class="page-header">
            <div>
                <h1>"Audit log"</h1>
                <p class="page-lede">"Every change, who made it and what it changed. Entries are hash-chained: editing or deleting one breaks the chain."</p>
            </div>
            <div class="header-actions">
                <button type="button" class="button" on:click=move |_| { verify.dispatch(()); } disabled=move || verify.pending().get()>
                    {move || if verify.pending().get() { "Verifying…" } else { "Verify chain" }}
                </button>
                <a class="button" href=export_url download="keel-audit.csv">"Export CSV"</a>
            </div>
        </div>
        {move || verify.value().get().map(|result| match result {
            Ok(result) if result.intact => view! {
                <div class="alert alert-success" role="status" id="verify-result">
                    <strong>"Chain intact."</strong>{format!(" All {} entries match their hashes.", result.checked)}
                </div>
            }.into_any(),
            Ok(result) => {
                let broken = result.first_broken.map(|broken| format!(" Entry #{}: {}.", broken.seq, broken.reason)).unwrap_or_default();
                view! {
                    <div class="alert alert-error" role="alert" id="verify-result">
                        <strong>"Chain broken."</strong>{broken}
                    </div>
                }.into_any()
            }
            Err(error) => view! { <div class="alert alert-error" role="alert">{error.detail}</div> }.into_any(),
        })}
        <form class="filters" role="search" on:submit=|event| event.prevent_default()>
            {filter_input("Actor", "actor", actor, "text")}
            {filter_select("Action", "action", action, AuditAction::ALL.iter().map(|action| action.as_str()).collect())}
            {filter_select("Target type", "target_type", target_type, AuditTarget::ALL.iter().map(|target| target.as_str()).collect())}
            {filter_input("Target id", "target_id", target_id, "text")}
            {filter_input("From", "from", from, "date")}
            {filter_input("To", "to", to, "date")}
        </form>
        {loaded(entries, "the audit log", move |value| match value {
            list if list.items.is_empty() => view! {
                <EmptyState title="No entries" message="No audit entry matches these filters."><span></span></EmptyState>
            }.into_any(),
            list => {
                let shown = list.items.len();
                view! {
                    <DataTable label="Audit entries" columns=&["#", "When", "Actor", "Action", "Target", "Changes"]>{list.items.into_iter().map(entry_row).collect_view()}</DataTable>
                    <Pager page at=list.page per_page=list.per_page shown total=list.total one="entry" many="entries" />
                }.into_any()
            }
        })}
    }
}

fn entry_row(entry: AuditEntry) -> impl IntoView {
    let changes: Vec<String> = entry
        .changes
        .iter()
        .map(|(field, change)| match (&change.before, &change.after) {
            (Some(before), Some(after)) => format!("{field}: {before} → {after}"),
            (None, Some(after)) => format!("{field}: {after}"),
            (Some(before), None) => format!("{field}: {before} → (removed)"),
            (None, None) => field.clone(),
        })
        .collect();
    view! {
        <tr>
            <td class="mono">{entry.seq}</td>
            <td>{format::timestamp(&entry.at)}</td>
            <td class="mono">{entry.actor}</td>
            <td class="mono">{entry.action.as_str()}</td>
            <td><span class="cell-sub">{entry.target_type.as_str()}</span><div class="mono wrap">{entry.target_id}</div></td>
            <td><ul class="changes">{changes.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul></td>
        </tr>
    }
}
