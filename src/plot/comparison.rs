//! Charts of a comparison or a sweep directory: the paired difference of each variant
//! from the base by period (`differences_by_period.csv`), and a sweep's trade-off of units
//! short against outdating, one point per setting (`sweep.csv`).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::charts::{DrawResult, font, header};
use super::data::io_error;
use super::style::{self, BLUE, GREY, VERMILLION};
use super::{PLOTS_DIR, PlotError, encode_png};
use crate::compare::{PeriodDifferenceRow, SweepRow};
use crate::results::{self, ALL, PERIOD_DIFFERENCES_FILE, SWEEP_FILE, write_atomic};

/// A name as a file stem: letters, digits, `-`, `_` and `.` kept, anything else `_`.
pub fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The file stem of a variant's difference chart in `plots/`.
pub fn difference_stem(variant: &str) -> String {
    format!("difference_{}", file_stem(variant))
}

/// Rows of one CSV file of `dir`, or a read error naming it.
fn read_rows<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Result<Vec<T>, PlotError> {
    results::read_rows(dir, file).map_err(|e| io_error(&dir.join(file), e))
}

/// Draws one difference chart per variant into `dir/plots/difference_<variant>.{png,svg}`
/// from `dir/differences_by_period.csv`; returns the files written.
pub fn draw_differences(dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let rows: Vec<PeriodDifferenceRow> = read_rows(dir, PERIOD_DIFFERENCES_FILE)?;
    let mut variants: Vec<&str> = Vec::new();
    let mut products: Vec<&str> = Vec::new();
    for r in &rows {
        if !variants.contains(&r.variant.as_str()) {
            variants.push(&r.variant);
        }
        if !products.contains(&r.product.as_str()) {
            products.push(&r.product);
        }
    }
    let mut written = Vec::new();
    for variant in variants {
        let mine: Vec<&PeriodDifferenceRow> =
            rows.iter().filter(|r| r.variant == variant).collect();
        let size = (1400, products.len() as u32 * 320 + 110);
        let stem = difference_stem(variant);
        let chart = Differences {
            rows: &mine,
            products: &products,
            variant,
        };
        written.extend(render(dir, &stem, size, &chart)?);
    }
    Ok(written)
}

/// Draws `dir/plots/trade_off.{png,svg}` from `dir/sweep.csv`.
pub fn draw_trade_off(dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let rows: Vec<SweepRow> = read_rows(dir, SWEEP_FILE)?;
    let mut products: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| r.group == ALL) {
        if !products.contains(&r.product.as_str()) {
            products.push(&r.product);
        }
    }
    let size = (1200, products.len().max(1) as u32 * 480 + 110);
    let chart = TradeOff {
        rows: &rows,
        products: &products,
    };
    render(dir, "trade_off", size, &chart)
}

/// A chart drawable on any plotters backend.
trait Drawing {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

struct Differences<'a> {
    rows: &'a [&'a PeriodDifferenceRow],
    products: &'a [&'a str],
    variant: &'a str,
}

impl Drawing for Differences<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        differences(self.rows, self.products, self.variant, root)
    }
}

struct TradeOff<'a> {
    rows: &'a [SweepRow],
    products: &'a [&'a str],
}

impl Drawing for TradeOff<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        trade_off(self.rows, self.products, root)
    }
}

