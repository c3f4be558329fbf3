//! Headline statistics over replications, the table `bloodsim run` prints, the rows of the
//! results files, and the HTML report ([`html`]).

pub mod html;

use std::fmt::Write;

use crate::metrics::{Line, TotalsTable, TotalsView};
use crate::monte_carlo::{Aggregate, Metric};
use crate::results::{
    ALL, AlertLevel, Estimate, Headline, PeriodRow, PeriodSource, ReplicationRow, RunInfo,
    ScenarioInfo, SiteInfo, Summary, TimeInfo,
};
use crate::scenario::Scenario;

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// Mean and normal-approximation 95% CI of the finite values (NaNs, e.g. a fill rate with no
/// demand, are left out). NaN estimate when no value is finite.
pub fn mean_ci(values: impl Iterator<Item = f64>) -> Estimate {
    let xs: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    let n = xs.len() as f64;
    if xs.is_empty() {
        return Estimate {
            mean: f64::NAN,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
        };
    }
    let mean = xs.iter().sum::<f64>() / n;
    let half = if xs.len() > 1 {
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Z95 * (var / n).sqrt()
    } else {
        f64::NAN
    };
    Estimate {
        mean,
        ci_low: mean - half,
        ci_high: mean + half,
    }
}

/// [`mean_ci`] of a quantity that cannot be negative, its interval cut at zero.
fn count(values: impl Iterator<Item = f64>) -> Estimate {
    mean_ci(values).within(0.0, f64::INFINITY)
}

/// [`mean_ci`] of a rate, its interval cut to [0, 1].
fn rate(values: impl Iterator<Item = f64>) -> Estimate {
    mean_ci(values).within(0.0, 1.0)
}

