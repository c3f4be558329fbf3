//! Charts of a results directory, as PNG and SVG files.
//!
//! [`draw_all`] reads a results directory once ([`ResultsData::load`]), then renders every
//! chart of [`charts`] to an SVG string and an in-memory RGB buffer encoded as PNG, and writes
//! both with [`crate::results::write_atomic`], so no half-written chart is ever seen.

mod charts;
mod comparison;
mod data;
mod style;

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use rayon::prelude::*;

pub use comparison::{difference_stem, draw_differences, draw_trade_off, file_stem};
pub use data::{MAX_SITE_PANELS, Metric, Point, ResultsData};
pub use style::{group_color, slug};

use crate::results::write_atomic;

/// Sub-directory of a results directory that holds the charts.
pub const PLOTS_DIR: &str = "plots";

/// Errors from reading results or drawing charts.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot read results file {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("drawing chart {chart} failed: {message}")]
    Draw { chart: String, message: String },
    #[error("encoding {path} as PNG failed: {message}")]
    Encode { path: PathBuf, message: String },
    #[error("the bundled chart font could not be loaded")]
    Font,
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartKind {
    /// Days-of-supply fan per group (network total) for one product.
    StockFan { product: String },
    /// Shortage probability and expected units short per period, by group, for one product.
    Shortage { product: String },
    /// Fill rate and outdate rate by group with 95% confidence intervals.
    Rates,
    /// Histogram of total units short per replication (group `all`), per product.
    ShortageHistogram,
    /// Days-of-supply fan per site for the product and group with the highest shortage risk.
    Sites { product: String, group: String },
}

/// One chart: its kind, file stem and a human title.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub kind: ChartKind,
    /// File name without extension, unique within `plots/`.
    pub stem: String,
    /// Short description, used as caption in the report.
    pub title: String,
    /// Pixel size of the PNG (and SVG viewport).
    pub size: (u32, u32),
}

/// The charts to draw for a result, in report order.
pub fn charts(data: &ResultsData) -> Vec<ChartSpec> {
    let mut specs = Vec::new();
    let products = &data.summary.products;
    for product in products {
        let groups = data.groups_with_data(product, Metric::DaysOfSupply);
        if groups.is_empty() {
            continue;
        }
        let (rows, cols) = charts::grid(groups.len());
        specs.push(ChartSpec {
            kind: ChartKind::StockFan {
                product: product.clone(),
            },
            stem: format!("days_of_supply_{}", slug(product)),
            title: format!("Days of supply by blood group: {product}"),
            size: (cols as u32 * 560 + 20, rows as u32 * 360 + 110),
        });
    }
    for product in products {
        if data
            .groups_with_data(product, Metric::ShortageProbability)
            .is_empty()
            && data
                .groups_with_data(product, Metric::UnitsShort)
                .is_empty()
        {
            continue;
        }
        specs.push(ChartSpec {
            kind: ChartKind::Shortage {
                product: product.clone(),
            },
            stem: format!("shortage_{}", slug(product)),
            title: format!("Shortage probability and expected units short per period: {product}"),
            size: (1400, 900),
        });
    }
    if !data.summary.headline.is_empty() {
        let rows = products.len().max(1) as u32;
        specs.push(ChartSpec {
            kind: ChartKind::Rates,
            stem: "fill_and_outdate_rates".to_string(),
            title: "Fill rate and outdate rate by blood group (95% confidence intervals)"
                .to_string(),
            size: (1400, rows * 340 + 110),
        });
    }
    if !data.replications.is_empty() {
        let (rows, cols) = charts::grid(products.len().max(1));
        specs.push(ChartSpec {
            kind: ChartKind::ShortageHistogram,
            stem: "units_short_per_replication".to_string(),
            title: "Total units short per replication (all groups)".to_string(),
            size: (cols as u32 * 620 + 20, rows as u32 * 400 + 110),
        });
    }
    if !data.sites.is_empty() {
        let (product, group) = data.focus.clone();
        let (rows, cols) = charts::grid(data.sites.len());
        specs.push(ChartSpec {
            stem: format!("sites_days_of_supply_{}_{}", slug(&product), slug(&group)),
            title: format!("Days of supply by site: {product} {group}"),
            kind: ChartKind::Sites { product, group },
            size: (cols as u32 * 440 + 20, rows as u32 * 300 + 130),
        });
    }
    // Titles and legends need room even when there are only one or two panels.
    for spec in &mut specs {
        spec.size.0 = spec.size.0.max(1100);
    }
    specs
}

