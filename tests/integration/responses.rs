//! The service's responses in a small controlled network, checked exactly: each action is
//! in force in exactly the periods its trigger, delay and duration give, and does exactly
//! what it says; collection management holds stock near its target. Conservation is checked
//! in every period.
//!
//! The network: one collection site with a fixed number of donations a day, a lab with no
//! processing time, one hub, one hospital with a fixed 20 one-unit requests a day ordering
//! up to 40 units daily with no lead time; and an outside supplier for a second hospital.

use bloodsim::engine::Engine;
use bloodsim::record::{Both, Flow, PeriodView, Recorder};
use bloodsim::responses::Activation;
use bloodsim::scenario::Scenario;

use crate::support::{InvariantChecker, parse};

fn scenario(donations: u32, extra: &str) -> Scenario {
    parse(&format!(
        r#"
[scenario]
name = "responses"
[time]
start = 2026-01-05
horizon_days = 120
[products.red_cells]
shelf_life_days = 42
[[sites]]
kind = "collection"
name = "donor centre"
lab = "lab"
hub = "hub"
  [[sites.donations]]
  donation = "whole_blood"
  per_day = {{ type = "fixed", mean = {donations} }}
[[sites]]
kind = "lab"
name = "lab"
[[sites]]
kind = "hub"
name = "hub"
[[sites]]
kind = "hospital"
name = "hospital"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "fixed", mean = 20 }}
[[sites]]
kind = "supplier"
name = "import"
[[sites]]
kind = "hospital"
name = "far hospital"
supplied_by = "import"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "fixed", mean = 10 }}
[[links]]
from = "donor centre"
to = "lab"
hours = 0
[[links]]
from = "lab"
to = "hub"
hours = 0
[[links]]
from = "hub"
to = "hospital"
hours = 0
[[links]]
from = "import"
to = "far hospital"
hours = 0
[policy.replenishment.red_cells]
type = "order_up_to"
units = 40
[[initial_stock]]
site = "hub"
product = "red_cells"
units = 300
{extra}
"#
    ))
}

/// One period as the tests read it, by site, with the responses' windows before the period.
#[derive(Default, Clone)]
struct Period {
    collected: Vec<u32>,
    demanded: Vec<u32>,
    ordered: Vec<u32>,
    on_hand: Vec<u32>,
    windows: Vec<Activation>,
}

#[derive(Default)]
struct Trace(Vec<Period>);

impl Recorder for Trace {
    fn period(&mut self, v: &PeriodView<'_>) {
        let per_site = v.cells.products * v.cells.groups;
        let sum = |x: &[u32]| -> Vec<u32> { x.chunks(per_site).map(|c| c.iter().sum()).collect() };
        self.0.push(Period {
            collected: sum(&v.flows[Flow::Collected]),
            demanded: sum(&v.flows[Flow::Demanded]),
            ordered: sum(&v.flows[Flow::Ordered]),
            on_hand: sum(v.on_hand),
            windows: Vec::new(),
        });
    }
}

/// Steps one replication, noting the responses' windows in force in each period.
fn run(s: &Scenario) -> Vec<Period> {
    let mut checker = InvariantChecker::new(s);
    let mut trace = Trace::default();
    let mut engine = Engine::new(s);
    engine.start(5, 0);
    for _ in 0..s.calendar.periods {
        let windows = engine.state().activations().to_vec();
        engine.step(&mut Both(&mut checker, &mut trace));
        trace.0.last_mut().unwrap().windows = windows;
    }
    assert_eq!(checker.periods_checked, s.calendar.periods);
    trace.0
}

fn site(s: &Scenario, name: &str) -> usize {
    s.sites.iter().position(|x| x.name == name).unwrap()
}

/// Network days of supply at the end of each period (baseline 30 units a day).
fn days(s: &Scenario, trace: &[Period]) -> Vec<f64> {
    let stock = [site(s, "hub"), site(s, "hospital"), site(s, "far hospital")];
    trace
        .iter()
        .map(|p| stock.iter().map(|&i| f64::from(p.on_hand[i])).sum::<f64>() / 30.0)
        .collect()
}

