//! The simulator against exact results on textbook single-product models.
//!
//! Each test runs independent replications, takes one per-period average per replication
//! (so autocorrelation within a replication does not matter), and accepts the simulation
//! when the mean over replications is within 4 standard errors of the exact value (the SE
//! estimated from the spread of replication means). With a fixed seed the outcome is
//! deterministic; 4 SE would be exceeded by chance about once in 16,000 seeds.

use bloodsim::engine::Engine;
use bloodsim::record::{Flow, PeriodView, Recorder};

use crate::support::{InvariantChecker, Textbook, parse};

/// Per-period averages of one replication at the single hospital (site 1), after warm-up.
#[derive(Default)]
struct HospitalAverages {
    warm_up: u32,
    periods: u32,
    issued: u64,
    demanded: u64,
    expired: u64,
    periods_with_backlog: u32,
}

impl Recorder for HospitalAverages {
    fn period(&mut self, v: &PeriodView<'_>) {
        if v.period < self.warm_up {
            return;
        }
        let c = v.cells.index(1, 0, 0);
        self.periods += 1;
        self.issued += u64::from(v.flows[Flow::Issued][c]);
        self.demanded += u64::from(v.flows[Flow::Demanded][c]);
        self.expired += u64::from(v.flows[Flow::Expired][c]);
        self.periods_with_backlog += u32::from(v.backlog[c] > 0);
    }
}

fn poisson_pmf(lambda: f64, k: u32) -> f64 {
    let mut p = (-lambda).exp();
    for i in 1..=k {
        p *= lambda / f64::from(i);
    }
    p
}

/// Runs replications and returns, per replication, `metric(averages)`.
fn replicate(
    model: &Textbook,
    replications: u64,
    metric: impl Fn(&HospitalAverages) -> f64,
) -> Vec<f64> {
    let scenario = parse(&model.toml());
    let mut engine = Engine::new(&scenario);
    (0..replications)
        .map(|r| {
            let mut rec = HospitalAverages {
                warm_up: scenario.calendar.warm_up_periods,
                ..Default::default()
            };
            engine.run(2026, r, &mut rec);
            metric(&rec)
        })
        .collect()
}

