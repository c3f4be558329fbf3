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
use crate::scenario::Scenario;

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
    /// Measured periods spent in each alert band (scenario order).
    pub periods_in_alert: Vec<u32>,
}

impl Line {
    pub fn fill_rate(&self) -> f64 {
        ratio(self.issued, self.demand)
    }

    pub fn outdate_rate(&self) -> f64 {
        ratio(self.expired, self.released)
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

/// Per-replication totals: a [`Recorder`] filling one [`Line`] per product and group.
#[derive(Debug, Clone)]
pub struct ReplicationTotals {
    /// Lines by product, then group; index `groups` is the all-groups line.
    pub lines: Vec<Line>,
    groups: usize,
    warm_up: u32,
    period_days: f64,
    /// Network baseline demand per day by (product, group) and per product for all groups.
    baseline: Vec<f64>,
    alert_levels: Vec<f64>,
    /// Per-site flags, precomputed for the hot loop.
    holds_stock: Vec<bool>,
    is_hospital: Vec<bool>,
    is_source: Vec<bool>,
    on_hand: Vec<u64>,
}

impl ReplicationTotals {
    pub fn new(scenario: &Scenario) -> ReplicationTotals {
        let cells = scenario.cells();
        let groups = cells.groups;
        let lines_per_product = groups + 1;
        let mut baseline = vec![0.0; cells.products * lines_per_product];
        let is_hospital: Vec<bool> = scenario
            .sites
            .iter()
            .map(|s| matches!(s.role, Role::Hospital(_)))
            .collect();
        for (s, &hospital) in is_hospital.iter().enumerate() {
            if !hospital {
                continue;
            }
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
            periods_in_alert: vec![0; alert_levels.len()],
            ..Line::default()
        };
        ReplicationTotals {
            lines: vec![line; cells.products * lines_per_product],
            groups,
            warm_up: scenario.calendar.warm_up_periods,
            period_days: scenario.calendar.day_fraction(),
            baseline,
            alert_levels,
            holds_stock: scenario
                .sites
                .iter()
                .map(|s| s.role.holds_stock())
                .collect(),
            is_hospital,
            is_source: scenario
                .sites
                .iter()
                .map(|s| matches!(s.role, Role::Lab(_) | Role::Supplier))
                .collect(),
            on_hand: vec![0; cells.products * lines_per_product],
        }
    }

    pub fn line(&self, product: usize, group: Option<usize>) -> &Line {
        &self.lines[product * (self.groups + 1) + group.unwrap_or(self.groups)]
    }

    pub fn period_days(&self) -> f64 {
        self.period_days
    }
}

impl Recorder for ReplicationTotals {
    fn period(&mut self, v: &PeriodView<'_>) {
        if v.period < self.warm_up {
            return;
        }
        let (products, groups) = (v.cells.products, v.cells.groups);
        let per_product = groups + 1;
        let f = v.flows;
        self.on_hand.fill(0);
        // Lines with unmet demand now, as bits (at most 4 x 9 = 36 lines).
        let mut short_now: u64 = 0;
        for s in 0..v.cells.sites {
            for p in 0..products {
                for g in 0..groups {
                    let c = v.cells.index(s, p, g);
                    let mut add = |line: usize| {
                        let l = &mut self.lines[p * per_product + line];
                        l.expired += u64::from(f.expired[c]);
                        l.collected += u64::from(f.collected[c]);
                        if self.is_source[s] {
                            // A lab's releases, or a supplier's units (counted as collected there).
                            l.released += u64::from(f.released[c] + f.collected[c]);
                        }
                        if self.is_hospital[s] {
                            l.demand += u64::from(f.demanded[c]);
                            l.issued += u64::from(f.issued_exact[c] + f.issued_substituted[c]);
                            l.units_short += u64::from(f.unmet[c]);
                            l.requests += u64::from(f.requests[c]);
                            l.requests_short += u64::from(f.requests_short[c]);
                            l.ordered += u64::from(f.ordered[c]);
                        }
                    };
                    add(g);
                    add(groups);
                    if self.holds_stock[s] {
                        self.on_hand[p * per_product + g] += u64::from(v.on_hand[c]);
                        self.on_hand[p * per_product + groups] += u64::from(v.on_hand[c]);
                    }
                    if self.is_hospital[s] && f.unmet[c] > 0 {
                        short_now |= 1 << (p * per_product + g) | 1 << (p * per_product + groups);
                    }
                }
            }
        }
        for (i, line) in self.lines.iter_mut().enumerate() {
            line.unit_periods_on_hand += self.on_hand[i];
            if short_now & (1 << i) != 0 {
                line.periods_short += 1;
            }
            let base = self.baseline[i];
            if base > 0.0 {
                let dos = self.on_hand[i] as f64 / base;
                line.days_of_supply_sum += dos;
                line.days_of_supply_min = line.days_of_supply_min.min(dos);
                if let Some(band) = self.alert_levels.iter().rposition(|&below| dos < below) {
                    line.periods_in_alert[band] += 1;
                }
            }
        }
    }
}
