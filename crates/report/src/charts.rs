//! The HTML report's two charts, drawn by plotters into SVG strings: spend
//! by model over time (one line per model, USD per day) and the estimated
//! monthly saving of each recommendation (horizontal bars).
//!
//! No font is loaded: plotters' SVG backend writes text as `<text>`
//! elements (escaped) that the browser renders, and lays them out from an
//! estimate. The legend of the spend chart is returned beside the SVG for
//! the page to show in HTML. The SVG carries no external reference.

use agents::format::{num, usd};
use analytics::Recommendation;
use analytics::analyses::breakdown::DaySpend;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::HashMap;

/// At most this many lines; smaller models are summed into one.
const MAX_SERIES: usize = 7;
const WIDTH: u32 = 860;
const FONT: &str = "sans-serif";

/// Line and bar colours (colour-blind-safe Okabe-Ito order, then greys).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(120, 120, 120),
    RGBColor(60, 60, 60),
];

/// One chart: the SVG element (no XML prologue, no namespace URL) and
/// its legend.
#[derive(Debug, Clone)]
pub struct Chart {
    pub svg: String,
    pub legend: Vec<LegendEntry>,
}

/// A series name and its colour as `#rrggbb`.
#[derive(Debug, Clone)]
pub struct LegendEntry {
    pub label: String,
    pub color: String,
}

type DrawError = DrawingAreaErrorKind<std::io::Error>;

