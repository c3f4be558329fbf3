//! Per-period distributions over replications, in memory that does not grow with them.
//!
//! For every period and every series (the whole network, and each stock-holding site, by
//! product and group and over all groups) the aggregate keeps an integer histogram of units
//! on hand, exact sums of units on hand, short and expired, and how many replications had
//! a shortage. Everything is an integer count, so partial aggregates merge exactly in any
//! order.
//!
//! The histograms' layout ([`Binning`]) is fixed from a pilot: the first [`BATCH`]
//! replications' values, gathered in the batch below before any reaches a histogram. Every
//! partial aggregate of a run takes the same layout, so they merge by adding counts.
//!
//! A histogram update touches one cache line, and there are hundreds of thousands of
//! histograms. So each replication's on-hand values are written in order to a buffer of
//! [`BATCH`] replications (period by period, each period's rows together), and every
//! [`BATCH`] replications each period's histograms, stored back to back, take the batch's
//! values one histogram at a time: its bins stay in the nearest cache for all [`BATCH`]
//! values (a walk per replication over the period's histograms reloaded them from the
//! next level each time: 4% of a one-thread korea-baseline run).

use std::sync::Arc;

use super::histogram::{Binning, Counts, Histogram, bucket};
use crate::network::SiteId;
use crate::record::{Flow, PeriodView, Recorder};
use crate::scenario::Scenario;

/// What one series sums over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// Replications whose on-hand values wait side by side before entering the histograms; the
/// first batch of a run is also its pilot.
pub const BATCH: usize = 32;
/// In the batch: the value was too large for `u32` and waits in `overflow` instead.
const ADDED: u32 = u32::MAX;

