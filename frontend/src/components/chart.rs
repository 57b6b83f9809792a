//! Telemetry charts: a model's metric over a time range, drawn with plotters as SVG.

use chrono::{DateTime, Duration, Utc};
use keel_shared::ModelId;
use keel_shared::telemetry::{SeriesBucket, SeriesQuery, SeriesResponse};
use leptos::prelude::*;
use plotters::prelude::*;

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
    metric: &'static str,
    title: &'static str,
    /// Multiplies values for display (100 for a rate shown in %).
    scale: f64,
    unit: &'static str,
    statistic: Statistic,
    range: Signal<TimeRange>,
) -> impl IntoView {
    let live = use_live();
    let series = LocalResource::new(move || {
        // Refetched when the model's new points are stored: the chart updates in place.
        live.model_changes(&model_id);
        let to = Utc::now();
        let query = SeriesQuery {
            metric: metric.to_owned(),
            from: Some(to - range.get().duration()),
            to: Some(to),
            buckets: Some(BUCKETS),
        };
        let model_id = model_id.clone();
        async move { api::series(&model_id, &query).await }
    });
    view! {
        <figure class="chart card">
            <figcaption class="chart-title">{title}<span class="chart-unit">{format!(" ({unit})")}</span></figcaption>
            {move || match series.get() {
                None => view! { <div class="chart-empty" role="status">"Loading…"</div> }.into_any(),
                Some(Err(error)) => view! { <div class="chart-empty" role="alert">{error.detail}</div> }.into_any(),
                Some(Ok(response)) if response.buckets.iter().all(|bucket| bucket.count == 0) => view! {
                    <div class="chart-empty">"No data in this range."</div>
                }.into_any(),
                Some(Ok(response)) => {
                    let lines = lines(&response.buckets, statistic, scale);
                    let latest = lines.first().and_then(|(_, points)| points.last()).map(|(_, value)| *value);
                    let svg = render(&response, &lines, range.get_untracked()).unwrap_or_default();
                    // Classes, not inline styles: the CSP allows no inline style.
                    let legend = lines.iter().enumerate().map(|(index, (label, _))| view! {
                        <span class="legend-item"><span class=format!("legend-swatch line-{index}")></span>{*label}</span>
                    }).collect_view();
                    view! {
                        <p class="chart-latest">{latest.map(|value| format!("{value:.3} {unit} latest")).unwrap_or_default()}</p>
                        <div class="chart-svg" role="img" aria-label=format!("{title} over the selected range") inner_html=svg></div>
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

fn render(response: &SeriesResponse, lines: &[Line], range: TimeRange) -> Result<String, String> {
    let values = lines.iter().flat_map(|(_, points)| points.iter().map(|(_, value)| *value));
    let (low, high) =
        values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| (low.min(value), high.max(value)));
    let padding = ((high - low) * 0.1).max(high.abs() * 0.01).max(1e-9);
    let (from, to) = (response.from.timestamp_millis(), response.to.timestamp_millis());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(56)
            .build_cartesian_2d(from..to, (low - padding)..(high + padding))
            .map_err(|error| error.to_string())?;
        let time_format = |millis: &i64| {
            let at = DateTime::<Utc>::from_timestamp_millis(*millis).unwrap_or_default();
            match range {
                TimeRange::Hour | TimeRange::Day => at.format("%H:%M").to_string(),
                TimeRange::Week | TimeRange::Month => at.format("%d %b").to_string(),
            }
        };
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&time_format)
            .y_label_formatter(&|value| format_value(*value))
            .light_line_style(RGBAColor(128, 128, 128, 0.15))
            .bold_line_style(RGBAColor(128, 128, 128, 0.3))
            .axis_style(RGBAColor(128, 128, 128, 0.6))
            .draw()
            .map_err(|error| error.to_string())?;
        for ((_, points), colour) in lines.iter().zip(COLOURS) {
            chart
                .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
                .map_err(|error| error.to_string())?;
        }
        root.present().map_err(|error| error.to_string())?;
    }
    Ok(svg)
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
