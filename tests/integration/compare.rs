//! Strategy comparison on common random numbers: a variant compared with itself differs by
//! exactly zero, each variant's results are what a run of it alone gives, and pairing
//! narrows the interval of a difference far below what independent runs give.

use bloodsim::compare::{self, DifferenceRow};
use bloodsim::monte_carlo::{self, RunSpec};
use bloodsim::scenario::Scenario;

use crate::support::parse;

/// One collection site, a lab, a hub and two hospitals with grouped, variable demand;
/// hospitals order up to `level_days` of their demand each day.
fn plan(level_days: f64) -> Scenario {
    parse(&plan_text(level_days))
}

pub(crate) fn plan_text(level_days: f64) -> String {
    format!(
        r#"
[scenario]
name = "plan"
[time]
start = 2026-01-05
horizon_days = 90
warm_up_days = 20
[blood_groups]
system = "abo_rhd"
donor_frequencies = {{ "O+" = 0.38, "A+" = 0.34, "B+" = 0.09, "AB+" = 0.03, "O-" = 0.07, "A-" = 0.06, "B-" = 0.02, "AB-" = 0.01 }}
[products.red_cells]
shelf_life_days = 35
[[alert_levels]]
name = "amber"
below_days = 3
[[alert_levels]]
name = "red"
below_days = 1.5
[[sites]]
kind = "collection"
name = "donors"
lab = "lab"
hub = "hub"
  [[sites.donations]]
  donation = "whole_blood"
  per_day = {{ type = "negative_binomial", mean = 100, dispersion = 15 }}
[[sites]]
kind = "lab"
name = "lab"
processing_hours = 24
[[sites]]
kind = "hub"
name = "hub"
[[sites]]
kind = "hospital"
name = "north"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "negative_binomial", mean = 30, dispersion = 6 }}
  units_per_request = {{ type = "poisson", mean = 1.6 }}
[[sites]]
kind = "hospital"
name = "south"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "poisson", mean = 25 }}
  units_per_request = {{ type = "poisson", mean = 1.5 }}
[[links]]
from = "donors"
to = "lab"
hours = 2
[[links]]
from = "lab"
to = "hub"
hours = 4
[[links]]
from = "hub"
to = "north"
hours = 6
[[links]]
from = "hub"
to = "south"
hours = 12
[policy.replenishment.red_cells]
type = "order_up_to"
days = {level_days}
[[initial_stock]]
site = "hub"
product = "red_cells"
days_of_supply = 3
"#
    )
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("v{i}")).collect()
}

fn differences(variants: &[&Scenario], spec: RunSpec) -> Vec<DifferenceRow> {
    let outputs = monte_carlo::run_variants(variants, spec, &|| {});
    let totals: Vec<_> = outputs.iter().map(|o| &o.totals).collect();
    compare::differences(variants, &names(variants.len()), &totals)
}

#[test]
fn a_scenario_compared_with_itself_differs_by_exactly_zero_in_every_metric() {
    let s = plan(2.0);
    let rows = differences(
        &[&s, &s],
        RunSpec {
            seed: 11,
            replications: 40,
        },
    );
    // 9 lines (8 groups and all) x (9 measures + 2 stages).
    assert_eq!(rows.len(), 9 * 11);
    for r in &rows {
        if r.pairs == 0 {
            assert!(r.difference.is_nan(), "{r:?}");
            continue;
        }
        assert_eq!(r.base.to_bits(), r.value.to_bits(), "{r:?}");
        assert_eq!(r.difference, 0.0, "{r:?}");
        assert_eq!((r.ci_low, r.ci_high), (0.0, 0.0), "{r:?}");
        assert!(!r.significant());
    }
    // Something was compared: shortages happen in this plan.
    let short = rows
        .iter()
        .find(|r| r.group == "all" && r.metric == "units_short")
        .unwrap();
    assert!(short.base > 0.0, "{short:?}");
}

