//! Telemetry charts: a model's metric over a time range, drawn with plotters as SVG.

use chrono::{DateTime, Duration, Utc};
use keel_shared::ModelId;
use keel_shared::telemetry::{SeriesBucket, SeriesQuery, SeriesResponse};
use leptos::prelude::*;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::api;
use crate::live::use_live;

/// The time ranges a chart can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRange {
    Hour,
    Day,
    Week,
    Month,
}

impl TimeRange {
    pub const ALL: [TimeRange; 4] = [Self::Hour, Self::Day, Self::Week, Self::Month];

    pub fn label(self) -> &'static str {
        match self {
            Self::Hour => "1h",
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "30d",
        }
    }

    fn duration(self) -> Duration {
        match self {
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::hours(24),
            Self::Week => Duration::days(7),
            Self::Month => Duration::days(30),
        }
    }
}

/// What a chart shows: the last `TimeRange` (following the clock), or a fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Last(TimeRange),
    Between(DateTime<Utc>, DateTime<Utc>),
}

impl Window {
    /// The window's start and end now.
    pub fn resolve(self) -> (DateTime<Utc>, DateTime<Utc>) {
        match self {
            Self::Last(range) => {
                let to = Utc::now();
                (to - range.duration(), to)
            }
            Self::Between(from, to) => (from, to),
        }
    }
}

/// A moment drawn across the chart, such as a version's registration.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub at: DateTime<Utc>,
    pub label: String,
}

/// Which statistics of each bucket a chart draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// p50, p95 and p99: for latencies.
    Quantiles,
    /// The mean: for rates and scores.
    Average,
}

const BUCKETS: u32 = 90;
const WIDTH: u32 = 560;
const HEIGHT: u32 = 220;
/// Line colours, distinguishable for the common colour-vision deficiencies (style/components.css
/// repeats them for the legend as `.line-0` … `.line-2`).
const COLOURS: [RGBColor; 3] = [RGBColor(37, 99, 235), RGBColor(217, 119, 6), RGBColor(190, 24, 93)];

#[component]
pub fn MetricChart(
    model_id: ModelId,
    #[prop(into)] metric: String,
    #[prop(into)] title: String,
    /// Multiplies values for display (100 for a rate shown in %).
    scale: f64,
    unit: &'static str,
    statistic: Statistic,
    window: Signal<Window>,
    /// Version changes and the like, drawn as dashed lines where they fall in the window.
    annotations: Signal<Vec<Annotation>>,
) -> impl IntoView {
    let live = use_live();
    let readout = RwSignal::new(None::<String>);
    let series = LocalResource::new(move || {
        // Refetched when the model's new points are stored: the chart updates in place.
        live.model_changes(&model_id);
        let (from, to) = window.get().resolve();
        let query = SeriesQuery { metric: metric.clone(), from: Some(from), to: Some(to), buckets: Some(BUCKETS) };
        let model_id = model_id.clone();
        async move { api::series(&model_id, &query).await }
    });
    view! {
        <figure class="chart card">
            <figcaption class="chart-title">{title.clone()}<span class="chart-unit">{(!unit.is_empty()).then(|| format!(" ({unit})"))}</span></figcaption>
            {move || match series.get() {
                None => view! { <div class="chart-empty" role="status">"Loading…"</div> }.into_any(),
                Some(Err(error)) => view! { <div class="chart-empty" role="alert">{error.detail}</div> }.into_any(),
                Some(Ok(response)) if response.buckets.iter().all(|bucket| bucket.count == 0) => view! {
                    <div class="chart-empty">"No data in this range."</div>
                }.into_any(),
                Some(Ok(response)) => {
                    let lines = lines(&response.buckets, statistic, scale);
                    // The first line's newest value, as precise as the read-out: "Latest p50: 22.0 ms".
                    let latest = lines.first().and_then(|(label, points)| {
                        points.last().map(|(_, value)| format!("Latest {label}: {}{}", format_value(*value), with_space(unit)))
                    });
                    let svg = render(&response, &lines, &annotations.get()).unwrap_or_default();
                    let (from, to) = (response.from.timestamp_millis(), response.to.timestamp_millis());
                    let hover_lines = lines.clone();
                    let on_move = move |event: leptos::ev::MouseEvent| {
                        let Some(target) = event.current_target() else { return };
                        let Ok(element) = wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(target) else { return };
                        let fraction = f64::from(event.offset_x()) / f64::from(element.client_width().max(1));
                        readout.set(read_out(&hover_lines, from, to, fraction * f64::from(WIDTH), unit));
                    };
                    // Classes, not inline styles: the CSP allows no inline style.
                    let legend = lines.iter().enumerate().map(|(index, (label, _))| view! {
                        <span class="legend-item"><span class=format!("legend-swatch line-{index}")></span>{*label}</span>
                    }).collect_view();
                    view! {
                        <p class="chart-latest">{latest}</p>
                        <div
                            class="chart-svg"
                            role="img"
                            aria-label=format!("{title} over the selected range")
                            inner_html=svg
                            on:mousemove=on_move
                            on:mouseleave=move |_| readout.set(None)
                        ></div>
                        <p class="chart-readout" aria-live="polite">{move || readout.get().unwrap_or_default()}</p>
                        <p class="chart-legend">{legend}</p>
                    }.into_any()
                }
            }}
        </figure>
    }
}

