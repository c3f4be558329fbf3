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
                "must be a number from 0 to 1000000 (per day), found -40".into(),
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
        (
            "units per day with units per request",
            replace(
                "requests_per_day = { type = \"poisson\", mean = 40.0 }",
                "units_per_day = { type = \"poisson\", mean = 40.0 }",
            ),
            vec![
                "`sites[1].demand[0].units_per_request`".into(),
                "does not go with units_per_day".into(),
            ],
        ),
        (
            "neither requests nor units per day",
            replace("requests_per_day = { type = \"poisson\", mean = 40.0 }", ""),
            vec!["needs requests_per_day (with units_per_request) or units_per_day".into()],
        ),
        (
            "gamma count without spread",
            replace(
                "{ type = \"poisson\", mean = 40.0 }",
                "{ type = \"gamma\", mean = 40.0, cv = 0 }",
            ),
            vec!["`sites[1].demand[0].requests_per_day.cv`".into()],
        ),
        (
            "a shipping floor as long as the shelf life",
            replace(
                "[policy]\n",
                "[policy]\nmin_shelf_life_days = { red_cells = 42 }\n",
            ),
            vec![
                "`policy.min_shelf_life_days.red_cells`".into(),
                "must be shorter than the shelf life (42 periods)".into(),
            ],
        ),
        (
            "transfers of an undefined product",
            replace(
                "[policy]\n",
                "[policy]\ntransfers = { products = [\"platelets\"], hours = 24 }\n",
            ),
            vec![
                "`policy.transfers.products[0]`".into(),
                "no platelets product".into(),
            ],
        ),
        (
            "stages on hub stock without hubs",
            replace(
                "[[alert_levels]]",
                "[alert_scope]\nstock = \"hubs\"\n[[alert_levels]]",
            ),
            vec![
                "`alert_scope.stock`".into(),
                "the scenario has no hub".into(),
            ],
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

#[test]
fn the_bundled_plans_validate_with_every_variant() {
    use bloodsim::scenario::plan;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/plans");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(plan::is_plan(&text), "{}", path.display());
        let p = plan::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        let base = std::fs::read_to_string(&p.base).unwrap();
        for v in &p.variants {
            let edited = v.apply(&base).unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_ne!(edited, base, "{} changes nothing", v.name);
            scenario::parse(&edited, &v.name).unwrap_or_else(|e| panic!("{e}"));
        }
        n += 1;
    }
    assert!(n >= 1);
}

const KOREA: &str = include_str!("../../scenarios/korea-baseline.toml");

/// The problems of an edited scenario (it must be rejected), as text and count.
fn problems(text: &str) -> (String, usize) {
    match scenario::parse(text, "big.toml") {
        Ok(_) => panic!("expected the edited scenario to be rejected:\n{text}"),
        Err(e) => (e.to_string(), e.problems.len()),
    }
}

