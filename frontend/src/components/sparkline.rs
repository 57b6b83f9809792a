//! A small line of a day's values, hand-drawn as an SVG path (plotters would bring
//! axes and margins a tile has no room for).

use leptos::prelude::*;

const WIDTH: f64 = 120.0;
const HEIGHT: f64 = 28.0;

#[component]
pub fn Sparkline(values: Vec<Option<f64>>, label: String) -> impl IntoView {
    if values.iter().all(Option::is_none) {
        return view! { <span class="sparkline-empty">"No data"</span> }.into_any();
    }
    let path = path(values);
    view! {
        <svg class="sparkline" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label preserveAspectRatio="none">
            <path d=path />
        </svg>
    }
    .into_any()
}

/// Gaps (buckets without points) break the line.
fn path(values: Vec<Option<f64>>) -> String {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let (low, high) = present
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| (low.min(*value), high.max(*value)));
    let span = if high > low { high - low } else { 1.0 };
    let step = WIDTH / (values.len().max(2) - 1) as f64;
    let mut path = String::new();
    let mut drawing = false;
    for (index, value) in values.into_iter().enumerate() {
        match value {
            Some(value) => {
                let x = index as f64 * step;
                let y = HEIGHT - 2.0 - (value - low) / span * (HEIGHT - 4.0);
                path.push_str(&format!("{}{x:.1},{y:.1} ", if drawing { "L" } else { "M" }));
                drawing = true;
            }
            None => drawing = false,
        }
    }
    path
}
