//! The HTML report of a synthetic results directory.

use bloodsim::plot::{self, ResultsData};
use bloodsim::report::html::write_report;

use crate::plots::NAME;
use crate::synthetic::{Shape, write_results};

#[test]
fn report_is_self_contained_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    write_results(dir.path(), &Shape::small(NAME));
    let path = write_report(dir.path()).unwrap();
    assert_eq!(path, dir.path().join("report.html"));
    let html = std::fs::read_to_string(&path).unwrap();

    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<h1>Quake &lt;b&gt;&amp; drill</h1>"),
        "scenario name not escaped"
    );
    assert!(!html.contains("<b>&"), "raw scenario name leaked");
    assert!(!html.contains("<script"), "description markup leaked");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "external reference"
    );
    assert!(
        html.contains("Donations fall by half during the event"),
        "assumptions missing"
    );
    assert!(
        html.contains("Earthquake: donations halved"),
        "events missing"
    );

    let data = ResultsData::load(dir.path()).unwrap();
    let specs = plot::charts(&data);
    assert_eq!(specs.len(), 7);
    for spec in &specs {
        assert!(
            html.contains(&format!("id=\"chart-{}\"", spec.stem)),
            "chart {} missing",
            spec.stem
        );
    }
    assert_eq!(html.matches("<svg ").count(), specs.len());
    assert_eq!(html.matches("</svg>").count(), specs.len());
    // Headline table: one row per product and group, including totals.
    assert_eq!(html.matches("<tr class=\"total\">").count(), 2);
    // Alert stages: a column per level, a row per product and group, share of days first.
    assert!(html.contains("<h2 id=\"stages\">Alert stages</h2>"));
    assert!(html.contains("<th>attention (&lt; 5 d)</th><th>caution (&lt; 3 d)</th>"));
    let rows = data.summary.headline.len();
    assert_eq!(html.matches("<td>30.0%; 100.0%").count(), rows);
}

#[test]
fn report_without_events_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write_results(dir.path(), &Shape::small("Calm"));
    let mut summary = bloodsim::results::read_summary(dir.path()).unwrap();
    summary.events.clear();
    std::fs::write(
        dir.path().join("summary.json"),
        serde_json::to_string(&summary).unwrap(),
    )
    .unwrap();
    let html = std::fs::read_to_string(write_report(dir.path()).unwrap()).unwrap();
    assert!(html.contains("No emergency events in this scenario."));
    assert!(html.contains("href=\"#stages\"") && html.contains("id=\"stages\""));
}

#[test]
fn report_of_missing_results_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_report(dir.path()).unwrap_err();
    assert!(err.to_string().contains("summary.json"), "{err}");
}
