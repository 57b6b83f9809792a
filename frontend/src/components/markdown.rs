//! Runbooks' Markdown, rendered safely: a small subset (headings, paragraphs, lists,
//! task items, `code`, **bold** and links) built as DOM nodes with text content, never
//! as HTML. Raw HTML shows as the text it is; a link whose target is not http(s),
//! mailto or a path of this site (`javascript:`, `data:` …) shows as plain text.

use keel_shared::incidents::safe_link_target;
use leptos::prelude::*;

/// One block of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Heading(usize, String),
    Paragraph(String),
    /// List items; `Some(done)` for a task item.
    List(Vec<(Option<bool>, String)>),
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            blocks.push(Block::Paragraph(paragraph.join(" ")));
            paragraph.clear();
        }
    };
    for line in markdown.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            flush(&mut paragraph, &mut blocks);
        } else if let Some(level) = (1..=4).rev().find(|level| trimmed.starts_with(&format!("{} ", "#".repeat(*level))))
        {
            flush(&mut paragraph, &mut blocks);
            blocks.push(Block::Heading(level, trimmed[level + 1..].trim().to_owned()));
        } else if let Some(item) = trimmed.strip_prefix("- ").or_else(|| trimmed.strip_prefix("* ")) {
            flush(&mut paragraph, &mut blocks);
            let (task, text) = match item.get(..4) {
                Some("[ ] ") => (Some(false), &item[4..]),
                Some("[x] " | "[X] ") => (Some(true), &item[4..]),
                _ => (None, item),
            };
            match blocks.last_mut() {
                Some(Block::List(items)) => items.push((task, text.to_owned())),
                _ => blocks.push(Block::List(vec![(task, text.to_owned())])),
            }
        } else {
            paragraph.push(trimmed);
        }
    }
    flush(&mut paragraph, &mut blocks);
    blocks
}

/// Inline text: `code`, **bold** and [links](target).
fn inline(text: &str) -> AnyView {
    let mut parts: Vec<AnyView> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let next = [rest.find('`'), rest.find("**"), rest.find('[')].into_iter().flatten().min();
        let Some(at) = next else {
            parts.push(rest.to_owned().into_any());
            break;
        };
        if at > 0 {
            parts.push(rest[..at].to_owned().into_any());
            rest = &rest[at..];
            continue;
        }
        if let Some(code) = rest.strip_prefix('`').and_then(|after| after.split_once('`')) {
            parts.push(view! { <code>{code.0.to_owned()}</code> }.into_any());
            rest = code.1;
        } else if let Some(bold) = rest.strip_prefix("**").and_then(|after| after.split_once("**")) {
            parts.push(view! { <strong>{bold.0.to_owned()}</strong> }.into_any());
            rest = bold.1;
        } else if let Some((label, after)) = rest.strip_prefix('[').and_then(|after| after.split_once("](")) {
            if let Some((target, after)) = after.split_once(')') {
                let label = label.to_owned();
                if safe_link_target(target) {
                    let target = target.trim().to_owned();
                    parts.push(view! { <a href=target rel="noopener noreferrer">{label}</a> }.into_any());
                } else {
                    parts.push(label.into_any());
                }
                rest = after;
            } else {
                parts.push("[".into_any());
                rest = &rest[1..];
            }
        } else {
            let width = if rest.starts_with("**") { 2 } else { 1 };
            parts.push(rest[..width].to_owned().into_any());
            rest = &rest[width..];
        }
    }
    parts.into_any()
}

/// A Markdown document as safe DOM.
#[component]
pub fn Markdown(#[prop(into)] source: Signal<String>) -> impl IntoView {
    view! {
        <div class="markdown">
            {move || blocks(&source.read())
                .into_iter()
                .map(|block| match block {
                    Block::Heading(1 | 2, text) => view! { <h3>{inline(&text)}</h3> }.into_any(),
                    Block::Heading(_, text) => view! { <h4>{inline(&text)}</h4> }.into_any(),
                    Block::Paragraph(text) => view! { <p>{inline(&text)}</p> }.into_any(),
                    Block::List(items) => view! {
                        <ul>
                            {items
                                .into_iter()
                                .map(|(task, text)| match task {
                                    Some(done) => view! {
                                        <li class="task-item"><span aria-hidden="true">{if done { "☑ " } else { "☐ " }}</span>{inline(&text)}</li>
                                    }.into_any(),
                                    None => view! { <li>{inline(&text)}</li> }.into_any(),
                                })
                                .collect_view()}
                        </ul>
                    }.into_any(),
                })
                .collect_view()}
        </div>
    }
}
