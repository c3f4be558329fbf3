//! The drawing code of each chart, generic over the plotters backend (SVG or bitmap).

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{Metric, Point, ResultsData};
use super::style::{self, ALERT, BLACK, EVENT, FONT, TEXT, WARM_UP, group_color};
use super::{ChartKind, ChartSpec};
use crate::results::ALL;

pub type DrawResult<T = ()> = Result<T, Box<dyn Error>>;

/// Height of the title block above the panels.
const HEADER: u32 = 100;

/// Rows and columns for `n` small multiples.
pub fn grid(n: usize) -> (usize, usize) {
    let n = n.max(1);
    if n <= 3 {
        return (1, n);
    }
    let cols = (n as f64).sqrt().ceil() as usize;
    (n.div_ceil(cols), cols)
}

/// Draws `spec` onto `root`.
pub fn draw<DB: DrawingBackend>(
    data: &ResultsData,
    spec: &ChartSpec,
    root: &DrawingArea<DB, Shift>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    match &spec.kind {
        ChartKind::StockFan { product } => stock_fan(data, product, root),
        ChartKind::Shortage { product } => shortage(data, product, root),
        ChartKind::Rates => rates(data, root),
        ChartKind::ShortageHistogram => histogram(data, root),
        ChartKind::Sites { product, group } => sites(data, product, group, root),
    }
}

pub(super) fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&TEXT)
}

pub(super) fn bold(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size, FontStyle::Bold).into_font()).color(&TEXT)
}

/// A legend entry drawn in the header strip, never over data.
pub(super) enum Legend {
    /// A filled swatch (bands, shaded windows).
    Swatch(RGBAColor, String),
    /// A line sample, optionally dashed.
    Line(RGBColor, u32, bool, String),
}

/// Draws the title, subtitle and legend row; returns the area below them.
pub(super) fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
    legend: &[Legend],
) -> DrawResult<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    root.draw_text(title, &bold(26.0), (16, 10))?;
    root.draw_text(subtitle, &font(16.0), (16, 44))?;
    let legend_bottom = draw_legend_row(root, legend, (16, 74))?;
    let (_, body) = root.split_vertically(legend_bottom.max(HEADER as i32 - 8) + 8);
    Ok(body)
}

/// Draws the legend entries left to right, wrapping at the right edge; returns the bottom y.
fn draw_legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend: &[Legend],
    at: (i32, i32),
) -> DrawResult<i32>
where
    DB::ErrorType: 'static,
{
    let style = font(15.0);
    let (mut x, mut y) = at;
    let right = area.dim_in_pixel().0 as i32 - 10;
    for item in legend {
        let label = match item {
            Legend::Swatch(_, label) | Legend::Line(_, _, _, label) => label,
        };
        let (w, _) = area.estimate_text_size(label, &style)?;
        if x > at.0 && x + 34 + w as i32 > right {
            x = at.0;
            y += 24;
        }
        let label = match item {
            Legend::Swatch(color, label) => {
                area.draw(&Rectangle::new([(x, y), (x + 28, y + 14)], color.filled()))?;
                label
            }
            Legend::Line(color, width, dashed, label) => {
                let s = color.stroke_width(*width);
                if *dashed {
                    for dx in (0..28).step_by(8) {
                        area.draw(&PathElement::new(
                            vec![(x + dx, y + 7), (x + (dx + 5).min(28), y + 7)],
                            s,
                        ))?;
                    }
                } else {
                    area.draw(&PathElement::new(vec![(x, y + 7), (x + 28, y + 7)], s))?;
                }
                label
            }
        };
        area.draw_text(label, &style, (x + 34, y))?;
        x += 34 + w as i32 + 24;
    }
    Ok(y + 18)
}

fn finite_max(values: impl Iterator<Item = f64>) -> Option<f64> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |m, v| Some(m.map_or(v, |m: f64| m.max(v))))
}