/// Checks that each window starts `1 + delay` periods after a period ending below the
/// threshold, lasts `duration`, and does not start while another is pending.
fn check_windows(trace: &[Period], days: &[f64], below: f64, delay: u32, duration: u32) -> usize {
    let mut starts = 0;
    for t in 1..trace.len() {
        let (before, now) = (trace[t - 1].windows[0], trace[t].windows[0]);
        if now != before {
            starts += 1;
            let decided = (now.from - 1 - delay) as usize;
            assert!(
                days[decided] < below,
                "triggered at {decided} with {} days",
                days[decided]
            );
            assert_eq!(now.until - now.from, duration);
            assert!(
                before.until <= decided as u32 + 1,
                "re-triggered while pending"
            );
        }
    }
    starts
}

#[test]
fn a_donor_appeal_doubles_collections_exactly_while_in_force() {
    // 10 donations a day against 30 units of demand: stock falls until the appeal.
    let s = scenario(
        10,
        r#"
[[responses]]
name = "appeal"
when = { product = "red_cells", below_days = 6 }
action = { type = "donor_appeal", factor = 2 }
delay_days = 3
duration_days = 10
"#,
    );
    let trace = run(&s);
    let days = days(&s, &trace);
    assert!(
        check_windows(&trace, &days, 6.0, 3, 10) >= 2,
        "the appeal acted repeatedly"
    );
    let donor = site(&s, "donor centre");
    for (t, p) in trace.iter().enumerate() {
        let expected = if p.windows[0].active(t as u32) {
            20
        } else {
            10
        };
        assert_eq!(p.collected[donor], expected, "period {t}");
    }
}

#[test]
fn deferring_electives_halves_requests_while_in_force() {
    let s = scenario(
        10,
        r#"
[[responses]]
name = "defer electives"
when = { product = "red_cells", below_days = 5, site = "hub" }
action = { type = "defer_electives", factor = 0.5 }
duration_days = 7
"#,
    );
    let trace = run(&s);
    let (hospital, far) = (site(&s, "hospital"), site(&s, "far hospital"));
    let mut deferred = 0;
    for (t, p) in trace.iter().enumerate() {
        let active = p.windows[0].active(t as u32);
        deferred += usize::from(active);
        assert_eq!(
            p.demanded[hospital],
            if active { 10 } else { 20 },
            "period {t}"
        );
        assert_eq!(p.demanded[far], if active { 5 } else { 10 }, "period {t}");
    }
    assert!(deferred >= 7);
}

#[test]
fn rationing_grants_the_stated_share_of_each_order() {
    // Stock is always under 100 days, so rationing triggers at the end of day 0 and again
    // each time it ends: in force from day 1 for 10 days, off for the 2-day delay, and so
    // on. While in force, the supplier grants 8 of every 10 units ordered (its deliveries
    // are counted as collected there).
    let s = scenario(
        40,
        r#"
[[responses]]
name = "ration"
when = { product = "red_cells", below_days = 100 }
action = { type = "ration_orders", share = 0.8 }
delay_days = 2
duration_days = 10
"#,
    );
    let trace = run(&s);
    let (import, far) = (site(&s, "import"), site(&s, "far hospital"));
    assert_eq!(trace[3].windows[0], Activation { from: 3, until: 13 });
    assert_eq!(
        trace[13].windows[0],
        Activation {
            from: 15,
            until: 25
        }
    );
    for (t, p) in trace.iter().enumerate() {
        let ordered = f64::from(p.ordered[far]);
        let share = if p.windows[0].active(t as u32) {
            0.8
        } else {
            1.0
        };
        assert_eq!(
            p.collected[import],
            (ordered * share).round() as u32,
            "period {t}"
        );
    }
}

#[test]
fn requested_imports_arrive_spread_over_the_duration() {
    let s = scenario(
        10,
        r#"
[[responses]]
name = "mutual aid"
when = { product = "red_cells", below_days = 3 }
action = { type = "request_imports", site = "hub", units = 100 }
delay_days = 2
duration_days = 4
"#,
    );
    let trace = run(&s);
    let hub = site(&s, "hub");
    let mut imported = 0;
    for (t, p) in trace.iter().enumerate() {
        let w = p.windows[0];
        let expected = if w.active(t as u32) { 25 } else { 0 };
        assert_eq!(p.collected[hub], expected, "period {t}");
        imported += p.collected[hub];
    }
    assert!(imported >= 100);
}

