//! Per-period distributions over replications, in memory that does not grow with them.
//!
//! For every period and every series (the whole network by product and group, and each
//! stock-holding site by product over all groups) the aggregate keeps an integer histogram
//! of units on hand, exact sums of units on hand, short and expired, and how many
//! replications had a shortage. Everything is an integer count, so partial aggregates merge
//! exactly in any order. Per-site series stop at the product level because histograms cost
//! memory traffic per period; the network carries the group detail.

use super::histogram::Histogram;
use crate::network::SiteId;
use crate::record::{PeriodView, Recorder};
use crate::scenario::Scenario;

/// What one series sums over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series {
    /// `None` = every stock-holding site (the network).
    pub site: Option<SiteId>,
    pub product: usize,
    /// `None` = all groups.
    pub group: Option<usize>,
}

/// Metrics with a distribution per period and series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    OnHand = 0,
    UnitsShort = 1,
    Expired = 2,
}

pub const METRICS: [Metric; 3] = [Metric::OnHand, Metric::UnitsShort, Metric::Expired];

/// Mergeable accumulators for all periods and series.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub series: Vec<Series>,
    pub periods: u32,
    pub replications: u64,
    /// By (metric, period, series).
    histograms: Vec<Histogram>,
    sums: Vec<u64>,
    /// Replications with unmet demand, by (period, series).
    shortages: Vec<u32>,
}

impl Aggregate {
    pub fn new(scenario: &Scenario) -> Aggregate {
        let cells = scenario.cells();
        let mut series = Vec::new();
        let stock_sites: Vec<SiteId> = (0..cells.sites)
            .filter(|&s| scenario.sites[s].role.holds_stock())
            .collect();
        for product in 0..cells.products {
            let groups: Vec<Option<usize>> = if cells.groups > 1 {
                (0..cells.groups).map(Some).collect()
            } else {
                vec![]
            };
            for group in groups.into_iter().chain([None]) {
                series.push(Series {
                    site: None,
                    product,
                    group,
                });
            }
        }
        for site in stock_sites {
            for product in 0..cells.products {
                series.push(Series {
                    site: Some(site),
                    product,
                    group: None,
                });
            }
        }
        let slots = series.len() * scenario.calendar.periods as usize;
        Aggregate {
            series,
            periods: scenario.calendar.periods,
            replications: 0,
            histograms: vec![Histogram::default(); slots],
            sums: vec![0; slots * METRICS.len()],
            shortages: vec![0; slots],
        }
    }

    fn slot(&self, metric: Metric, period: u32, series: usize) -> usize {
        ((metric as usize) * self.periods as usize + period as usize) * self.series.len() + series
    }

    /// Distribution of units on hand (the only metric with percentiles).
    pub fn on_hand_histogram(&self, period: u32, series: usize) -> &Histogram {
        &self.histograms[period as usize * self.series.len() + series]
    }

    /// Mean over replications.
    pub fn mean(&self, metric: Metric, period: u32, series: usize) -> f64 {
        self.sums[self.slot(metric, period, series)] as f64 / self.replications as f64
    }

    /// Share of replications with unmet demand in this period.
    pub fn shortage_probability(&self, period: u32, series: usize) -> f64 {
        f64::from(self.shortages[period as usize * self.series.len() + series])
            / self.replications as f64
    }

    /// Adds another aggregate of the same scenario (exact; order does not matter).
    pub fn merge(&mut self, other: &Aggregate) {
        self.replications += other.replications;
        for (a, b) in self.histograms.iter_mut().zip(&other.histograms) {
            a.merge(b);
        }
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
        for (a, b) in self.shortages.iter_mut().zip(&other.shortages) {
            *a += b;
        }
    }

    /// A recorder adding one replication to this aggregate.
    pub fn recorder(&mut self) -> AggregateRecorder<'_> {
        self.replications += 1;
        AggregateRecorder { aggregate: self }
    }
}

pub struct AggregateRecorder<'a> {
    aggregate: &'a mut Aggregate,
}

impl Recorder for AggregateRecorder<'_> {
    fn period(&mut self, v: &PeriodView<'_>) {
        let a = &mut *self.aggregate;
        let groups = v.cells.groups;
        let per_site = v.cells.products * groups;
        let (flows, on_hand_now) = (v.flows, v.on_hand);
        // Network totals by (product, group), summed once for all network series.
        let mut network = [[0u64; 3]; 32];
        for s in 0..v.cells.sites {
            for (k, total) in network[..per_site].iter_mut().enumerate() {
                let c = s * per_site + k;
                total[0] += u64::from(on_hand_now[c]);
                total[1] += u64::from(flows.unmet[c]);
                total[2] += u64::from(flows.expired[c]);
            }
        }
        let n_series = a.series.len();
        for i in 0..n_series {
            let s = a.series[i];
            let mut value = [0u64; 3];
            let group_range = match s.group {
                Some(g) => g..g + 1,
                None => 0..groups,
            };
            for g in group_range {
                let k = s.product * groups + g;
                match s.site {
                    None => {
                        for (m, x) in value.iter_mut().enumerate() {
                            *x += network[k][m];
                        }
                    }
                    Some(site) => {
                        let c = site * per_site + k;
                        value[0] += u64::from(on_hand_now[c]);
                        value[1] += u64::from(flows.unmet[c]);
                        value[2] += u64::from(flows.expired[c]);
                    }
                }
            }
            for (metric, x) in METRICS.iter().zip(value) {
                let slot = a.slot(*metric, v.period, i);
                a.sums[slot] += x;
            }
            a.histograms[v.period as usize * n_series + i].add(value[0]);
            if value[1] > 0 {
                a.shortages[v.period as usize * n_series + i] += 1;
            }
        }
    }
}