/// Upper end of the days-of-supply axis: above the highest P95 and the highest alert level.
fn fan_y_max(data: &ResultsData, series: &[&[Point]], alerts: bool) -> f64 {
    let top = finite_max(
        series
            .iter()
            .flat_map(|s| s.iter())
            .map(|p| if p.p95.is_finite() { p.p95 } else { p.median() }),
    );
    let levels = data.summary.alert_levels.iter().filter(|_| alerts);
    let alert = finite_max(levels.map(|a| a.below_days));
    let top = top.unwrap_or(1.0).max(alert.unwrap_or(0.0) * 1.1).max(1.0);
    top * 1.08
}

/// Whether alert levels belong on a days-of-supply fan of `product` at a site of `kind`
/// (`None`: the network).
fn alerts_on(data: &ResultsData, product: &str, kind: Option<&str>) -> bool {
    let s = &data.summary;
    !s.alert_levels.is_empty() && stages_read(&s.alert_stock, &s.alert_products, product, kind)
}

/// Whether the alert stages read the days of supply a fan shows: the stages apply to the
/// product (all when none are listed), and when they read the hubs' stock, only a hub's
/// own fan is that stock.
fn stages_read(stock: &str, products: &[String], product: &str, kind: Option<&str>) -> bool {
    let product_staged = products.is_empty() || products.iter().any(|p| p == product);
    product_staged && (stock != "hubs" || kind == Some("hub"))
}

fn fan_legend(data: &ResultsData, color: RGBColor, alerts: bool) -> Vec<Legend> {
    let mut legend = vec![
        Legend::Line(color, 2, false, "median".into()),
        Legend::Swatch(color.mix(0.45), "P25–P75".into()),
        Legend::Swatch(color.mix(0.2), "P5–P95".into()),
    ];
    if alerts {
        let label = if data.summary.alert_stock == "hubs" {
            "alert level (hub days of supply)"
        } else {
            "alert level (days of supply)"
        };
        legend.push(Legend::Line(ALERT, 1, true, label.into()));
    }
    legend.extend(window_legend(data));
    legend
}

fn window_legend(data: &ResultsData) -> Vec<Legend> {
    let mut legend = Vec::new();
    if !data.summary.events.is_empty() {
        legend.push(Legend::Swatch(EVENT.mix(0.25), "emergency event".into()));
    }
    if data.summary.time.warm_up_periods > 0 {
        legend.push(Legend::Swatch(
            WARM_UP.mix(0.35),
            "warm-up (excluded from headline)".into(),
        ));
    }
    legend
}