#[test]
fn collection_management_holds_stock_near_its_target() {
    // 45 donations a day against 30 units of demand: unmanaged, stock climbs (until
    // outdating caps it); managed for 5 days of supply, it settles near 5 days.
    // Holding stock needs 20 of the 45 donations (the far hospital is supplied from
    // outside), a factor of 0.44: the floor is set below it.
    let managed = r#"
[collection_management]
target_days = 5
reaction = 0.3
review_days = 7
delay_days = 2
min_factor = 0.2
"#;
    let (free, held) = (scenario(45, ""), scenario(45, managed));
    let (a, b) = (run(&free), run(&held));
    let (da, db) = (days(&free, &a), days(&held, &b));
    let last_month = |d: &[f64]| d[90..].iter().sum::<f64>() / 30.0;
    assert!(last_month(&da) > 20.0, "unmanaged: {}", last_month(&da));
    let settled = last_month(&db);
    assert!((settled - 5.0).abs() < 1.5, "managed: {settled} days");
}

/// A hospital whose only patients are A-, with no RhD-negative stock: 12 A+ units, then
/// O+, and no resupply. A switch to RhD-positive for `share` of the missing units triggers
/// while A- stock is under a day.
fn switch_scenario(share: f64) -> Scenario {
    parse(&format!(
        r#"
[scenario]
name = "switch"
[time]
start = 2026-01-05
horizon_days = 20
[blood_groups]
system = "abo_rhd"
donor_frequencies = {{ "O+" = 0.4, "O-" = 0.1, "A+" = 0.3, "A-" = 0.05, "B+" = 0.1, "B-" = 0.02, "AB+" = 0.02, "AB-" = 0.01 }}
[products.red_cells]
shelf_life_days = 42
[[sites]]
kind = "supplier"
name = "import"
[[sites]]
kind = "hospital"
name = "hospital"
supplied_by = "import"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "fixed", mean = 10 }}
  group_mix = {{ "A-" = 1 }}
[[links]]
from = "import"
to = "hospital"
hours = 0
[policy.replenishment.red_cells]
type = "order_up_to"
units = 0
[[initial_stock]]
site = "hospital"
product = "red_cells"
units_by_group = {{ "A+" = 12, "O+" = 1000 }}
[[responses]]
name = "switch"
when = {{ product = "red_cells", group = "A-", site = "hospital", below_days = 1 }}
action = {{ type = "switch_to_rhd_positive", share = {share} }}
delay_days = 2
duration_days = 5
"#
    ))
}

/// Units issued per period, by (donor, recipient) group.
#[derive(Default)]
struct Issues(Vec<std::collections::BTreeMap<(usize, usize), u32>>);

impl Recorder for Issues {
    fn period(&mut self, v: &PeriodView<'_>) {
        self.0.resize_with(v.period as usize + 2, Default::default);
    }

    fn issue(&mut self, i: bloodsim::record::Issue) {
        self.0.resize_with(i.period as usize + 1, Default::default);
        *self.0[i.period as usize]
            .entry((i.donor, i.recipient))
            .or_default() += i.units;
    }
}

#[test]
fn the_switch_to_rhd_positive_gives_its_share_of_missing_units_same_abo_first() {
    // A- stock is always 0, so the switch triggers at the end of day 0 and again each time
    // it ends: in force on days 3-7, 10-14 and 17-19. With a quarter of 10 missing units a
    // day switched, the carried fraction makes it 2, 3, 2, 3, ... (exactly 2.5 a day); the
    // 12 A+ units go first (2+3+2+3+2 in the first window), then O+.
    let s = switch_scenario(0.25);
    let group = |label| s.groups.index_of(label).unwrap();
    let (a_neg, a_pos, o_pos) = (group("A-"), group("A+"), group("O+"));
    let mut checker = InvariantChecker::new(&s);
    let mut issues = Issues::default();
    let mut engine = Engine::new(&s);
    engine.start(1, 0);
    let mut active = Vec::new();
    for t in 0..s.calendar.periods {
        active.push(engine.state().activations()[0].active(t));
        engine.step(&mut Both(&mut checker, &mut issues));
    }
    checker.assert_complete();
    let windows: Vec<u32> = (0..20).filter(|&t| active[t as usize]).collect();
    assert_eq!(windows, [3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 17, 18, 19]);
    let (mut switched_so_far, mut days_on) = (0u32, 0.0);
    let mut a_pos_used = 0;
    for (t, by) in issues.0.iter().take(20).enumerate() {
        let from = |d| by.get(&(d, a_neg)).copied().unwrap_or(0);
        let switched = from(a_pos) + from(o_pos);
        assert_eq!(by.keys().filter(|k| k.1 != a_neg).count(), 0);
        if active[t] {
            days_on += 1.0;
            let due = (days_on * 10.0 * 0.25) as u32 - switched_so_far;
            assert_eq!(switched, due, "day {t}");
            switched_so_far += switched;
        } else {
            assert_eq!(switched, 0, "day {t}");
        }
        assert_eq!(
            from(o_pos) > 0,
            a_pos_used == 12 && switched > 0,
            "day {t}: same ABO first"
        );
        a_pos_used += from(a_pos);
    }
    assert_eq!(a_pos_used, 12);
    assert_eq!(switched_so_far, (13.0 * 2.5) as u32);
}

