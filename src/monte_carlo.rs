//! Many replications of one scenario, run in parallel and combined exactly.
//!
//! Replication `i` draws only from streams keyed by (seed, process, i), so its result does
//! not depend on which thread runs it or when; results are gathered in replication order, so
//! every statistic computed from them is the same whatever the thread count.

use rayon::prelude::*;

use crate::engine::Engine;
use crate::metrics::ReplicationTotals;
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

/// The totals of every replication, in replication order.
pub fn run_totals(scenario: &Scenario, spec: RunSpec) -> Vec<ReplicationTotals> {
    (0..spec.replications)
        .into_par_iter()
        .map_init(
            || Engine::new(scenario),
            |engine, replication| {
                let mut totals = ReplicationTotals::new(scenario);
                engine.run(spec.seed, replication, &mut totals);
                totals
            },
        )
        .collect()
}