/// A chart that plotters could not draw.
#[derive(Debug, thiserror::Error)]
#[error("drawing the {chart} chart failed: {source}")]
pub struct ChartError {
    chart: &'static str,
    #[source]
    source: DrawError,
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A USD axis label: no cents once the axis reaches ten dollars.
fn axis_usd(v: f64, max: f64) -> String {
    if max >= 10.0 {
        format!("${}", num(v, 0))
    } else {
        format!("${}", num(v, 2))
    }
}

/// Makes plotters' SVG fit for inlining in the page: the namespace
/// attribute (a URL, and not needed inline) becomes an accessible name.
fn inline_svg(svg: String, label: &str) -> String {
    svg.replacen(
        " xmlns=\"http://www.w3.org/2000/svg\"",
        &format!(
            " role=\"img\" aria-label=\"{}\"",
            crate::markdown::escape_html(label)
        ),
        1,
    )
}

/// Spend per day of the largest models (the rest summed), `None` when no
/// day has priced spend.
pub fn spend_by_model(days: &[DaySpend]) -> Result<Option<Chart>, ChartError> {
    let mut totals: HashMap<&str, f64> = HashMap::new();
    for day in days {
        for m in &day.by_model {
            if m.cost_usd.is_finite() {
                *totals.entry(m.model.as_str()).or_default() += m.cost_usd;
            }
        }
    }
    let mut models: Vec<(&str, f64)> = totals.into_iter().filter(|(_, c)| *c > 0.0).collect();
    if models.is_empty() {
        return Ok(None);
    }
    models.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let named = if models.len() > MAX_SERIES {
        MAX_SERIES - 1
    } else {
        models.len()
    };
    let mut labels: Vec<String> = models[..named]
        .iter()
        .map(|(m, _)| (*m).to_owned())
        .collect();
    if models.len() > named {
        labels.push(format!("{} other models", models.len() - named));
    }
    let index: HashMap<&str, usize> = models
        .iter()
        .enumerate()
        .map(|(i, (m, _))| (*m, i.min(named)))
        .collect();
    let mut series = vec![vec![0.0f64; days.len()]; labels.len()];
    for (d, day) in days.iter().enumerate() {
        for m in &day.by_model {
            if let Some(&i) = index.get(m.model.as_str())
                && m.cost_usd.is_finite()
            {
                series[i][d] += m.cost_usd;
            }
        }
    }
    let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
    let mut svg = String::new();
    draw_spend(&mut svg, &dates, &series).map_err(|source| ChartError {
        chart: "spend by model",
        source,
    })?;
    let legend = labels
        .into_iter()
        .enumerate()
        .map(|(i, label)| LegendEntry {
            label,
            color: hex(color(i)),
        })
        .collect();
    Ok(Some(Chart {
        svg: inline_svg(svg, "Spend by model over time, USD per day"),
        legend,
    }))
}

fn draw_spend(svg: &mut String, dates: &[&str], series: &[Vec<f64>]) -> Result<(), DrawError> {
    let n = dates.len();
    let y_max = series
        .iter()
        .flatten()
        .copied()
        .fold(0.0f64, f64::max)
        .max(0.01)
        * 1.08;
    let x_max = i32::try_from(n.saturating_sub(1))
        .unwrap_or(i32::MAX)
        .max(1);
    let root = SVGBackend::with_string(svg, (WIDTH, 380)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(0..x_max, 0f64..y_max)?;
    let date_label = |x: &i32| {
        usize::try_from(*x)
            .ok()
            .and_then(|i| dates.get(i))
            // `YYYY-MM-DD` shown as `MM-DD`; the full range is in the page.
            .map(|d| d.get(5..).unwrap_or(d).to_owned())
            .unwrap_or_default()
    };
    let money = |y: &f64| axis_usd(*y, y_max);
    chart
        .configure_mesh()
        .x_labels(n.clamp(2, 12))
        .y_labels(6)
        .x_label_formatter(&date_label)
        .y_label_formatter(&money)
        .x_desc("day (UTC)")
        .y_desc("USD per day")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(TRANSPARENT)
        .draw()?;
    for (i, points) in series.iter().enumerate() {
        let style = color(i).stroke_width(2);
        let line = LineSeries::new(
            points
                .iter()
                .enumerate()
                .map(|(x, y)| (i32::try_from(x).unwrap_or(i32::MAX), *y)),
            style,
        );
        chart.draw_series(line.point_size(if n <= 45 { 2 } else { 0 }))?;
    }
    root.present()
}

/// Human name of a recommendation kind, for the bar labels.
fn kind_label(r: &Recommendation) -> &'static str {
    use analytics::RecommendationKind as K;
    match r.kind {
        K::ModelSubstitution => "Model substitution",
        K::PromptCaching => "Prompt caching",
        K::ResponseCaching => "Response caching",
        K::BatchApi => "Batch API",
        K::OversizedRequests => "Oversized requests",
        K::RetryWaste => "Retry and error waste",
        K::Capacity => "Capacity",
    }
}

/// One bar per recommendation with a saving, largest on top; `None` when
/// no recommendation saves money.
pub fn savings_by_recommendation(
    recommendations: &[Recommendation],
) -> Result<Option<Chart>, ChartError> {
    let mut bars: Vec<(&'static str, f64)> = recommendations
        .iter()
        .filter(|r| r.monthly_savings_usd.is_finite() && r.monthly_savings_usd > 0.0)
        .map(|r| (kind_label(r), r.monthly_savings_usd))
        .collect();
    if bars.is_empty() {
        return Ok(None);
    }
    bars.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut svg = String::new();
    draw_savings(&mut svg, &bars).map_err(|source| ChartError {
        chart: "savings by recommendation",
        source,
    })?;
    Ok(Some(Chart {
        svg: inline_svg(
            svg,
            "Estimated monthly savings by recommendation, USD per month",
        ),
        legend: Vec::new(),
    }))
}

/// `bars` smallest first: plotters counts categories from the bottom.
fn draw_savings(svg: &mut String, bars: &[(&'static str, f64)]) -> Result<(), DrawError> {
    let n = bars.len();
    let x_max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max) * 1.22;
    let height = 90 + 46 * u32::try_from(n).unwrap_or(20);
    let root = SVGBackend::with_string(svg, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(170)
        .build_cartesian_2d(0f64..x_max, (0..n - 1).into_segmented())?;
    let category = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.0).unwrap_or("").to_owned(),
        _ => String::new(),
    };
    let money = |x: &f64| axis_usd(*x, x_max);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .x_labels(6)
        .y_label_formatter(&category)
        .x_label_formatter(&money)
        .x_desc("estimated saving, USD per month")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(TRANSPARENT)
        .draw()?;
    let bar_color = color(0);
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, value))| {
        let top = if i + 1 < n {
            SegmentValue::Exact(i + 1)
        } else {
            SegmentValue::Last
        };
        let mut bar = Rectangle::new(
            [(0.0, SegmentValue::Exact(i)), (*value, top)],
            bar_color.filled(),
        );
        bar.set_margin(7, 7, 0, 0);
        bar
    }))?;
    let value_style =
        TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, value))| {
        Text::new(
            usd(*value),
            (*value + x_max * 0.01, SegmentValue::CenterOf(i)),
            value_style.clone(),
        )
    }))?;
    root.present()
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::analyses::breakdown::ModelDay;

    fn day(date: &str, models: &[(&str, f64)]) -> DaySpend {
        DaySpend {
            date: date.to_owned(),
            calls: 1,
            cost_usd: models.iter().map(|m| m.1).sum(),
            by_model: models
                .iter()
                .map(|(model, cost)| ModelDay {
                    model: (*model).to_owned(),
                    calls: 1,
                    cost_usd: *cost,
                })
                .collect(),
        }
    }

    #[test]
    fn spend_chart_has_a_line_per_model_and_escapes_names() {
        let days = vec![
            day("2026-07-01", &[("gpt-4o", 3.0), ("<b>evil</b>", 1.0)]),
            day("2026-07-02", &[("gpt-4o", 4.0)]),
        ];
        let chart = spend_by_model(&days).unwrap().unwrap();
        assert!(chart.svg.starts_with("<svg "), "{}", chart.svg);
        assert!(!chart.svg.contains("http"), "{}", chart.svg);
        // One thick line per model (the axes are thin polylines too).
        assert_eq!(
            chart.svg.matches("stroke-width=\"2\" points=").count(),
            2,
            "{}",
            chart.svg
        );
        assert!(chart.svg.contains("07-02"), "{}", chart.svg);
        assert_eq!(chart.legend.len(), 2);
        assert_eq!(chart.legend[0].label, "gpt-4o");
        assert_eq!(chart.legend[1].label, "<b>evil</b>");
        assert!(!chart.svg.contains("<b>"));
    }

    #[test]
    fn many_models_are_summed_into_one_series() {
        let models: Vec<(String, f64)> = (0..10)
            .map(|i| (format!("m{i}"), 10.0 - i as f64))
            .collect();
        let refs: Vec<(&str, f64)> = models.iter().map(|(m, c)| (m.as_str(), *c)).collect();
        let chart = spend_by_model(&[day("2026-07-01", &refs), day("2026-07-02", &refs)])
            .unwrap()
            .unwrap();
        assert_eq!(chart.legend.len(), MAX_SERIES);
        assert_eq!(chart.legend[MAX_SERIES - 1].label, "4 other models");
    }

    #[test]
    fn no_priced_spend_draws_no_chart() {
        assert!(
            spend_by_model(&[day("2026-07-01", &[("x", 0.0)])])
                .unwrap()
                .is_none()
        );
        assert!(savings_by_recommendation(&[]).unwrap().is_none());
    }
}
