//! Many replications of one scenario, run in parallel and combined exactly.
//!
//! Replication `i` draws only from streams keyed by (seed, process, i), so its result does
//! not depend on which thread runs it or when. Per-period results are merged as integer
//! counts (order-independent) and per-replication totals are gathered in replication order,
//! so every output is the same whatever the thread count.

mod aggregate;
pub mod histogram;

use rayon::prelude::*;

pub use aggregate::{Aggregate, METRICS, Metric, Series};

use crate::engine::Engine;
use crate::metrics::ReplicationTotals;
use crate::record::{Issue, PeriodView, Recorder};
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
    pub totals: Vec<ReplicationTotals>,
    pub aggregate: Aggregate,
}

/// Two recorders fed the same periods.
struct Both<'a, A, B>(&'a mut A, &'a mut B);

impl<A: Recorder, B: Recorder> Recorder for Both<'_, A, B> {
    #[inline]
    fn period(&mut self, view: &PeriodView<'_>) {
        self.0.period(view);
        self.1.period(view);
    }

    #[inline]
    fn issue(&mut self, issue: Issue) {
        self.0.issue(issue);
        self.1.issue(issue);
    }
}

/// Per-thread state: an engine, a partial aggregate and the totals of its replications.
struct Partial<'s> {
    engine: Engine<'s>,
    aggregate: Aggregate,
    totals: Vec<(u64, ReplicationTotals)>,
}

/// Runs every replication on the current rayon pool; `progress` is called once per
/// finished replication (from any thread).
pub fn run(scenario: &Scenario, spec: RunSpec, progress: &(dyn Fn() + Sync)) -> RunOutput {
    // Few, large pieces of work: each piece has its own aggregate, merged at the end.
    let pieces = (rayon::current_num_threads() * 2) as u64;
    let min_len = spec.replications.div_ceil(pieces).max(1) as usize;
    let merged = (0..spec.replications as usize)
        .into_par_iter()
        .with_min_len(min_len)
        .fold(
            || Partial {
                engine: Engine::new(scenario),
                aggregate: Aggregate::new(scenario),
                totals: Vec::new(),
            },
            |mut part, replication| {
                let replication = replication as u64;
                let mut totals = ReplicationTotals::new(scenario);
                let mut periods = part.aggregate.recorder();
                part.engine
                    .run(spec.seed, replication, &mut Both(&mut totals, &mut periods));
                part.totals.push((replication, totals));
                progress();
                part
            },
        )
        .map(|part| (part.aggregate, part.totals))
        // Merging as pieces finish keeps few partial aggregates alive at once.
        .reduce_with(|(mut aggregate, mut totals), (other, more)| {
            aggregate.merge(&other);
            totals.extend(more);
            (aggregate, totals)
        });
    let (aggregate, mut totals) = merged.unwrap_or_else(|| (Aggregate::new(scenario), Vec::new()));
    totals.sort_by_key(|(r, _)| *r);
    RunOutput {
        totals: totals.into_iter().map(|(_, t)| t).collect(),
        aggregate,
    }
}