/// Big finite numbers (issue 12): each a located error naming the field and the allowed
/// range, found quickly and without a panic, a hang or a large allocation.
#[test]
fn big_finite_numbers_are_located_errors_with_the_allowed_range() {
    let base = BASE.replace(
        "[[initial_stock]]",
        "[[calendar.holidays]]\nname = \"h\"\nstart = 2026-01-01\ndays = 2\n\n[[initial_stock]]",
    );
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        // (from, to, field, allowed)
        (
            "horizon_days = 364",
            "horizon_days = 1e8",
            "`time.horizon_days`",
            "at most 36500",
        ),
        (
            "horizon_days = 364",
            "horizon_days = 4.3e9",
            "`time.horizon_days`",
            "at most 36500",
        ),
        (
            "shelf_life_days = 42",
            "shelf_life_days = 4e9",
            "`products.red_cells.shelf_life_days`",
            "at most 3650",
        ),
        (
            "shelf_life_days = 42",
            "shelf_life_days = 2.96e9",
            "`products.red_cells.shelf_life_days`",
            "at most 3650",
        ),
        (
            "shelf_life_days = 42",
            "shelf_life_days = 1e9",
            "`products.red_cells.shelf_life_days`",
            "at most 3650",
        ),
        (
            "shelf_life_days = 42",
            "shelf_life_days = 1e10",
            "`products.red_cells.shelf_life_days`",
            "at most 3650",
        ),
        (
            "days = 2\n",
            "days = 1e18\n",
            "`calendar.holidays[0].days`",
            "from 0 to 36500",
        ),
        (
            "days = 2\n",
            "days = 1e300\ndemand_factor = 0\n",
            "`calendar.holidays[0].days`",
            "from 0 to 36500",
        ),
        (
            "days = 2\n",
            "days = 2\ndemand_factor = 1e300\n",
            "`calendar.holidays[0].demand_factor`",
            "from 0 to 100",
        ),
        (
            "mean = 40.0",
            "mean = 1e7",
            "`sites[1].demand[0].requests_per_day.mean`",
            "from 0 to 1000000",
        ),
        (
            "mean = 40.0",
            "mean = 2.2e6",
            "`sites[1].demand[0].requests_per_day.mean`",
            "from 0 to 1000000",
        ),
        (
            "unmet_demand = \"lost\"",
            "unmet_demand = \"backordered\"\n[calendar]\ndemand_by_month = [1e300, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
            "`calendar.demand_by_month[0]`",
            "from 0 to 100",
        ),
        (
            "\nhours = 24",
            "\nhours = 1e300",
            "`links[0].hours`",
            "from 0 to 2000",
        ),
        (
            "\nhours = 24",
            "\nhours = 1e9",
            "`links[0].hours`",
            "from 0 to 2000",
        ),
        (
            // A type error: shown short, in plain words, not as 301 digits and `u32`.
            "period_hours = 24",
            "period_hours = 1e300",
            "`time.period_hours`",
            "floating point `1e300`, expected a whole number",
        ),
        (
            "replications = 1000",
            "replications = 1000000000",
            "`time.replications`",
            "from 1 to 10000000",
        ),
        (
            "units = 60\nreview_every_days",
            "units = 1e300\nreview_every_days",
            "`policy.replenishment.red_cells.units`",
            "from 0 to 100000000",
        ),
        (
            "units = 60\nage_days",
            "units = 1e12\nage_days",
            "`initial_stock[0].units`",
            "from 0 to 100000000",
        ),
        (
            "units_per_request = { type = \"fixed\", units = 1 }",
            "units_per_request = { type = \"fixed\", units = 1 }\n  weekday_profile = [1e300, 1, 1, 1, 1, 1, 1]",
            "`sites[1].demand[0].weekday_profile[0]`",
            "from 0 to 100",
        ),
        (
            "{ type = \"poisson\", mean = 40.0 }",
            "{ type = \"negative_binomial\", mean = 40.0, dispersion = 1e-9 }",
            "`sites[1].demand[0].requests_per_day.dispersion`",
            ">= 0.01",
        ),
        (
            // Units a period beyond 32 bits: 900,000 requests a day of 2,000 units each.
            "mean = 40.0 }\n  units_per_request = { type = \"fixed\", units = 1 }",
            "mean = 9e5 }\n  units_per_request = { type = \"fixed\", units = 2000 }",
            "`sites[1].demand[0].requests_per_day.mean`",
            "in one period",
        ),
    ];
    for (from, to, field, allowed) in cases {
        assert!(base.contains(from), "base lacks {from:?}");
        let text = base.replacen(from, to, 1);
        let started = std::time::Instant::now();
        let err = scenario::parse(&text, "big.toml").expect_err(to);
        assert!(
            started.elapsed().as_secs_f64() < 2.0,
            "{to}: validation took {:?}",
            started.elapsed()
        );
        let message = err.to_string();
        let field = field.trim_matches('`');
        let problem = err
            .problems
            .iter()
            .find(|p| p.field == field)
            .unwrap_or_else(|| panic!("{to}: expected a problem at {field} in:\n{message}"));
        assert!(
            problem.message.contains(allowed),
            "{to}: expected {allowed:?} in:\n{message}"
        );
        // Located at the value's line: the source line shown holds the key.
        let key = field.rsplit('.').next().unwrap().split('[').next().unwrap();
        assert!(
            problem.line.is_some() && problem.source_line.contains(key),
            "{to}: expected the line of `{key}`, got {:?} {:?}",
            problem.line,
            problem.source_line
        );
    }
}

