//! The trainer's session: stepping, branching on an injected event, and the odds.

use bloodsim::engine::Engine;
use bloodsim::record::NullRecorder;
use bloodsim::trainer::{Injection, Session};

use crate::support::parse;

/// A lab and hub, two collection sites and two hospitals, grouped red cells and platelets.
pub const NETWORK: &str = r#"
[scenario]
name = "trainer network"
[time]
start = 2026-01-05
horizon_days = 60
seed = 11
[blood_groups]
system = "abo_rhd"
donor_frequencies = { "O+" = 0.38, "A+" = 0.34, "B+" = 0.09, "AB+" = 0.03, "O-" = 0.07, "A-" = 0.06, "B-" = 0.02, "AB-" = 0.01 }
[products.red_cells]
shelf_life_days = 42
[products.platelets]
shelf_life_days = 5
[[sites]]
kind = "lab"
name = "lab"
processing_hours = 24
[[sites]]
kind = "hub"
name = "hub"
[[sites]]
kind = "collection"
name = "east"
lab = "lab"
hub = "hub"
  [[sites.donations]]
  donation = "whole_blood"
  per_day = { type = "poisson", mean = 60 }
  [[sites.donations]]
  donation = "apheresis_platelets"
  per_day = { type = "poisson", mean = 8 }
[[sites]]
kind = "collection"
name = "west"
lab = "lab"
hub = "hub"
  [[sites.donations]]
  donation = "whole_blood"
  per_day = { type = "poisson", mean = 45 }
[[sites]]
kind = "hospital"
name = "north"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = { type = "poisson", mean = 25 }
  units_per_request = { type = "poisson", mean = 2.0 }
  [[sites.demand]]
  product = "platelets"
  units_per_day = { type = "poisson", mean = 6 }
[[sites]]
kind = "hospital"
name = "south"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = { type = "poisson", mean = 20 }
  units_per_request = { type = "poisson", mean = 1.8 }
[[links]]
from = "east"
to = "lab"
hours = 2
[[links]]
from = "west"
to = "lab"
hours = 3
[[links]]
from = "lab"
to = "hub"
hours = 4
[[links]]
from = "hub"
to = "north"
hours = 24
[[links]]
from = "hub"
to = "south"
hours = 24
[policy.replenishment.red_cells]
type = "order_up_to"
days = 4
[policy.replenishment.platelets]
type = "order_up_to"
days = 3
[[initial_stock]]
site = "hub"
product = "red_cells"
units = 500
[[initial_stock]]
site = "hub"
product = "platelets"
units = 30
"#;

fn session() -> Session {
    Session::new(NETWORK, "trainer.toml", 0).unwrap_or_else(|e| panic!("{e}"))
}

fn casualties(n: u32) -> Injection {
    Injection::MassCasualty {
        hospital: "north".into(),
        casualties: n,
    }
}

/// Stepping in pieces is the engine's own run: same stock everywhere after 23 periods.
#[test]
fn a_session_steps_exactly_as_the_engine_runs() {
    let mut s = session();
    for n in [1, 7, 15] {
        s.step(n).unwrap();
    }
    let scenario = parse(NETWORK);
    let mut engine = Engine::new(&scenario);
    engine.start(scenario.seed, 0);
    for _ in 0..23 {
        engine.step(&mut NullRecorder);
    }
    assert_eq!(s.period(), 23);
    assert_eq!(
        s.snapshot_on_hand(),
        engine.state().on_hand(),
        "stock after 23 periods"
    );
}

/// Branching on an injected event is the run of the file with that event written in from
/// the start: the session's replication continues exactly as the engine would have run it.
#[test]
fn an_injected_event_continues_as_if_it_had_been_written_in_the_file() {
    let mut s = session();
    s.step(10).unwrap();
    s.inject(casualties(120)).unwrap();
    s.inject(Injection::LabOutage {
        lab: "lab".into(),
        days: 2.0,
    })
    .unwrap();
    s.step(12).unwrap();
    let written = parse(&s.scenario_text());
    assert_eq!(written.events.len(), 2);
    let mut engine = Engine::new(&written);
    engine.start(written.seed, 0);
    for _ in 0..22 {
        engine.step(&mut NullRecorder);
    }
    assert_eq!(s.snapshot_on_hand(), engine.state().on_hand());
}

/// An MCI at north raises north's red cells issued and short, and leaves the draws of the
/// rest of the network alone: south's stock is what it would have been up to the day north's
/// extra orders start to compete for the hub's stock.
#[test]
fn an_injected_mass_casualty_hits_its_hospital() {
    let (mut plain, mut hit) = (session(), session());
    plain.step(10).unwrap();
    hit.step(10).unwrap();
    hit.inject(casualties(300)).unwrap();
    plain.step(1).unwrap();
    hit.step(1).unwrap();
    let (p, h) = (plain.view(0), hit.view(0));
    let north = |v: &bloodsim::trainer::View| {
        let s = v.sites.iter().find(|s| s.name == "north").unwrap();
        (s.issued + s.short, s.stock.iter().sum::<u32>())
    };
    assert!(
        north(&h).0 > north(&p).0 + 50,
        "300 casualties (about 116 transfused, ~3 units each) in the first day: {:?} vs {:?}",
        north(&h),
        north(&p)
    );
    assert!(north(&h).1 <= north(&p).1, "north's stock falls");
    let south = |v: &bloodsim::trainer::View| {
        v.sites
            .iter()
            .find(|s| s.name == "south")
            .unwrap()
            .stock
            .clone()
    };
    assert_eq!(south(&h), south(&p), "south draws as without the event");
}

