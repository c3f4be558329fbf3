//! Same seed, same results; different seeds, different results.

use bloodsim::engine::Engine;
use bloodsim::metrics::TotalsRecorder;
use bloodsim::record::NullRecorder;

use crate::support::parse;

fn single_hospital() -> bloodsim::scenario::Scenario {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/single-hospital.toml"
    ))
    .unwrap();
    parse(&text)
}

#[test]
fn a_replication_depends_only_on_seed_and_index() {
    let s = single_hospital();
    let run = |seed, rep| {
        let mut t = TotalsRecorder::new(&s);
        Engine::new(&s).run(seed, rep, &mut t);
        t.finish()
    };
    // A reused engine and recorder give the same result as fresh ones.
    let mut engine = Engine::new(&s);
    let mut recorder = TotalsRecorder::new(&s);
    engine.run(9, 1, &mut recorder);
    recorder.finish();
    engine.run(9, 3, &mut recorder);
    assert_eq!(recorder.finish(), run(9, 3));
    assert_ne!(run(9, 3), run(10, 3));
    assert_ne!(run(9, 3), run(9, 4));
}

#[test]
fn reading_the_totals_mid_replication_changes_nothing() {
    let s = single_hospital();
    let mut whole = TotalsRecorder::new(&s);
    Engine::new(&s).run(9, 3, &mut whole);
    let whole = whole.finish();
    let mut engine = Engine::new(&s);
    let mut recorder = TotalsRecorder::new(&s);
    engine.start(9, 3);
    for _ in 0..100 {
        engine.step(&mut recorder);
    }
    let early = recorder.totals().clone();
    let demand = |t: &bloodsim::metrics::ReplicationTotals| t.view().line(0, None).demand;
    assert!(demand(&early) > 0);
    while !engine.finished() {
        engine.step(&mut recorder);
    }
    assert!(demand(recorder.totals()) > demand(&early));
    assert_eq!(recorder.finish(), whole);
}

const KOREA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/korea-baseline.toml");

/// korea-baseline over 28 days: its 14-day warm-up and 14 measured days: every process and the
/// service's weekly collection review run, at a test build's speed.
fn short_korea(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(KOREA).unwrap();
    assert!(text.contains("horizon_days = 396") && text.contains("warm_up_days = 31"));
    let path = dir.join("korea-short.toml");
    std::fs::write(
        &path,
        text.replace("horizon_days = 396", "horizon_days = 28")
            .replace("warm_up_days = 31", "warm_up_days = 14"),
    )
    .unwrap();
    path
}

fn run_cli(threads: &str, seed: &str, out: &std::path::Path) {
    let scenario = short_korea(out.parent().unwrap());
    assert_cmd::Command::cargo_bin("bloodsim")
        .unwrap()
        .arg("run")
        .arg(&scenario)
        .args([
            "--replications",
            // More than the 32 pilot replications, so both phases of a run are compared.
            "40",
            "--seed",
            seed,
            "--threads",
            threads,
            "--quiet",
            "--no-plots",
            "--out",
        ])
        .arg(out)
        .assert()
        .success();
}

/// summary.json without the two fields that describe the machine, not the result.
fn summary_without_run_facts(dir: &std::path::Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let run = v["run"].as_object_mut().unwrap();
    run.remove("threads");
    run.remove("wall_seconds");
    v
}

#[test]
fn one_and_two_threads_write_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two, other_seed) = (
        dir.path().join("one"),
        dir.path().join("two"),
        dir.path().join("other"),
    );
    run_cli("1", "7", &one);
    run_cli("2", "7", &two);
    run_cli("2", "8", &other_seed);
    for file in ["periods.csv", "replications.csv"] {
        let (a, b) = (
            std::fs::read(one.join(file)).unwrap(),
            std::fs::read(two.join(file)).unwrap(),
        );
        assert!(a == b, "{file} differs between 1 and 2 threads");
        assert!(
            a != std::fs::read(other_seed.join(file)).unwrap(),
            "{file} does not depend on the seed"
        );
    }
    assert_eq!(
        summary_without_run_facts(&one),
        summary_without_run_facts(&two)
    );
}

/// The bench's draws-only pass (`benches/engine.rs`) must draw exactly the engine's words,
/// or its floor measures something else.
#[test]
fn the_draws_only_pass_draws_exactly_what_the_engine_draws() {
    use crate::draws::{draws_only, without_responses};
    use std::collections::VecDeque;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/korea-baseline.toml");
    let mut s = without_responses(bloodsim::scenario::load(std::path::Path::new(path)).unwrap());
    // Sixty days: past the first lab releases, a weekend and a month's turn.
    s.calendar.periods = 60;
    s.calendar.warm_up_periods = 0;
    let mut engine = Engine::new(&s);
    let mut lots = vec![VecDeque::new(); s.sites.len()];
    for r in 0..2 {
        engine.run(1, r, &mut NullRecorder);
        let words = engine.words_drawn();
        assert!(words.iter().sum::<u64>() > 0);
        assert_eq!(draws_only(&s, 1, r, &mut lots), words);
    }
}