#[test]
fn units_over_the_run_beyond_32_bits_are_rejected() {
    let text = BASE
        .replace("horizon_days = 364", "horizon_days = 36500")
        .replace("mean = 40.0", "mean = 30000.0")
        .replace("units = 60\nreview", "units = 60000\nreview");
    let (message, n) = problems(&text);
    assert_eq!(n, 1, "{message}");
    assert!(
        message.contains("`sites[1].demand[0].requests_per_day.mean`")
            && message.contains("over the 36500 days")
            && message.contains("could total 1.095e9"),
        "{message}"
    );
    // A realistic volume for a century passes.
    let fine = text.replace("mean = 30000.0", "mean = 20000.0");
    scenario::parse(&fine, "fine.toml").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn processing_hours_and_lab_capacity_are_bounded() {
    let text = KOREA
        .replacen("processing_hours = 24", "processing_hours = 1e300", 1)
        .replacen("capacity_per_day = 4700", "capacity_per_day = 1e12", 1);
    let (message, n) = problems(&text);
    assert_eq!(n, 2, "{message}");
    assert!(
        message.contains(".processing_hours`: must be a number from 0 to 2000"),
        "{message}"
    );
    assert!(
        message.contains(".capacity_per_day`: must be a number > 0 and at most 1000000"),
        "{message}"
    );
}

#[test]
fn alert_levels_are_bounded() {
    let many: String = (0..17)
        .map(|i| {
            format!(
                "\n[[alert_levels]]\nname = \"l{i}\"\nbelow_days = {}\n",
                i + 1
            )
        })
        .collect();
    let (message, n) = problems(&format!("{BASE}{many}"));
    assert_eq!(n, 1, "{message}");
    assert!(
        message.contains("`alert_levels`: at most 16 alert levels, found 19"),
        "{message}"
    );
}

#[test]
fn a_scenario_file_is_bounded_in_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.toml");
    let mut text = BASE.to_string();
    while text.len() <= 1 << 20 {
        text.push_str("\n[[alert_levels]]\nname = \"x\"\nbelow_days = 1\n");
    }
    std::fs::write(&path, text).unwrap();
    let message = scenario::load(&path).unwrap_err().to_string();
    assert!(message.contains("larger than 1024 KiB"), "{message}");
}

