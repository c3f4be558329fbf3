//! Strategy comparison: the paired difference between variants of one plan.
//!
//! Variants run on common random numbers ([`crate::monte_carlo::run_variants`]): replication
//! `i` of every variant draws from the same keyed streams, so where two variants share a
//! site, its donations, demand and events are the same draws. The difference a planner
//! reads is then computed replication by replication, `variant(i) - base(i)`, and its 95%
//! interval comes from the spread of those paired differences, which shared noise does not
//! widen (a variant compared with itself differs by exactly zero).

use std::fmt::{self, Write};

use serde::{Deserialize, Serialize};

use crate::metrics::{Line, TotalsTable, TotalsView};
use crate::monte_carlo::paired::{PairedSums, mean_interval};
use crate::network::Role;
use crate::report::mean_ci;
use crate::results::{ALL, Estimate};
use crate::scenario::Scenario;

/// Why two scenarios cannot be compared line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomparable(pub String);

impl fmt::Display for Incomparable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Incomparable {}

/// Checks that `variant` reports the same lines over the same measured time as `base`:
/// same products in the same order, the same blood groups, alert stages and calendar.
/// Sites, policies, events and responses may differ: that is what a comparison is for.
pub fn comparable(base: &Scenario, variant: &Scenario) -> Result<(), Incomparable> {
    let products =
        |s: &Scenario| -> Vec<&str> { s.products.iter().map(|p| p.product.name()).collect() };
    let stages =
        |s: &Scenario| -> Vec<String> { s.alert_levels.iter().map(|a| a.name.clone()).collect() };
    let (b, v) = (&base.calendar, &variant.calendar);
    let checks = [
        (
            products(base) == products(variant),
            format!(
                "products differ: {:?} vs {:?} (define the same products, in the same order)",
                products(base),
                products(variant)
            ),
        ),
        (
            base.groups == variant.groups,
            "blood group systems differ (`blood_groups.system`)".to_string(),
        ),
        (
            stages(base) == stages(variant),
            format!(
                "alert stages differ: {:?} vs {:?} (`alert_levels`)",
                stages(base),
                stages(variant)
            ),
        ),
        (
            b.start == v.start
                && b.periods == v.periods
                && b.warm_up_periods == v.warm_up_periods
                && b.period_hours == v.period_hours,
            "time settings differ: give both the same `[time]` start, horizon, warm-up and period"
                .to_string(),
        ),
    ];
    match checks.into_iter().find(|(ok, _)| !ok) {
        Some((_, why)) => Err(Incomparable(why)),
        None => Ok(()),
    }
}

/// What is compared, per replication and line (product and group, or all groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    FillRate,
    UnitsShort,
    /// 1 if any demand went unmet in the replication, else 0: its mean is the shortage
    /// probability.
    AnyShortage,
    Expired,
    OutdateRate,
    MeanDaysOfSupply,
    Cost,
    /// Units moved by road (see `metrics`).
    UnitsMoved,
    /// Mean hours from donation until a released unit reaches its hub.
    HoursToHub,
    /// 1 if days of supply reached alert stage `b` or a more severe one, else 0.
    StageReached(usize),
}

impl Measure {
    /// Every measure for a scenario with `stages` alert stages, in report order.
    pub fn all(stages: usize) -> Vec<Measure> {
        let mut all = vec![
            Measure::FillRate,
            Measure::UnitsShort,
            Measure::AnyShortage,
            Measure::Expired,
            Measure::OutdateRate,
            Measure::MeanDaysOfSupply,
            Measure::Cost,
            Measure::UnitsMoved,
            Measure::HoursToHub,
        ];
        all.extend((0..stages).map(Measure::StageReached));
        all
    }

    /// The name in `comparison.csv` and the terminal table.
    pub fn name(self, scenario: &Scenario) -> String {
        match self {
            Measure::FillRate => "fill_rate".into(),
            Measure::UnitsShort => "units_short".into(),
            Measure::AnyShortage => "shortage_probability".into(),
            Measure::Expired => "expired".into(),
            Measure::OutdateRate => "outdate_rate".into(),
            Measure::MeanDaysOfSupply => "mean_days_of_supply".into(),
            Measure::Cost => "cost".into(),
            Measure::UnitsMoved => "units_moved".into(),
            Measure::HoursToHub => "hours_donation_to_hub".into(),
            Measure::StageReached(b) => {
                format!("P({} or worse)", scenario.alert_levels[b].name)
            }
        }
    }

    /// The value in one replication (NaN where undefined, e.g. a fill rate without demand).
    fn value(self, scenario: &Scenario, t: TotalsView<'_>, p: usize, g: Option<usize>) -> f64 {
        let l: &Line = t.line(p, g);
        let measured = f64::from(scenario.calendar.periods - scenario.calendar.warm_up_periods);
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        match self {
            Measure::FillRate => l.fill_rate(),
            Measure::UnitsShort => l.units_short as f64,
            Measure::AnyShortage => flag(l.units_short > 0),
            Measure::Expired => l.expired as f64,
            Measure::OutdateRate => l.outdate_rate(),
            Measure::MeanDaysOfSupply => l.days_of_supply_sum / measured,
            Measure::Cost => l.cost(&scenario.costs[p], t.period_days()),
            Measure::UnitsMoved => l.moved as f64,
            Measure::HoursToHub => l.hours_to_hub(f64::from(scenario.calendar.period_hours)),
            Measure::StageReached(b) => flag(t.periods_in_alert(p, g)[b..].iter().any(|&n| n > 0)),
        }
    }
}