/// Share of `hits` in `n` trials with the Wilson score 95% interval (sound near 0 and 1,
/// where shortage probabilities live).
pub fn proportion_ci(hits: u64, n: u64) -> Estimate {
    if n == 0 {
        return Estimate {
            mean: f64::NAN,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
        };
    }
    let (k, n) = (hits as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Estimate {
        mean: p,
        ci_low: (centre - half).max(0.0),
        ci_high: (centre + half).min(1.0),
    }
}

/// Headline metrics for one product and group (`None` = all groups).
pub fn headline(
    scenario: &Scenario,
    runs: &TotalsTable,
    product: usize,
    group: Option<usize>,
) -> Headline {
    let lines: Vec<&Line> = runs.iter().map(|r| r.line(product, group)).collect();
    let measured = f64::from(scenario.calendar.periods - scenario.calendar.warm_up_periods);
    let any_short = lines.iter().filter(|l| l.units_short > 0).count() as u64;
    let stages = scenario.alert_levels.len();
    let in_stage: Vec<&[u32]> = runs
        .iter()
        .map(|r| r.periods_in_alert(product, group))
        .collect();
    let time_in_stage = (0..stages)
        .map(|b| mean_ci(in_stage.iter().map(|d| f64::from(d[b]) / measured)).within(0.0, 1.0))
        .collect();
    let stage_probability = (0..stages)
        .map(|b| {
            let reached = in_stage.iter().filter(|d| d[b..].iter().any(|&n| n > 0));
            proportion_ci(reached.count() as u64, lines.len() as u64)
        })
        .collect();
    Headline {
        product: scenario.products[product].product.name().to_string(),
        group: group.map_or(ALL.to_string(), |g| scenario.groups.label(g).to_string()),
        demand: count(lines.iter().map(|l| l.demand as f64)),
        fill_rate: rate(lines.iter().map(|l| l.fill_rate())),
        units_short: count(lines.iter().map(|l| l.units_short as f64)),
        shortage_probability: proportion_ci(any_short, lines.len() as u64),
        expired: count(lines.iter().map(|l| l.expired as f64)),
        outdate_rate: rate(lines.iter().map(|l| l.outdate_rate())),
        mean_days_of_supply: count(lines.iter().map(|l| l.days_of_supply_sum / measured)),
        time_in_stage,
        stage_probability,
    }
}

/// Every headline row: per product, each group then all groups.
pub fn headlines(scenario: &Scenario, runs: &TotalsTable) -> Vec<Headline> {
    let groups = scenario.groups.count();
    let mut out = Vec::new();
    for p in 0..scenario.products.len() {
        let group_rows = if groups > 1 {
            (0..groups).map(Some).collect::<Vec<_>>()
        } else {
            vec![]
        };
        for g in group_rows.into_iter().chain([None]) {
            out.push(headline(scenario, runs, p, g));
        }
    }
    out
}

fn pct(e: &Estimate) -> String {
    if e.mean.is_nan() {
        "-".into()
    } else {
        format!("{:.2}%", 100.0 * e.mean)
    }
}

fn num(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The concise table `bloodsim run` prints: one row per product and group.
pub fn table(scenario: &Scenario, rows: &[Headline], replications: u64) -> String {
    let mut out = String::new();
    let measured_days = f64::from(scenario.calendar.periods - scenario.calendar.warm_up_periods)
        * scenario.calendar.day_fraction();
    let _ = writeln!(
        out,
        "{} — {replications} replication{}, {measured_days:.0} day{} after warm-up (means per replication)",
        scenario.name,
        if replications == 1 { "" } else { "s" },
        if format!("{measured_days:.0}") == "1" {
            ""
        } else {
            "s"
        },
    );
    let _ = writeln!(
        out,
        "{:<11} {:<5} {:>11} {:>9} {:>10} {:>9} {:>8} {:>9} {:>18}",
        "product",
        "group",
        "demand",
        "fill",
        "short",
        "expired",
        "outdate",
        "mean DoS",
        "P(any shortage)"
    );
    for r in rows {
        let p = &r.shortage_probability;
        let prob = if p.mean.is_nan() {
            "-".into()
        } else {
            format!("{:.3} [{:.3},{:.3}]", p.mean, p.ci_low, p.ci_high)
        };
        let _ = writeln!(
            out,
            "{:<11} {:<5} {:>11} {:>9} {:>10} {:>9} {:>8} {:>9} {:>18}",
            r.product,
            r.group,
            num(r.demand.mean),
            pct(&r.fill_rate),
            num(r.units_short.mean),
            num(r.expired.mean),
            pct(&r.outdate_rate),
            num(r.mean_days_of_supply.mean),
            prob
        );
    }
    stage_table(&mut out, scenario, rows);
    out
}

/// Time in each alert stage and the probability of reaching it, per row of a product the
/// stages apply to: by the days of supply `[alert_scope]` names (network or hubs).
fn stage_table(out: &mut String, scenario: &Scenario, rows: &[Headline]) {
    if scenario.alert_levels.is_empty() {
        return;
    }
    let scope = &scenario.alert_scope;
    let stock = if scope.hubs_only { "hubs'" } else { "network" };
    let _ = writeln!(
        out,
        "\nAlert stages by {stock} days of supply: share of days in the stage (P[stage or worse reached])"
    );
    let staged = |name: &str| {
        scenario
            .products
            .iter()
            .zip(&scope.products)
            .any(|(p, &on)| on && p.product.name() == name)
    };
    let _ = write!(out, "{:<11} {:<5}", "product", "group");
    for level in &scenario.alert_levels {
        let head = format!("{} <{}d", level.name, num(level.below_days));
        let _ = write!(out, " {head:>19}");
    }
    let _ = writeln!(out);
    for r in rows.iter().filter(|r| staged(&r.product)) {
        let _ = write!(out, "{:<11} {:<5}", r.product, r.group);
        for (time, reached) in r.time_in_stage.iter().zip(&r.stage_probability) {
            let cell = format!("{} [{:.3}]", pct(time), reached.mean);
            let _ = write!(out, " {cell:>19}");
        }
        let _ = writeln!(out);
    }
}

/// Rows of `periods.csv`, produced one at a time: for every period and series, the
/// distribution of units on hand and days of supply, the mean units short and expired over
/// replications, and the probability of a shortage.
pub fn period_rows<'a>(
    scenario: &'a Scenario,
    aggregate: &'a Aggregate,
) -> impl Iterator<Item = PeriodRow> + 'a {
    let table = PeriodRows::new(scenario, aggregate);
    (0..aggregate.periods).flat_map(move |period| {
        table
            .rows(period)
            .map(|r| r.to_owned_row())
            .collect::<Vec<_>>()
    })
}

/// The rows of `periods.csv` by period, so periods can be formatted in parallel (see
/// [`PeriodSource`]): every label, built once, and lent to the rows (a million rows with
/// shared strings of their own spent a tenth of the formatting in reference counts).
pub struct PeriodRows<'a> {
    aggregate: &'a Aggregate,
    baselines: Vec<f64>,
    /// Site, product and group of each series.
    labels: Vec<[&'a str; 3]>,
    /// The start of each period, as written.
    times: Vec<String>,
}

