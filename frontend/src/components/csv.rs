//! "Export CSV" for any table the page shows: the rows are written in the browser.

use leptos::prelude::*;

/// One CSV field, quoted when it must be.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// The CSV text of a header and rows.
pub fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut text = header.iter().map(|name| field(name)).collect::<Vec<_>>().join(",");
    text.push('\n');
    for row in rows {
        text.push_str(&row.iter().map(|value| field(value)).collect::<Vec<_>>().join(","));
        text.push('\n');
    }
    text
}

/// Every byte but the unreserved ones as `%XX`, for a data URL.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A link that downloads the table as `filename`.
#[component]
pub fn CsvDownload(#[prop(into)] filename: String, #[prop(into)] csv: Signal<String>) -> impl IntoView {
    let href = move || format!("data:text/csv;charset=utf-8,{}", percent_encoded(&csv.get()));
    view! { <a class="button button-small" download=filename href=href>"Export CSV"</a> }
}
