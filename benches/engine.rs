//! One replication of korea-baseline, reported as simulated (site x product x group x period)
//! cells per second: the engine alone, and the recorders alone (replaying the periods of one
//! recorded replication). Run: `cargo bench --bench engine`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use bloodsim::engine::Engine;
use bloodsim::metrics::TotalsRecorder;
use bloodsim::monte_carlo::Aggregate;
use bloodsim::record::{Flows, NullRecorder, PeriodView, Recorder};
use bloodsim::scenario::{self, Cells, Scenario};

fn korea() -> Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/korea-baseline.toml");
    scenario::load(std::path::Path::new(path)).expect("bundled scenario validates")
}

/// An owned copy of one period's view.
struct Period {
    period: u32,
    cells: Cells,
    flows: Flows,
    on_hand: Vec<u32>,
    in_transit: Vec<u32>,
    in_testing: Vec<u32>,
    backlog: Vec<u32>,
}

impl Period {
    fn view(&self) -> PeriodView<'_> {
        PeriodView {
            period: self.period,
            cells: self.cells,
            flows: &self.flows,
            on_hand: &self.on_hand,
            in_transit: &self.in_transit,
            in_testing: &self.in_testing,
            backlog: &self.backlog,
        }
    }
}

/// Keeps every period of a replication, to replay into the recorders without the engine.
#[derive(Default)]
struct Tape(Vec<Period>);

impl Recorder for Tape {
    fn period(&mut self, v: &PeriodView<'_>) {
        self.0.push(Period {
            period: v.period,
            cells: v.cells,
            flows: v.flows.clone(),
            on_hand: v.on_hand.to_vec(),
            in_transit: v.in_transit.to_vec(),
            in_testing: v.in_testing.to_vec(),
            backlog: v.backlog.to_vec(),
        });
    }
}

fn replay(tape: &Tape, recorder: &mut impl Recorder) {
    for p in &tape.0 {
        recorder.period(&p.view());
    }
}

fn replication(c: &mut Criterion) {
    let s = korea();
    let cells = (s.cells().len() as u64) * u64::from(s.calendar.periods);
    let mut group = c.benchmark_group("korea-baseline replication");
    group.throughput(Throughput::Elements(cells));
    group.sample_size(30);
    let mut engine = Engine::new(&s);
    let mut rep = 0u64;
    group.bench_function("engine only", |b| {
        b.iter(|| {
            rep += 1;
            engine.run(1, rep, &mut NullRecorder);
        })
    });
    // Recorders replay a few different replications so histograms see realistic spread.
    let tapes: Vec<Tape> = (0..8)
        .map(|r| {
            let mut tape = Tape::default();
            engine.run(1, r, &mut tape);
            tape
        })
        .collect();
    let mut next = 0usize;
    let mut totals = TotalsRecorder::new(&s);
    group.bench_function("replication totals only", |b| {
        b.iter(|| {
            next += 1;
            replay(&tapes[next % tapes.len()], &mut totals);
            totals.finish()
        })
    });
    let mut aggregate = Aggregate::new(&s);
    group.bench_function("per-period aggregate only", |b| {
        b.iter(|| {
            next += 1;
            replay(&tapes[next % tapes.len()], &mut aggregate.recorder());
        })
    });
    aggregate.flush();
    group.finish();
}

criterion_group! {
    name = benches;
    // Criterion's own charts need system fonts; the numbers are what matter here.
    config = Criterion::default().without_plots();
    targets = replication
}
criterion_main!(benches);