/// The metrics of `periods.csv`, in row order within a series.
const PERIOD_METRICS: [&str; 5] = [
    "on_hand",
    "days_of_supply",
    "units_short",
    "expired",
    "shortage_probability",
];

impl<'a> PeriodRows<'a> {
    pub fn new(scenario: &'a Scenario, aggregate: &'a Aggregate) -> PeriodRows<'a> {
        PeriodRows {
            aggregate,
            baselines: aggregate
                .series
                .iter()
                .map(|s| scenario.baseline_per_day(s.site, s.product, s.group))
                .collect(),
            labels: aggregate
                .series
                .iter()
                .map(|s| {
                    [
                        s.site.map_or(ALL, |i| scenario.sites[i].name.as_str()),
                        scenario.products[s.product].product.name(),
                        s.group.map_or(ALL, |g| scenario.groups.label(g)),
                    ]
                })
                .collect(),
            times: (0..aggregate.periods)
                .map(|period| {
                    let start = scenario.calendar.period_start(period);
                    start.format("%Y-%m-%dT%H:%M").to_string()
                })
                .collect(),
        }
    }

    /// Every series' rows of one period, in series order.
    pub fn rows(&self, period: u32) -> impl Iterator<Item = PeriodRow<&str>> + '_ {
        let aggregate = self.aggregate;
        let time = self.times[period as usize].as_str();
        (0..self.labels.len()).flat_map(move |i| {
            let [site, product, group] = self.labels[i];
            let row = |metric: &'static str, mean: f64, q: [Option<f64>; 5]| PeriodRow {
                period,
                time,
                site,
                product,
                group,
                metric,
                mean,
                p05: q[0],
                p25: q[1],
                p50: q[2],
                p75: q[3],
                p95: q[4],
            };
            let h = aggregate.on_hand_histogram(period, i);
            let q = h.quantiles(QUANTILES);
            let quantiles = |scale: f64| q.map(|v| v.map(|v| v.value as f64 / scale));
            let on_hand = aggregate.mean(Metric::OnHand, period, i);
            let baseline = self.baselines[i];
            let [on_hand_metric, days, short, expired, probability] = PERIOD_METRICS;
            [
                Some(row(on_hand_metric, on_hand, quantiles(1.0))),
                (baseline > 0.0).then(|| row(days, on_hand / baseline, quantiles(baseline))),
                Some(row(
                    short,
                    aggregate.mean(Metric::UnitsShort, period, i),
                    [None; 5],
                )),
                Some(row(
                    expired,
                    aggregate.mean(Metric::Expired, period, i),
                    [None; 5],
                )),
                Some(row(
                    probability,
                    aggregate.shortage_probability(period, i),
                    [None; 5],
                )),
            ]
            .into_iter()
            .flatten()
        })
    }
}

impl PeriodSource for PeriodRows<'_> {
    fn periods(&self) -> u32 {
        self.aggregate.periods
    }

    fn rows_of(&self, period: u32) -> impl Iterator<Item = PeriodRow<&str>> {
        self.rows(period)
    }
}

/// The quantiles reported per period.
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// Reported percentiles (period x series x quantile) that fell outside their histogram's
/// core, set from the pilot replications, into a tail bin wider than one bucket: each is
/// its bin's floor, not the exact order statistic.
/// Periods are counted in parallel (a national run has 350,000 histograms to walk).
pub fn approximate_percentiles(aggregate: &Aggregate) -> u64 {
    use rayon::prelude::*;
    (0..aggregate.periods)
        .into_par_iter()
        .map(|period| {
            (0..aggregate.series.len())
                .map(|series| {
                    let h = aggregate.on_hand_histogram(period, series);
                    h.quantiles(QUANTILES)
                        .iter()
                        .filter(|v| v.is_some_and(|v| !v.exact))
                        .count() as u64
                })
                .sum::<u64>()
        })
        .sum()
}

/// Rows of `replications.csv`, in replication order, produced one at a time (so the file can
/// be written without holding every row).
pub fn replication_rows<'a>(
    scenario: &'a Scenario,
    totals: &'a TotalsTable,
) -> impl Iterator<Item = ReplicationRow> + 'a {
    let groups = scenario.groups.count();
    let group_rows: Vec<Option<usize>> = if groups > 1 {
        (0..groups).map(Some).chain([None]).collect()
    } else {
        vec![None]
    };
    totals.iter().enumerate().flat_map(move |(r, t)| {
        let group_rows = group_rows.clone();
        (0..scenario.products.len()).flat_map(move |p| {
            group_rows
                .clone()
                .into_iter()
                .map(move |g| replication_row(scenario, t, r as u64, p, g))
        })
    })
}

