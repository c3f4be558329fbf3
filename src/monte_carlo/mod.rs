//! Many replications of one scenario, run in parallel and combined exactly.
//!
//! Replication `i` draws only from streams keyed by (seed, process, i), so its result does
//! not depend on which thread runs it or when. Per-period results are merged as integer
//! counts (order-independent) and per-replication totals are gathered in replication order,
//! so every output is the same whatever the thread count.

mod aggregate;
pub mod histogram;
pub mod paired;

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

pub use aggregate::{Aggregate, BATCH, METRICS, Metric, Series};
use histogram::Binning;

use paired::{MaybeSeries, NetworkSeries, PairedSums};

use crate::engine::Engine;
use crate::metrics::{TotalsRecorder, TotalsTable};
use crate::record::Both;
use crate::scenario::Scenario;

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSpec {
    pub seed: u64,
    pub replications: u64,
}

impl RunSpec {
    pub fn from_scenario(scenario: &Scenario) -> RunSpec {
        RunSpec {
            seed: scenario.seed,
            replications: scenario.replications,
        }
    }
}

/// One of `count` shares of a run's replications: the contiguous block
/// `[index * R / count, (index + 1) * R / count)` of its `R` replications, so shards
/// concatenate in index order into the run's replication order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The whole run as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// `I/N`: shard `I` (counted from 0) of `N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!("`{text}` is not a shard: write I/N, shard I (0 to N-1) of N shards, e.g. 0/4")
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(format!(
                "`{text}`: the shard index counts from 0 and must be below the number of shards ({count})"
            ));
        }
        Ok(Shard { index, count })
    }

    /// This shard's replications out of `replications`.
    pub fn range(&self, replications: u64) -> std::ops::Range<u64> {
        let at =
            |i: u64| (u128::from(i) * u128::from(replications) / u128::from(self.count)) as u64;
        at(self.index)..at(self.index + 1)
    }

    /// Replications this shard simulates: its own, and the pilot's again unless its own
    /// block contains the whole pilot (the layout of every shard's histograms comes from
    /// the same pilot replications, so shards merge exactly).
    pub fn replications_run(&self, replications: u64) -> u64 {
        let own = self.range(replications);
        let pilot = replications.min(BATCH as u64);
        if own.start == 0 && own.end >= pilot {
            own.end
        } else {
            pilot + (own.end - own.start)
        }
    }
}

/// Everything a run (or a shard of one) produces.
pub struct RunOutput {
    /// Totals of every replication of the run (or shard), in replication order.
    pub totals: TotalsTable,
    pub aggregate: Aggregate,
}

/// Per-thread state for one variant: an engine, a totals recorder, a partial aggregate,
/// and (when variants are compared) the replication's network series.
struct Partial<'s> {
    engine: Engine<'s>,
    recorder: TotalsRecorder,
    aggregate: Aggregate,
    series: MaybeSeries,
}

impl<'s> Partial<'s> {
    fn new(scenario: &'s Scenario, binning: Option<&Arc<Binning>>, paired: bool) -> Partial<'s> {
        let mut aggregate = Aggregate::new(scenario);
        if let Some(b) = binning {
            aggregate.set_binning(Arc::clone(b));
        }
        Partial {
            engine: Engine::new(scenario),
            recorder: TotalsRecorder::new(scenario),
            aggregate,
            series: MaybeSeries(paired.then(|| NetworkSeries::new(scenario))),
        }
    }

    /// Runs one replication and stores its totals in `totals`, at its row counted from
    /// `first` (the first replication of the shard), if it has one.
    fn run(&mut self, seed: u64, replication: u64, (totals, first): (&Mutex<TotalsTable>, u64)) {
        let mut periods = self.aggregate.recorder();
        let mut both = Both(&mut self.recorder, &mut periods);
        self.engine
            .run(seed, replication, &mut Both(&mut both, &mut self.series));
        let mut table = totals.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(row) = replication
            .checked_sub(first)
            .filter(|&r| r < table.len() as u64)
        {
            table.set(row as usize, self.recorder.totals().view());
        }
        drop(table);
        self.recorder.reset();
    }
}

/// Runs every replication on the current rayon pool; `progress` is called once per
/// finished replication (from any thread).
///
/// Each worker thread keeps one partial aggregate (its memory does not depend on the number
/// of replications), and replications are handed out one at a time, so the work balances
/// whatever each costs. Which thread runs which replication does not matter: partial
/// aggregates merge exactly, and each replication's totals have their own row.
///
/// The first [`BATCH`] replications are the pilot: once they are done, their on-hand values
/// (still in the partials' batches) set the histograms' layout, and the rest follow.
pub fn run(scenario: &Scenario, spec: RunSpec, progress: &(dyn Fn() + Sync)) -> RunOutput {
    let mut outputs = run_variants(&[scenario], spec, progress);
    outputs.pop().expect("one output per variant")
}

/// Per worker: one partial per variant, and the paired differences it has summed.
struct Worker<'s> {
    partials: Vec<Partial<'s>>,
    paired: PairedSums,
}

