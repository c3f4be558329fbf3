//! Broken scenario files are rejected with file, line, column, field and what is allowed.

use bloodsim::scenario;

const BASE: &str = include_str!("../../scenarios/single-hospital.toml");

/// Applies `edit` to the bundled single-hospital scenario and returns the error text.
fn error_for(edit: impl Fn(&str) -> String) -> String {
    let text = edit(BASE);
    match scenario::parse(&text, "broken.toml") {
        Ok(_) => panic!("expected the edited scenario to be rejected:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .expect("needle in text")
}

/// (description, edit, expected fragments of the message)
#[allow(clippy::type_complexity)]
fn cases() -> Vec<(&'static str, Box<dyn Fn(&str) -> String>, Vec<String>)> {
    let replace = |from: &'static str, to: &'static str| -> Box<dyn Fn(&str) -> String> {
        Box::new(move |t: &str| {
            assert!(t.contains(from), "base lacks {from}");
            t.replacen(from, to, 1)
        })
    };
    vec![
        (
            "unknown key",
            replace(
                "horizon_days = 364",
                "horizon_days = 364\nhorizon_weeks = 52",
            ),
            vec![
                format!("broken.toml:{}:1", line_of(BASE, "horizon_days") + 1),
                "unknown field `horizon_weeks`".into(),
                "expected one of".into(),
            ],
        ),
        (
            "wrong type",
            replace("horizon_days = 364", "horizon_days = \"a year\""),
            vec![
                format!("broken.toml:{}:", line_of(BASE, "horizon_days")),
                "invalid type".into(),
            ],
        ),
        (
            "negative rate",
            replace("mean = 40.0", "mean = -40.0"),
            vec![
                format!("broken.toml:{}:", line_of(BASE, "mean = 40.0")),
                "`sites[1].demand[0].requests_per_day.mean`".into(),
                "must be a number >= 0".into(),
            ],
        ),
        (
            "link to unknown site",
            replace("to = \"General hospital\"", "to = \"General hospitl\""),
            vec![
                format!(
                    "broken.toml:{}:",
                    line_of(BASE, "to = \"General hospital\"")
                ),
                "`links[0].to`".into(),
                "no site named \"General hospitl\"".into(),
            ],
        ),
        (
            "shelf life 0",
            replace("shelf_life_days = 42", "shelf_life_days = 0"),
            vec![
                "`products.red_cells.shelf_life_days`".into(),
                "must be a number > 0".into(),
            ],
        ),
        (
            "unknown enum value",
            replace("issuing = \"fifo\"", "issuing = \"oldest\""),
            vec![
                "unknown variant `oldest`".into(),
                "fifo".into(),
                "lifo".into(),
            ],
        ),
        (
            "hospital no one supplies",
            replace("supplied_by = \"Regional blood centre\"\n", ""),
            vec!["missing field `supplied_by`".into()],
        ),
        (
            "supplied by a hospital",
            replace(
                "supplied_by = \"Regional blood centre\"",
                "supplied_by = \"General hospital\"",
            ),
            vec!["is a hospital; this must name a hub or supplier".into()],
        ),
        (
            "frequencies not summing to 1",
            replace(
                "system = \"single\"",
                "system = \"abo_rhd\"\ndonor_frequencies = { \"O+\" = 0.5, \"A+\" = 0.3 }",
            ),
            vec![
                "`blood_groups.donor_frequencies`".into(),
                "must sum to 1".into(),
                "0.800000".into(),
            ],
        ),
        (
            "unknown group",
            replace(
                "system = \"single\"",
                "system = \"abo_rhd\"\ndonor_frequencies = { \"O\" = 1.0 }",
            ),
            vec!["unknown blood group; allowed: O+, O-".into()],
        ),
        (
            "unknown table",
            replace("[[links]]", "[[unused]]"),
            vec!["unknown field `unused`".into()],
        ),
        (
            "period not dividing a day",
            replace("period_hours = 24", "period_hours = 5"),
            vec!["must divide a day".into()],
        ),
        (
            "initial stock older than shelf life",
            replace("max = 6", "max = 50"),
            vec!["`initial_stock[0].age_days.max`".into(), "expired".into()],
        ),
        (
            "level in units and days",
            replace(
                "units = 60\nreview_every_days",
                "units = 60\ndays = 2\nreview_every_days",
            ),
            vec!["exactly one of `units`".into()],
        ),
    ]
}

#[test]
fn broken_files_name_place_field_and_rule() {
    for (what, edit, fragments) in cases() {
        let message = error_for(edit);
        for f in &fragments {
            assert!(
                message.contains(f.as_str()),
                "{what}: expected {f:?} in:\n{message}"
            );
        }
    }
}

#[test]
fn a_link_missing_for_a_route_is_reported() {
    let text = BASE.replace(
        "from = \"Regional blood centre\"\nto = \"General hospital\"",
        "from = \"General hospital\"\nto = \"Regional blood centre\"",
    );
    let message = scenario::parse(&text, "x.toml").unwrap_err().to_string();
    assert!(
        message.contains("no link from \"Regional blood centre\" to \"General hospital\""),
        "{message}"
    );
    assert!(message.contains("`sites[1].supplied_by`"), "{message}");
}

#[test]
fn every_validation_problem_is_reported_at_once() {
    let text = BASE
        .replace("mean = 40.0", "mean = -1")
        .replace("shelf_life_days = 42", "shelf_life_days = -3")
        .replace("warm_up_days = 28", "warm_up_days = 400");
    let err = scenario::parse(&text, "x.toml").unwrap_err();
    assert_eq!(err.problems.len(), 3, "{err}");
    assert!(
        err.problems
            .iter()
            .all(|p| p.line.is_some() && p.column.is_some()),
        "{err}"
    );
}

#[test]
fn the_bundled_scenarios_validate() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 2);
}