type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A time-series panel: x in periods labelled by date, y from `y_min` to `y_max`.
fn time_panel<'a, DB: DrawingBackend>(
    data: &ResultsData,
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    y_max: f64,
    y_desc: &str,
    compact: bool,
    y_format: &dyn Fn(&f64) -> String,
) -> DrawResult<Chart<'a, DB>>
where
    DB::ErrorType: 'static,
{
    let x_max = data.periods() as f64;
    let caption_size = if compact { 16.0 } else { 19.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, bold(caption_size))
        .margin(8)
        .margin_right(if compact { 24 } else { 44 })
        .x_label_area_size(if compact { 28 } else { 46 })
        .y_label_area_size(if compact { 54 } else { 72 })
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    let formatter = |x: &f64| {
        if compact {
            data.period_label_short(*x)
        } else {
            data.period_label(*x)
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(if compact { 4 } else { 5 })
        .y_labels(if compact { 5 } else { 6 })
        .max_light_lines(1)
        .x_label_formatter(&formatter)
        .y_label_formatter(y_format)
        .y_desc(y_desc)
        .label_style(font(if compact { 12.0 } else { 14.0 }))
        .axis_desc_style(font(if compact { 13.0 } else { 15.0 }))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .disable_x_mesh();
    if !compact {
        mesh.x_desc("date (start of period)");
    }
    mesh.draw()?;
    draw_windows(data, &mut chart, y_max, compact)?;
    Ok(chart)
}

/// Shades the warm-up and the emergency event windows.
fn draw_windows<DB: DrawingBackend>(
    data: &ResultsData,
    chart: &mut Chart<'_, DB>,
    y_max: f64,
    compact: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let x_max = data.periods() as f64;
    let label_style = font(if compact { 11.0 } else { 13.0 });
    let warm = (data.summary.time.warm_up_periods as f64).min(x_max);
    if warm > 0.0 {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, 0.0), (warm, y_max)],
            WARM_UP.mix(0.35).filled(),
        )))?;
        chart.draw_series(std::iter::once(
            EmptyElement::at((0.0, y_max)) + Text::new("warm-up", (4, 4), label_style.clone()),
        ))?;
    }
    for event in &data.summary.events {
        let x0 = (event.start_period as f64).min(x_max);
        let x1 = (event.end_period as f64).clamp(x0, x_max);
        if x1 <= x0 {
            continue;
        }
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x0, 0.0), (x1, y_max)],
            EVENT.mix(0.25).filled(),
        )))?;
        let label = if compact {
            String::new()
        } else {
            event.name.clone()
        };
        chart.draw_series(std::iter::once(
            EmptyElement::at((x0, y_max)) + Text::new(label, (4, 20), label_style.clone()),
        ))?;
    }
    Ok(())
}

/// Median line, P25-P75 and P5-P95 bands, alert lines.
fn draw_fan<DB: DrawingBackend>(
    data: &ResultsData,
    chart: &mut Chart<'_, DB>,
    points: &[Point],
    color: RGBColor,
    (y_max, alerts): (f64, bool),
    compact: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let clamp = |v: f64| v.clamp(0.0, y_max);
    type Edge = fn(&Point) -> f64;
    let bands: [(f64, Edge, Edge); 2] = [(0.2, |p| p.p05, |p| p.p95), (0.45, |p| p.p25, |p| p.p75)];
    for (alpha, lo, hi) in bands {
        let band: Vec<&Point> = points
            .iter()
            .filter(|p| lo(p).is_finite() && hi(p).is_finite())
            .collect();
        if band.len() < 2 {
            continue;
        }
        let mut polygon: Vec<(f64, f64)> = band
            .iter()
            .map(|p| (p.period as f64, clamp(hi(p))))
            .collect();
        polygon.extend(band.iter().rev().map(|p| (p.period as f64, clamp(lo(p)))));
        chart.draw_series(std::iter::once(Polygon::new(
            polygon,
            color.mix(alpha).filled(),
        )))?;
    }
    let median = points
        .iter()
        .filter(|p| p.median().is_finite())
        .map(|p| (p.period as f64, clamp(p.median())));
    chart.draw_series(LineSeries::new(median, color.stroke_width(2)))?;
    if alerts {
        draw_alerts(data, chart, y_max, compact)?;
    }
    Ok(())
}

fn draw_alerts<DB: DrawingBackend>(
    data: &ResultsData,
    chart: &mut Chart<'_, DB>,
    y_max: f64,
    compact: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let x_max = data.periods() as f64;
    let label_style = font(if compact { 11.0 } else { 13.0 }).color(&ALERT);
    for level in &data.summary.alert_levels {
        let y = level.below_days;
        if !y.is_finite() || y <= 0.0 || y >= y_max {
            continue;
        }
        chart.draw_series(DashedLineSeries::new(
            vec![(0.0, y), (x_max, y)],
            6,
            4,
            ALERT.stroke_width(1),
        ))?;
        if !compact {
            let label = format!("{} (< {} d)", level.name, trim_number(y));
            let (w, _) = chart
                .plotting_area()
                .estimate_text_size(&label, &label_style)?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((x_max, y))
                    + Rectangle::new([(-(w as i32) - 8, -16), (-2, -2)], WHITE.mix(0.7).filled())
                    + Text::new(
                        label,
                        (-4, -15),
                        label_style.clone().pos(Pos::new(HPos::Right, VPos::Top)),
                    ),
            ))?;
        }
    }
    Ok(())
}