/// A holiday that began before the start applies to the days it overlaps; a long one ends
/// with the horizon (no loop over its length).
#[test]
fn a_holiday_overlapping_the_start_applies() {
    let text = BASE.replace(
        "[[initial_stock]]",
        "[[calendar.holidays]]\nname = \"h\"\nstart = 2025-12-31\ndays = 10\ndemand_factor = 0\n\n[[calendar.holidays]]\nname = \"long\"\nstart = 1900-01-01\ndays = 36500\ndemand_factor = 0.5\n\n[[initial_stock]]",
    );
    let s = scenario::parse(&text, "h.toml").unwrap_or_else(|e| panic!("{e}"));
    let bloodsim::network::Role::Hospital(h) = &s.sites[1].role else {
        panic!("site 1 is the hospital")
    };
    // Starts 2026-01-05: the holiday covers 2025-12-31 ..= 2026-01-09, days 0..=4.
    assert_eq!(&h.day_factor[..6], &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    // 1900 + 36,500 days ends in 1999: no effect.
    assert!(h.day_factor[5..].iter().all(|&f| f == 1.0));
}

#[test]
fn a_rule_shared_by_many_hospitals_is_one_problem() {
    let text = KOREA.replacen(
        "[policy.replenishment.red_cells]",
        "[policy.replenishment.red_cells]\nunits = 10",
        1,
    );
    let (message, n) = problems(&text);
    assert_eq!(n, 1, "{message}");
    assert_eq!(
        message.matches("give exactly one of").count(),
        1,
        "{message}"
    );
}

#[test]
fn a_duplicate_site_name_is_one_problem() {
    // A hub takes the hospital's name: one problem, no follow-on errors about the link,
    // the supplier and the initial stock that name it.
    let text = format!("{BASE}\n[[sites]]\nkind = \"hub\"\nname = \"General hospital\"\n");
    let (message, n) = problems(&text);
    assert_eq!(n, 1, "{message}");
    assert!(
        message.contains(
            "`sites[2].name`: duplicate site name \"General hospital\" (first used by sites[1])"
        ),
        "{message}"
    );
}

#[test]
fn site_names_that_spreadsheets_would_run_are_rejected() {
    for (name, expected) in [
        ("=HYPERLINK(\\\"http://x\\\")", "must not start with '='"),
        ("+1", "must not start with"),
        ("-2", "must not start with"),
        ("@SUM(A1)", "must not start with"),
        ("all", "\"all\" is reserved"),
    ] {
        let text = BASE.replace("\"General hospital\"", &format!("\"{name}\""));
        let (message, n) = problems(&text);
        assert_eq!(n, 1, "{name}: {message}");
        assert!(
            message.contains("`sites[1].name`") && message.contains(expected),
            "{name}: {message}"
        );
    }
}

/// Type errors inside tagged tables (a site, a count) point at the value and name its field,
/// not the table's header (serde buffers such tables and loses the place).
#[test]
fn type_errors_in_tagged_tables_point_at_the_value() {
    for (from, to, field) in [
        (
            "mean = 40.0",
            "mean = \"forty\"",
            "sites[1].demand[0].requests_per_day.mean",
        ),
        (
            "{ type = \"fixed\", units = 1 }",
            "{ type = \"fixed\", units = -1 }",
            "sites[1].demand[0].units_per_request.units",
        ),
    ] {
        let text = BASE.replacen(from, to, 1);
        let err = scenario::parse(&text, "t.toml").unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        let p = &err.problems[0];
        assert_eq!(p.field, field, "{err}");
        assert_eq!(p.line, Some(line_of(&text, to)), "{err}");
        assert!(p.message.contains("invalid"), "{err}");
    }
}

/// A floor under levels in days: every group a hospital has demand for holds at least
/// `min_units_per_group` (korea-baseline: RhD-negative groups need ~0.3 units a day per
/// region, so 3 days round up to 1 unit, less than one request); larger levels are kept.
#[test]
fn a_level_in_days_has_a_floor_per_group() {
    let korea = include_str!("../../scenarios/korea-baseline.toml");
    let floor = "min_units_per_group = 2\n";
    assert!(korea.contains(floor));
    let levels = |text: &str| -> Vec<Vec<u32>> {
        let s = scenario::parse(text, "korea.toml").unwrap();
        s.hospitals()
            .map(|(_, h)| h.replenishment[0].as_ref().unwrap().level.clone())
            .collect()
    };
    let without = levels(&korea.replace(floor, ""));
    let with = levels(&korea.replace(floor, "min_units_per_group = 4\n"));
    let mut raised = 0;
    for (a, b) in without.iter().flatten().zip(with.iter().flatten()) {
        assert_eq!(*b, (*a).max(4));
        raised += usize::from(b > a);
    }
    assert!(raised > 0, "some rare-group level was below the floor");
    // With a level in units the floor has no meaning: say so.
    let err = scenario::parse(
        &BASE.replace(
            "units = 60\nreview_every_days",
            "units = 60\nmin_units_per_group = 2\nreview_every_days",
        ),
        "t.toml",
    )
    .unwrap_err();
    let problem = &err.problems[0];
    assert_eq!(
        problem.field,
        "policy.replenishment.red_cells.min_units_per_group"
    );
    assert!(
        problem.message.contains("a floor under a level in `days`"),
        "{err}"
    );
}

#[test]
fn a_link_with_an_invalid_time_is_one_problem() {
    // Not also "no link from ..." at every route over it.
    let base = include_str!("../../scenarios/single-hospital.toml");
    assert!(base.contains("\nhours = 24"));
    let text = base.replacen("\nhours = 24", "\nhours = 1e300", 1);
    let err = scenario::parse(&text, "link.toml").unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].field, "links[0].hours", "{err}");
}

/// Every type error in the file is reported, each at its value with its field path, not
/// only serde's first: in different tables, in one tagged table, and an unknown key.
#[test]
fn every_type_error_is_reported_at_its_value() {
    let text = BASE
        .replacen("mean = 40.0", "mean = \"forty\"", 1)
        .replacen("units = 1 }", "units = -1 }", 1)
        .replacen("horizon_days = 364", "horizon_days = \"a year\"", 1)
        .replacen("issuing = \"fifo\"", "issuing = \"first_in\"", 1)
        .replacen("\nhours = 24", "\nhours = 24\nspeed = 80", 1);
    let err = scenario::parse(&text, "t.toml").unwrap_err();
    let got: Vec<(&str, Option<usize>)> = err
        .problems
        .iter()
        .map(|p| (p.field.as_str(), p.line))
        .collect();
    let want = [
        ("time.horizon_days", "horizon_days = \"a year\""),
        (
            "sites[1].demand[0].requests_per_day.mean",
            "mean = \"forty\"",
        ),
        ("sites[1].demand[0].units_per_request.units", "units = -1 }"),
        ("links[0].speed", "speed = 80"),
        ("policy.issuing", "issuing = \"first_in\""),
    ];
    let mut want: Vec<(&str, Option<usize>)> = want
        .iter()
        .map(|(f, needle)| (*f, Some(line_of(&text, needle))))
        .collect();
    let mut sorted = got.clone();
    sorted.sort_by_key(|(_, l)| *l);
    want.sort_by_key(|(_, l)| *l);
    assert_eq!(sorted, want, "{err}");
    assert!(err.to_string().contains("5 problems found"), "{err}");
}

