//! Same seed, same results; different seeds, different results.

use bloodsim::engine::Engine;
use bloodsim::metrics::ReplicationTotals;

use crate::support::parse;

fn korea() -> bloodsim::scenario::Scenario {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/single-hospital.toml"
    ))
    .unwrap();
    parse(&text)
}

#[test]
fn a_replication_depends_only_on_seed_and_index() {
    let s = korea();
    let run = |seed, rep| {
        let mut t = ReplicationTotals::new(&s);
        Engine::new(&s).run(seed, rep, &mut t);
        t.lines
    };
    // A reused engine gives the same result as a fresh one.
    let mut engine = Engine::new(&s);
    let mut first = ReplicationTotals::new(&s);
    engine.run(9, 1, &mut ReplicationTotals::new(&s));
    engine.run(9, 3, &mut first);
    assert_eq!(first.lines, run(9, 3));
    assert_ne!(run(9, 3), run(10, 3));
    assert_ne!(run(9, 3), run(9, 4));
}