/// [`run_paired`] without the differences by period.
pub fn run_variants(
    scenarios: &[&Scenario],
    spec: RunSpec,
    progress: &(dyn Fn() + Sync),
) -> Vec<RunOutput> {
    run_paired(scenarios, spec, progress).0
}

/// Runs every replication of every variant on common random numbers: replication `i` of
/// each variant runs with the same seed and index, in the same worker, one variant after
/// another (so memory stays one partial per variant per worker, whatever the count).
/// `progress` is called once per replication of all variants. Each variant's output is
/// exactly what [`run`] gives for it alone; with two or more variants, the paired
/// differences by period from the first (see [`paired`]) come with them.
pub fn run_paired(
    scenarios: &[&Scenario],
    spec: RunSpec,
    progress: &(dyn Fn() + Sync),
) -> (Vec<RunOutput>, PairedSums) {
    run_shard(scenarios, spec, Shard::WHOLE, progress)
}

/// [`run_paired`] for one shard of the run: the outputs hold only the shard's replications
/// (totals from its first), and merge with the other shards' into exactly the whole run's.
/// `progress` is called once per replication simulated (see [`Shard::replications_run`]).
pub fn run_shard(
    scenarios: &[&Scenario],
    spec: RunSpec,
    shard: Shard,
    progress: &(dyn Fn() + Sync),
) -> (Vec<RunOutput>, PairedSums) {
    let paired = scenarios.len() > 1;
    let periods = scenarios[0].calendar.periods as usize;
    let products = scenarios[0].products.len();
    let own = shard.range(spec.replications);
    // Every replication's totals go straight to their row: no per-thread copies to merge.
    let totals: Vec<Mutex<TotalsTable>> = scenarios
        .iter()
        .map(|s| Mutex::new(TotalsTable::with_rows(s, (own.end - own.start) as usize)))
        .collect();
    let partials: Vec<Mutex<Option<Worker>>> = (0..rayon::current_num_threads())
        .map(|_| Mutex::new(None))
        .collect();
    let replicate = |replications: std::ops::Range<u64>, binning: &[Option<Arc<Binning>>]| {
        replications.into_par_iter().for_each(|replication| {
            // Each slot is only ever locked by its own thread (the engine runs no nested
            // parallel work), so the lock is never contended.
            let worker = rayon::current_thread_index().unwrap_or(0) % partials.len();
            let mut slot = partials[worker].lock().unwrap_or_else(|e| e.into_inner());
            let w = slot.get_or_insert_with(|| Worker {
                partials: scenarios
                    .iter()
                    .zip(binning)
                    .map(|(s, b)| Partial::new(s, b.as_ref(), paired))
                    .collect(),
                paired: PairedSums::new(scenarios.len(), periods, products),
            });
            for (partial, totals) in w.partials.iter_mut().zip(&totals) {
                partial.run(spec.seed, replication, (totals, own.start));
            }
            if let Some((base, variants)) = w.partials.split_first() {
                for (v, variant) in variants.iter().enumerate() {
                    if let (Some(b), Some(s)) = (&base.series.0, &variant.series.0) {
                        w.paired.add(v + 1, b, s);
                    }
                }
            }
            progress();
        })
    };
    let pilot = spec.replications.min(BATCH as u64);
    replicate(0..pilot, &vec![None; scenarios.len()]);
    let pilot_is_own = own.start == 0 && own.end >= pilot;
    // The layout depends only on the pilot replications, never on which threads ran them.
    let mut slots: Vec<_> = partials
        .iter()
        .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
        .collect();
    let binning: Vec<Option<Arc<Binning>>> = (0..scenarios.len())
        .map(|v| {
            let pilots = slots
                .iter()
                .filter_map(|slot| slot.as_ref().map(|w| &w.partials[v]));
            Aggregate::pilot_binning(pilots.map(|p| &p.aggregate)).map(Arc::new)
        })
        .collect();
    if !pilot_is_own {
        // The pilot only set the layout: its replications are not this shard's to count.
        slots.iter_mut().for_each(|slot| **slot = None);
    }
    for w in slots.iter_mut().filter_map(|slot| slot.as_mut()) {
        for (p, b) in w.partials.iter_mut().zip(&binning) {
            if let Some(b) = b {
                p.aggregate.set_binning(Arc::clone(b));
            }
        }
    }
    drop(slots);
    if pilot_is_own {
        replicate(pilot..own.end, &binning);
    } else {
        replicate(own.clone(), &binning);
    }

    let workers: Vec<Worker> = partials
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    let mut sums = PairedSums::new(scenarios.len(), periods, products);
    for w in &workers {
        sums.merge(&w.paired);
    }
    let mut finished: Vec<Vec<Partial>> = workers.into_iter().map(|w| w.partials).collect();
    // Each worker's last, partial batch goes into its histograms on its own thread: merging
    // would flush them one after another.
    finished
        .par_iter_mut()
        .flatten()
        .for_each(|p| p.aggregate.flush());
    let mut outputs = Vec::with_capacity(scenarios.len());
    for (v, totals) in totals.into_iter().enumerate().rev() {
        let mut aggregate: Option<Aggregate> = None;
        for slot in &mut finished {
            let part = slot.pop().expect("one partial per variant");
            debug_assert_eq!(slot.len(), v);
            // Merge into the first partial rather than a fresh aggregate: one copy fewer.
            match &mut aggregate {
                Some(a) => a.merge(part.aggregate),
                None => aggregate = Some(part.aggregate),
            }
        }
        let mut aggregate = aggregate.unwrap_or_else(|| {
            // No replications of its own (an empty shard, or none at all): empty histograms,
            // in the pilot's layout if there was one, so the shard still merges.
            let mut empty = Aggregate::new(scenarios[v]);
            let layout = binning[v].clone().unwrap_or_else(|| {
                let nothing = vec![(u32::MAX, 0); empty.windows()];
                Arc::new(Binning::around(&nothing))
            });
            empty.set_binning(layout);
            empty
        });
        aggregate.flush();
        let totals = totals.into_inner().unwrap_or_else(|e| e.into_inner());
        outputs.push(RunOutput { totals, aggregate });
    }
    outputs.reverse();
    (outputs, sums)
}