fn trim_number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        format!("{v:.1}")
    }
}

fn axis_number(v: &f64) -> String {
    let a = v.abs();
    if a == 0.0 || a >= 10.0 || (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn scenario(data: &ResultsData) -> &str {
    &data.summary.scenario.name
}

fn group_caption(group: &str) -> String {
    match group {
        ALL => "all groups (total)".to_string(),
        "any" => "all recipients".to_string(),
        g => format!("group {g}"),
    }
}

fn stock_fan<DB: DrawingBackend>(
    data: &ResultsData,
    product: &str,
    root: &DrawingArea<DB, Shift>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let groups = data.groups_with_data(product, Metric::DaysOfSupply);
    let series: Vec<&[Point]> = groups
        .iter()
        .map(|g| data.series(ALL, product, g, Metric::DaysOfSupply))
        .collect();
    let alerts = alerts_on(data, product, None);
    let y_max = fan_y_max(data, &series, alerts);
    let title = format!(
        "{}: days of supply of {product} by blood group",
        scenario(data)
    );
    let mut subtitle = format!(
        "Network total over all sites; median and percentile bands over {} replications; same scale in every panel",
        data.summary.run.replications
    );
    if !alerts && data.summary.alert_stock == "hubs" && !data.summary.alert_levels.is_empty() {
        subtitle.push_str("; alert stages read the hubs' stock (lines on hub panels)");
    }
    let body = header(root, &title, &subtitle, &fan_legend(data, BLACK, alerts))?;
    let panels = body.split_evenly(grid(groups.len()));
    for ((group, points), panel) in groups.iter().zip(&series).zip(&panels) {
        let mut chart = time_panel(
            data,
            panel,
            &group_caption(group),
            y_max,
            "days of supply",
            false,
            &axis_number,
        )?;
        let scale = (y_max, alerts);
        draw_fan(data, &mut chart, points, group_color(group), scale, false)?;
    }
    Ok(())
}

fn shortage<DB: DrawingBackend>(
    data: &ResultsData,
    product: &str,
    root: &DrawingArea<DB, Shift>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = format!(
        "{}: shortages of {product} per period by blood group",
        scenario(data)
    );
    let subtitle = format!(
        "Network total; probability = share of the {} replications with unmet demand in the period",
        data.summary.run.replications
    );
    let body = header(root, &title, &subtitle, &window_legend(data))?;
    let (plots, legend_area) = body.split_horizontally(body.dim_in_pixel().0.saturating_sub(170));
    let panels = plots.split_evenly((2, 1));
    let mut groups = data.groups_with_data(product, Metric::ShortageProbability);
    for g in data.groups_with_data(product, Metric::UnitsShort) {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    // Totals first, so the groups are drawn on top of them.
    groups.sort_by_key(|g| g != ALL);

    let metrics = [
        (
            Metric::ShortageProbability,
            "Probability of a shortage in the period",
            "probability",
        ),
        (
            Metric::UnitsShort,
            "Expected units short in the period (mean)",
            "units short per period",
        ),
    ];
    for ((metric, caption, y_desc), panel) in metrics.into_iter().zip(&panels) {
        let series: Vec<&[Point]> = groups
            .iter()
            .map(|g| data.series(ALL, product, g, metric))
            .collect();
        let top = finite_max(series.iter().flat_map(|s| s.iter()).map(|p| p.mean)).unwrap_or(0.0);
        let y_max = match metric {
            Metric::ShortageProbability => (top * 1.15).clamp(0.05, 1.0),
            _ => (top * 1.15).max(1.0),
        };
        let caption = format!("{caption}: {product}");
        let mut chart = time_panel(data, panel, &caption, y_max, y_desc, false, &axis_number)?;
        for (group, points) in groups.iter().zip(&series) {
            let width = if group == ALL { 3 } else { 2 };
            let line = points
                .iter()
                .filter(|p| p.mean.is_finite())
                .map(|p| (p.period as f64, p.mean.clamp(0.0, y_max)));
            chart.draw_series(LineSeries::new(
                line,
                group_color(group).stroke_width(width),
            ))?;
        }
    }

    let style = font(15.0);
    legend_area.draw_text("blood group", &bold(15.0), (10, 20))?;
    for (i, group) in groups.iter().enumerate() {
        let y = 48 + 26 * i as i32;
        let width = if group == ALL { 3 } else { 2 };
        legend_area.draw(&PathElement::new(
            vec![(10, y + 8), (42, y + 8)],
            group_color(group).stroke_width(width),
        ))?;
        let label = if group == ALL {
            "all groups"
        } else {
            group.as_str()
        };
        legend_area.draw_text(label, &style, (50, y))?;
    }
    Ok(())
}

/// The headline groups of `product` in display order, totals last.
fn headline_groups<'a>(data: &'a ResultsData, product: &str) -> Vec<&'a crate::results::Headline> {
    let rows: Vec<&crate::results::Headline> = data
        .summary
        .headline
        .iter()
        .filter(|h| h.product == product)
        .collect();
    let mut ordered: Vec<&crate::results::Headline> = Vec::new();
    for g in data.summary.groups.iter().map(String::as_str).chain([ALL]) {
        if let Some(h) = rows.iter().find(|h| h.group == g)
            && !ordered.iter().any(|o| o.group == h.group)
        {
            ordered.push(h);
        }
    }
    for h in rows {
        if !ordered.iter().any(|o| o.group == h.group) {
            ordered.push(h);
        }
    }
    // An ungrouped scenario's total duplicates its single group.
    if data.summary.groups.len() == 1 && ordered.len() > 1 {
        ordered.retain(|h| h.group != ALL);
    }
    ordered
}

fn percent_format(range: f64) -> impl Fn(&f64) -> String {
    let decimals = if range < 0.02 {
        2
    } else if range < 0.2 {
        1
    } else {
        0
    };
    move |v: &f64| format!("{:.*}%", decimals, v * 100.0)
}

/// The y range of a rate's panels: within [0, 1], spanning the means and intervals with a
/// margin and at least one percentage point; from zero when `from_zero`.
fn rate_axis(
    estimates: impl Iterator<Item = crate::results::Estimate>,
    from_zero: bool,
) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for e in estimates {
        for v in [e.mean, e.ci_low, e.ci_high]
            .into_iter()
            .filter(|v| v.is_finite())
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.2).max(0.005);
    let y_lo = if from_zero {
        0.0
    } else {
        (lo - pad).clamp(0.0, 0.99)
    };
    (y_lo, (hi + pad).min(1.0).max(y_lo + 0.01))
}

