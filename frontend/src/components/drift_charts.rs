//! The drift page's charts, drawn with plotters as SVG: a feature's reference and current
//! distributions over the same bins, and its drift score run by run against the threshold.

use keel_shared::monitoring::{DriftHistoryPoint, HistogramBin};
use leptos::prelude::*;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::{PLOT_RIGHT_MARGIN, plot_area};

const WIDTH: u32 = 560;
const HEIGHT: u32 = 220;
/// Left edge of the plotting area in SVG pixels (margin + y label area).
const PLOT_LEFT: f64 = 8.0 + 48.0;
/// Reference and current: the first two of the telemetry charts' colours (`.line-0`, `.line-1`).
const REFERENCE: RGBColor = RGBColor(37, 99, 235);
const CURRENT: RGBColor = RGBColor(217, 119, 6);

/// Reference and current shares side by side per bin, with a read-out of the bin under
/// the pointer.
#[component]
pub fn HistogramOverlay(#[prop(into)] feature: String, bins: Vec<HistogramBin>) -> impl IntoView {
    let readout = RwSignal::new(None::<String>);
    if bins.is_empty() {
        return view! { <div class="chart-empty">"No values to draw."</div> }.into_any();
    }
    let svg = render_histogram(&bins).unwrap_or_default();
    let count = bins.len();
    let label = feature + ": reference and current distributions";
    let on_move = move |event: leptos::ev::MouseEvent| {
        let Some(index) = plot_position(&event).map(|plot| ((plot * count as f64) as usize).min(count - 1)) else {
            readout.set(None);
            return;
        };
        let bin = &bins[index];
        readout.set(Some(format!(
            "{}: reference {:.1} %, current {:.1} %",
            bin.label,
            bin.reference * 100.0,
            bin.current * 100.0
        )));
    };
    view! {
        <div
            class="chart-svg"
            role="img"
            aria-label=label
            inner_html=svg
            on:mousemove=on_move
            on:mouseleave=move |_| readout.set(None)
        ></div>
        <p class="chart-readout" aria-live="polite">{move || readout.get().unwrap_or_default()}</p>
        <p class="chart-legend">
            <span class="legend-item"><span class="legend-swatch line-0"></span>"reference"</span>
            <span class="legend-item"><span class="legend-swatch line-1"></span>"current"</span>
        </p>
    }
    .into_any()
}

/// The score of each run as a line, the latest run's threshold dashed.
#[component]
pub fn ScoreHistory(points: Vec<DriftHistoryPoint>) -> impl IntoView {
    let readout = RwSignal::new(None::<String>);
    if points.is_empty() {
        return view! { <div class="chart-empty">"No runs yet."</div> }.into_any();
    }
    let svg = render_history(&points).unwrap_or_default();
    let count = points.len();
    let on_move = move |event: leptos::ev::MouseEvent| {
        let Some(plot) = plot_position(&event) else {
            readout.set(None);
            return;
        };
        let index = ((plot * (count.max(2) - 1) as f64).round() as usize).min(count - 1);
        let point = &points[index];
        readout.set(Some(format!(
            "{}: {} {} (threshold {}){}",
            point.evaluated_at.format("%d %b %H:%M UTC"),
            point.method.name(),
            format_score(point.value),
            format_score(point.threshold),
            if point.drifted { ", drifted" } else { "" }
        )));
    };
    view! {
        <div
            class="chart-svg"
            role="img"
            aria-label="Drift score over time"
            inner_html=svg
            on:mousemove=on_move
            on:mouseleave=move |_| readout.set(None)
        ></div>
        <p class="chart-readout" aria-live="polite">{move || readout.get().unwrap_or_default()}</p>
    }
    .into_any()
}

/// Where the pointer is across the plotting area, 0–1; `None` outside it.
fn plot_position(event: &leptos::ev::MouseEvent) -> Option<f64> {
    let target = event.current_target()?;
    let element = wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(target).ok()?;
    let x = f64::from(event.offset_x()) / f64::from(element.client_width().max(1)) * f64::from(WIDTH);
    let plot = (x - PLOT_LEFT) / (f64::from(WIDTH) - PLOT_LEFT - PLOT_RIGHT_MARGIN);
    (0.0..=1.0).contains(&plot).then_some(plot)
}