/// What a run will need, estimated from the scenario before it starts (see
/// [`estimate`]): memory at its peak, and the size of the result files.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub memory_bytes: f64,
    pub output_bytes: f64,
}

/// Bytes per histogram (one per period and series) in one worker's partial aggregate: sums of
/// three metrics (8 bytes each), a shortage count (4), a batch of [`BATCH`] on-hand values (4
/// each), and its bins (2 bytes each; the pilot sets how many, typically a few dozen).
const BYTES_PER_WINDOW: f64 = 3.0 * 8.0 + 4.0 + BATCH as f64 * 4.0 + 64.0 * 2.0;
/// Bytes of one `periods.csv` row and one `replications.csv` row, as written (korea-baseline:
/// about 80 and 110 on average; rounded up).
const PERIOD_ROW_BYTES: f64 = 100.0;
const REPLICATION_ROW_BYTES: f64 = 130.0;

/// Estimates a run's peak memory and output size, from the scenario's dimensions alone:
/// per worker thread an engine (stock rings by shelf life, per-cell arrays) and a partial
/// aggregate (periods x series histograms, sums and a batch); for the whole run the totals
/// table (one row per replication), and the summary's per-replication values.
pub fn estimate(scenario: &Scenario, replications: u64, threads: usize) -> Estimate {
    let cells = scenario.cells();
    let stock_sites = scenario
        .sites
        .iter()
        .filter(|s| s.role.holds_stock())
        .count();
    let ring: f64 = scenario
        .products
        .iter()
        .map(|p| f64::from(p.shelf_life.saturating_add(1).next_power_of_two().max(1)))
        .sum();
    let engine = stock_sites as f64 * cells.groups as f64 * ring * 4.0 + cells.len() as f64 * 100.0;
    let series = (1 + stock_sites) as f64
        * cells.products as f64
        * if cells.groups > 1 {
            cells.groups + 1
        } else {
            1
        } as f64;
    let windows = f64::from(scenario.calendar.periods) * series;
    let lines = cells.products as f64 * (cells.groups + 1) as f64;
    let per_replication = lines
        * (std::mem::size_of::<crate::metrics::Line>() as f64
            + 4.0 * scenario.alert_levels.len() as f64
            + 8.0 * 4.0);
    let reps = replications as f64;
    Estimate {
        memory_bytes: threads as f64 * (engine + windows * BYTES_PER_WINDOW)
            + reps * per_replication,
        output_bytes: windows * 5.0 * PERIOD_ROW_BYTES + reps * lines * REPLICATION_ROW_BYTES,
    }
}