fn rates<DB: DrawingBackend>(data: &ResultsData, root: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = format!(
        "{}: fill rate and outdate rate by blood group",
        scenario(data)
    );
    let subtitle = format!(
        "After warm-up; dot = mean over {} replications (its value beside it), whiskers = 95% confidence interval; each rate's panels share one y axis",
        data.summary.run.replications
    );
    let body = header(root, &title, &subtitle, &[])?;
    let mut products: Vec<&String> = data.summary.products.iter().collect();
    if products.is_empty() {
        products = data.summary.headline.iter().map(|h| &h.product).collect();
        products.dedup();
    }
    let panels = body.split_evenly((products.len().max(1), 2));
    type Pick = fn(&crate::results::Headline) -> crate::results::Estimate;
    let metrics: [(&str, &str, Pick, bool); 2] = [
        (
            "Fill rate (issued / demanded)",
            "fill rate",
            |h| h.fill_rate,
            false,
        ),
        (
            "Outdate rate (expired / released)",
            "outdate rate",
            |h| h.outdate_rate,
            true,
        ),
    ];
    // One y range per rate across the products' panels, so equal-looking dots are equal.
    let ranges: Vec<(f64, f64)> = metrics
        .iter()
        .map(|(_, _, pick, from_zero)| {
            let all = products
                .iter()
                .flat_map(|p| headline_groups(data, p))
                .map(pick);
            rate_axis(all, *from_zero)
        })
        .collect();
    for (row, product) in products.iter().enumerate() {
        let rows = headline_groups(data, product);
        for (col, (caption, y_desc, pick, _)) in metrics.iter().enumerate() {
            let Some(panel) = panels.get(row * 2 + col) else {
                continue;
            };
            let estimates: Vec<crate::results::Estimate> = rows.iter().map(|h| pick(h)).collect();
            let (y_lo, y_hi) = ranges[col];
            let n = rows.len().max(1) as i32;
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("{caption}: {product}"), bold(18.0))
                .margin(8)
                .margin_right(22)
                .x_label_area_size(40)
                .y_label_area_size(80)
                .build_cartesian_2d((0..(n - 1).max(0)).into_segmented(), y_lo..y_hi)?;
            let names: Vec<String> = rows
                .iter()
                .map(|h| {
                    if h.group == ALL {
                        "all".to_string()
                    } else {
                        h.group.clone()
                    }
                })
                .collect();
            let x_format = |v: &SegmentValue<i32>| match v {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            };
            let y_format = percent_format(y_hi - y_lo);
            chart
                .configure_mesh()
                .x_labels(n as usize)
                .x_label_formatter(&x_format)
                .y_label_formatter(&y_format)
                .y_labels(6)
                .max_light_lines(1)
                .x_desc("blood group")
                .y_desc(format!("{y_desc} (%)"))
                .label_style(font(14.0))
                .axis_desc_style(font(15.0))
                .light_line_style(RGBColor(235, 235, 235))
                .bold_line_style(RGBColor(215, 215, 215))
                .disable_x_mesh()
                .draw()?;
            for (i, (h, e)) in rows.iter().zip(&estimates).enumerate() {
                let color = group_color(&h.group);
                let x = SegmentValue::CenterOf(i as i32);
                let clamp = |v: f64| v.clamp(y_lo, y_hi);
                if e.ci_low.is_finite() && e.ci_high.is_finite() {
                    let s = color.stroke_width(3);
                    chart.draw_series([PathElement::new(
                        vec![(x.clone(), clamp(e.ci_low)), (x.clone(), clamp(e.ci_high))],
                        s,
                    )])?;
                    for v in [e.ci_low, e.ci_high] {
                        chart.draw_series(std::iter::once(
                            EmptyElement::at((x.clone(), clamp(v)))
                                + PathElement::new(vec![(-9, 0), (9, 0)], s),
                        ))?;
                    }
                }
                if e.mean.is_finite() {
                    chart.draw_series(std::iter::once(Circle::new(
                        (x.clone(), clamp(e.mean)),
                        6,
                        color.filled(),
                    )))?;
                    let label = percent_format((y_hi - y_lo) / 10.0)(&e.mean);
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((x.clone(), clamp(e.mean)))
                            + Text::new(label, (10, -8), font(13.0)),
                    ))?;
                }
            }
        }
    }
    Ok(())
}