type Line = (&'static str, Vec<(i64, f64)>);

fn lines(buckets: &[SeriesBucket], statistic: Statistic, scale: f64) -> Vec<Line> {
    let line = |label: &'static str, pick: fn(&SeriesBucket) -> Option<f64>| -> Line {
        let points = buckets
            .iter()
            .filter_map(|bucket| pick(bucket).map(|value| (bucket.start.timestamp_millis(), value * scale)))
            .collect();
        (label, points)
    };
    match statistic {
        Statistic::Quantiles => vec![line("p50", |b| b.p50), line("p95", |b| b.p95), line("p99", |b| b.p99)],
        Statistic::Average => vec![line("mean", |b| b.avg)],
    }
}

/// Left edge of the plotting area in SVG pixels (chart margin + y label area).
const PLOT_LEFT: f64 = 8.0 + 56.0;
pub const PLOT_RIGHT_MARGIN: f64 = 8.0;

fn render(response: &SeriesResponse, lines: &[Line], annotations: &[Annotation]) -> Result<String, String> {
    let values = lines.iter().flat_map(|(_, points)| points.iter().map(|(_, value)| *value));
    let (low, high) =
        values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| (low.min(value), high.max(value)));
    let padding = ((high - low) * 0.1).max(high.abs() * 0.01).max(1e-9);
    let (bottom, top) = (low - padding, high + padding);
    let (from, to) = (response.from.timestamp_millis(), response.to.timestamp_millis());
    let grid = RGBAColor(128, 128, 128, 0.15);
    let muted = RGBAColor(128, 128, 128, 0.9);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let mut chart = plot_area(&root, PLOT_LEFT, from..to, bottom..top, &|value| format_value(*value))?;
        // Time ticks on round times (plotters would put them on round milliseconds).
        let (step, format) = time_step(to - from);
        let label_style = ("sans-serif", 12).into_font().color(&muted).pos(Pos::new(HPos::Center, VPos::Top));
        let mut tick = (from + step - 1).div_euclid(step) * step;
        while tick < to {
            chart
                .draw_series(std::iter::once(PathElement::new([(tick, bottom), (tick, top)], grid)))
                .map_err(|error| error.to_string())?;
            let (x, y) = chart.backend_coord(&(tick, bottom));
            let at = DateTime::<Utc>::from_timestamp_millis(tick).unwrap_or_default();
            root.draw(&Text::new(at.format(format).to_string(), (x, y + 6), label_style.clone()))
                .map_err(|error| error.to_string())?;
            tick += step;
        }
        let mut placed: Vec<i32> = Vec::new();
        for annotation in annotations {
            let at = annotation.at.timestamp_millis();
            if !(from..to).contains(&at) {
                continue;
            }
            let dashes = (0..12).map(|part| {
                let length = (top - bottom) / 24.0;
                PathElement::new(
                    [(at, top - length * f64::from(2 * part)), (at, top - length * f64::from(2 * part + 1))],
                    muted.stroke_width(1),
                )
            });
            chart.draw_series(dashes).map_err(|error| error.to_string())?;
            // Labels near the right edge go left of their line, so they are not cut off.
            let (x, y) = chart.backend_coord(&(at, top));
            let (anchor, label_x) =
                if f64::from(x) > f64::from(WIDTH) * 0.75 { (HPos::Right, x - 3) } else { (HPos::Left, x + 3) };
            let style = ("sans-serif", 11).into_font().color(&muted).pos(Pos::new(anchor, VPos::Top));
            // Versions close together get a line each.
            let row = placed.iter().filter(|earlier| (*earlier - x).abs() < 40).count() as i32;
            placed.push(x);
            root.draw(&Text::new(annotation.label.clone(), (label_x, y + 2 + 12 * row), style))
                .map_err(|error| error.to_string())?;
        }
        for ((_, points), colour) in lines.iter().zip(COLOURS) {
            chart
                .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
                .map_err(|error| error.to_string())?;
        }
        root.present().map_err(|error| error.to_string())?;
    }
    Ok(svg)
}