#[test]
fn responses_are_validated_with_located_messages() {
    let cases = [
        (
            "[[responses]]\nname = \"x\"\nwhen = { product = \"platelets\", below_days = 3 }\naction = { type = \"donor_appeal\", factor = 1.2 }\nduration_days = 3",
            "\"platelets\" is not simulated",
        ),
        (
            "[[responses]]\nname = \"x\"\nwhen = { product = \"red_cells\", below_days = 3, site = \"lab\" }\naction = { type = \"donor_appeal\", factor = 1.2 }\nduration_days = 3",
            "\"lab\" is a lab; give a hub or hospital",
        ),
        (
            "[[responses]]\nname = \"x\"\nwhen = { product = \"red_cells\", below_days = 3 }\naction = { type = \"defer_electives\", factor = 1.5 }\nduration_days = 3",
            "responses[0].action.factor",
        ),
        (
            "[[responses]]\nname = \"x\"\nwhen = { product = \"red_cells\", below_days = 3 }\naction = { type = \"ration_orders\", share = 0.8 }\nduration_days = -1",
            "responses[0].duration_days",
        ),
        (
            "[collection_management]\ntarget_days = 5\nreaction = 2",
            "collection_management.reaction",
        ),
        (
            "[[responses]]\nname = \"x\"\nwhen = { product = \"red_cells\", below_days = 3 }\naction = { type = \"switch_to_rhd_positive\", share = 0.5 }\nduration_days = 3",
            "responses[0].action.products`: the switch to RhD-positive applies to red cells or whole blood, and needs `blood_groups.system = \"abo_rhd\"`",
        ),
        (
            "[[responses]]\nname = \"x\"\nwhen = { product = \"red_cells\", below_days = 3 }\naction = { type = \"switch_to_rhd_positive\", share = 1.5 }\nduration_days = 3",
            "responses[0].action.share",
        ),
    ];
    for (extra, expected) in cases {
        let text = scenario_text(extra);
        let err = bloodsim::scenario::parse(&text, "r.toml")
            .expect_err(extra)
            .to_string();
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
        assert!(err.contains("r.toml:"), "located: {err}");
    }
}

/// The scenario's text (for validation cases), with `extra` appended.
fn scenario_text(extra: &str) -> String {
    format!(
        "[scenario]\nname = \"r\"\n[time]\nstart = 2026-01-05\nhorizon_days = 20\n[products.red_cells]\nshelf_life_days = 42\n[[sites]]\nkind = \"collection\"\nname = \"donor centre\"\nlab = \"lab\"\nhub = \"hub\"\n  [[sites.donations]]\n  donation = \"whole_blood\"\n  per_day = {{ type = \"fixed\", mean = 10 }}\n[[sites]]\nkind = \"lab\"\nname = \"lab\"\n[[sites]]\nkind = \"hub\"\nname = \"hub\"\n[[sites]]\nkind = \"hospital\"\nname = \"hospital\"\nsupplied_by = \"hub\"\n  [[sites.demand]]\n  product = \"red_cells\"\n  requests_per_day = {{ type = \"fixed\", mean = 20 }}\n[[links]]\nfrom = \"donor centre\"\nto = \"lab\"\nhours = 0\n[[links]]\nfrom = \"lab\"\nto = \"hub\"\nhours = 0\n[[links]]\nfrom = \"hub\"\nto = \"hospital\"\nhours = 0\n[policy.replenishment.red_cells]\ntype = \"order_up_to\"\nunits = 40\n{extra}\n"
    )
}
