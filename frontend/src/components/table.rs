//! Tables and the pager under a paged list: one markup for every list in the console.

use leptos::prelude::*;

use crate::format;

/// A labelled table under a row of column names, scrolling sideways on a narrow screen;
/// the children are its rows.
#[component]
pub fn DataTable(
    #[prop(into)] label: String,
    columns: &'static [&'static str],
    /// The columns of amounts, aligned right (their cells carry `class="numeric"`).
    #[prop(default = &[])]
    numeric: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    let header = |column: &&'static str| {
        let class = numeric.contains(column).then_some("numeric");
        view! { <th scope="col" class=class>{*column}</th> }
    };
    view! {
        <div class="table-wrap">
            <table class="table" aria-label=label>
                <thead><tr>{columns.iter().map(header).collect_view()}</tr></thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// "26–50 of 130 models" with Previous and Next, under a list the server answers a page
/// at a time; `page` is the page asked for, `at` the one shown.
#[component]
pub fn Pager(
    page: RwSignal<u32>,
    at: u32,
    per_page: u32,
    /// Rows on the page shown.
    shown: usize,
    total: u64,
    /// What a row is, in the singular and the plural.
    one: &'static str,
    many: &'static str,
) -> impl IntoView {
    let first = u64::from(at.saturating_sub(1)) * u64::from(per_page) + 1;
    let last = first + shown as u64 - 1;
    view! {
        <nav class="pager" aria-label="Pages">
            <span>{format!("{first}–{last} of {}", format::count(total, one, many))}</span>
            <button type="button" class="button" disabled=at <= 1 on:click=move |_| page.update(|page| *page -= 1)>
                "Previous"
            </button>
            <button type="button" class="button" disabled=last >= total on:click=move |_| page.update(|page| *page += 1)>
                "Next"
            </button>
        </nav>
    }
}
