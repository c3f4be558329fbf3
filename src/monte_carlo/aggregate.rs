//! Per-period distributions over replications, in memory that does not grow with them.
//!
//! For every period and every series (the whole network, and each stock-holding site, by
//! product and group and over all groups) the aggregate keeps an integer histogram of units
//! on hand, exact sums of units on hand, short and expired, and how many replications had
//! a shortage. Everything is an integer count, so partial aggregates merge exactly in any
//! order.
//!
//! A histogram update touches one cache line, and there are hundreds of thousands of
//! histograms. So each replication's on-hand values are written in order to a buffer of
//! [`BATCH`] replications (period by period, each period's rows together), and every
//! [`BATCH`] replications each period's histograms, stored back to back in one block, take
//! the batch's values in one forward walk per replication.

use super::histogram::{Counts, HistogramBlock, bucket};
use crate::network::SiteId;
use crate::record::{PeriodView, Recorder};
use crate::scenario::Scenario;

/// What one series sums over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series {
    /// `None` = every site (the network).
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

/// Replications whose on-hand values wait side by side before entering the histograms.
const BATCH: usize = 32;
/// In the batch: the value was too large for `u32` and went straight into its histogram.
const ADDED: u32 = u32::MAX;

/// Mergeable accumulators for all periods and series.
///
/// Series come in blocks of one product at the network or one site: each group, then all
/// groups (only the latter when blood groups are not modelled). The network's blocks come
/// first, then each stock-holding site's in site order.
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub series: Vec<Series>,
    pub periods: u32,
    pub replications: u64,
    stock_sites: Vec<SiteId>,
    products: usize,
    groups: usize,
    /// Series per block: groups + 1, or 1 without blood groups.
    block: usize,
    /// On-hand histograms, by period (each holds every series).
    blocks: Vec<HistogramBlock>,
    /// By (metric, period, series).
    sums: Vec<u64>,
    /// Replications with unmet demand, by (period, series).
    shortages: Vec<u32>,
    /// On-hand values not yet in the histograms, by period, replication, series.
    batch: Vec<u32>,
    batched: usize,
    /// Batched values too large for the batch: (period, series, value).
    overflow: Vec<(usize, usize, u64)>,
    /// Bucket range of each series in the batch (scratch for `flush`).
    ranges: Vec<(u32, u32)>,
    /// This period's values by metric and series (scratch).
    values: [Vec<u64>; 3],
}

impl PartialEq for Aggregate {
    /// Equal results (both flushed); scratch space is not compared.
    fn eq(&self, other: &Aggregate) -> bool {
        assert!(
            self.batched == 0 && other.batched == 0,
            "compare flushed aggregates"
        );
        self.series == other.series
            && self.periods == other.periods
            && self.replications == other.replications
            && self.blocks.iter().zip(&other.blocks).all(|(a, b)| {
                (0..self.series.len()).all(|i| a.view(i).trimmed() == b.view(i).trimmed())
            })
            && self.sums == other.sums
            && self.shortages == other.shortages
    }
}

impl Aggregate {
    pub fn new(scenario: &Scenario) -> Aggregate {
        let cells = scenario.cells();
        let groups = cells.groups;
        let block_groups: Vec<Option<usize>> = if groups > 1 {
            (0..groups).map(Some).chain([None]).collect()
        } else {
            vec![None]
        };
        let stock_sites: Vec<SiteId> = (0..cells.sites)
            .filter(|&s| scenario.sites[s].role.holds_stock())
            .collect();
        let mut series = Vec::new();
        for site in [None]
            .into_iter()
            .chain(stock_sites.iter().copied().map(Some))
        {
            for product in 0..cells.products {
                for &group in &block_groups {
                    series.push(Series {
                        site,
                        product,
                        group,
                    });
                }
            }
        }
        let slots = series.len() * scenario.calendar.periods as usize;
        let n = series.len();
        Aggregate {
            series,
            periods: scenario.calendar.periods,
            replications: 0,
            stock_sites,
            products: cells.products,
            groups,
            block: block_groups.len(),
            blocks: vec![HistogramBlock::new(n); scenario.calendar.periods as usize],
            sums: vec![0; slots * METRICS.len()],
            shortages: vec![0; slots],
            batch: vec![0; slots * BATCH],
            batched: 0,
            overflow: Vec::new(),
            ranges: vec![(0, 0); n],
            values: [vec![0; n], vec![0; n], vec![0; n]],
        }
    }

    fn slot(&self, metric: Metric, period: u32, series: usize) -> usize {
        ((metric as usize) * self.periods as usize + period as usize) * self.series.len() + series
    }