#[test]
fn nonsense_injections_are_refused_with_a_message() {
    let mut s = session();
    let cases = [
        (casualties(0), "casualties must be from 1"),
        (
            Injection::MassCasualty {
                hospital: "nowhere\"]\n[[sites]]".into(),
                casualties: 5,
            },
            "no hospital named",
        ),
        (
            Injection::LabOutage {
                lab: "hub".into(),
                days: 1.0,
            },
            "no lab named \"hub\"",
        ),
        (
            Injection::LinkCut {
                from: "hub".into(),
                to: "north".into(),
                days: f64::NAN,
            },
            "days must be from",
        ),
        (
            Injection::DonorAppeal {
                factor: 0.5,
                days: 3.0,
            },
            "above 1",
        ),
    ];
    for (injection, expected) in cases {
        let e = s.inject(injection).unwrap_err();
        assert!(e.0.contains(expected), "{e}");
    }
    assert!(s.view(0).injected.is_empty(), "nothing was injected");
    // A link the scenario lacks is caught by the scenario's own validation.
    let e = s
        .inject(Injection::LinkCut {
            from: "north".into(),
            to: "south".into(),
            days: 1.0,
        })
        .unwrap_err();
    assert!(e.0.contains("events["), "{e}");
}

/// The odds do not depend on the thread count, come without a "without" fan when nothing
/// was injected, and with an MCI show north's shortage as likelier than without it, on
/// common random numbers.
#[test]
fn the_odds_from_here_compare_with_and_without_the_event() {
    let mut s = session();
    s.step(10).unwrap();
    let plain = s.odds_request(40, 7).unwrap().run(0);
    assert!(plain.without.is_none());
    s.inject(casualties(300)).unwrap();
    let request = s.odds_request(40, 7).unwrap();
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let one = pool(1).install(|| request.run(0));
    let two = pool(2).install(|| request.run(0));
    assert_eq!(one, two, "odds independent of the thread count");
    let without = one.without.as_ref().expect("a fan without the event");
    assert_eq!(
        without, &plain.with,
        "without the event = the odds before it (same keys)"
    );
    assert_eq!(one.times.len(), 7);
    let any = |f: &bloodsim::trainer::Fan| f.shortage_in_window.iter().cloned().fold(0.0, f64::max);
    assert!(
        any(&one.with) > any(without),
        "{:?} vs {:?}",
        one.with.shortage_in_window,
        without.shortage_in_window
    );
    let median = |f: &bloodsim::trainer::Fan| f.days_of_supply[1][2];
    assert!(
        median(&one.with) < median(without),
        "the casualties' units leave stock"
    );
}

fn lesson(hospital: &str) -> bloodsim::trainer::Lesson {
    let text = format!(
        r#"
title = "a test lesson"
scenario = "trainer.toml"
replication = 2
[[steps]]
day = 5
prompt = "look at north"
[[steps]]
day = 8
prompt = "casualties"
inject = [{{ type = "mass_casualty", hospital = "{hospital}", casualties = 200 }}]
[[steps]]
day = 12
prompt = "donors stay away"
inject = [{{ type = "collection_drop", factor = 0.5, days = 4 }}, {{ type = "policy_change", path = "policy.replenishment.red_cells.days", value = 6 }}]
"#
    );
    bloodsim::trainer::Lesson::parse(&text, "lesson.toml").unwrap()
}