/// One row of `comparison.csv`: a measure for one line, in the base and in one variant, and
/// their paired difference (variant - base) with its 95% interval.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DifferenceRow {
    pub variant: String,
    pub product: String,
    pub group: String,
    pub metric: String,
    pub base: f64,
    pub value: f64,
    pub difference: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Replications where the measure is defined in both (e.g. a fill rate needs demand).
    pub pairs: u64,
}

impl DifferenceRow {
    /// Whether the interval excludes zero.
    pub fn significant(&self) -> bool {
        self.ci_low > 0.0 || self.ci_high < 0.0
    }
}

/// Paired differences of every variant from the first (the base), for every product,
/// group (and all groups) and measure (alert stages only for the products they read). `names` and `runs` are in variant order; the
/// scenarios must be [`comparable`].
pub fn differences(
    scenarios: &[&Scenario],
    names: &[String],
    runs: &[&TotalsTable],
) -> Vec<DifferenceRow> {
    let base = scenarios[0];
    let groups = base.groups.count();
    let lines: Vec<Option<usize>> = if groups > 1 {
        (0..groups).map(Some).chain([None]).collect()
    } else {
        vec![None]
    };
    let measures = Measure::all(base.alert_levels.len());
    let has_labs = base.sites.iter().any(|s| matches!(s.role, Role::Lab(_)));
    let mut rows = Vec::new();
    for v in 1..scenarios.len() {
        for p in 0..base.products.len() {
            // Alert stages only for products they read (`[alert_scope]`), time to the hub
            // only where labs release.
            let staged = base.alert_scope.products[p];
            let measures = measures.iter().filter(|m| match m {
                Measure::StageReached(_) => staged,
                Measure::HoursToHub => has_labs,
                _ => true,
            });
            for &g in &lines {
                for &m in measures.clone() {
                    rows.push(paired(
                        (base, scenarios[v]),
                        (runs[0], runs[v]),
                        (p, g, m),
                        &names[v],
                    ));
                }
            }
        }
    }
    rows
}

fn paired(
    (base, variant): (&Scenario, &Scenario),
    (a, b): (&TotalsTable, &TotalsTable),
    (p, g, m): (usize, Option<usize>, Measure),
    name: &str,
) -> DifferenceRow {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| (m.value(base, x, p, g), m.value(variant, y, p, g)))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let n = pairs.len() as f64;
    let mean = |f: fn(&(f64, f64)) -> f64| pairs.iter().map(f).sum::<f64>() / n;
    let Estimate {
        mean: difference,
        ci_low,
        ci_high,
    } = mean_ci(pairs.iter().map(|(x, y)| y - x));
    DifferenceRow {
        variant: name.to_string(),
        product: base.products[p].product.name().to_string(),
        group: g.map_or(ALL.to_string(), |g| base.groups.label(g).to_string()),
        metric: m.name(base),
        base: mean(|x| x.0),
        value: mean(|x| x.1),
        difference,
        ci_low,
        ci_high,
        pairs: pairs.len() as u64,
    }
}

/// The table `bloodsim compare` prints: per variant and product, all groups, every measure;
/// then the groups whose fill rate or shortage probability differs significantly.
pub fn table(names: &[String], rows: &[DifferenceRow], replications: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} vs base \"{}\" — {replications} paired replications on common random numbers; difference = variant - base, 95% CI",
        names[1..].join(", "),
        names[0]
    );
    let width = names.iter().map(String::len).max().unwrap_or(0).max(7);
    let header = |out: &mut String| {
        let _ = writeln!(
            out,
            "{:<width$} {:<11} {:<5} {:<24} {:>12} {:>12} {:>12} {:>25}",
            "variant", "product", "group", "metric", "base", "variant", "difference", "95% CI"
        );
    };
    header(&mut out);
    for r in rows.iter().filter(|r| r.group == ALL) {
        line(&mut out, r, width);
    }
    let groups: Vec<&DifferenceRow> = rows
        .iter()
        .filter(|r| r.group != ALL)
        .filter(|r| matches!(r.metric.as_str(), "fill_rate" | "shortage_probability"))
        .filter(|r| r.significant())
        .collect();
    if !groups.is_empty() {
        let _ = writeln!(
            out,
            "\nGroups whose fill rate or shortage probability differs (CI excludes 0):"
        );
        header(&mut out);
        for r in groups {
            line(&mut out, r, width);
        }
    }
    out
}

/// A value in the terminal tables: `-` when undefined, whole above 100, else 4 decimals.
fn f(x: f64) -> String {
    if x.is_nan() {
        "-".to_string()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.4}")
    }
}