    /// Distribution of units on hand (the only metric with percentiles).
    pub fn on_hand_histogram(&self, period: u32, series: usize) -> Counts<'_> {
        assert_eq!(
            self.batched, 0,
            "flush the aggregate before reading histograms"
        );
        self.blocks[period as usize].view(series)
    }

    /// Mean over replications.
    pub fn mean(&self, metric: Metric, period: u32, series: usize) -> f64 {
        assert_eq!(self.batched, 0, "flush the aggregate before reading means");
        self.sums[self.slot(metric, period, series)] as f64 / self.replications as f64
    }

    /// Share of replications with unmet demand in this period.
    pub fn shortage_probability(&self, period: u32, series: usize) -> f64 {
        f64::from(self.shortages[period as usize * self.series.len() + series])
            / self.replications as f64
    }

    /// Adds the batched replications to the histograms and the on-hand sums, period by
    /// period: each period's rows are read in order, and each period's histograms are one
    /// block walked forwards once per replication of the batch.
    pub fn flush(&mut self) {
        if self.batched == 0 {
            return;
        }
        let n = self.series.len();
        for period in 0..self.periods as usize {
            let rows = &self.batch[period * BATCH * n..(period * BATCH + self.batched) * n];
            let overflow = self.overflow.iter().filter(|o| o.0 == period);
            self.ranges.fill((u32::MAX, 0));
            for row in rows.chunks_exact(n) {
                for (range, &v) in self.ranges.iter_mut().zip(row) {
                    if v != ADDED {
                        let b = bucket(u64::from(v));
                        *range = (range.0.min(b), range.1.max(b));
                    }
                }
            }
            for &(_, i, v) in overflow.clone() {
                let b = bucket(v);
                self.ranges[i] = (self.ranges[i].0.min(b), self.ranges[i].1.max(b));
            }
            let block = &mut self.blocks[period];
            block.cover(&self.ranges);
            // On-hand sums come first in `sums`, by (period, series).
            let sums = &mut self.sums[period * n..(period + 1) * n];
            for row in rows.chunks_exact(n) {
                for (i, (sum, &v)) in sums.iter_mut().zip(row).enumerate() {
                    if v != ADDED {
                        block.add(i, bucket(u64::from(v)), 1);
                        *sum += u64::from(v);
                    }
                }
            }
            for &(_, i, v) in overflow {
                block.add(i, bucket(v), 1);
                sums[i] += v;
            }
        }
        self.overflow.clear();
        self.batched = 0;
    }

    /// Adds another aggregate of the same scenario (exact; order does not matter).
    pub fn merge(&mut self, mut other: Aggregate) {
        self.flush();
        other.flush();
        self.replications += other.replications;
        for (a, b) in self.blocks.iter_mut().zip(&other.blocks) {
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
        if self.batched == BATCH {
            self.flush();
        }
        self.replications += 1;
        let column = self.batched;
        self.batched += 1;
        AggregateRecorder {
            aggregate: self,
            column,
        }
    }

    /// This period's value of every series, into `values`.
    fn compute_values(&mut self, v: &PeriodView<'_>) {
        let (groups, block) = (self.groups, self.block);
        let [on_hand, short, expired] = &mut self.values;
        let network = self.products * block;
        on_hand[..network].fill(0);
        short[..network].fill(0);
        expired[..network].fill(0);
        // The network: every site (labs hold expiring units too), by product and group.
        for s in 0..v.cells.sites {
            for p in 0..self.products {
                let cells = (s * self.products + p) * groups..(s * self.products + p + 1) * groups;
                let out = p * block..p * block + groups;
                for (x, cell) in [&mut *on_hand, &mut *short, &mut *expired]
                    .into_iter()
                    .zip([v.on_hand, &v.flows.unmet, &v.flows.expired])
                {
                    for (o, &c) in x[out.clone()].iter_mut().zip(&cell[cells.clone()]) {
                        *o += u64::from(c);
                    }
                }
            }
        }
        let sites = self.stock_sites.iter().enumerate();
        let site_blocks = sites.map(|(b, &s)| (Some(s), network + b * network));
        for (site, start) in [(None, 0)].into_iter().chain(site_blocks) {
            for p in 0..self.products {
                let first = start + p * block;
                let all = first + block - 1;
                if let Some(s) = site {
                    for g in 0..groups {
                        let c = (s * self.products + p) * groups + g;
                        if block > 1 {
                            on_hand[first + g] = u64::from(v.on_hand[c]);
                            short[first + g] = u64::from(v.flows.unmet[c]);
                            expired[first + g] = u64::from(v.flows.expired[c]);
                        }
                    }
                }
                if block > 1 {
                    for x in [&mut *on_hand, &mut *short, &mut *expired] {
                        x[all] = x[first..all].iter().sum();
                    }
                } else if let Some(s) = site {
                    let c = s * self.products + p;
                    on_hand[all] = u64::from(v.on_hand[c]);
                    short[all] = u64::from(v.flows.unmet[c]);
                    expired[all] = u64::from(v.flows.expired[c]);
                }
            }
        }
    }
}

pub struct AggregateRecorder<'a> {
    aggregate: &'a mut Aggregate,
    /// This replication's place in the batch.
    column: usize,
}

impl Recorder for AggregateRecorder<'_> {
    fn period(&mut self, v: &PeriodView<'_>) {
        let a = &mut *self.aggregate;
        a.compute_values(v);
        let n = a.series.len();
        let base = v.period as usize * n;
        // Units short and expired are zero in most series and periods: only touch the sums
        // (cold memory) where they are not. On-hand sums are taken from the batch at flush.
        let short_sums = (Metric::UnitsShort as usize * a.periods as usize) * n + base;
        for (i, &x) in a.values[1].iter().enumerate() {
            if x > 0 {
                a.sums[short_sums + i] += x;
                a.shortages[base + i] += 1;
            }
        }
        let expired_sums = (Metric::Expired as usize * a.periods as usize) * n + base;
        for (i, &x) in a.values[2].iter().enumerate() {
            if x > 0 {
                a.sums[expired_sums + i] += x;
            }
        }
        let start = (v.period as usize * BATCH + self.column) * n;
        let column = &mut a.batch[start..start + n];
        for (i, (out, &x)) in column.iter_mut().zip(&a.values[0]).enumerate() {
            *out = match u32::try_from(x) {
                Ok(x) if x != ADDED => x,
                _ => {
                    // Too large for the batch: kept aside until the flush.
                    a.overflow.push((v.period as usize, i, x));
                    ADDED
                }
            };
        }
    }
}