fn histogram<DB: DrawingBackend>(data: &ResultsData, root: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let title = format!("{}: total units short per replication", scenario(data));
    let subtitle = "All blood groups, whole horizon after warm-up; each bar counts replications";
    let legend = [
        Legend::Line(TEXT, 2, true, "mean".into()),
        Legend::Line(style::VERMILLION, 2, true, "P95".into()),
    ];
    let body = header(root, &title, subtitle, &legend)?;
    let products = &data.summary.products;
    let panels = body.split_evenly(grid(products.len()));
    for (product, panel) in products.iter().zip(&panels) {
        let mut totals: Vec<u64> = data
            .replications
            .iter()
            .filter(|r| r.product == *product && r.group == ALL)
            .map(|r| r.units_short)
            .collect();
        if totals.is_empty() {
            // No total rows: sum the groups of each replication.
            let mut by_rep: std::collections::BTreeMap<u64, u64> =
                std::collections::BTreeMap::new();
            for r in data.replications.iter().filter(|r| r.product == *product) {
                *by_rep.entry(r.replication).or_default() += r.units_short;
            }
            totals = by_rep.into_values().collect();
        }
        totals.sort_unstable();
        let n = totals.len();
        let (min, max) = match (totals.first(), totals.last()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => (0, 0),
        };
        let width = ((max - min).saturating_add(1) as f64 / 30.0)
            .ceil()
            .max(1.0) as u64;
        let bins = ((max - min) / width + 1) as usize;
        let mut counts = vec![0u32; bins];
        for &t in &totals {
            counts[((t - min) / width) as usize] += 1;
        }
        let mean = if n > 0 {
            totals.iter().map(|&t| t as f64).sum::<f64>() / n as f64
        } else {
            0.0
        };
        let p95 = if n > 0 {
            totals[((n as f64 * 0.95).ceil() as usize).clamp(1, n) - 1] as f64
        } else {
            0.0
        };
        let short_share = if n > 0 {
            totals.iter().filter(|&&t| t > 0).count() as f64 / n as f64
        } else {
            0.0
        };
        let y_max = counts.iter().copied().max().unwrap_or(0) as f64 * 1.15 + 1.0;
        let x_lo = min as f64;
        let x_hi = min.saturating_add(width.saturating_mul(bins as u64)) as f64;
        let caption = format!(
            "{product}: {:.0}% of {n} replications short",
            short_share * 100.0
        );
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, bold(18.0))
            .margin(8)
            .margin_right(22)
            .x_label_area_size(46)
            .y_label_area_size(72)
            .build_cartesian_2d(x_lo..x_hi.max(x_lo + 1.0), 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_desc("units short per replication")
            .y_desc("replications")
            .x_label_formatter(&axis_number)
            .y_label_formatter(&axis_number)
            .max_light_lines(1)
            .label_style(font(14.0))
            .axis_desc_style(font(15.0))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .disable_x_mesh()
            .draw()?;
        chart.draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, &c)| {
                    let x0 = min.saturating_add(width.saturating_mul(i as u64)) as f64;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + width as f64, c as f64)],
                        BLACK.mix(0.55).filled(),
                    )
                }),
        )?;
        for (value, color, label) in [(mean, TEXT, "mean"), (p95, style::VERMILLION, "P95")] {
            chart.draw_series(DashedLineSeries::new(
                vec![(value, 0.0), (value, y_max)],
                6,
                4,
                color.stroke_width(2),
            ))?;
            let text = format!("{label} {}", trim_number((value * 10.0).round() / 10.0));
            let dy = if label == "mean" { 4 } else { 22 };
            chart.draw_series(std::iter::once(
                EmptyElement::at((value, y_max))
                    + Text::new(text, (5, dy), font(13.0).color(&color)),
            ))?;
        }
    }
    Ok(())
}

