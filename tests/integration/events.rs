//! Each event type in a small controlled network, checked for direction and timing exactly
//! where the model allows it, and for conservation throughout.
//!
//! The network: one collection site with a fixed 10 donations a day (so counts are exact),
//! one lab, one hub, one hospital with a fixed 20 one-unit requests a day, one outside
//! supplier for a second hospital. Day d is period d (24-hour periods).

use bloodsim::engine::Engine;
use bloodsim::record::{Flow, PeriodView, Recorder};
use bloodsim::scenario::Scenario;

use crate::support::{InvariantChecker, parse};

/// Per period: a flow summed over each site's cells.
#[derive(Default)]
struct BySite {
    collected: Vec<Vec<u32>>,
    released: Vec<Vec<u32>>,
    received: Vec<Vec<u32>>,
    demanded: Vec<Vec<u32>>,
    discarded: Vec<Vec<u32>>,
    on_hand: Vec<Vec<u32>>,
}

impl Recorder for BySite {
    fn period(&mut self, v: &PeriodView<'_>) {
        let per_site = v.cells.products * v.cells.groups;
        let sum = |values: &[u32]| -> Vec<u32> {
            values.chunks(per_site).map(|c| c.iter().sum()).collect()
        };
        self.collected.push(sum(&v.flows[Flow::Collected]));
        self.released.push(sum(&v.flows[Flow::Released]));
        self.received.push(sum(&v.flows[Flow::Received]));
        self.demanded.push(sum(&v.flows[Flow::Demanded]));
        self.discarded.push(sum(&v.flows[Flow::Discarded]));
        self.on_hand.push(sum(v.on_hand));
    }
}

fn network(lab: &str, events: &str) -> Scenario {
    parse(&network_text(lab, events))
}

fn network_text(lab: &str, events: &str) -> String {
    format!(
        r#"
[scenario]
name = "events"
[time]
start = 2026-01-05
horizon_days = 20
[products.red_cells]
shelf_life_days = 42
[[sites]]
kind = "collection"
name = "donor centre"
region = "north"
lab = "lab"
hub = "hub"
  [[sites.donations]]
  donation = "whole_blood"
  per_day = {{ type = "fixed", mean = 10 }}
[[sites]]
kind = "lab"
name = "lab"
{lab}
[[sites]]
kind = "hub"
name = "hub"
[[sites]]
kind = "hospital"
name = "hospital"
region = "north"
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
region = "south"
supplied_by = "import"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "fixed", mean = 5 }}
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
hours = 24
[[links]]
from = "import"
to = "far hospital"
hours = 24
[policy.replenishment.red_cells]
type = "order_up_to"
units = 40
[[initial_stock]]
site = "far hospital"
product = "red_cells"
units = 40
{events}
"#
    )
}

/// Runs one replication, checking every invariant on the way.
fn run(s: &Scenario) -> BySite {
    let mut checker = InvariantChecker::new(s);
    let mut by_site = BySite::default();
    Engine::new(s).run(
        3,
        0,
        &mut bloodsim::record::Both(&mut checker, &mut by_site),
    );
    assert_eq!(checker.periods_checked, s.calendar.periods);
    by_site
}

fn site(s: &Scenario, name: &str) -> usize {
    s.sites.iter().position(|x| x.name == name).unwrap()
}

fn series(per_period: &[Vec<u32>], site: usize) -> Vec<u32> {
    per_period.iter().map(|p| p[site]).collect()
}

#[test]
fn an_outage_of_the_only_lab_stops_releases_for_exactly_its_window() {
    let s = network(
        "",
        r#"
[[events]]
type = "lab_outage"
name = "lab fire"
start = 2026-01-10
days = 3
"#,
    );
    let r = run(&s);
    let released = series(&r.released, site(&s, "lab"));
    for (t, &units) in released.iter().enumerate() {
        match t {
            5..=7 => assert_eq!(units, 0, "day {t}: the lab is out"),
            // The three days' queue and this day's donations, all at once.
            8 => assert_eq!(units, 40, "day {t}: the queue is released"),
            _ => assert_eq!(units, 10, "day {t}: normal releases"),
        }
    }
}

