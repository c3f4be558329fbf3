//! One replication of korea-baseline, reported as simulated (site x product x group x period)
//! cells per second: the engine alone; only the random draws the engine makes; and the
//! engine with the runner's recorders (per-replication totals, per-period aggregate).
//! Then the whole Monte Carlo runner on single-hospital and korea-baseline, on one and two
//! threads, in replication-days per second; and the trainer's odds panel.
//! Run: `cargo bench --bench engine`.

use std::collections::VecDeque;
use std::sync::Arc;

// The draws-only pass lives with its test, which `cargo test` runs.
#[path = "../tests/integration/draws.rs"]
mod draws;
use draws::{draws_only, without_responses};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use bloodsim::engine::Engine;
use bloodsim::metrics::TotalsRecorder;
use bloodsim::monte_carlo::{Aggregate, BATCH};
use bloodsim::record::{Both, NullRecorder};
use bloodsim::scenario::{self, Scenario};

/// korea-baseline, or the scenario `BLOODSIM_BENCH_SCENARIO` names (to compare versions of
/// the engine on one file), without the service's responses: the draws-only floor does not
/// follow the rates they change. With the file's stem, which names the benchmark group.
fn bench_scenario() -> (Scenario, String) {
    let bundled = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/korea-baseline.toml"
    );
    let path = std::env::var("BLOODSIM_BENCH_SCENARIO").unwrap_or_else(|_| bundled.into());
    let path = std::path::Path::new(&path);
    let stem = path
        .file_stem()
        .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    match scenario::load(path) {
        Ok(s) => (without_responses(s), stem),
        Err(e) => panic!("{e}"),
    }
}

fn replication(c: &mut Criterion) {
    let (s, name) = bench_scenario();
    let cells = (s.cells().len() as u64) * u64::from(s.calendar.periods);
    let mut group = c.benchmark_group(format!("{name} replication"));
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
    // The draws alone: checked against the engine's use of every stream first.
    let mut lots = vec![VecDeque::new(); s.sites.len()];
    for r in 0..3 {
        engine.run(1, r, &mut NullRecorder);
        assert_eq!(
            draws_only(&s, 1, r, &mut lots),
            engine.words_drawn(),
            "the draws-only pass must draw exactly what the engine draws"
        );
    }
    group.bench_function("random draws only", |b| {
        b.iter(|| {
            rep += 1;
            draws_only(&s, 1, rep, &mut lots)
        })
    });
    // What the runner does per replication: the recorders' cost is the difference.
    let mut totals = TotalsRecorder::new(&s);
    group.bench_function("engine + replication totals", |b| {
        b.iter(|| {
            rep += 1;
            engine.run(1, rep, &mut totals);
            totals.finish()
        })
    });
    let mut aggregate = Aggregate::new(&s);
    // A pilot batch sets the histograms' layout, as in a run.
    for _ in 0..BATCH {
        rep += 1;
        engine.run(1, rep, &mut aggregate.recorder());
    }
    let binning = Aggregate::pilot_binning([&aggregate]).expect("a pilot ran");
    aggregate.set_binning(Arc::new(binning));
    group.bench_function("engine + totals + per-period aggregate", |b| {
        b.iter(|| {
            rep += 1;
            let mut periods = aggregate.recorder();
            engine.run(1, rep, &mut Both(&mut totals, &mut periods));
            totals.finish()
        })
    });
    aggregate.flush();
    group.finish();
}

/// The Monte Carlo runner as `bloodsim run` drives it (engine, recorders, merging; not the
/// files), in replication-days per second, on one thread and on two: the cases of the speed
/// issue's table. Two threads over one thread's time is the parallel efficiency.
fn runner(c: &mut Criterion) {
    use bloodsim::monte_carlo::{self, RunSpec};
    let bundled = |name: &str| {
        let path = format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        scenario::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
    };
    // Enough replications for several batches per thread (the aggregate flushes every 32).
    for (name, replications) in [("single-hospital", 2000), ("korea-baseline", 128)] {
        let s = bundled(name);
        let spec = RunSpec {
            seed: s.seed,
            replications,
        };
        let days = u64::from(s.calendar.days()) * replications;
        let mut group = c.benchmark_group(format!("run {name} x {replications}"));
        group.throughput(Throughput::Elements(days));
        group.sample_size(10);
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            group.bench_function(format!("{threads} thread(s), replication-days"), |b| {
                b.iter(|| pool.install(|| monte_carlo::run(&s, spec, &|| {})))
            });
        }
        group.finish();
    }
}

/// The trainer's "odds from here" (issue 15's target: about 2 s): korea-baseline 60 days in,
/// 150 casualties injected, 200 futures four weeks ahead with and without them.
fn trainer_odds(c: &mut Criterion) {
    use bloodsim::trainer::{Injection, Session};
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/korea-baseline.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut session = Session::new(&text, path, 0).unwrap();
    session.step(60).unwrap();
    session
        .inject(Injection::MassCasualty {
            hospital: "Seoul Central hospitals".into(),
            casualties: 150,
        })
        .unwrap();
    let request = session.odds_request(200, 28).unwrap();
    let mut group = c.benchmark_group("trainer");
    group.sample_size(10);
    group.bench_function(
        "odds korea-baseline 200 futures x 28 days, with and without",
        |b| b.iter(|| request.run(0)),
    );
    group.finish();
}

criterion_group! {
    name = benches;
    // Criterion's own charts need system fonts; the numbers are what matter here.
    config = Criterion::default().without_plots();
    targets = replication, runner, trainer_odds
}
criterion_main!(benches);