/// A chart's plotting area on `root` as every Keel chart lays it out: `plot_left` pixels
/// for the value axis, a strip below for labels each chart draws itself (times, bins), and
/// the value axis with its grid lines drawn.
pub fn plot_area<'a, 'b, X>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    plot_left: f64,
    x: X,
    y: std::ops::Range<f64>,
    format: &dyn Fn(&f64) -> String,
) -> Result<
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<X::CoordDescType, plotters::coord::types::RangedCoordf64>>,
    String,
>
where
    X: plotters::coord::ranged1d::AsRangedCoord,
    X::CoordDescType: plotters::coord::ranged1d::ValueFormatter<X::Value>,
    X::Value: std::fmt::Debug,
{
    let mut chart = ChartBuilder::on(root)
        .margin(PLOT_RIGHT_MARGIN as u32)
        .x_label_area_size(24)
        .y_label_area_size((plot_left - PLOT_RIGHT_MARGIN) as u32)
        .build_cartesian_2d(x, y)
        .map_err(|error| error.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(5)
        .y_label_formatter(format)
        .light_line_style(RGBAColor(128, 128, 128, 0.15))
        .bold_line_style(RGBAColor(128, 128, 128, 0.3))
        .axis_style(RGBAColor(128, 128, 128, 0.6))
        .draw()
        .map_err(|error| error.to_string())?;
    Ok(chart)
}

/// The tick spacing (about six ticks per span) and how to write the tick times.
fn time_step(span: i64) -> (i64, &'static str) {
    const MINUTE: i64 = 60_000;
    const STEPS: [i64; 13] = [
        MINUTE,
        5 * MINUTE,
        10 * MINUTE,
        15 * MINUTE,
        30 * MINUTE,
        60 * MINUTE,
        2 * 60 * MINUTE,
        3 * 60 * MINUTE,
        6 * 60 * MINUTE,
        12 * 60 * MINUTE,
        24 * 60 * MINUTE,
        2 * 24 * 60 * MINUTE,
        7 * 24 * 60 * MINUTE,
    ];
    let step = STEPS.into_iter().find(|step| span / step <= 6).unwrap_or(STEPS[STEPS.len() - 1]);
    (step, if step < 24 * 60 * MINUTE { "%H:%M" } else { "%d %b" })
}

/// What the lines show nearest the pointer at SVG x position `x`.
fn read_out(lines: &[Line], from: i64, to: i64, x: f64, unit: &str) -> Option<String> {
    let plot_width = f64::from(WIDTH) - PLOT_LEFT - PLOT_RIGHT_MARGIN;
    let fraction = (x - PLOT_LEFT) / plot_width;
    if !(0.0..=1.0).contains(&fraction) {
        return None;
    }
    let at = from + ((to - from) as f64 * fraction) as i64;
    let nearest = lines.first()?.1.iter().min_by_key(|(ts, _)| (ts - at).abs())?.0;
    let values: Vec<String> = lines
        .iter()
        .filter_map(|(label, points)| {
            let value = points.iter().find(|(ts, _)| *ts == nearest)?.1;
            Some(format!("{label} {}{}", format_value(value), with_space(unit)))
        })
        .collect();
    let time = DateTime::<Utc>::from_timestamp_millis(nearest).unwrap_or_default().format("%d %b %H:%M UTC");
    Some(format!("{time}: {}", values.join(", ")))
}

/// " ms" for "ms"; nothing for a unitless metric.
fn with_space(unit: &str) -> String {
    if unit.is_empty() { String::new() } else { format!(" {unit}") }
}

fn format_value(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}