fn line(out: &mut String, r: &DifferenceRow, width: usize) {
    let ci = if r.ci_low.is_nan() {
        "-".to_string()
    } else {
        format!("[{}, {}]", f(r.ci_low), f(r.ci_high))
    };
    let _ = writeln!(
        out,
        "{:<width$} {:<11} {:<5} {:<24} {:>12} {:>12} {:>12} {:>25}{}",
        r.variant,
        r.product,
        r.group,
        r.metric,
        f(r.base),
        f(r.value),
        f(r.difference),
        ci,
        if r.significant() { " *" } else { "" }
    );
}

/// One row of `sweep.csv`: a headline metric of one setting of a sweep, for one product
/// and group (or all groups), with its 95% interval.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepRow {
    /// The setting's directory name (`setting-1`, ...).
    pub setting: String,
    /// What the setting sets, `path=value` joined by `; `.
    pub values: String,
    pub product: String,
    pub group: String,
    pub metric: String,
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// The sweep's headline rows: per setting, product and group, the metrics a planner trades
/// off (fill rate, shortage probability, units short, outdate rate, expired, days of supply).
pub fn sweep_rows(
    scenarios: &[&Scenario],
    settings: &[(String, String)],
    runs: &[&TotalsTable],
) -> Vec<SweepRow> {
    let mut rows = Vec::new();
    for ((s, (name, values)), totals) in scenarios.iter().zip(settings).zip(runs) {
        for h in crate::report::headlines(s, totals) {
            let metrics = [
                ("fill_rate", h.fill_rate),
                ("shortage_probability", h.shortage_probability),
                ("units_short", h.units_short),
                ("outdate_rate", h.outdate_rate),
                ("expired", h.expired),
                ("mean_days_of_supply", h.mean_days_of_supply),
            ];
            for (metric, e) in metrics {
                rows.push(SweepRow {
                    setting: name.clone(),
                    values: values.clone(),
                    product: h.product.clone(),
                    group: h.group.clone(),
                    metric: metric.to_string(),
                    mean: e.mean,
                    ci_low: e.ci_low,
                    ci_high: e.ci_high,
                });
            }
        }
    }
    rows
}

/// The table `bloodsim sweep` prints: per setting and product, all groups.
pub fn sweep_table(rows: &[SweepRow], replications: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sweep — {replications} replications per setting on common random numbers; means with 95% CI"
    );
    let _ = writeln!(
        out,
        "{:<11} {:<40} {:<11} {:<22} {:>12} {:>25}",
        "setting", "values", "product", "metric", "mean", "95% CI"
    );
    for r in rows.iter().filter(|r| r.group == ALL) {
        let _ = writeln!(
            out,
            "{:<11} {:<40} {:<11} {:<22} {:>12} {:>25}",
            r.setting,
            r.values,
            r.product,
            r.metric,
            f(r.mean),
            format!("[{}, {}]", f(r.ci_low), f(r.ci_high))
        );
    }
    out
}

/// One row of `differences_by_period.csv`: in one period, the mean paired difference
/// (variant - base) of a network measure for one product, with its 95% interval.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PeriodDifferenceRow {
    pub variant: String,
    pub period: u32,
    /// ISO 8601 date-time of the start of the period.
    pub time: String,
    pub product: String,
    /// `days_of_supply` (network units on hand / baseline demand per day) or
    /// `shortage_probability` (some demand unmet in the period).
    pub metric: String,
    pub difference: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Rows of `differences_by_period.csv` from the paired sums of [`monte_carlo::run_paired`],
/// every variant after the base, product and period.
///
/// [`monte_carlo::run_paired`]: crate::monte_carlo::run_paired
pub fn period_differences(
    base: &Scenario,
    names: &[String],
    sums: &PairedSums,
) -> Vec<PeriodDifferenceRow> {
    let periods = base.calendar.periods;
    let n = sums.replications;
    let mut rows = Vec::new();
    for (v, name) in names.iter().enumerate().skip(1) {
        for p in 0..sums.products {
            let product = base.products[p].product.name();
            let per_day = base.baseline_per_day(None, p, None);
            let days = if per_day > 0.0 {
                1.0 / per_day
            } else {
                f64::NAN
            };
            for period in 0..periods {
                let k = period as usize * sums.products + p;
                let time = base
                    .calendar
                    .period_start(period)
                    .format("%Y-%m-%dT%H:%M")
                    .to_string();
                for (metric, cell, scale) in [
                    ("days_of_supply", sums.stock[v - 1][k], days),
                    ("shortage_probability", sums.short[v - 1][k], 1.0),
                ] {
                    let (difference, ci_low, ci_high) = mean_interval(cell, n, scale);
                    rows.push(PeriodDifferenceRow {
                        variant: name.clone(),
                        period,
                        time: time.clone(),
                        product: product.to_string(),
                        metric: metric.to_string(),
                        difference,
                        ci_low,
                        ci_high,
                    });
                }
            }
        }
    }
    rows
}
