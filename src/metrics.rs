//! What a planner measures in one replication, defined exactly once.
//!
//! All metrics count only periods after warm-up. For each product and recipient group
//! (and for all groups together):
//! - demand: units requested by patients;
//! - issued: units issued to those patients (own group or substituted);
//! - fill rate = issued / demand;
//! - units short: demand not issued in the period it arose;
//! - expired: units reaching expiry anywhere in the network (by the unit's group);
//! - released: units entering stock from testing, or from outside suppliers;
//! - outdate rate = expired / released;
//! - days of supply at the end of a period = units on hand at hubs and hospitals /
//!   baseline mean demand per day (the scenario's base rates, without calendar effects);
//! - alert band: the most severe band whose `below_days` exceeds the days of supply.

use crate::network::Role;
use crate::record::{PeriodView, Recorder};
use crate::scenario::{Costs, Scenario};

/// Totals of one replication for one product and group (or all groups).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub demand: u64,
    pub issued: u64,
    pub units_short: u64,
    pub requests: u64,
    pub requests_short: u64,
    pub expired: u64,
    pub released: u64,
    pub collected: u64,
    pub ordered: u64,
    /// Sum over measured periods of units on hand (for mean stock and holding cost).
    pub unit_periods_on_hand: u64,
    /// Measured periods with any unmet demand.
    pub periods_short: u32,
    /// Sum and minimum of days of supply over measured periods.
    pub days_of_supply_sum: f64,
    pub days_of_supply_min: f64,
}

impl Line {
    pub fn fill_rate(&self) -> f64 {
        ratio(self.issued, self.demand)
    }

    pub fn outdate_rate(&self) -> f64 {
        ratio(self.expired, self.released)
    }

    /// Cost of this line: units collected (or supplied), ordered, short and expired at their
    /// unit costs, plus holding cost per unit on hand per day.
    pub fn cost(&self, c: &Costs, period_days: f64) -> f64 {
        self.collected as f64 * c.per_unit_collected
            + self.ordered as f64 * c.per_unit_ordered
            + self.units_short as f64 * c.per_unit_short
            + self.expired as f64 * c.per_unit_expired
            + self.unit_periods_on_hand as f64 * period_days * c.holding_per_unit_day
    }
}

/// `num / den`, or NaN when there is nothing to divide (no demand, nothing released).
pub fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        f64::NAN
    } else {
        num as f64 / den as f64
    }
}

/// The totals of one replication: one [`Line`] per product and group (and all groups),
/// and the periods spent in each alert band. Kept for every replication, so it is compact.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationTotals {
    /// Lines by product, then group; index `groups` is the all-groups line.
    lines: Vec<Line>,
    /// Measured periods in each alert band, by line, then band (scenario order).
    alert_periods: Vec<u32>,
    groups: usize,
    bands: usize,
    period_days: f64,
}

impl ReplicationTotals {
    fn index(&self, product: usize, group: Option<usize>) -> usize {
        product * (self.groups + 1) + group.unwrap_or(self.groups)
    }

    pub fn line(&self, product: usize, group: Option<usize>) -> &Line {
        &self.lines[self.index(product, group)]
    }

    /// Measured periods spent in each alert band (scenario order).
    pub fn periods_in_alert(&self, product: usize, group: Option<usize>) -> &[u32] {
        let i = self.index(product, group);
        &self.alert_periods[i * self.bands..(i + 1) * self.bands]
    }

    pub fn period_days(&self) -> f64 {
        self.period_days
    }
}

/// A [`Recorder`] computing [`ReplicationTotals`]; reused across replications.
#[derive(Debug, Clone)]
pub struct TotalsRecorder {
    totals: ReplicationTotals,
    /// Totals before the first period.
    fresh: ReplicationTotals,
    warm_up: u32,
    /// Network baseline demand per day by (product, group) and per product for all groups.
    baseline: Vec<f64>,
    alert_levels: Vec<f64>,
    /// Sites by role, precomputed for the per-period sums.
    all_sites: Vec<usize>,
    stock_sites: Vec<usize>,
    hospitals: Vec<usize>,
    labs: Vec<usize>,
    suppliers: Vec<usize>,
}

impl TotalsRecorder {
    pub fn new(scenario: &Scenario) -> TotalsRecorder {
        let cells = scenario.cells();
        let groups = cells.groups;
        let lines_per_product = groups + 1;
        let lines = cells.products * lines_per_product;
        let mut baseline = vec![0.0; lines];
        let hospitals = sites_where(scenario, |r| matches!(r, Role::Hospital(_)));
        for &s in &hospitals {
            for p in 0..cells.products {
                for g in 0..groups {
                    let b = scenario.baseline_demand[cells.index(s, p, g)];
                    baseline[p * lines_per_product + g] += b;
                    baseline[p * lines_per_product + groups] += b;
                }
            }
        }
        let alert_levels: Vec<f64> = scenario.alert_levels.iter().map(|a| a.below_days).collect();
        let line = Line {
            days_of_supply_min: f64::INFINITY,
            ..Line::default()
        };
        let fresh = ReplicationTotals {
            lines: vec![line; lines],
            alert_periods: vec![0; lines * alert_levels.len()],
            groups,
            bands: alert_levels.len(),
            period_days: scenario.calendar.day_fraction(),
        };
        TotalsRecorder {
            totals: fresh.clone(),
            fresh,
            warm_up: scenario.calendar.warm_up_periods,
            baseline,
            alert_levels,
            all_sites: (0..scenario.sites.len()).collect(),
            stock_sites: sites_where(scenario, |r| r.holds_stock()),
            hospitals,
            labs: sites_where(scenario, |r| matches!(r, Role::Lab(_))),
            suppliers: sites_where(scenario, |r| matches!(r, Role::Supplier)),
        }
    }