/// Renders a chart as SVG and PNG into `dir/plots/<stem>.*`, written atomically.
fn render(
    dir: &Path,
    stem: &str,
    size: (u32, u32),
    chart: &impl Drawing,
) -> Result<Vec<PathBuf>, PlotError> {
    style::register_fonts()?;
    let plots = dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&plots).map_err(|source| PlotError::Write {
        path: plots.clone(),
        source,
    })?;
    let failed = |e: Box<dyn std::error::Error>| PlotError::Draw {
        chart: stem.to_string(),
        message: e.to_string(),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        chart.draw(&root).map_err(failed)?;
        root.present().map_err(|e| failed(Box::new(e)))?;
    }
    let (w, h) = size;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        chart.draw(&root).map_err(failed)?;
        root.present().map_err(|e| failed(Box::new(e)))?;
    }
    let png_path = plots.join(format!("{stem}.png"));
    let png = encode_png(&pixels, size, png_path.clone())?;
    let svg_path = plots.join(format!("{stem}.svg"));
    for (path, bytes) in [(&svg_path, svg.as_bytes()), (&png_path, &png[..])] {
        write_atomic(path, bytes).map_err(|source| PlotError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(vec![png_path, svg_path])
}

/// Per product, two panels: days of supply and shortage probability, variant - base by
/// period, the mean with its 95% band and the zero line.
fn differences<DB: DrawingBackend>(
    rows: &[&PeriodDifferenceRow],
    products: &[&str],
    variant: &str,
    root: &DrawingArea<DB, Shift>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let body = header(
        root,
        &format!("{variant} minus base, by period (paired on common random numbers)"),
        "Days of supply: mean difference over replications, 95% band. P(some demand unmet): difference per period, 7-day moving average. Below zero: the variant holds less, or is short less often.",
        &[],
    )?;
    let panels = body.split_evenly((products.len().max(1), 2));
    let per_day = period_days(rows);
    let finite = |v: f64| v.is_finite().then_some(v);
    for (i, product) in products.iter().enumerate() {
        let series = |metric: &str| -> Vec<&PeriodDifferenceRow> {
            rows.iter()
                .filter(|r| r.product == *product && r.metric == metric)
                .copied()
                .collect()
        };
        let days = series("days_of_supply");
        let x = |k: usize| k as f64 * per_day;
        let points = |f: fn(&PeriodDifferenceRow) -> f64| -> Vec<(f64, f64)> {
            days.iter()
                .enumerate()
                .filter_map(|(k, r)| finite(f(r)).map(|v| (x(k), v)))
                .collect()
        };
        let band = (points(|r| r.ci_low), points(|r| r.ci_high));
        let caption = format!("{product}: network days of supply");
        let line = points(|r| r.difference);
        panel(&panels[i * 2], &caption, &line, Some(band))?;
        // Per period, "some demand unmet" is 0 or 1 in each replication: noisy period to
        // period, so the chart shows a week's moving average of the mean difference.
        let short = series("shortage_probability");
        let window = ((7.0 / per_day).round() as usize).max(1);
        let means: Vec<f64> = short.iter().map(|r| r.difference).collect();
        let smooth: Vec<(f64, f64)> = (0..means.len())
            .filter_map(|k| {
                let from = (k + 1).saturating_sub(window);
                let w: Vec<f64> = means[from..=k]
                    .iter()
                    .copied()
                    .filter(|v| v.is_finite())
                    .collect();
                (!w.is_empty()).then(|| (x(k), w.iter().sum::<f64>() / w.len() as f64))
            })
            .collect();
        let caption = format!("{product}: P(some demand unmet), 7-day average");
        panel(&panels[i * 2 + 1], &caption, &smooth, None)?;
    }
    Ok(())
}

/// (x, y) points of a line.
type Points = Vec<(f64, f64)>;

/// One panel: a line over days from the start, a shaded band (lower, upper) if given, and
/// the zero line.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    line: &[(f64, f64)],
    band: Option<(Points, Points)>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let ys = line
        .iter()
        .chain(band.iter().flat_map(|(lo, hi)| lo.iter().chain(hi)))
        .map(|p| p.1);
    let (lo, hi) = ys.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    // No difference at all (identical variants there): a small symmetric axis, not a
    // degenerate one.
    let (lo, hi) = if hi - lo < 1e-9 {
        (-0.1, 0.1)
    } else {
        (lo, hi)
    };
    let pad = (hi - lo) * 0.08;
    let last = line.last().map_or(1.0, |p| p.0.max(1.0));
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(18.0))
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..last, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("days from the start")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.2}"))
        .label_style(font(13.0))
        .axis_desc_style(font(14.0))
        .draw()?;
    if let Some((lower, upper)) = band {
        let outline: Vec<(f64, f64)> = upper.into_iter().chain(lower.into_iter().rev()).collect();
        if outline.len() > 2 {
            chart.draw_series(std::iter::once(Polygon::new(
                outline,
                BLUE.mix(0.25).filled(),
            )))?;
        }
    }
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, 0.0), (last, 0.0)],
        GREY.stroke_width(1),
    )))?;
    chart.draw_series(LineSeries::new(line.iter().copied(), BLUE.stroke_width(2)))?;
    Ok(())
}

