//! Charts rendered on the server with plotters as SVG, for the console, slides and e-mail
//! (`GET …/chart.svg`). Text is SVG `<text>`, so Czech diacritics render in any viewer.

use chrono::NaiveDate;
use keel_shared::kpis::Kpi;
use keel_shared::ledger::{MonthFigures, ReportCurrency};
use plotters::prelude::*;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 320;
const ACTUAL: RGBColor = RGBColor(37, 99, 235);
const PLAN: RGBColor = RGBColor(217, 119, 6);

/// Thousands as "k", millions as "M".
fn short(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e3 {
        format!("{:.0}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// Cumulative net value per month (and the business case's plan, if any) with the zero
/// line the payback crosses.
pub fn cumulative_net_value(
    title: &str,
    currency: ReportCurrency,
    actual: &[MonthFigures],
    plan: &[MonthFigures],
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = draw(&root, title, currency, actual, plan);
        let _ = root.present();
    }
    svg
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    currency: ReportCurrency,
    actual: &[MonthFigures],
    plan: &[MonthFigures],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let months: Vec<_> = {
        let mut all: Vec<_> = actual.iter().chain(plan).map(|month| month.month).collect();
        all.sort();
        all.dedup();
        all
    };
    let (Some(first), Some(last)) = (months.first().copied(), months.last().copied()) else {
        root.draw(&Text::new(
            "Žádná data v knize nákladů a přínosů / no ledger data",
            (20, HEIGHT as i32 / 2),
            ("sans-serif", 16),
        ))?;
        return Ok(());
    };
    let values = actual.iter().chain(plan).map(|month| month.cumulative);
    let (low, high) = values.fold((0.0_f64, 0.0_f64), |(low, high), value| (low.min(value), high.max(value)));
    let pad = ((high - low) * 0.08).max(1.0);
    let x_range = first.index()..last.index().max(first.index() + 1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range, (low - pad)..(high + pad))?;
    chart
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&|index| keel_shared::ledger::YearMonth::from_index(*index).to_string())
        .y_label_formatter(&|value| short(*value))
        .y_desc(currency.as_str())
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    chart.draw_series(LineSeries::new(
        [(first.index(), 0.0), (last.index().max(first.index() + 1), 0.0)],
        BLACK.mix(0.4),
    ))?;
    if !plan.is_empty() {
        chart
            .draw_series(LineSeries::new(
                plan.iter().map(|month| (month.month.index(), month.cumulative)),
                PLAN.stroke_width(2),
            ))?
            .label("Plán / plan")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], PLAN.stroke_width(2)));
    }
    chart
        .draw_series(LineSeries::new(
            actual.iter().map(|month| (month.month.index(), month.cumulative)),
            ACTUAL.stroke_width(3),
        ))?
        .label("Skutečnost / actual")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], ACTUAL.stroke_width(3)));
    chart.configure_series_labels().background_style(WHITE.mix(0.9)).border_style(BLACK.mix(0.2)).draw()?;
    Ok(())
}

/// A KPI over time: its planned path from the baseline to the target, each value with
/// its range as a bar, and the likely values joined.
pub fn kpi(kpi: &Kpi) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = draw_kpi(&root, kpi);
        let _ = root.present();
    }
    svg
}

fn day_number(day: NaiveDate) -> i64 {
    day.signed_duration_since(NaiveDate::default()).num_days()
}

fn draw_kpi<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    kpi: &Kpi,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let definition = &kpi.definition;
    let first = kpi.values.first().map_or(definition.baseline_date, |value| value.day.min(definition.baseline_date));
    let last = kpi.values.last().map_or(definition.target_date, |value| value.day.max(definition.target_date));
    let numbers = kpi
        .values
        .iter()
        .flat_map(|value| [value.low.unwrap_or(value.likely), value.high.unwrap_or(value.likely)])
        .chain([definition.baseline, definition.target]);
    let (low, high) =
        numbers.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| (low.min(value), high.max(value)));
    let pad = ((high - low) * 0.1).max(0.5);
    let title = format!("{} ({})", definition.name, definition.unit);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(60)
        .build_cartesian_2d(
            day_number(first)..day_number(last).max(day_number(first) + 1),
            (low - pad)..(high + pad),
        )?;
    chart
        .configure_mesh()
        .x_labels(6)
        .x_label_formatter(&|day| (NaiveDate::default() + chrono::Duration::days(*day)).format("%Y-%m-%d").to_string())
        .y_label_formatter(&|value| short(*value))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let path = [
        (day_number(definition.baseline_date), definition.baseline),
        (day_number(definition.target_date), definition.target),
    ];
    chart
        .draw_series(LineSeries::new(path, PLAN.stroke_width(2)))?
        .label("Plán / planned path")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], PLAN.stroke_width(2)));
    chart.draw_series(kpi.values.iter().map(|value| {
        let day = day_number(value.day);
        PathElement::new(
            [(day, value.low.unwrap_or(value.likely)), (day, value.high.unwrap_or(value.likely))],
            ACTUAL.mix(0.5).stroke_width(6),
        )
    }))?;
    chart
        .draw_series(
            LineSeries::new(
                kpi.values.iter().map(|value| (day_number(value.day), value.likely)),
                ACTUAL.stroke_width(2),
            )
            .point_size(3),
        )?
        .label("Hodnoty / values (low–high)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], ACTUAL.stroke_width(2)));
    chart.configure_series_labels().background_style(WHITE.mix(0.9)).border_style(BLACK.mix(0.2)).draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use keel_shared::ledger::monthly_figures;

    use super::*;

    #[test]
    fn the_chart_is_svg_with_its_czech_title_and_both_lines() {
        let month = |text: &str| text.parse().expect("a month");
        let actual = monthly_figures(&[(month("2026-01"), -100.0), (month("2026-02"), 60.0), (month("2026-03"), 60.0)]);
        let plan = monthly_figures(&[(month("2026-01"), -100.0), (month("2026-02"), 120.0)]);
        let svg = cumulative_net_value("Úvěrové skóre — čistá hodnota", ReportCurrency::Czk, &actual, &plan);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("Úvěrové skóre — čistá hodnota"));
        assert!(svg.contains("Skutečnost / actual") && svg.contains("Plán / plan"));
        let upper = svg.to_uppercase();
        assert!(upper.contains("#2563EB") && upper.contains("#D97706"), "the actual and the plan line: {svg}");
        let empty = cumulative_net_value("Prázdná", ReportCurrency::Eur, &[], &[]);
        assert!(empty.contains("Žádná data"));
    }
}
