//! A self-contained HTML report of a results directory: one file with inline CSS and inline
//! SVG charts, no scripts and no external links, so it opens by double-click anywhere.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::plot::{self, ChartSpec, PlotError, ResultsData};
use crate::results::{ALL, Estimate, Headline, write_atomic};

/// File name of the report inside a results directory.
pub const REPORT_FILE: &str = "report.html";

/// Reads the results in `results_dir` and writes `results_dir/report.html` atomically.
pub fn write_report(results_dir: &Path) -> Result<PathBuf, PlotError> {
    let data = ResultsData::load(results_dir)?;
    write_report_from(&data, results_dir)
}

/// As [`write_report`], for results already loaded (e.g. shared with [`plot::draw_all_from`]).
pub fn write_report_from(data: &ResultsData, results_dir: &Path) -> Result<PathBuf, PlotError> {
    let html = render_report(data)?;
    let path = results_dir.join(REPORT_FILE);
    write_atomic(&path, html.as_bytes()).map_err(|source| PlotError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
body { font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; color: #222; margin: 0 auto; max-width: 1500px; padding: 1.5em 2em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.6em; text-align: right; vertical-align: top; }
td { white-space: nowrap; }
td span.note { display: block; font-size: 0.85em; }
.wide { overflow-x: auto; max-width: 100%; }
.meta td { white-space: normal; }
th { background: #f2f2f2; }
td.l, th.l { text-align: left; }
tr.total td { font-weight: bold; background: #fafafa; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.35em; vertical-align: -0.1em; border-radius: 2px; }
.meta td:first-child { text-align: left; font-weight: bold; background: #f7f7f7; }
figure.chart { margin: 1.2em 0 2em 0; }
figure.chart svg { width: 100%; height: auto; max-width: 100%; border: 1px solid #e4e4e4; }
figcaption { font-size: 0.95em; color: #444; margin-top: 0.3em; }
.note { color: #555; font-size: 0.92em; }
nav ul { columns: 2; }
code { font-size: 0.9em; word-break: break-all; }
@media print { figure.chart { break-inside: avoid; } }
";

fn pct(e: &Estimate) -> String {
    if !e.mean.is_finite() {
        return "–".to_string();
    }
    format!(
        "{:.1}% <span class=\"note\">({:.1}–{:.1})</span>",
        e.mean * 100.0,
        e.ci_low * 100.0,
        e.ci_high * 100.0
    )
}

fn num(e: &Estimate) -> String {
    if !e.mean.is_finite() {
        return "–".to_string();
    }
    let digits = if e.mean.abs() >= 100.0 { 0 } else { 1 };
    format!(
        "{:.*} <span class=\"note\">({:.*}–{:.*})</span>",
        digits, e.mean, digits, e.ci_low, digits, e.ci_high
    )
}

fn swatch(group: &str) -> String {
    let c = plot::group_color(group);
    format!(
        "<span class=\"swatch\" style=\"background:rgb({},{},{})\"></span>",
        c.0, c.1, c.2
    )
}

/// Makes a plotters SVG document embeddable: a fresh opening tag that scales with the page
/// and has no namespace URL (inline SVG in HTML needs none).
fn inline_svg(svg: &str, spec: &ChartSpec) -> String {
    let body = match (svg.find("<svg"), svg.find('>')) {
        (Some(0), Some(end)) => &svg[end + 1..],
        _ => svg,
    };
    format!(
        "<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">{}",
        spec.size.0,
        spec.size.1,
        escape(&spec.title),
        body.trim_start()
    )
}

/// Renders the report of loaded results as an HTML document.
pub fn render_report(data: &ResultsData) -> Result<String, PlotError> {
    let s = &data.summary;
    let specs = plot::charts(data);
    let mut h = String::new();
    let name = escape(&s.scenario.name);
    // `write!` into a String cannot fail; the results are ignored deliberately.
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>bloodsim report: {name}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
    );
    let _ = writeln!(h, "<h1>{name}</h1>");
    let _ = writeln!(h, "<p>{}</p>", escape(&s.scenario.description));

    let _ = writeln!(
        h,
        "<nav><ul><li><a href=\"#assumptions\">Assumptions</a></li><li><a href=\"#run\">Run</a></li><li><a href=\"#headline\">Headline results</a></li><li><a href=\"#stages\">Alert stages</a></li><li><a href=\"#events\">Emergency events</a></li>"
    );
    for spec in &specs {
        let _ = writeln!(
            h,
            "<li><a href=\"#chart-{}\">{}</a></li>",
            escape(&spec.stem),
            escape(&spec.title)
        );
    }
    let _ = writeln!(h, "</ul></nav>");

    let _ = writeln!(h, "<h2 id=\"assumptions\">Assumptions</h2>");
    if s.scenario.assumptions.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"note\">No assumptions listed in the scenario.</p>"
        );
    } else {
        let _ = writeln!(h, "<ul>");
        for a in &s.scenario.assumptions {
            let _ = writeln!(h, "<li>{}</li>", escape(a));
        }
        let _ = writeln!(h, "</ul>");
    }

    let _ = writeln!(h, "<h2 id=\"run\">Run</h2>\n<table class=\"meta\">");
    let warm_up_end = data.period_label(s.time.warm_up_periods as f64);
    let end = data.period_label(s.time.periods as f64);
    let rows: Vec<(&str, String)> = vec![
        ("bloodsim version", escape(&s.bloodsim_version)),
        (
            "scenario file",
            format!("<code>{}</code>", escape(&s.scenario.file)),
        ),
        (
            "scenario SHA-256",
            format!("<code>{}</code>", escape(&s.scenario.file_sha256)),
        ),
        ("seed", s.run.seed.to_string()),
        ("replications", s.run.replications.to_string()),
        ("threads", s.run.threads.to_string()),
        ("wall time", format!("{:.1} s", s.run.wall_seconds)),
        (
            "approximate percentiles",
            match s.run.approximate_percentiles {
                0 => "none: every per-period percentile is exact".to_string(),
                n => format!(
                    "{n} per-period percentiles lie beyond the range the first 32 replications set, and are the floor of a coarser histogram bin"
                ),
            },
        ),
        ("start", escape(&s.time.start)),
        ("period length", format!("{} hours", s.time.period_hours)),
        (
            "periods",
            format!("{} (until {})", s.time.periods, escape(&end)),
        ),
        (
            "warm-up",
            format!(
                "{} periods (until {}), excluded from headline results",
                s.time.warm_up_periods,
                escape(&warm_up_end)
            ),
        ),
        ("products", escape(&s.products.join(", "))),
        ("blood groups", escape(&s.groups.join(", "))),
        ("sites", s.sites.len().to_string()),
        (
            "alert levels",
            if s.alert_levels.is_empty() {
                "none".to_string()
            } else {
                s.alert_levels
                    .iter()
                    .map(|a| format!("{} &lt; {} days", escape(&a.name), a.below_days))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><td>{k}</td><td class=\"l\">{v}</td></tr>");
    }
    let _ = writeln!(h, "</table>");

    let _ = writeln!(h, "<h2 id=\"headline\">Headline results</h2>");
    let _ = writeln!(
        h,
        "<p class=\"note\">After warm-up, per replication; mean with 95% confidence interval in brackets.</p>"
    );
    let _ = writeln!(
        h,
        "<div class=\"wide\"><table>\n<tr><th class=\"l\">product</th><th class=\"l\">group</th><th>demand (units)</th><th>fill rate</th>\
         <th>units short</th><th>shortage probability</th><th>expired (units)</th><th>outdate rate</th><th>mean days of supply</th></tr>"
    );
    for (product, rows) in headline_by_product(data) {
        for row in rows {
            let class = if row.group == ALL {
                " class=\"total\""
            } else {
                ""
            };
            let _ = writeln!(
                h,
                "<tr{class}>{}<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                row_label(product, row),
                num(&row.demand),
                pct(&row.fill_rate),
                num(&row.units_short),
                pct(&row.shortage_probability),
                num(&row.expired),
                pct(&row.outdate_rate),
                num(&row.mean_days_of_supply),
            );
        }
    }
    let _ = writeln!(h, "</table></div>");

    alert_stages(&mut h, data);

    let _ = writeln!(h, "<h2 id=\"events\">Emergency events</h2>");
    if s.events.is_empty() {
        let _ = writeln!(h, "<p>No emergency events in this scenario.</p>");
    } else {
        let _ = writeln!(
            h,
            "<table>\n<tr><th class=\"l\">event</th><th>first period</th><th>end (exclusive)</th><th class=\"l\">dates</th></tr>"
        );
        for e in &s.events {
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td class=\"l\">{} – {}</td></tr>",
                escape(&e.name),
                e.start_period,
                e.end_period,
                escape(&data.period_label(e.start_period as f64)),
                escape(&data.period_label(e.end_period as f64)),
            );
        }
        let _ = writeln!(h, "</table>");
    }

    let _ = writeln!(h, "<h2 id=\"charts\">Charts</h2>");
    if specs.is_empty() {
        let _ = writeln!(h, "<p>No data to chart.</p>");
    }
    for spec in &specs {
        let svg = plot::render_svg(data, spec)?;
        let _ = writeln!(
            h,
            "<figure class=\"chart\" id=\"chart-{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
            escape(&spec.stem),
            inline_svg(&svg, spec),
            escape(&spec.title)
        );
    }
    let _ = writeln!(
        h,
        "<p class=\"note\">Generated by bloodsim {}. Charts: colour-blind-safe Okabe-Ito palette, one colour per blood group.</p>\n</body>\n</html>",
        escape(&s.bloodsim_version)
    );
    Ok(h)
}

/// Headline rows grouped by product (summary order), groups in display order with totals last.
/// Time in each alert stage and P(stage or worse reached), for the products the stages
/// apply to: what the service's own stage reports would show.
fn alert_stages(h: &mut String, data: &ResultsData) {
    let s = &data.summary;
    let _ = writeln!(h, "<h2 id=\"stages\">Alert stages</h2>");
    if s.alert_levels.is_empty() {
        let _ = writeln!(h, "<p>No alert levels in this scenario.</p>");
        return;
    }
    let stock = if s.alert_stock == "hubs" {
        "the hubs' (blood centres') stock"
    } else {
        "the network's stock (hubs and hospitals)"
    };
    let _ = writeln!(
        h,
        "<p class=\"note\">Days of supply of {stock} against network baseline demand. Each cell: share of measured days in the stage, then the probability of reaching that stage or a worse one in a replication (95% interval in brackets).</p>"
    );
    let _ = write!(
        h,
        "<div class=\"wide\"><table>\n<tr><th class=\"l\">product</th><th class=\"l\">group</th>"
    );
    for level in &s.alert_levels {
        let _ = write!(
            h,
            "<th>{} (&lt; {} d)</th>",
            escape(&level.name),
            level.below_days
        );
    }
    let _ = writeln!(h, "</tr>");
    let staged = |p: &str| s.alert_products.is_empty() || s.alert_products.iter().any(|x| x == p);
    for (product, rows) in headline_by_product(data) {
        if !staged(product) {
            continue;
        }
        for row in rows {
            let _ = write!(h, "<tr>{}", row_label(product, row));
            for (time, reached) in row.time_in_stage.iter().zip(&row.stage_probability) {
                let _ = write!(h, "<td>{:.1}%; {}</td>", time.mean * 100.0, pct(reached));
            }
            let _ = writeln!(h, "</tr>");
        }
    }
    let _ = writeln!(h, "</table></div>");
}

/// A table row's product and group cells (the group with its colour swatch).
fn row_label(product: &str, row: &Headline) -> String {
    let group = if row.group == ALL {
        "all groups".to_string()
    } else {
        escape(&row.group)
    };
    format!(
        "<td class=\"l\">{}</td><td class=\"l\">{}{group}</td>",
        escape(product),
        swatch(&row.group)
    )
}

fn headline_by_product(data: &ResultsData) -> Vec<(&str, Vec<&Headline>)> {
    let s = &data.summary;
    let mut products: Vec<&str> = s.products.iter().map(String::as_str).collect();
    for h in &s.headline {
        if !products.contains(&h.product.as_str()) {
            products.push(&h.product);
        }
    }
    let rank = |g: &str| -> usize {
        if g == ALL {
            usize::MAX
        } else {
            s.groups
                .iter()
                .position(|x| x == g)
                .unwrap_or(usize::MAX - 1)
        }
    };
    products
        .into_iter()
        .map(|p| {
            let mut rows: Vec<&Headline> = s.headline.iter().filter(|h| h.product == p).collect();
            rows.sort_by_key(|h| rank(&h.group));
            (p, rows)
        })
        .filter(|(_, rows)| !rows.is_empty())
        .collect()
}

/// File name of a comparison's report, beside its variants' directories.
pub const COMPARISON_REPORT_FILE: &str = "comparison.html";

/// Writes `dir/comparison.html` for a comparison directory: the paired differences of
/// every variant from the base (from `comparison.csv`), each variant's difference chart,
/// and the variants' days-of-supply fans side by side (their own `plots/`, linked, so the
/// page is complete as long as the directory stays whole).
pub fn write_comparison_report(dir: &Path, names: &[String]) -> Result<PathBuf, PlotError> {
    use crate::compare::DifferenceRow;
    let file = crate::results::COMPARISON_FILE;
    let rows: Vec<DifferenceRow> =
        crate::results::read_rows(dir, file).map_err(|e| PlotError::Read {
            path: dir.join(file),
            message: e.to_string(),
        })?;
    let mut products: Vec<&str> = Vec::new();
    for r in &rows {
        if !products.contains(&r.product.as_str()) {
            products.push(&r.product);
        }
    }
    let title = format!(
        "{} vs {}",
        escape(&names[1..].join(", ")),
        escape(&names[0])
    );
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>bloodsim comparison: {title}</title>\n<style>{CSS}\n.side {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1em; }}\n.side img, figure.chart img {{ width: 100%; border: 1px solid #e4e4e4; }}\ntr.sig td {{ background: #fff4e0; }}\n</style>\n</head>\n<body>\n"
    );
    let pairs = rows.first().map_or(0, |r| r.pairs);
    let _ = writeln!(h, "<h1>Comparison: {title}</h1>");
    let _ = writeln!(
        h,
        "<p>Every variant ran the same replications as the base on common random numbers: the same seed gives the same donations, demand and events wherever they share them, so a difference is the effect of the change, not noise. Differences are variant − base, with 95% confidence intervals over up to {pairs} paired replications; highlighted rows exclude zero. Each variant's full report: {}.</p>",
        names
            .iter()
            .map(|n| format!("<a href=\"{0}/report.html\">{0}</a>", escape(n)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(h, "<h2>Differences (all groups)</h2>");
    let _ = writeln!(
        h,
        "<table><tr><th class=\"l\">variant</th><th class=\"l\">product</th><th class=\"l\">measure</th><th>base</th><th>variant</th><th>difference (95% CI)</th></tr>"
    );
    for r in rows.iter().filter(|r| r.group == ALL) {
        let value = |v: f64| {
            if !v.is_finite() {
                "–".to_string()
            } else if v.abs() >= 100.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.4}")
            }
        };
        let _ = writeln!(
            h,
            "<tr{}><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{} <span class=\"note\">({} to {})</span></td></tr>",
            if r.significant() {
                " class=\"sig\""
            } else {
                ""
            },
            escape(&r.variant),
            escape(&r.product),
            escape(&r.metric),
            value(r.base),
            value(r.value),
            value(r.difference),
            value(r.ci_low),
            value(r.ci_high)
        );
    }
    let _ = writeln!(h, "</table>");
    let significant: Vec<&DifferenceRow> = rows
        .iter()
        .filter(|r| r.group != ALL && r.significant())
        .filter(|r| {
            matches!(
                r.metric.as_str(),
                "fill_rate" | "units_short" | "outdate_rate"
            )
        })
        .collect();
    if !significant.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Blood groups that differ</h2>\n<table><tr><th class=\"l\">variant</th><th class=\"l\">product</th><th class=\"l\">group</th><th class=\"l\">measure</th><th>difference (95% CI)</th></tr>"
        );
        for r in significant {
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}{}</td><td class=\"l\">{}</td><td>{:.4} <span class=\"note\">({:.4} to {:.4})</span></td></tr>",
                escape(&r.variant),
                escape(&r.product),
                swatch(&r.group),
                escape(&r.group),
                escape(&r.metric),
                r.difference,
                r.ci_low,
                r.ci_high
            );
        }
        let _ = writeln!(h, "</table>");
    }
    let _ = writeln!(h, "<h2>Differences by period</h2>");
    for name in &names[1..] {
        let stem = plot::difference_stem(name);
        if dir
            .join(plot::PLOTS_DIR)
            .join(format!("{stem}.svg"))
            .exists()
        {
            let _ = writeln!(
                h,
                "<figure class=\"chart\"><img src=\"{}/{stem}.svg\" alt=\"{} minus base by period\"><figcaption>{} minus base: network days of supply and the probability that some demand goes unmet, by period.</figcaption></figure>",
                plot::PLOTS_DIR,
                escape(name),
                escape(name)
            );
        }
    }
    let _ = writeln!(h, "<h2>Days of supply side by side</h2>");
    for product in &products {
        let file = format!("days_of_supply_{}.svg", plot::slug(product));
        let _ = writeln!(h, "<h3>{}</h3>\n<div class=\"side\">", escape(product));
        for name in names {
            if dir.join(name).join(plot::PLOTS_DIR).join(&file).exists() {
                let _ = writeln!(
                    h,
                    "<figure class=\"chart\"><img src=\"{0}/{1}/{file}\" alt=\"{0}: days of supply of {2}\"><figcaption>{0}</figcaption></figure>",
                    escape(name),
                    plot::PLOTS_DIR,
                    escape(product)
                );
            }
        }
        let _ = writeln!(h, "</div>");
    }
    let _ = writeln!(h, "</body>\n</html>");
    let out = dir.join(COMPARISON_REPORT_FILE);
    write_atomic(&out, h.as_bytes()).map_err(|source| PlotError::Write {
        path: out.clone(),
        source,
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn inline_svg_drops_namespace_url() {
        let spec = ChartSpec {
            kind: plot::ChartKind::Rates,
            stem: "x".into(),
            title: "T <x>".into(),
            size: (10, 20),
        };
        let svg = "<svg width=\"10\" height=\"20\" viewBox=\"0 0 10 20\" xmlns=\"http://www.w3.org/2000/svg\">\n<rect/>\n</svg>\n";
        let out = inline_svg(svg, &spec);
        assert!(!out.contains("http"));
        assert!(out.starts_with(
            "<svg viewBox=\"0 0 10 20\" role=\"img\" aria-label=\"T &lt;x&gt;\"><rect/>"
        ));
    }
}