fn render_histogram(bins: &[HistogramBin]) -> Result<String, String> {
    let top = bins.iter().map(|bin| bin.reference.max(bin.current)).fold(0.0, f64::max).max(1e-9) * 110.0;
    let muted = RGBAColor(128, 128, 128, 0.9);
    let count = bins.len();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let mut chart = plot_area(&root, PLOT_LEFT, 0.0..count as f64, 0.0..top, &|value| format!("{value:.0} %"))?;
        let bars = bins.iter().enumerate().flat_map(|(index, bin)| {
            let left = index as f64;
            [
                Rectangle::new([(left + 0.08, 0.0), (left + 0.5, bin.reference * 100.0)], REFERENCE.mix(0.85).filled()),
                Rectangle::new([(left + 0.5, 0.0), (left + 0.92, bin.current * 100.0)], CURRENT.mix(0.85).filled()),
            ]
        });
        chart.draw_series(bars).map_err(|error| error.to_string())?;
        // A few bin labels, evenly spread, so they never overlap.
        let every = count.div_ceil(4).max(1);
        for index in (0..count).step_by(every) {
            let (x, y) = chart.backend_coord(&(index as f64 + 0.5, 0.0));
            let style = ("sans-serif", 11).into_font().color(&muted).pos(Pos::new(HPos::Center, VPos::Top));
            let label: String = bins[index].label.chars().take(18).collect();
            root.draw(&Text::new(label, (x, y + 6), style)).map_err(|error| error.to_string())?;
        }
        root.present().map_err(|error| error.to_string())?;
    }
    Ok(svg)
}

fn render_history(points: &[DriftHistoryPoint]) -> Result<String, String> {
    let threshold = points.last().map_or(0.0, |point| point.threshold);
    let high = points.iter().map(|point| point.value).fold(threshold, f64::max);
    let top = if high > 0.0 { high * 1.15 } else { 1.0 };
    let muted = RGBAColor(128, 128, 128, 0.9);
    let last = (points.len().max(2) - 1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let mut chart = plot_area(&root, PLOT_LEFT, 0.0..last, 0.0..top, &|value| format_score(*value))?;
        let dashes = (0..40).map(|part| {
            let length = last / 80.0;
            PathElement::new(
                [(length * f64::from(2 * part), threshold), (length * f64::from(2 * part + 1), threshold)],
                muted.stroke_width(1),
            )
        });
        chart.draw_series(dashes).map_err(|error| error.to_string())?;
        let line = points.iter().enumerate().map(|(index, point)| (index as f64, point.value));
        chart.draw_series(LineSeries::new(line, REFERENCE.stroke_width(2))).map_err(|error| error.to_string())?;
        let marks = points.iter().enumerate().map(|(index, point)| {
            let colour = if point.drifted { CURRENT.filled() } else { REFERENCE.filled() };
            Circle::new((index as f64, point.value), 3, colour)
        });
        chart.draw_series(marks).map_err(|error| error.to_string())?;
        let ends = if points.len() == 1 {
            vec![(0, HPos::Left)]
        } else {
            vec![(0, HPos::Left), (points.len() - 1, HPos::Right)]
        };
        for (index, anchor) in ends {
            let (x, y) = chart.backend_coord(&(index as f64, 0.0));
            let style = ("sans-serif", 11).into_font().color(&muted).pos(Pos::new(anchor, VPos::Top));
            let label = points[index].evaluated_at.format("%d %b %H:%M").to_string();
            root.draw(&Text::new(label, (x, y + 6), style)).map_err(|error| error.to_string())?;
        }
        root.present().map_err(|error| error.to_string())?;
    }
    Ok(svg)
}

/// A statistic for people: p-values can be tiny.
pub fn format_score(value: f64) -> String {
    if value == 0.0 {
        "0".into()
    } else if value.abs() < 0.001 {
        format!("{value:.2e}")
    } else {
        format!("{value:.3}")
    }
}