fn sites<DB: DrawingBackend>(
    data: &ResultsData,
    product: &str,
    group: &str,
    root: &DrawingArea<DB, Shift>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let series: Vec<(&String, &[Point], bool)> = data
        .sites
        .iter()
        .map(|site| {
            let own = data.series(site, product, group, Metric::DaysOfSupply);
            if own.is_empty() {
                (
                    site,
                    data.series(site, product, ALL, Metric::DaysOfSupply),
                    true,
                )
            } else {
                (site, own, false)
            }
        })
        .collect();
    let all_points: Vec<&[Point]> = series.iter().map(|(_, p, _)| *p).collect();
    let kind_of = |site: &str| {
        data.summary
            .sites
            .iter()
            .find(|s| s.name == site)
            .map_or("", |s| s.kind.as_str())
    };
    let any_alerts = series
        .iter()
        .any(|(site, _, _)| alerts_on(data, product, Some(kind_of(site))));
    let y_max = fan_y_max(data, &all_points, any_alerts);
    let any_fallback = series.iter().any(|(_, _, f)| *f);
    let title = format!(
        "{}: days of supply of {product} {group} by site",
        scenario(data)
    );
    let mut subtitle = format!(
        "{product} {group} has the highest shortage probability in the headline{}; same scale in every panel",
        if any_fallback {
            " (panels marked 'all groups' have no per-group rows)"
        } else {
            ""
        }
    );
    if data.sites.len() < data.sites_total {
        subtitle = format!(
            "{subtitle}; the {} of {} sites with the lowest days of supply",
            data.sites.len(),
            data.sites_total
        );
    }
    let color = group_color(group);
    let body = header(
        root,
        &title,
        &subtitle,
        &fan_legend(data, color, any_alerts),
    )?;
    let panels = body.split_evenly(grid(series.len()));
    for ((site, points, fallback), panel) in series.iter().zip(&panels) {
        let kind = kind_of(site);
        let mut caption = if kind.is_empty() {
            site.to_string()
        } else {
            format!("{site} ({kind})")
        };
        if *fallback {
            caption.push_str(", all groups");
        }
        let mut chart = time_panel(
            data,
            panel,
            &caption,
            y_max,
            "days of supply",
            true,
            &axis_number,
        )?;
        let c = if *fallback { BLACK } else { color };
        let alerts = alerts_on(data, product, Some(kind));
        draw_fan(data, &mut chart, points, c, (y_max, alerts), true)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_shapes() {
        assert_eq!(grid(1), (1, 1));
        assert_eq!(grid(2), (1, 2));
        assert_eq!(grid(4), (2, 2));
        assert_eq!(grid(9), (3, 3));
        assert_eq!(grid(30), (5, 6));
        assert_eq!(grid(0), (1, 1));
    }

    #[test]
    fn rate_axes_stay_within_zero_and_one_and_hold_every_interval() {
        let e = |mean: f64, ci_low: f64, ci_high: f64| crate::results::Estimate {
            mean,
            ci_low,
            ci_high,
        };
        let fill = [e(0.999, 0.998, 1.0), e(0.93, 0.91, 0.95)];
        let (lo, hi) = rate_axis(fill.into_iter(), false);
        assert!(
            (0.0..=0.91).contains(&lo) && (1.0 - 1e-12..=1.0).contains(&hi),
            "{lo} {hi}"
        );
        let (lo, hi) = rate_axis([e(0.0, 0.0, 0.0)].into_iter(), true);
        assert!(
            lo == 0.0 && hi >= 0.01,
            "one percentage point at least: {hi}"
        );
        let (lo, hi) = rate_axis(std::iter::empty(), false);
        assert!(lo >= 0.0 && hi <= 1.0 && hi > lo);
    }

    #[test]
    fn alert_lines_only_over_the_stock_the_stages_read() {
        let red = vec!["red_cells".to_string()];
        assert!(stages_read("network", &[], "platelets", None));
        assert!(stages_read("network", &red, "red_cells", Some("hospital")));
        assert!(!stages_read("network", &red, "platelets", None));
        assert!(stages_read("hubs", &red, "red_cells", Some("hub")));
        assert!(!stages_read("hubs", &red, "red_cells", None));
        assert!(!stages_read("hubs", &red, "red_cells", Some("hospital")));
    }
}