/// Days per period, from the start times of periods 0 and 1 (1 when they cannot be read).
fn period_days(rows: &[&PeriodDifferenceRow]) -> f64 {
    let time = |p: u32| {
        rows.iter()
            .find(|r| r.period == p)
            .and_then(|r| chrono::NaiveDateTime::parse_from_str(&r.time, "%Y-%m-%dT%H:%M").ok())
    };
    match (time(0), time(1)) {
        (Some(a), Some(b)) if b > a => (b - a).num_minutes() as f64 / 1440.0,
        _ => 1.0,
    }
}

/// One panel per product: mean units short against outdate rate per setting, each with
/// its 95% intervals as error bars, labelled by setting.
fn trade_off<DB: DrawingBackend>(
    rows: &[SweepRow],
    products: &[&str],
    root: &DrawingArea<DB, Shift>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let body = header(
        root,
        "Sweep: units short against outdate rate, one point per setting",
        "All groups; bars are 95% intervals. Down and left is better: fewer units short and less outdated.",
        &[],
    )?;
    let panels = body.split_evenly((products.len().max(1), 1));
    for (area, product) in panels.iter().zip(products) {
        let metric = |setting: &str, name: &str| {
            rows.iter().find(|r| {
                r.setting == setting && r.product == *product && r.group == ALL && r.metric == name
            })
        };
        let mut points = Vec::new();
        for r in rows
            .iter()
            .filter(|r| r.product == *product && r.group == ALL)
        {
            if r.metric != "units_short" {
                continue;
            }
            if let Some(o) = metric(&r.setting, "outdate_rate") {
                points.push((r.setting.as_str(), o, r));
            }
        }
        let xs = points
            .iter()
            .flat_map(|(_, o, _)| [o.ci_low, o.ci_high, o.mean]);
        let ys = points
            .iter()
            .flat_map(|(_, _, u)| [u.ci_low, u.ci_high, u.mean]);
        let range = |v: Vec<f64>| {
            let v: Vec<f64> = v.into_iter().filter(|x| x.is_finite()).collect();
            let lo = v.iter().cloned().fold(f64::INFINITY, f64::min).min(0.0);
            let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            // All equal (e.g. nothing outdates): an axis one unit wide, not a degenerate one.
            let hi = if hi - lo < 1e-9 { lo + 1.0 } else { hi };
            (lo, hi + (hi - lo) * 0.12)
        };
        let (x0, x1) = range(xs.map(|x| x * 100.0).collect());
        let (y0, y1) = range(ys.collect());
        let mut chart = ChartBuilder::on(area)
            .caption(*product, font(18.0))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("outdate rate (%)")
            .y_desc("units short")
            .x_label_formatter(&|x| format!("{x:.2}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(font(13.0))
            .axis_desc_style(font(14.0))
            .draw()?;
        for (setting, o, u) in &points {
            let (x, y) = (o.mean * 100.0, u.mean);
            let bar = VERMILLION.stroke_width(1);
            chart.draw_series([
                PathElement::new(vec![(o.ci_low * 100.0, y), (o.ci_high * 100.0, y)], bar),
                PathElement::new(vec![(x, u.ci_low), (x, u.ci_high)], bar),
            ])?;
            chart.draw_series([Circle::new((x, y), 5, VERMILLION.filled())])?;
            let label =
                EmptyElement::at((x, y)) + Text::new(setting.to_string(), (8, -18), font(13.0));
            chart.draw_series(std::iter::once(label))?;
        }
    }
    Ok(())
}