    /// The totals so far (a whole replication's, once it has run).
    pub fn totals(&self) -> &ReplicationTotals {
        &self.totals
    }

    /// Returns the replication's totals and starts afresh for the next one.
    pub fn finish(&mut self) -> ReplicationTotals {
        std::mem::replace(&mut self.totals, self.fresh.clone())
    }

    /// Ends a measured period for line `i`: stock, shortage, days of supply and alert band.
    fn close_period(&mut self, i: usize, on_hand: u64, short: bool) {
        let line = &mut self.totals.lines[i];
        line.unit_periods_on_hand += on_hand;
        line.periods_short += u32::from(short);
        let baseline_per_day = self.baseline[i];
        if baseline_per_day > 0.0 {
            let dos = on_hand as f64 / baseline_per_day;
            line.days_of_supply_sum += dos;
            line.days_of_supply_min = line.days_of_supply_min.min(dos);
            if let Some(band) = self.alert_levels.iter().rposition(|&below| dos < below) {
                self.totals.alert_periods[i * self.totals.bands + band] += 1;
            }
        }
    }
}

fn sites_where(scenario: &Scenario, keep: impl Fn(&Role) -> bool) -> Vec<usize> {
    scenario
        .sites
        .iter()
        .enumerate()
        .filter(|(_, s)| keep(&s.role))
        .map(|(i, _)| i)
        .collect()
}

/// Most (product, group) pairs: 4 products x 8 groups.
const MAX_PAIRS: usize = 32;

impl Recorder for TotalsRecorder {
    fn period(&mut self, v: &PeriodView<'_>) {
        if v.period < self.warm_up {
            return;
        }
        let (products, groups) = (v.cells.products, v.cells.groups);
        let pairs = products * groups;
        let f = v.flows;
        // Network sums by (product, group), on the stack: no allocation per period.
        let mut sums = [[0u64; MAX_PAIRS]; 11];
        let [
            demand,
            exact,
            substituted,
            short,
            requests,
            requests_short,
            ordered,
            expired,
            released,
            collected,
            on_hand,
        ] = &mut sums;
        let h = &self.hospitals;
        v.sum_over_sites(h, &f.demanded, &mut demand[..pairs]);
        v.sum_over_sites(h, &f.issued_exact, &mut exact[..pairs]);
        v.sum_over_sites(h, &f.issued_substituted, &mut substituted[..pairs]);
        v.sum_over_sites(h, &f.unmet, &mut short[..pairs]);
        v.sum_over_sites(h, &f.requests, &mut requests[..pairs]);
        v.sum_over_sites(h, &f.requests_short, &mut requests_short[..pairs]);
        v.sum_over_sites(h, &f.ordered, &mut ordered[..pairs]);
        v.sum_over_sites(&self.all_sites, &f.expired, &mut expired[..pairs]);
        v.sum_over_sites(&self.all_sites, &f.collected, &mut collected[..pairs]);
        // A lab's releases, or what a supplier sends (counted as collected there).
        v.sum_over_sites(&self.labs, &f.released, &mut released[..pairs]);
        v.sum_over_sites(&self.suppliers, &f.collected, &mut released[..pairs]);
        v.sum_over_sites(&self.stock_sites, v.on_hand, &mut on_hand[..pairs]);
        for p in 0..products {
            let all = p * (groups + 1) + groups;
            let (mut on_hand_all, mut short_all) = (0, false);
            for g in 0..groups {
                let k = p * groups + g;
                let flows = Line {
                    demand: demand[k],
                    issued: exact[k] + substituted[k],
                    units_short: short[k],
                    requests: requests[k],
                    requests_short: requests_short[k],
                    ordered: ordered[k],
                    expired: expired[k],
                    released: released[k],
                    collected: collected[k],
                    ..Line::default()
                };
                let i = p * (groups + 1) + g;
                self.totals.lines[i].add_flows(&flows);
                self.close_period(i, on_hand[k], short[k] > 0);
                self.totals.lines[all].add_flows(&flows);
                on_hand_all += on_hand[k];
                short_all |= short[k] > 0;
            }
            self.close_period(all, on_hand_all, short_all);
        }
    }
}

impl Line {
    fn add_flows(&mut self, d: &Line) {
        self.demand += d.demand;
        self.issued += d.issued;
        self.units_short += d.units_short;
        self.requests += d.requests;
        self.requests_short += d.requests_short;
        self.expired += d.expired;
        self.released += d.released;
        self.collected += d.collected;
        self.ordered += d.ordered;
    }
}