fn replication_row(
    scenario: &Scenario,
    t: TotalsView<'_>,
    replication: u64,
    p: usize,
    g: Option<usize>,
) -> ReplicationRow {
    let l = t.line(p, g);
    ReplicationRow {
        replication,
        product: scenario.products[p].product.name().to_string(),
        group: g.map_or(ALL.to_string(), |g| scenario.groups.label(g).to_string()),
        demand: l.demand,
        issued: l.issued,
        units_short: l.units_short,
        requests_short: l.requests_short,
        expired: l.expired,
        released: l.released,
        outdate_rate: l.outdate_rate(),
        fill_rate: l.fill_rate(),
        min_days_of_supply: if l.days_of_supply_min.is_finite() {
            l.days_of_supply_min
        } else {
            f64::NAN
        },
        periods_in_alert: t
            .periods_in_alert(p, g)
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(";"),
        cost: l.cost(&scenario.costs[p], t.period_days()),
        units_moved: l.moved,
        hours_donation_to_hub: l.hours_to_hub(f64::from(scenario.calendar.period_hours)),
        collected: l.collected,
    }
}

/// Run facts the core cannot know (it never reads files or clocks).
pub struct RunMeta {
    pub file: String,
    pub file_sha256: String,
    pub threads: usize,
    pub wall_seconds: f64,
    /// Shards merged into the results, if they were merged.
    pub shards: Option<u64>,
}

/// `summary.json`'s content.
pub fn summary(
    scenario: &Scenario,
    totals: &TotalsTable,
    aggregate: &Aggregate,
    meta: &RunMeta,
) -> Summary {
    let c = &scenario.calendar;
    Summary {
        bloodsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            assumptions: scenario.assumptions.clone(),
            file: meta.file.clone(),
            file_sha256: meta.file_sha256.clone(),
        },
        run: RunInfo {
            seed: scenario.seed,
            replications: totals.len() as u64,
            threads: meta.threads,
            wall_seconds: meta.wall_seconds,
            shards: meta.shards,
            approximate_percentiles: approximate_percentiles(aggregate),
        },
        time: TimeInfo {
            start: c.period_start(0).format("%Y-%m-%dT%H:%M:%S").to_string(),
            period_hours: c.period_hours,
            periods: c.periods,
            warm_up_periods: c.warm_up_periods,
        },
        groups: scenario
            .groups
            .labels()
            .into_iter()
            .map(String::from)
            .collect(),
        products: scenario
            .products
            .iter()
            .map(|p| p.product.name().to_string())
            .collect(),
        sites: scenario
            .sites
            .iter()
            .map(|s| SiteInfo {
                name: s.name.clone(),
                kind: s.role.kind().to_string(),
                region: s.region.clone(),
            })
            .collect(),
        alert_levels: scenario
            .alert_levels
            .iter()
            .map(|a| AlertLevel {
                name: a.name.clone(),
                below_days: a.below_days,
            })
            .collect(),
        alert_stock: if scenario.alert_scope.hubs_only {
            "hubs"
        } else {
            "network"
        }
        .into(),
        alert_products: scenario
            .products
            .iter()
            .zip(&scenario.alert_scope.products)
            .filter(|(_, on)| **on)
            .map(|(p, _)| p.product.name().to_string())
            .collect(),
        events: Vec::new(),
        headline: headlines(scenario, totals),
        files: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_ci_of_known_sample() {
        let e = mean_ci([1.0, 2.0, 3.0, 4.0, f64::NAN].into_iter());
        assert_eq!(e.mean, 2.5);
        // sd = sqrt(5/3), se = sd / 2
        let half = Z95 * (5.0f64 / 3.0).sqrt() / 2.0;
        assert!((e.ci_high - 2.5 - half).abs() < 1e-12);
    }

    #[test]
    fn wilson_interval_known_values() {
        // 0 of 100: upper bound 0.0370 (published Wilson value).
        let e = proportion_ci(0, 100);
        assert_eq!(e.mean, 0.0);
        assert!((e.ci_high - 0.0370).abs() < 1e-4, "{}", e.ci_high);
        // 50 of 100: 0.4038 .. 0.5962.
        let e = proportion_ci(50, 100);
        assert!((e.ci_low - 0.4038).abs() < 1e-4 && (e.ci_high - 0.5962).abs() < 1e-4);
    }
}
