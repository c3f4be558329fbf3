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

/// Everything a run produces.
pub struct RunOutput {
    /// Totals of every replication, in replication order.
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

    /// Runs one replication and stores its totals in row `replication` of `totals`.
    fn run(&mut self, seed: u64, replication: u64, totals: &Mutex<TotalsTable>) {
        let mut periods = self.aggregate.recorder();
        let mut both = Both(&mut self.recorder, &mut periods);
        self.engine
            .run(seed, replication, &mut Both(&mut both, &mut self.series));
        totals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set(replication as usize, self.recorder.totals().view());
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
    let paired = scenarios.len() > 1;
    let periods = scenarios[0].calendar.periods as usize;
    let products = scenarios[0].products.len();
    // Every replication's totals go straight to their row: no per-thread copies to merge.
    let totals: Vec<Mutex<TotalsTable>> = scenarios
        .iter()
        .map(|s| Mutex::new(TotalsTable::with_rows(s, spec.replications as usize)))
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
                partial.run(spec.seed, replication, totals);
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
    for w in slots.iter_mut().filter_map(|slot| slot.as_mut()) {
        for (p, b) in w.partials.iter_mut().zip(&binning) {
            if let Some(b) = b {
                p.aggregate.set_binning(Arc::clone(b));
            }
        }
    }
    drop(slots);
    replicate(pilot..spec.replications, &binning);

    let workers: Vec<Worker> = partials
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    let mut sums = PairedSums::new(scenarios.len(), periods, products);
    for w in &workers {
        sums.merge(&w.paired);
    }
    let mut finished: Vec<Vec<Partial>> = workers.into_iter().map(|w| w.partials).collect();
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
            // No replications: empty histograms.
            let mut empty = Aggregate::new(scenarios[v]);
            let nothing = vec![(u32::MAX, 0); empty.windows()];
            empty.set_binning(Arc::new(Binning::around(&nothing)));
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
