//! Headline statistics over replications, and the table `bloodsim run` prints.

use std::fmt::Write;

use crate::metrics::{Line, ReplicationTotals};
use crate::results::Estimate;
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
    runs: &[ReplicationTotals],
    product: usize,
    group: Option<usize>,
) -> crate::results::Headline {
    let lines: Vec<&Line> = runs.iter().map(|r| r.line(product, group)).collect();
    let measured = f64::from(scenario.calendar.periods - scenario.calendar.warm_up_periods);
    let any_short = lines.iter().filter(|l| l.units_short > 0).count() as u64;
    crate::results::Headline {
        product: scenario.products[product].product.name().to_string(),
        group: group.map_or(crate::results::ALL.to_string(), |g| {
            scenario.groups.label(g).to_string()
        }),
        demand: mean_ci(lines.iter().map(|l| l.demand as f64)),
        fill_rate: mean_ci(lines.iter().map(|l| l.fill_rate())),
        units_short: mean_ci(lines.iter().map(|l| l.units_short as f64)),
        shortage_probability: proportion_ci(any_short, lines.len() as u64),
        expired: mean_ci(lines.iter().map(|l| l.expired as f64)),
        outdate_rate: mean_ci(lines.iter().map(|l| l.outdate_rate())),
        mean_days_of_supply: mean_ci(lines.iter().map(|l| l.days_of_supply_sum / measured)),
    }
}

/// Every headline row: per product, each group then all groups.
pub fn headlines(scenario: &Scenario, runs: &[ReplicationTotals]) -> Vec<crate::results::Headline> {
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
pub fn table(scenario: &Scenario, rows: &[crate::results::Headline], replications: u64) -> String {
    let mut out = String::new();
    let measured_days = f64::from(scenario.calendar.periods - scenario.calendar.warm_up_periods)
        * scenario.calendar.day_fraction();
    let _ = writeln!(
        out,
        "{} — {replications} replications, {measured_days:.0} days after warm-up (means per replication)",
        scenario.name
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
    out
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