/// Renders one chart as an SVG document.
pub fn render_svg(data: &ResultsData, spec: &ChartSpec) -> Result<String, PlotError> {
    style::register_fonts()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, spec.size).into_drawing_area();
        charts::draw(data, spec, &root).map_err(|e| draw_error(spec, e.to_string()))?;
        root.present()
            .map_err(|e| draw_error(spec, e.to_string()))?;
    }
    Ok(svg)
}

/// Renders one chart as PNG bytes.
pub fn render_png(data: &ResultsData, spec: &ChartSpec) -> Result<Vec<u8>, PlotError> {
    style::register_fonts()?;
    let (w, h) = spec.size;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, spec.size).into_drawing_area();
        charts::draw(data, spec, &root).map_err(|e| draw_error(spec, e.to_string()))?;
        root.present()
            .map_err(|e| draw_error(spec, e.to_string()))?;
    }
    encode_png(
        &pixels,
        spec.size,
        PathBuf::from(format!("{}.png", spec.stem)),
    )
}

/// RGB pixels of a `size` chart as PNG bytes; `path` names the file in errors.
fn encode_png(pixels: &[u8], (w, h): (u32, u32), path: PathBuf) -> Result<Vec<u8>, PlotError> {
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        pixels,
        w,
        h,
        image::ColorType::Rgb8,
    )
    .map_err(|e| PlotError::Encode {
        path,
        message: e.to_string(),
    })?;
    Ok(png)
}

fn draw_error(spec: &ChartSpec, message: String) -> PlotError {
    PlotError::Draw {
        chart: spec.stem.clone(),
        message,
    }
}

/// Draws every chart of the results in `results_dir` into `results_dir/plots/`, as PNG and
/// SVG, and returns the paths written.
pub fn draw_all(results_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    style::register_fonts()?;
    let data = ResultsData::load(results_dir)?;
    draw_all_from(&data, results_dir)
}

/// As [`draw_all`], for results already loaded.
pub fn draw_all_from(data: &ResultsData, results_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let dir = results_dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&dir).map_err(|source| PlotError::Write {
        path: dir.clone(),
        source,
    })?;
    let specs = charts(data);
    let written: Vec<Vec<PathBuf>> = specs
        .par_iter()
        .map(|spec| {
            let svg_path = dir.join(format!("{}.svg", spec.stem));
            let svg = render_svg(data, spec)?;
            write_atomic(&svg_path, svg.as_bytes()).map_err(|source| PlotError::Write {
                path: svg_path.clone(),
                source,
            })?;
            let png_path = dir.join(format!("{}.png", spec.stem));
            let png = render_png(data, spec).map_err(|e| match e {
                PlotError::Encode { message, .. } => PlotError::Encode {
                    path: png_path.clone(),
                    message,
                },
                other => other,
            })?;
            write_atomic(&png_path, &png).map_err(|source| PlotError::Write {
                path: png_path.clone(),
                source,
            })?;
            Ok(vec![png_path, svg_path])
        })
        .collect::<Result<_, PlotError>>()?;
    Ok(written.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_summary_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = draw_all(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("summary.json"), "{text}");
    }

    #[test]
    fn corrupt_summary_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("summary.json"), "{ not json").unwrap();
        let err = draw_all(dir.path()).unwrap_err();
        assert!(matches!(err, PlotError::Read { .. }));
        assert!(err.to_string().contains("summary.json"), "{err}");
    }
}
