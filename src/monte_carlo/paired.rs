//! Paired differences by period between variants run on common random numbers.
//!
//! Each replication's variants run in one worker, base first, so the worker can subtract
//! the base's network series from each variant's before moving on. It keeps, for every
//! variant after the base, product and period, the sum and the sum of squares over
//! replications of the difference in network units on hand and in "some demand went unmet"
//! (0 or 1). Both are integers, so partial sums merge exactly in any order and the result
//! does not depend on the thread count.

use crate::record::{Flow, PeriodView, Recorder};
use crate::scenario::Scenario;

/// One replication's network series: units on hand at stock-holding sites, and whether any
/// demand went unmet, by period and product (`period * products + product`).
#[derive(Debug, Clone)]
pub struct NetworkSeries {
    products: usize,
    stock_sites: Vec<usize>,
    hospitals: Vec<usize>,
    on_hand: Vec<u64>,
    short: Vec<bool>,
}

impl NetworkSeries {
    pub fn new(scenario: &Scenario) -> NetworkSeries {
        let periods = scenario.calendar.periods as usize;
        let products = scenario.products.len();
        NetworkSeries {
            products,
            stock_sites: scenario.topology.stock_sites.clone(),
            hospitals: scenario.topology.hospitals.clone(),
            on_hand: vec![0; periods * products],
            short: vec![false; periods * products],
        }
    }
}

impl Recorder for NetworkSeries {
    fn period(&mut self, v: &PeriodView<'_>) {
        let groups = v.cells.groups;
        let at = v.period as usize * self.products;
        for p in 0..self.products {
            let cells = |s: usize| {
                let first = v.cells.index(s, p, 0);
                first..first + groups
            };
            let on_hand: u64 = self
                .stock_sites
                .iter()
                .flat_map(|&s| v.on_hand[cells(s)].iter())
                .map(|&u| u64::from(u))
                .sum();
            let short = self
                .hospitals
                .iter()
                .any(|&s| v.flows[Flow::Unmet][cells(s)].iter().any(|&u| u > 0));
            self.on_hand[at + p] = on_hand;
            self.short[at + p] = short;
        }
    }
}

/// A recorder that may be off: single runs skip the series at the cost of one branch.
pub(super) struct MaybeSeries(pub Option<NetworkSeries>);

impl Recorder for MaybeSeries {
    #[inline]
    fn period(&mut self, v: &PeriodView<'_>) {
        if let Some(s) = &mut self.0 {
            s.period(v);
        }
    }
}

/// Sums over replications of (variant - base), by variant after the base, period and
/// product: `[variant][period * products + product]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PairedSums {
    pub products: usize,
    pub replications: u64,
    pub stock: Vec<Vec<(i64, u128)>>,
    pub short: Vec<Vec<(i64, u128)>>,
}

impl PairedSums {
    pub fn new(variants: usize, periods: usize, products: usize) -> PairedSums {
        let zero = || vec![vec![(0, 0); periods * products]; variants.saturating_sub(1)];
        PairedSums {
            products,
            replications: 0,
            stock: zero(),
            short: zero(),
        }
    }

    /// Adds one replication's difference of variant `v` (1 = the first after the base)
    /// from the base; the replication is counted with variant 1.
    pub(super) fn add(&mut self, v: usize, base: &NetworkSeries, variant: &NetworkSeries) {
        if v == 1 {
            self.replications += 1;
        }
        for (k, sums) in self.stock[v - 1].iter_mut().enumerate() {
            let d = variant.on_hand[k] as i64 - base.on_hand[k] as i64;
            sums.0 += d;
            sums.1 += u128::from(d.unsigned_abs()).pow(2);
        }
        for (k, sums) in self.short[v - 1].iter_mut().enumerate() {
            let d = i64::from(variant.short[k]) - i64::from(base.short[k]);
            sums.0 += d;
            sums.1 += u128::from(d.unsigned_abs());
        }
    }

    pub(super) fn merge(&mut self, other: &PairedSums) {
        self.replications += other.replications;
        for (mine, theirs) in [
            (&mut self.stock, &other.stock),
            (&mut self.short, &other.short),
        ] {
            for (a, b) in mine.iter_mut().zip(theirs) {
                for (x, y) in a.iter_mut().zip(b) {
                    x.0 += y.0;
                    x.1 += y.1;
                }
            }
        }
    }
}

/// Mean and 95% interval (normal approximation) from a sum and a sum of squares over `n`
/// paired replications, scaled by `scale`; NaN bounds with fewer than two.
pub fn mean_interval((sum, squares): (i64, u128), n: u64, scale: f64) -> (f64, f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let nf = n as f64;
    let mean = sum as f64 / nf;
    if n < 2 {
        return (mean * scale, f64::NAN, f64::NAN);
    }
    // Sum of squared deviations, exact in integers: n * squares - sum^2 >= 0.
    let spread = (i128::try_from(squares).unwrap_or(i128::MAX))
        .saturating_mul(i128::from(n))
        .saturating_sub(i128::from(sum) * i128::from(sum));
    let variance = spread.max(0) as f64 / (nf * (nf - 1.0));
    let half = 1.96 * (variance / nf).sqrt();
    ((mean) * scale, (mean - half) * scale, (mean + half) * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_the_normal_one_of_the_differences() {
        // Differences 1, 2, 3, 6: mean 3, sample variance 14/3.
        let (sum, squares) = (12, 1 + 4 + 9 + 36);
        let (m, lo, hi) = mean_interval((sum, squares), 4, 2.0);
        let half = 1.96 * (14.0f64 / 3.0 / 4.0).sqrt();
        assert!((m - 6.0).abs() < 1e-12);
        assert!((lo - 2.0 * (3.0 - half)).abs() < 1e-12 && (hi - 2.0 * (3.0 + half)).abs() < 1e-12);
        let (m, lo, hi) = mean_interval((5, 25), 1, 1.0);
        assert_eq!(m, 5.0);
        assert!(lo.is_nan() && hi.is_nan());
        assert!(mean_interval((0, 0), 0, 1.0).0.is_nan());
    }
}