fn assert_within_4se(samples: &[f64], exact: f64, what: &str) {
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let sd = (samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let se = sd / n.sqrt();
    assert!(se > 0.0, "{what}: no variation across replications");
    assert!(
        (mean - exact).abs() <= 4.0 * se,
        "{what}: simulated {mean:.5} vs exact {exact:.5} (SE {se:.5})"
    );
}

/// No perishing (shelf life beyond the horizon), stock restored to S before every period's
/// demand (review after demand, delivery next morning), lost sales: units issued per period
/// average E[min(D, S)], so the fill rate is E[min(D, S)] / lambda.
#[test]
fn fill_rate_of_order_up_to_with_lost_sales() {
    let (lambda, s) = (20.0, 22);
    let model = Textbook {
        demand_per_period: lambda,
        level: s,
        shelf_life_days: 1000,
        lead_periods: 1,
        review: "after_demand",
        unmet: "lost",
        days: 120,
        warm_up_days: 5,
    };
    let exact_min: f64 = (0..400)
        .map(|d| poisson_pmf(lambda, d) * f64::from(d.min(s)))
        .sum();
    let issued = replicate(&model, 200, |a| a.issued as f64 / f64::from(a.periods));
    assert_within_4se(&issued, exact_min, "issued per period = E[min(D,S)]");
    let demanded = replicate(&model, 200, |a| a.demanded as f64 / f64::from(a.periods));
    assert_within_4se(&demanded, lambda, "demand per period = lambda");
    let exact_fill = exact_min / lambda;
    assert!(
        (0.85..0.97).contains(&exact_fill),
        "case chosen so that shortages are common: {exact_fill}"
    );
}

/// Shelf life of one period, stock raised to S before demand with zero lead time: whatever
/// demand leaves expires at the start of the next period, so outdates average E[(S - D)+].
#[test]
fn outdates_with_one_period_shelf_life() {
    let (lambda, s) = (10.0, 12);
    let model = Textbook {
        demand_per_period: lambda,
        level: s,
        shelf_life_days: 1,
        lead_periods: 0,
        review: "before_demand",
        unmet: "lost",
        days: 150,
        warm_up_days: 5,
    };
    let exact: f64 = (0..s)
        .map(|d| poisson_pmf(lambda, d) * f64::from(s - d))
        .sum();
    let expired = replicate(&model, 200, |a| a.expired as f64 / f64::from(a.periods));
    assert_within_4se(&expired, exact, "expired per period = E[(S-D)+]");
}

/// Order-up-to S with lead time L and backorders: a backorder remains at the end of a period
/// exactly when demand over L + 1 periods exceeds S, so P(no backorder) = P(D_{L+1} <= S).
#[test]
fn no_backorder_probability_with_lead_time() {
    for (lambda, lead, s) in [(5.0, 2u32, 18u32), (3.0, 0, 4)] {
        let model = Textbook {
            demand_per_period: lambda,
            level: s,
            shelf_life_days: 1000,
            lead_periods: lead,
            review: "before_demand",
            unmet: "backordered",
            days: 150,
            warm_up_days: 10,
        };
        let over = lambda * f64::from(lead + 1);
        let exact: f64 = (0..=s).map(|d| poisson_pmf(over, d)).sum();
        let no_backorder = replicate(&model, 200, |a| {
            1.0 - f64::from(a.periods_with_backlog) / f64::from(a.periods)
        });
        assert_within_4se(
            &no_backorder,
            exact,
            &format!("P(no backorder), L = {lead}"),
        );
    }
}

/// The textbook models also keep every invariant.
#[test]
fn textbook_models_conserve_units() {
    let model = Textbook {
        demand_per_period: 8.0,
        level: 9,
        shelf_life_days: 2,
        lead_periods: 1,
        review: "after_demand",
        unmet: "backordered",
        days: 60,
        warm_up_days: 0,
    };
    let scenario = parse(&model.toml());
    let mut checker = InvariantChecker::new(&scenario);
    Engine::new(&scenario).run(1, 0, &mut checker);
    assert_eq!(checker.periods_checked, 60);
    assert!(checker.units_issued > 0);
    assert!(checker.issues_checked > 0);
    checker.assert_complete();
}

/// A large initial stock mostly expires; the outdate rate counts it in the denominator, so
/// it stays a share (issue 12: 141.69% before, when only units released were counted), with
/// and without warm-up.
#[test]
fn outdate_rate_counts_opening_stock_and_stays_a_share() {
    let base = include_str!("../../scenarios/single-hospital.toml")
        .replace("units = 60\nage_days", "units = 20000\nage_days");
    for warm_up in ["warm_up_days = 28", "warm_up_days = 0"] {
        let s = parse(&base.replace("warm_up_days = 28", warm_up));
        let spec = bloodsim::monte_carlo::RunSpec {
            seed: 7,
            replications: 4,
        };
        let out = bloodsim::monte_carlo::run(&s, spec, &|| {});
        for totals in out.totals.iter() {
            let line = totals.line(0, None);
            let rate = line.outdate_rate();
            // Most of the 20,000 units expire unused (demand is 40 a day): more expire than
            // are released over the year, so a rate over released units alone exceeds 1.
            assert!(
                line.opening_stock > 15_000 && line.expired > line.released,
                "{warm_up}: {line:?}"
            );
            let share = line.expired as f64 / (line.released + line.opening_stock) as f64;
            assert!((rate - share).abs() < 1e-12, "{warm_up}: {rate} vs {share}");
            assert!(rate > 0.0 && rate <= 1.0, "{warm_up}: outdate rate {rate}");
        }
    }
}

/// Units collected and demanded per year of a replication, summed over sites.
#[derive(Default)]
struct YearTotals {
    collected: [f64; 2],
    demanded: [f64; 2],
}

impl Recorder for YearTotals {
    fn period(&mut self, v: &PeriodView<'_>) {
        let year = (v.period / 365) as usize;
        let sum = |x: &[u32]| x.iter().map(|&u| f64::from(u)).sum::<f64>();
        self.collected[year] += sum(&v.flows[Flow::Collected]);
        self.demanded[year] += sum(&v.flows[Flow::Demanded]);
    }
}

/// A yearly trend multiplies day `d`'s rate by `(1 + per_year)^((d - reference) / 365)`:
/// Poisson totals per year then have mean `rate * sum_d factor(d)`, and the SE of the mean of
/// 8 replications is 0.11-0.20% of it. A linear ramp through the same factors would miss
/// year 1 by 1.2% (collection) and 1.1% (demand), at least 6 SE; a collection reference
/// date ignored would miss by 25%.
#[test]
fn collection_and_demand_trends_compound_as_written() {
    let (collect, demand) = (200.0, 150.0);
    let (grow_collect, grow_demand) = (0.5, -0.3);
    let scenario = parse(&format!(
        r#"
[scenario]
name = "trends"
[time]
start = 2026-01-05
horizon_days = 730
[calendar]
collection_trend = {{ per_year = {grow_collect}, reference = 2026-07-24 }}
demand_trend = {{ per_year = {grow_demand}, reference = 2026-01-05 }}
[products.red_cells]
shelf_life_days = 42
[[sites]]
kind = "lab"
name = "lab"
[[sites]]
kind = "hub"
name = "hub"
[[sites]]
kind = "collection"
name = "drives"
lab = "lab"
hub = "hub"
  [[sites.donations]]
  donation = "whole_blood"
  per_day = {{ type = "poisson", mean = {collect} }}
[[sites]]
kind = "hospital"
name = "hospital"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  units_per_day = {{ type = "poisson", mean = {demand} }}
[[links]]
from = "drives"
to = "lab"
hours = 2
[[links]]
from = "lab"
to = "hub"
hours = 2
[[links]]
from = "hub"
to = "hospital"
hours = 24
[policy.replenishment.red_cells]
type = "order_up_to"
days = 4
"#
    ));
    // Collection's factor is 1 on 2026-07-24, day 200.
    let exact = |rate: f64, growth: f64, reference: f64, year: u32| -> f64 {
        (365 * year..365 * (year + 1))
            .map(|d| rate * (1.0 + growth).powf((f64::from(d) - reference) / 365.0))
            .sum()
    };
    let mut engine = Engine::new(&scenario);
    let runs: Vec<YearTotals> = (0..8)
        .map(|r| {
            let mut totals = YearTotals::default();
            engine.run(2026, r, &mut totals);
            totals
        })
        .collect();
    for year in 0..2 {
        let collected: Vec<f64> = runs.iter().map(|t| t.collected[year]).collect();
        let demanded: Vec<f64> = runs.iter().map(|t| t.demanded[year]).collect();
        let y = year as u32;
        assert_within_4se(
            &collected,
            exact(collect, grow_collect, 200.0, y),
            &format!("collected in year {}", y + 1),
        );
        assert_within_4se(
            &demanded,
            exact(demand, grow_demand, 0.0, y),
            &format!("demanded in year {}", y + 1),
        );
    }
}
