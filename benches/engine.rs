//! One replication of korea-baseline, reported as simulated (site x product x group x period)
//! cells per second. Run: `cargo bench --bench engine`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use bloodsim::engine::Engine;
use bloodsim::metrics::ReplicationTotals;
use bloodsim::monte_carlo::Aggregate;
use bloodsim::record::NullRecorder;
use bloodsim::scenario;

fn korea() -> scenario::Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/korea-baseline.toml");
    scenario::load(std::path::Path::new(path)).expect("bundled scenario validates")
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
    group.bench_function("engine + replication totals", |b| {
        b.iter(|| {
            rep += 1;
            let mut totals = ReplicationTotals::new(&s);
            engine.run(1, rep, &mut totals);
            totals
        })
    });
    let mut aggregate = Aggregate::new(&s);
    group.bench_function("engine + per-period aggregate", |b| {
        b.iter(|| {
            rep += 1;
            engine.run(1, rep, &mut aggregate.recorder());
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Criterion's own charts need system fonts; the numbers are what matter here.
    config = Criterion::default().without_plots();
    targets = replication
}
criterion_main!(benches);