#[test]
fn a_degraded_lab_processes_its_share_and_clears_the_queue_after() {
    let s = network(
        "capacity_per_day = 10",
        r#"
[[events]]
type = "lab_outage"
name = "half the analysers down"
start = 2026-01-10
days = 2
capacity_factor = 0.5
"#,
    );
    let released = series(&run(&s).released, site(&s, "lab"));
    assert_eq!(&released[4..10], &[10, 5, 5, 10, 10, 10]);
    assert_eq!(
        released.iter().sum::<u32>(),
        20 * 10 - 10,
        "10 donations still queue at the end"
    );
}

#[test]
fn a_closed_link_delivers_nothing_until_it_reopens() {
    let s = network(
        "",
        r#"
[[events]]
type = "transport_disruption"
name = "bridge down"
start = 2026-01-10
days = 3
from = "import"
to = "far hospital"
closed = true
"#,
    );
    let received = series(&run(&s).received, site(&s, "far hospital"));
    // The order of day 4, arriving on day 5, was already on the road. Orders of days 5-7
    // leave when the link reopens on day 8, with day 8's own, and arrive a day later.
    for (t, &units) in received.iter().enumerate() {
        match t {
            0 => assert_eq!(units, 0, "day 0: the initial stock is not a delivery"),
            6..=8 => assert_eq!(units, 0, "day {t}: nothing arrives"),
            9 => assert_eq!(units, 20, "day {t}: four days of orders arrive together"),
            _ => assert_eq!(units, 5, "day {t}"),
        }
    }
}

#[test]
fn a_slowed_link_adds_its_delay_to_units_leaving_in_the_window() {
    let s = network(
        "",
        r#"
[[events]]
type = "transport_disruption"
name = "roadworks"
start = 2026-01-10
days = 1
from = "import"
to = "far hospital"
extra_hours = 48
"#,
    );
    let received = series(&run(&s).received, site(&s, "far hospital"));
    // The order of day 5 takes three days instead of one.
    assert_eq!(&received[4..10], &[5, 5, 0, 5, 10, 5]);
}

#[test]
fn a_collection_change_scales_donations_in_its_window_only() {
    let s = network(
        "",
        r#"
[[events]]
type = "collection_change"
name = "flu deferrals"
start = 2026-01-10
days = 4
regions = ["north"]
factor = 0.3
"#,
    );
    let collected = series(&run(&s).collected, site(&s, "donor centre"));
    assert_eq!(&collected[3..11], &[10, 10, 3, 3, 3, 3, 10, 10]);
}

#[test]
fn a_donation_surge_peaks_after_its_lag_and_halves_each_half_life() {
    let s = network(
        "",
        r#"
[[events]]
type = "donation_surge"
name = "the public answers"
start = 2026-01-10
days = 4
peak = 5
lag_hours = 24
half_life_days = 1
"#,
    );
    let collected = series(&run(&s).collected, site(&s, "donor centre"));
    // 10 x (1, 5, 3, 2) on days 5-8: factors 1 + 4 x 0.5^k after the lag.
    assert_eq!(&collected[4..10], &[10, 10, 50, 30, 20, 10]);
}

#[test]
fn a_demand_change_scales_requests_at_its_hospitals_only() {
    let s = network(
        "",
        r#"
[[events]]
type = "demand_change"
name = "electives deferred"
start = 2026-01-12
hours = 48
sites = ["hospital"]
products = ["red_cells"]
factor = 0.5
"#,
    );
    let r = run(&s);
    let demanded = series(&r.demanded, site(&s, "hospital"));
    assert_eq!(&demanded[6..10], &[20, 10, 10, 20]);
    assert!(
        series(&r.demanded, site(&s, "far hospital"))
            .iter()
            .all(|&d| d == 5)
    );
}

