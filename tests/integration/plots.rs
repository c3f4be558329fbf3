//! Charts drawn from a synthetic results directory.

use std::path::Path;
use std::time::Instant;

use bloodsim::plot::{self, PlotError, ResultsData};

use crate::synthetic::{Shape, write_results};

pub const NAME: &str = "Quake <b>& drill";

fn expected_stems() -> Vec<&'static str> {
    vec![
        "days_of_supply_red_cells",
        "days_of_supply_platelets",
        "shortage_red_cells",
        "shortage_platelets",
        "fill_and_outdate_rates",
        "units_short_per_replication",
        // O- has the highest shortage probability in the synthetic headline.
        "sites_days_of_supply_red_cells_O_neg",
    ]
}

#[test]
fn draws_every_chart_as_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    write_results(dir.path(), &Shape::small(NAME));
    let written = plot::draw_all(dir.path()).unwrap();
    assert_eq!(written.len(), 2 * expected_stems().len(), "{written:?}");

    let data = ResultsData::load(dir.path()).unwrap();
    let specs = plot::charts(&data);
    for stem in expected_stems() {
        let spec = specs
            .iter()
            .find(|s| s.stem == stem)
            .unwrap_or_else(|| panic!("no chart {stem}"));
        let png_path = dir.path().join("plots").join(format!("{stem}.png"));
        let svg_path = dir.path().join("plots").join(format!("{stem}.svg"));
        assert!(
            written.contains(&png_path) && written.contains(&svg_path),
            "{stem} not reported"
        );

        let png = std::fs::read(&png_path).unwrap();
        assert!(!png.is_empty());
        let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
        assert_eq!((img.width(), img.height()), spec.size, "{stem}");

        let svg = std::fs::read_to_string(&svg_path).unwrap();
        assert!(svg.starts_with("<svg"), "{stem}");
        // Plotters escapes text: the scenario name appears escaped in the title.
        assert!(
            svg.contains("Quake &lt;b&gt;&amp; drill"),
            "{stem}: scenario name missing"
        );
    }
    let fan =
        std::fs::read_to_string(dir.path().join("plots/days_of_supply_red_cells.svg")).unwrap();
    for text in [
        "red_cells",
        "group O-",
        "group O+",
        "group A+",
        "all groups (total)",
        "days of supply",
        "attention",
    ] {
        assert!(fan.contains(text), "fan chart lacks {text:?}");
    }
    let sites = std::fs::read_to_string(
        dir.path()
            .join("plots/sites_days_of_supply_red_cells_O_neg.svg"),
    )
    .unwrap();
    assert!(
        sites.contains("Seoul hub") && sites.contains("Busan hospital 1"),
        "site panels missing"
    );
    let shortage =
        std::fs::read_to_string(dir.path().join("plots/shortage_platelets.svg")).unwrap();
    assert!(shortage.contains("probability") && shortage.contains("units short"));
    // No temporary files left behind.
    for entry in std::fs::read_dir(dir.path().join("plots")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(!name.starts_with('.'), "temporary file {name} left");
    }
}

#[test]
fn draws_without_per_site_rows_and_without_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut shape = Shape::small("No sites");
    shape.sites = 0;
    shape.groups = vec!["any".to_string()];
    shape.products = vec!["whole_blood".to_string()];
    shape.event = false;
    write_results(dir.path(), &shape);
    let written = plot::draw_all(dir.path()).unwrap();
    // No event: no event shading or legend in any chart.
    for svg in written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
    {
        let text = std::fs::read_to_string(svg).unwrap();
        assert!(
            !text.contains("emergency event") && !text.contains("Earthquake"),
            "{} shows an event",
            svg.display()
        );
    }
    // The same shape with an event shows it (so the check above can fail).
    let with = tempfile::tempdir().unwrap();
    shape.event = true;
    write_results(with.path(), &shape);
    let shown = plot::draw_all(with.path())
        .unwrap()
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .any(|svg| {
            std::fs::read_to_string(svg)
                .unwrap()
                .contains("emergency event")
        });
    assert!(shown, "an event is drawn when there is one");
    assert!(
        written
            .iter()
            .all(|p| !p.to_string_lossy().contains("sites_"))
    );
    assert!(
        written
            .iter()
            .any(|p| p.ends_with("days_of_supply_whole_blood.png"))
    );
}