#[test]
fn each_variant_gets_what_a_run_of_it_alone_gives() {
    let (a, b) = (plan(2.0), plan(4.0));
    let spec = RunSpec {
        seed: 3,
        replications: 40,
    };
    let together = monte_carlo::run_variants(&[&a, &b], spec, &|| {});
    for (s, output) in [&a, &b].into_iter().zip(&together) {
        let alone = monte_carlo::run(s, spec, &|| {});
        assert_eq!(output.totals, alone.totals);
        let rows = |o: &monte_carlo::RunOutput| {
            bloodsim::report::period_rows(s, &o.aggregate)
                .map(|r| format!("{r:?}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(rows(output), rows(&alone));
    }
}

#[test]
fn time_to_the_hub_and_units_moved_follow_the_network() {
    // Links of 2 h and 4 h round to the same day; processing takes one day (or two), and
    // the lab has no capacity limit: every released unit reaches the hub exactly one (two)
    // periods after its donation.
    let a = plan(3.0);
    let b = parse(&plan_text(3.0).replace("processing_hours = 24", "processing_hours = 48"));
    let spec = RunSpec {
        seed: 8,
        replications: 10,
    };
    let rows = differences(&[&a, &b], spec);
    let hours = rows
        .iter()
        .find(|r| r.group == "all" && r.metric == "hours_donation_to_hub")
        .unwrap();
    assert_eq!((hours.base, hours.value), (24.0, 48.0), "{hours:?}");
    assert_eq!((hours.ci_low, hours.ci_high), (24.0, 24.0), "{hours:?}");
    // Every collected unit travels to the lab, every released one to the hub, and the hub
    // ships hospitals at most what they ordered.
    for t in monte_carlo::run(&a, spec, &|| {}).totals.iter() {
        let l = t.line(0, None);
        assert!(l.moved >= l.collected + l.lab_released, "{l:?}");
        let from_hub = l.moved - l.collected - l.lab_released;
        assert!(from_hub > 0 && from_hub <= l.ordered, "{l:?}");
    }
}

/// Sample variance.
fn variance(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
}

#[test]
fn common_random_numbers_narrow_the_interval_of_a_difference() {
    // Hospitals holding 4 rather than 2 days: the same seed for both (paired) against the
    // variant run on an independent seed. With 60 replications the ratio of two sample
    // variances has a standard error of about sqrt(2/59) = 18% of itself, so a measured
    // ratio below 1/4 means a true reduction of at least about 2.5-fold.
    let (a, b) = (plan(2.0), plan(4.0));
    let n = 60;
    let run = |s: &Scenario, seed| {
        monte_carlo::run(
            s,
            RunSpec {
                seed,
                replications: n,
            },
            &|| {},
        )
    };
    let (base, paired, independent) = (run(&a, 5), run(&b, 5), run(&b, 500));
    let mean_days = |o: &monte_carlo::RunOutput| -> Vec<f64> {
        o.totals
            .iter()
            .map(|t| t.line(0, None).days_of_supply_sum)
            .collect()
    };
    let diff = |x: &[f64], y: &[f64]| -> Vec<f64> { x.iter().zip(y).map(|(a, b)| b - a).collect() };
    let (x, y, z) = (
        mean_days(&base),
        mean_days(&paired),
        mean_days(&independent),
    );
    let ratio = variance(&diff(&x, &y)) / variance(&diff(&x, &z));
    assert!(ratio < 0.25, "variance ratio {ratio}");
    // The effect itself, resolved by pairing: hospitals holding more leave fewer units short.
    let spec = RunSpec {
        seed: 5,
        replications: n,
    };
    let rows = differences(&[&a, &b], spec);
    let short = rows
        .iter()
        .find(|r| r.group == "all" && r.metric == "units_short")
        .unwrap();
    assert!(short.ci_high < 0.0, "{short:?}");
}

#[test]
fn scenarios_that_report_different_lines_are_refused() {
    let a = plan(2.0);
    let mut b = plan(2.0);
    b.alert_levels.pop();
    let err = compare::comparable(&a, &b).unwrap_err().to_string();
    assert!(err.contains("alert stages differ"), "{err}");
    let mut c = plan(2.0);
    c.calendar.periods += 1;
    let err = compare::comparable(&a, &c).unwrap_err().to_string();
    assert!(err.contains("time settings differ"), "{err}");
    assert!(compare::comparable(&a, &plan(5.0)).is_ok());
}

#[test]
fn the_bundled_centralisation_variants_pair_up_site_by_site() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let load = |f: &str| bloodsim::scenario::load(&dir.join(f)).unwrap();
    let (regional, central) = (
        load("centralisation-regional.toml"),
        load("centralisation-central.toml"),
    );
    compare::comparable(&regional, &central).unwrap();
    // Common random numbers by name: every donor session and hospital is in both.
    let names = |s: &Scenario, labs: bool| -> Vec<String> {
        s.sites
            .iter()
            .filter(|x| labs == matches!(x.role, bloodsim::network::Role::Lab(_)))
            .map(|x| x.name.clone())
            .collect()
    };
    assert_eq!(names(&regional, false), names(&central, false));
    assert_eq!(names(&central, true), ["Central lab"]);
    assert_eq!(names(&regional, true).len(), 3);
}

#[test]
fn differences_by_period_are_exact_and_independent_of_threads() {
    let (a, b) = (plan(2.0), plan(4.0));
    let spec = RunSpec {
        seed: 21,
        replications: 12,
    };
    let paired = |threads: usize, variants: &[&Scenario]| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| monte_carlo::run_paired(variants, spec, &|| {}).1)
    };
    let one = paired(1, &[&a, &b]);
    assert_eq!(one, paired(2, &[&a, &b]));
    assert_eq!(one.replications, 12);
    let names = names(2);
    let rows = compare::period_differences(&a, &names, &one);
    assert_eq!(rows.len(), a.calendar.periods as usize * 2);
    // The mean of paired differences is the difference of the means: against the network
    // stock each variant's own aggregate reports, period by period.
    let outputs = monte_carlo::run_variants(&[&a, &b], spec, &|| {});
    let network_stock = |s: &Scenario, o: &monte_carlo::RunOutput| -> Vec<f64> {
        bloodsim::report::period_rows(s, &o.aggregate)
            .filter(|r| &*r.site == "all" && &*r.group == "all" && &*r.metric == "on_hand")
            .map(|r| r.mean)
            .collect()
    };
    let (x, y) = (
        network_stock(&a, &outputs[0]),
        network_stock(&b, &outputs[1]),
    );
    let per_day = a.baseline_per_day(None, 0, None);
    let days = rows.iter().filter(|r| r.metric == "days_of_supply");
    let mut compared = 0;
    for (r, (x, y)) in days.zip(x.iter().zip(&y)) {
        let expected = (y - x) / per_day;
        assert!(
            (r.difference - expected).abs() < 1e-9,
            "{r:?} vs {expected}"
        );
        compared += 1;
    }
    assert_eq!(compared, a.calendar.periods);
    // A plan against itself: every difference and bound exactly zero.
    let same = paired(2, &[&a, &a]);
    for r in compare::period_differences(&a, &names, &same) {
        assert_eq!(
            (r.difference, r.ci_low, r.ci_high),
            (0.0, 0.0, 0.0),
            "{r:?}"
        );
    }
}