#[test]
fn imports_arrive_as_fresh_stock_spread_over_their_window() {
    let s = network(
        "",
        r#"
[[events]]
type = "imports"
name = "mutual aid"
start = 2026-01-12
days = 3
site = "hub"
product = "red_cells"
units = 31
"#,
    );
    let quiet = run(&network("", ""));
    let r = run(&s);
    let hub = site(&s, "hub");
    let imported: Vec<u32> = series(&r.collected, hub);
    // Day 7 to 9, parts differing by at most one unit.
    assert_eq!(&imported[6..11], &[0, 10, 10, 11, 0]);
    assert_eq!(imported.iter().sum::<u32>(), 31);
    assert_eq!(
        series(&r.released, hub),
        imported,
        "imports count as released"
    );
    // Nothing else changes before they arrive.
    assert_eq!(r.on_hand[..7], quiet.on_hand[..7]);
}

#[test]
fn facility_damage_destroys_its_share_of_stock_at_its_sites_only() {
    let damage = |share: f64| {
        network(
            "",
            &format!(
                "[[events]]\ntype = \"facility_damage\"\nname = \"quake\"\nstart = 2026-01-10\ndays = 2\nsites = [\"far hospital\"]\nstock_destroyed_share = {share}\n"
            ),
        )
    };
    let (all, none) = (damage(1.0), damage(0.0));
    let (r, q) = (run(&all), run(&none));
    let far = site(&all, "far hospital");
    // Day 5: everything there is destroyed (after that day's arrivals, before its
    // demand): what the undamaged run held at the end of the day plus the 5 units it
    // issued that day. Nothing is left for that day's patients.
    assert_eq!(q.demanded[5][far], 5);
    assert_eq!(r.discarded[5][far], q.on_hand[5][far] + 5);
    assert!(r.discarded[5][far] > 5);
    assert_eq!(r.on_hand[5][far], 0);
    assert_eq!(
        series(&r.discarded, site(&all, "hub")),
        series(&q.discarded, site(&all, "hub"))
    );
    assert_eq!(
        r.discarded.iter().map(|d| d[far]).sum::<u32>(),
        r.discarded[5][far]
    );
}

#[test]
fn events_are_validated_with_located_messages() {
    let cases = [
        (
            "type = \"lab_outage\"\nname = \"x\"\nstart = 2026-01-10\ndays = 1\nsites = [\"hub\"]",
            "\"hub\" is a hub; this event affects a lab",
        ),
        (
            "type = \"collection_change\"\nname = \"x\"\nstart = 2026-01-10\nfactor = 1",
            "give exactly one of `days` or `hours`",
        ),
        (
            "type = \"collection_change\"\nname = \"x\"\nstart = 2027-01-10\ndays = 1\nfactor = 1",
            "falls wholly outside the simulated horizon",
        ),
        (
            "type = \"demand_change\"\nname = \"x\"\nstart = 2026-01-10\ndays = 1\nregions = [\"west\"]\nfactor = 1",
            "no hospital in region \"west\"",
        ),
        (
            "type = \"transport_disruption\"\nname = \"x\"\nstart = 2026-01-10\ndays = 1\nfrom = \"hub\"\nto = \"far hospital\"\nclosed = true",
            "no units travel from \"hub\" to \"far hospital\"",
        ),
        (
            "type = \"transport_disruption\"\nname = \"x\"\nstart = 2026-01-10\ndays = 1\nfrom = \"import\"\nto = \"far hospital\"",
            "give either `closed = true` or `extra_hours`",
        ),
        (
            "type = \"donation_surge\"\nname = \"x\"\nstart = 2026-01-10\ndays = 1\npeak = 2\nhalf_life_days = 0",
            "events[0].half_life_days",
        ),
    ];
    for (event, expected) in cases {
        let toml = network_text("", &format!("[[events]]\n{event}\n"));
        let err = bloodsim::scenario::parse(&toml, "events.toml")
            .expect_err(event)
            .to_string();
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
        assert!(err.contains("events.toml:"), "located: {err}");
    }
}
