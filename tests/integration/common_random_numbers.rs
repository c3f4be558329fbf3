//! Common random numbers survive a change: two variants that differ in one place share
//! every other draw, so their difference is the effect, not noise.

use bloodsim::engine::Engine;
use bloodsim::record::{Flow, PeriodView, Recorder};
use bloodsim::scenario::Scenario;

use crate::support::parse;

/// Per period: units collected at each collection site and units demanded at each hospital.
#[derive(Default)]
struct Draws {
    collected: Vec<Vec<u32>>,
    demanded: Vec<Vec<u32>>,
}

impl Recorder for Draws {
    fn period(&mut self, v: &PeriodView<'_>) {
        let per_site = v.cells.products * v.cells.groups;
        let by_site = |values: &[u32]| -> Vec<u32> {
            values.chunks(per_site).map(|c| c.iter().sum()).collect()
        };
        self.collected.push(by_site(&v.flows[Flow::Collected]));
        self.demanded.push(by_site(&v.flows[Flow::Demanded]));
    }
}

fn draws(s: &Scenario, replication: u64) -> Draws {
    let mut d = Draws::default();
    Engine::new(s).run(7, replication, &mut d);
    d
}

fn site(s: &Scenario, name: &str) -> usize {
    s.sites.iter().position(|x| x.name == name).unwrap()
}

/// Two collection sites and two hospitals with grouped, variable-size demand (so the number
/// of draws a period uses varies with the rates), and a hub in between.
fn network(north_demand: f64, extra: &str) -> Scenario {
    parse(&format!(
        r#"
[scenario]
name = "crn"
[time]
start = 2026-01-05
horizon_days = 60
[blood_groups]
system = "abo_rhd"
donor_frequencies = {{ "O+" = 0.38, "A+" = 0.34, "B+" = 0.09, "AB+" = 0.03, "O-" = 0.07, "A-" = 0.06, "B-" = 0.02, "AB-" = 0.01 }}
[products.red_cells]
shelf_life_days = 42
[[sites]]
kind = "lab"
name = "lab"
processing_hours = 24
discard_fraction = 0.02
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
  per_day = {{ type = "negative_binomial", mean = 60, dispersion = 20 }}
[[sites]]
kind = "collection"
name = "west"
lab = "lab"
hub = "hub"
  [[sites.donations]]
  donation = "whole_blood"
  per_day = {{ type = "poisson", mean = 45 }}
[[sites]]
kind = "hospital"
name = "north"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "poisson", mean = {north_demand} }}
  units_per_request = {{ type = "poisson", mean = 2.2 }}
[[sites]]
kind = "hospital"
name = "south"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "negative_binomial", mean = 25, dispersion = 8 }}
  units_per_request = {{ type = "poisson", mean = 1.8 }}
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
{extra}
"#
    ))
}

#[test]
fn one_hospitals_demand_leaves_every_other_draw_alone() {
    let (a, b) = (network(20.0, ""), network(35.0, ""));
    let (north, south) = (site(&a, "north"), site(&a, "south"));
    for replication in 0..3 {
        let (da, db) = (draws(&a, replication), draws(&b, replication));
        assert_eq!(
            da.collected, db.collected,
            "donations everywhere are shared"
        );
        let at = |d: &Draws, s: usize| d.demanded.iter().map(|p| p[s]).collect::<Vec<_>>();
        assert_eq!(
            at(&da, south),
            at(&db, south),
            "the other hospital's demand is shared"
        );
        assert_ne!(
            at(&da, north),
            at(&db, north),
            "the changed hospital's demand differs"
        );
    }
}

#[test]
fn draws_line_up_again_after_a_change_ends() {
    // Demand doubled and collections halved for three days: afterwards, every draw of the
    // replication is the same as without the change (per-period stream keying), although
    // the window used a different number of random words.
    let holiday = r#"
[[calendar.holidays]]
name = "a three-day change"
start = 2026-01-20
days = 3
collection_factor = 0.5
demand_factor = 2.0
"#;
    let (a, b) = (network(20.0, ""), network(20.0, holiday));
    let window = 15..18;
    for replication in 0..3 {
        let (da, db) = (draws(&a, replication), draws(&b, replication));
        for t in 0..da.demanded.len() {
            let same = (
                da.collected[t] == db.collected[t],
                da.demanded[t] == db.demanded[t],
            );
            if window.contains(&t) {
                assert_eq!(same, (false, false), "period {t} is changed");
            } else {
                assert_eq!(same, (true, true), "period {t} draws as without the change");
            }
        }
    }
}