#[test]
fn missing_or_corrupt_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = plot::draw_all(dir.path()).unwrap_err();
    assert!(matches!(err, PlotError::Read { .. }));
    assert!(err.to_string().contains("summary.json"), "{err}");

    write_results(dir.path(), &Shape::small("x"));
    std::fs::write(dir.path().join("summary.json"), b"{\"bloodsim_version\": 3").unwrap();
    let err = plot::draw_all(dir.path()).unwrap_err();
    assert!(err.to_string().contains("summary.json"), "{err}");

    write_results(dir.path(), &Shape::small("x"));
    std::fs::write(
        dir.path().join("periods.csv"),
        "period,time\nnot-a-number,2025\n",
    )
    .unwrap();
    let err = plot::draw_all(dir.path()).unwrap_err();
    assert!(err.to_string().contains("periods.csv"), "{err}");

    write_results(dir.path(), &Shape::small("x"));
    std::fs::remove_file(dir.path().join("replications.csv")).unwrap();
    let err = plot::draw_all(dir.path()).unwrap_err();
    assert!(err.to_string().contains("replications.csv"), "{err}");
}

/// Writes the synthetic charts to `$BLOODSIM_SAMPLE_DIR` (default `target/plot-sample`) for a look.
#[test]
#[ignore = "writes sample charts for manual inspection"]
fn sample_charts() {
    let dir =
        std::env::var("BLOODSIM_SAMPLE_DIR").unwrap_or_else(|_| "target/plot-sample".to_string());
    // BLOODSIM_SAMPLE=large: full size; BLOODSIM_SAMPLE=any: one ungrouped product, no sites.
    let kind = std::env::var("BLOODSIM_SAMPLE").unwrap_or_default();
    let mut shape = if kind == "large" {
        Shape::large(NAME)
    } else {
        Shape::small(NAME)
    };
    if kind == "any" {
        shape.groups = vec!["any".to_string()];
        shape.products = vec!["whole_blood".to_string()];
        shape.sites = 0;
    }
    write_results(Path::new(&dir), &shape);
    plot::draw_all(Path::new(&dir)).unwrap();
    bloodsim::report::html::write_report(Path::new(&dir)).unwrap();
}

/// Times loading and drawing a full-size result: 365 periods x 9 groups x 3 products x 30 sites.
/// Run with `cargo test --release -- --ignored draw_time_large`.
#[test]
#[ignore = "timing; run in release mode"]
fn draw_time_large() {
    let dir = tempfile::tempdir().unwrap();
    write_results(dir.path(), &Shape::large("Large"));
    let size = std::fs::metadata(dir.path().join("periods.csv"))
        .unwrap()
        .len();
    let t0 = Instant::now();
    let data = ResultsData::load(dir.path()).unwrap();
    let t1 = Instant::now();
    let written = plot::draw_all_from(&data, dir.path()).unwrap();
    let t2 = Instant::now();
    let report = bloodsim::report::html::write_report_from(&data, dir.path()).unwrap();
    let t3 = Instant::now();
    eprintln!(
        "periods.csv {:.0} MB: load {:.2}s, draw {} files {:.2}s, report (SVG) {:.2}s, {} KB",
        size as f64 / 1e6,
        (t1 - t0).as_secs_f64(),
        written.len(),
        (t2 - t1).as_secs_f64(),
        (t3 - t2).as_secs_f64(),
        std::fs::metadata(report).unwrap().len() / 1000
    );
}

#[test]
fn many_sites_keep_the_most_at_risk() {
    let dir = tempfile::tempdir().unwrap();
    let mut shape = Shape::small("Many sites");
    shape.periods = 20;
    shape.products = vec!["red_cells".to_string()];
    shape.sites = 40;
    write_results(dir.path(), &shape);
    let data = ResultsData::load(dir.path()).unwrap();
    assert_eq!(data.sites_total, 40);
    assert_eq!(data.sites.len(), bloodsim::plot::MAX_SITE_PANELS);
    let written = plot::draw_all_from(&data, dir.path()).unwrap();
    let svg = written.iter().find(|p| {
        p.to_string_lossy()
            .ends_with("sites_days_of_supply_red_cells_O_neg.svg")
    });
    let svg = std::fs::read_to_string(svg.unwrap()).unwrap();
    assert!(
        svg.contains("36 of 40 sites"),
        "subtitle should say sites were left out"
    );
}