/// When a wrong value has a look-alike elsewhere in its table (the same text in a field
/// where it is valid), the error is at the field where it is wrong.
#[test]
fn a_type_error_is_not_pinned_on_a_look_alike_value() {
    // The hospital is named "40"; the demand's mean is the string "40".
    let text =
        BASE.replace("\"General hospital\"", "\"40\"")
            .replacen("mean = 40.0", "mean = \"40\"", 1);
    let err = scenario::parse(&text, "t.toml").unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    let p = &err.problems[0];
    assert_eq!(p.field, "sites[1].demand[0].requests_per_day.mean", "{err}");
    assert_eq!(p.line, Some(line_of(&text, "mean = \"40\"")), "{err}");
    // Numbers alike: a valid mean of 1.5 before a unit count of 1.5 in the same site.
    let text =
        BASE.replacen("mean = 40.0", "mean = 1.5", 1)
            .replacen("units = 1 }", "units = 1.5 }", 1);
    let err = scenario::parse(&text, "t.toml").unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(
        err.problems[0].field, "sites[1].demand[0].units_per_request.units",
        "{err}"
    );
    assert_eq!(
        err.problems[0].line,
        Some(line_of(&text, "units = 1.5 }")),
        "{err}"
    );
}

/// A site's key written after its `[[sites.demand]]` header belongs, in TOML, to the
/// demand: the error is at that key, with its path, and says to move it above the header.
#[test]
fn a_key_below_a_sub_table_header_is_located_and_explained() {
    let text = BASE
        .replacen("supplied_by = \"Regional blood centre\"\n", "", 1)
        .replacen(
            "units_per_request = { type = \"fixed\", units = 1 }",
            "units_per_request = { type = \"fixed\", units = 1 }\n  supplied_by = \"Regional blood centre\"",
            1,
        );
    let err = scenario::parse(&text, "t.toml").unwrap_err();
    let p = &err.problems[0];
    assert_eq!(p.field, "sites[1].demand[0].supplied_by", "{err}");
    assert_eq!(p.line, Some(line_of(&text, "  supplied_by")), "{err}");
    let header = line_of(&text, "[[sites.demand]]");
    assert!(
        p.message
            .contains(&format!("`[[sites.demand]]` header on line {header}"))
            && p.message.contains("move `supplied_by` above"),
        "{err}"
    );
}

/// A date that does not exist is a syntax error in TOML; it still names its field.
#[test]
fn an_impossible_date_names_its_field() {
    let text = BASE.replacen("start = 2026-01-05", "start = 2026-02-30", 1);
    let err = scenario::parse(&text, "t.toml").unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    let p = &err.problems[0];
    assert_eq!(p.field, "time.start", "{err}");
    assert_eq!(p.line, Some(line_of(&text, "2026-02-30")), "{err}");
    assert!(p.message.contains("day between 01 and 28"), "{err}");
}

/// A trend that compounds beyond the factor bound over the horizon is a located error that
/// says which way to fix it; a rate outside its range names the range.
#[test]
fn a_trend_compounding_out_of_bounds_is_a_located_error() {
    let with = |trend: &str| {
        BASE.replace(
            "[[initial_stock]]",
            &format!("[calendar]\ndemand_trend = {trend}\n\n[[initial_stock]]"),
        )
    };
    // +200% a year from 1990: 3^36 by 2026, far beyond the bound.
    let text = with("{ per_year = 2.0, reference = 1990-01-01 }");
    let err = scenario::parse(&text, "t.toml").unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    let p = &err.problems[0];
    assert_eq!(p.field, "calendar.demand_trend", "{err}");
    assert_eq!(p.line, Some(line_of(&text, "demand_trend")), "{err}");
    assert!(p.message.contains("move `reference` nearer"), "{err}");
    let err = scenario::parse(
        &with("{ per_year = -0.9, reference = 2026-01-01 }"),
        "t.toml",
    )
    .unwrap_err();
    let p = &err.problems[0];
    assert_eq!(p.field, "calendar.demand_trend.per_year", "{err}");
    assert!(p.message.contains("from -0.5 to 2"), "{err}");
    // Within bounds it parses.
    scenario::parse(
        &with("{ per_year = 0.1, reference = 2026-01-01 }"),
        "t.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
}