/// Mergeable accumulators for all periods and series.
///
/// Series come in blocks of one product at the network or one site: each group, then all
/// groups (only the latter when blood groups are not modelled). The network's blocks come
/// first, then each stock-holding site's in site order.
///
/// Serialized (for a shard of a run) only when flushed: the batch and scratch space are
/// not written, and an aggregate read back is for merging and reading, not recording.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Aggregate {
    pub series: Vec<Series>,
    pub periods: u32,
    pub replications: u64,
    stock_sites: Vec<SiteId>,
    products: usize,
    groups: usize,
    /// Series per block: groups + 1, or 1 without blood groups.
    block: usize,
    /// Layout of the on-hand histograms, by (period, series); `None` until the pilot is done.
    binning: Option<Arc<Binning>>,
    /// Their counts, laid out by `binning`.
    counts: Counts,
    /// By (metric, period, series).
    sums: Vec<u64>,
    /// Replications with unmet demand, by (period, series).
    shortages: Vec<u32>,
    /// On-hand values not yet in the histograms, by period, replication, series.
    #[serde(skip)]
    batch: Vec<u32>,
    #[serde(skip)]
    batched: usize,
    /// Batched values too large for the batch: (period, series, value).
    #[serde(skip)]
    overflow: Vec<(usize, usize, u64)>,
    /// This period's units on hand by series (scratch).
    #[serde(skip)]
    values: Vec<u64>,
    /// Each site's place among the stock-holding sites (scratch for recording).
    #[serde(skip)]
    stock_index: Vec<Option<usize>>,
    /// One metric's network totals by product and group (scratch).
    #[serde(skip)]
    network: Vec<u64>,
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
            && self.binning == other.binning
            && self.counts == other.counts
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
        let stock_sites = scenario.topology.stock_sites.clone();
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
            binning: None,
            counts: Counts::default(),
            sums: vec![0; slots * METRICS.len()],
            shortages: vec![0; slots],
            batch: vec![0; slots * BATCH],
            batched: 0,
            overflow: Vec::new(),
            values: vec![0; n],
            stock_index: {
                let mut index = vec![None; cells.sites];
                for (k, &site) in scenario.topology.stock_sites.iter().enumerate() {
                    index[site] = Some(k);
                }
                index
            },
            network: vec![0; cells.products * groups],
        }
    }

    fn slot(&self, metric: Metric, period: u32, series: usize) -> usize {
        ((metric as usize) * self.periods as usize + period as usize) * self.series.len() + series
    }

    /// Distribution of units on hand (the only metric with percentiles).
    pub fn on_hand_histogram(&self, period: u32, series: usize) -> Histogram<'_> {
        assert_eq!(
            self.batched, 0,
            "flush the aggregate before reading histograms"
        );
        let window = period as usize * self.series.len() + series;
        self.binning().histogram(window, &self.counts)
    }

    /// The histograms' layout (`None` before the pilot is done).
    pub fn layout(&self) -> Option<&Binning> {
        self.binning.as_deref()
    }

    fn binning(&self) -> &Binning {
        self.binning
            .as_deref()
            .expect("the histograms' layout is set after the pilot")
    }

    /// Histograms: one per (period, series).
    pub fn windows(&self) -> usize {
        self.periods as usize * self.series.len()
    }

    /// The histograms' layout from the pilot replications' on-hand values, still in the
    /// batches of the aggregates that ran them (`None` when there are none).
    pub fn pilot_binning<'a>(pilots: impl IntoIterator<Item = &'a Aggregate>) -> Option<Binning> {
        let mut ranges = Vec::new();
        for pilot in pilots {
            ranges.resize(pilot.windows(), (u32::MAX, 0));
            pilot.pilot_ranges(&mut ranges);
        }
        (!ranges.is_empty()).then(|| Binning::around(&ranges))
    }

    /// Folds the bucket range of the batched on-hand values of each (period, series) into
    /// `ranges` (`(min, max)`).
    fn pilot_ranges(&self, ranges: &mut [(u32, u32)]) {
        let n = self.series.len();
        for (period, ranges) in ranges.chunks_exact_mut(n).enumerate() {
            let rows = &self.batch[period * BATCH * n..(period * BATCH + self.batched) * n];
            for row in rows.chunks_exact(n) {
                for (range, &v) in ranges.iter_mut().zip(row) {
                    if v != ADDED {
                        let b = bucket(u64::from(v));
                        *range = (range.0.min(b), range.1.max(b));
                    }
                }
            }
        }
        for &(period, i, v) in &self.overflow {
            let (range, b) = (&mut ranges[period * n + i], bucket(v));
            *range = (range.0.min(b), range.1.max(b));
        }
    }

    /// Fixes the histograms' layout (the same for every partial aggregate of a run).
    pub fn set_binning(&mut self, binning: Arc<Binning>) {
        assert_eq!(
            binning.windows(),
            self.windows(),
            "one window per period and series"
        );
        self.counts = Counts::new(binning.bins());
        self.binning = Some(binning);
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
    /// period: each period's rows are read in order, and each period's histograms (back to
    /// back in `counts`) are walked forwards once per replication of the batch. (Taking a
    /// few series at a time through every row instead keeps their histograms in the
    /// first-level cache, but reads the batch across rows: a third slower.)
    pub fn flush(&mut self) {
        if self.batched == 0 {
            return;
        }
        let binning = Arc::clone(
            self.binning
                .as_ref()
                .expect("the pilot fits in the first batch"),
        );
        let n = self.series.len();
        for period in 0..self.periods as usize {
            let rows = &self.batch[period * BATCH * n..(period * BATCH + self.batched) * n];
            // On-hand sums come first in `sums`, by (period, series).
            let sums = &mut self.sums[period * n..(period + 1) * n];
            // Histogram by histogram: each one's bins stay in the nearest cache while it
            // takes its column of the batch.
            for (i, sum) in sums.iter_mut().enumerate() {
                let window = period * n + i;
                for v in rows.iter().skip(i).step_by(n).copied() {
                    if v != ADDED {
                        self.counts
                            .add_one(binning.bin(window, bucket(u64::from(v))));
                        *sum += u64::from(v);
                    }
                }
            }
        }
        for &(period, i, v) in &self.overflow {
            self.counts.add_one(binning.bin(period * n + i, bucket(v)));
            self.sums[period * n + i] += v;
        }
        self.overflow.clear();
        self.counts.settle();
        self.batched = 0;
    }

    /// Adds another aggregate of the same scenario (exact; order does not matter).
    pub fn merge(&mut self, mut other: Aggregate) {
        self.flush();
        other.flush();
        assert!(self.binning == other.binning, "partials share one layout");
        self.replications += other.replications;
        self.counts.merge(&other.counts);
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

    /// This period's units on hand in every series, into `values`. A site's cells (by
    /// product, then group) are contiguous, so the network is a sum of equal slices and
    /// each site's block a copy of its slice with the all-groups sums in between.
    fn on_hand_values(&mut self, on_hand: &[u32]) {
        let per_site = self.products * self.groups;
        let per_block = self.products * self.block;
        let network = &mut self.network[..per_site];
        network.fill(0);
        for site in on_hand.chunks_exact(per_site) {
            for (sum, &c) in network.iter_mut().zip(site) {
                *sum += u64::from(c);
            }
        }
        let (out, sites) = self.values.split_at_mut(per_block);
        write_block(out, network, self.groups);
        for (out, &s) in sites.chunks_exact_mut(per_block).zip(&self.stock_sites) {
            write_block(out, &on_hand[s * per_site..(s + 1) * per_site], self.groups);
        }
    }

    /// Adds this period's units short or expired (zero in most cells) to the sums at
    /// `base` (the period's first series of the metric), and counts shortages from
    /// `shortages` if given: only sites with any are read, and each series above zero is
    /// added, as a dense pass over every series would.
    fn add_sparse(&mut self, cells: &[u32], base: usize, shortages: Option<usize>) {
        // Most periods have none anywhere: one vectorised OR, no per-site walk.
        if cells.iter().fold(0, |a, &c| a | c) == 0 {
            return;
        }
        let per_site = self.products * self.groups;
        let per_block = self.products * self.block;
        let mut network = std::mem::take(&mut self.network);
        network[..per_site].fill(0);
        for (site, block) in cells.chunks_exact(per_site).enumerate() {
            // An OR over the block (vectorised), not an early-exit scan.
            if block.iter().fold(0, |a, &c| a | c) == 0 {
                continue;
            }
            for (sum, &c) in network.iter_mut().zip(block) {
                *sum += u64::from(c);
            }
            if let Some(k) = self.stock_index[site] {
                let at = (k + 1) * per_block;
                self.add_block(block, base + at, shortages.map(|s| s + at));
            }
        }
        // Some site had some: the network's block is not all zero.
        self.add_block(&network[..per_site], base, shortages);
        self.network = network;
    }

    /// One block's series (as `write_block` lays them out) added where above zero.
    fn add_block<T: Copy + Into<u64>>(
        &mut self,
        cells: &[T],
        base: usize,
        shortages: Option<usize>,
    ) {
        let groups = self.groups;
        let mut add = |i: usize, x: u64| {
            if x > 0 {
                self.sums[base + i] += x;
                if let Some(s) = shortages {
                    self.shortages[s + i] += 1;
                }
            }
        };
        if groups == 1 {
            for (i, &c) in cells.iter().enumerate() {
                add(i, c.into());
            }
            return;
        }
        for (p, cells) in cells.chunks_exact(groups).enumerate() {
            let mut all = 0;
            for (g, &c) in cells.iter().enumerate() {
                let x: u64 = c.into();
                add(p * (groups + 1) + g, x);
                all += x;
            }
            add(p * (groups + 1) + groups, all);
        }
    }
}

/// One block of series from one site's (or the network's) cells: per product, each
/// group's value and then their sum; or the product's single value without blood groups.
fn write_block<T: Copy + Into<u64>>(out: &mut [u64], cells: &[T], groups: usize) {
    if groups == 1 {
        for (o, &c) in out.iter_mut().zip(cells) {
            *o = c.into();
        }
        return;
    }
    for (out, cells) in out
        .chunks_exact_mut(groups + 1)
        .zip(cells.chunks_exact(groups))
    {
        let mut all = 0;
        for (o, &c) in out.iter_mut().zip(cells) {
            *o = c.into();
            all += *o;
        }
        out[groups] = all;
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
        let n = a.series.len();
        let base = v.period as usize * n;
        // Units short and expired are zero in most cells and periods: only touch the sums
        // (cold memory) where they are not. On-hand sums are taken from the batch at flush.
        let short_sums = (Metric::UnitsShort as usize * a.periods as usize) * n + base;
        a.add_sparse(&v.flows[Flow::Unmet], short_sums, Some(base));
        let expired_sums = (Metric::Expired as usize * a.periods as usize) * n + base;
        a.add_sparse(&v.flows[Flow::Expired], expired_sums, None);
        a.on_hand_values(v.on_hand);
        let start = (v.period as usize * BATCH + self.column) * n;
        let column = &mut a.batch[start..start + n];
        for (i, (out, &x)) in column.iter_mut().zip(&a.values).enumerate() {
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