/// Playing stops at each step of a lesson, shows its prompt, and injects its events at its
/// period, so two plays with different pauses give the same run.
#[test]
fn a_lesson_pauses_at_its_steps_and_replays_identically() {
    let lesson = lesson("north");
    let mut a = Session::with_lesson(NETWORK, "trainer.toml", &lesson).unwrap();
    a.step(100).unwrap();
    assert_eq!(a.period(), 5, "stops at the first step");
    assert_eq!(a.view(0).prompt.as_deref(), Some("look at north"));
    while a.period() < 20 {
        a.step(20 - a.period()).unwrap();
    }
    let mut b = Session::with_lesson(NETWORK, "trainer.toml", &lesson).unwrap();
    while b.period() < 20 {
        b.step(1).unwrap();
    }
    assert_eq!(a.snapshot_on_hand(), b.snapshot_on_hand());
    let when = |s: &Session| {
        s.view(0)
            .injected
            .iter()
            .map(|e| (e.period, e.label.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(when(&a), when(&b));
    assert_eq!(
        when(&a).iter().map(|e| e.0).collect::<Vec<_>>(),
        [8, 12, 12],
        "each event at its step's day"
    );
    assert_eq!(a.view(0).prompt.as_deref(), Some("donors stay away"));
    // The same run after a restart, played in weeks.
    a.restart();
    assert!(a.view(0).injected.is_empty() && a.period() == 0);
    while a.period() < 20 {
        a.step(7.min(20 - a.period())).unwrap();
    }
    assert_eq!(a.snapshot_on_hand(), b.snapshot_on_hand());
}

#[test]
fn a_lesson_with_a_wrong_name_is_refused_at_load() {
    let e = Session::with_lesson(NETWORK, "trainer.toml", &lesson("westside")).unwrap_err();
    assert!(
        e.0.contains("steps[1].inject[0]: no hospital named \"westside\""),
        "{e}"
    );
}

/// A policy change branches the run from now on; a path outside `policy.` is refused.
#[test]
fn a_policy_change_applies_from_now_on() {
    let (mut plain, mut changed) = (session(), session());
    plain.step(5).unwrap();
    changed.step(5).unwrap();
    changed
        .inject(Injection::PolicyChange {
            path: "policy.replenishment.red_cells.days".into(),
            value: bloodsim::trainer::PolicyValue::Number(8.0),
        })
        .unwrap();
    plain.step(5).unwrap();
    changed.step(5).unwrap();
    let held = |s: &Session, name: &str| {
        let v = s.view(0);
        v.sites
            .iter()
            .find(|x| x.name == name)
            .unwrap()
            .stock
            .iter()
            .sum::<u32>()
    };
    assert!(
        held(&changed, "north") > held(&plain, "north"),
        "hospitals order up to 8 days instead of 4"
    );
    let e = changed
        .inject(Injection::PolicyChange {
            path: "sites[0].name".into(),
            value: bloodsim::trainer::PolicyValue::Text("x".into()),
        })
        .unwrap_err();
    assert!(e.0.contains("a field under `policy.`"), "{e}");
}

/// Every bundled lesson loads against its scenario and plays through its steps.
#[test]
fn the_bundled_lessons_load_and_reach_their_steps() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lessons");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            bloodsim::trainer::Lesson::looks_like(&text),
            "{}",
            path.display()
        );
        let lesson = bloodsim::trainer::Lesson::parse(&text, &path.display().to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        let scenario = dir.join(&lesson.scenario);
        let scenario_text = std::fs::read_to_string(&scenario).unwrap();
        let mut s = Session::with_lesson(&scenario_text, "lesson scenario", &lesson)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for step in &lesson.steps {
            s.step(bloodsim::trainer::MAX_STEP_PERIODS).unwrap();
            assert_eq!(s.view(0).prompt.as_deref(), Some(step.prompt.as_str()));
        }
        n += 1;
    }
    assert!(n >= 1, "a lesson in scenarios/lessons");
}

/// Minimal HTTP/1.1 client: method, path, body -> (status, body).
fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// The server answers a view while a large odds request runs (the odds are computed outside
/// the session's lock), rejects bad requests with a message, and answers only to its own
/// address.
#[test]
fn the_server_stays_responsive_and_rejects_bad_requests() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let server = bloodsim::serve::start(session(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.addr;
    let done = Arc::new(AtomicBool::new(false));
    let odds = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let r = http(
                addr,
                "POST",
                "/api/odds",
                r#"{"replications": 2000, "days": 59}"#,
            );
            done.store(true, Ordering::SeqCst);
            r
        })
    };
    // Let the odds request take the session's lock first (it then runs for seconds in the
    // unoptimised test profile), then ask for the view.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (status, view) = http(addr, "POST", "/api/view", "{}");
    assert_eq!(status, 200, "{view}");
    assert!(
        !done.load(Ordering::SeqCst),
        "the view came back while the odds were still running"
    );
    let (status, body) = odds.join().unwrap();
    assert_eq!(status, 200, "{body}");
    for (method, path, body, want, says) in [
        (
            "POST",
            "/api/step",
            r#"{"periods": 0}"#,
            400,
            "steps must be from 1",
        ),
        (
            "POST",
            "/api/step",
            r#"{"periods": "x"}"#,
            400,
            "bad request",
        ),
        (
            "POST",
            "/api/step",
            r#"{"periods": 1, "extra": 2}"#,
            400,
            "unknown field",
        ),
        (
            "POST",
            "/api/odds",
            r#"{"replications": 5000, "days": 5}"#,
            400,
            "replications must be",
        ),
        (
            "POST",
            "/api/inject",
            r#"{"event": {"type": "meteor"}}"#,
            400,
            "unknown variant",
        ),
        ("GET", "/api/step", "", 405, "use POST"),
        ("GET", "/../etc/passwd", "", 404, "no such page"),
    ] {
        let (status, reply) = http(addr, method, path, body);
        assert_eq!(status, want, "{method} {path} {body}: {reply}");
        assert!(reply.contains(says), "{method} {path} {body}: {reply}");
    }
    // Another host name (DNS rebinding) is refused.
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 421"), "{response}");
    server.stop();
}
