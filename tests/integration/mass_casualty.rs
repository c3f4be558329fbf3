//! Mass-casualty incidents: exact units and timing where the incident is deterministic,
//! emergency release to group O, the time profile against its exponential law, and
//! conservation throughout.

use bloodsim::engine::Engine;
use bloodsim::record::{Both, Flow, PeriodView, Recorder};
use bloodsim::scenario::Scenario;

use crate::support::{InvariantChecker, parse};

/// Per period, units demanded and requests by cell.
#[derive(Default)]
struct Demanded {
    units: Vec<Vec<u32>>,
    requests: Vec<Vec<u32>>,
}

impl Recorder for Demanded {
    fn period(&mut self, v: &PeriodView<'_>) {
        self.units.push(v.flows[Flow::Demanded].to_vec());
        self.requests.push(v.flows[Flow::Requests].to_vec());
    }
}

/// Two hospitals (a trauma centre and a community hospital) supplied by one hub with
/// ample stock; the incident is given by `mci` (the lines after `type`).
fn scenario(mci: &str) -> Scenario {
    parse(&format!(
        r#"
[scenario]
name = "mci"
[time]
start = 2026-03-02
horizon_days = 10
[blood_groups]
system = "abo_rhd"
donor_frequencies = {{ "O+" = 0.38, "A+" = 0.34, "B+" = 0.09, "AB+" = 0.03, "O-" = 0.07, "A-" = 0.06, "B-" = 0.02, "AB-" = 0.01 }}
[products.red_cells]
shelf_life_days = 42
[products.plasma]
shelf_life_days = 365
[products.platelets]
shelf_life_days = 5
[[sites]]
kind = "supplier"
name = "hub"
[[sites]]
kind = "hospital"
name = "trauma centre"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "poisson", mean = 8 }}
[[sites]]
kind = "hospital"
name = "community"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "poisson", mean = 3 }}
[[links]]
from = "hub"
to = "trauma centre"
hours = 2
[[links]]
from = "hub"
to = "community"
hours = 2
[policy.replenishment.red_cells]
type = "order_up_to"
units = 200
[policy.replenishment.plasma]
type = "order_up_to"
units = 100
[policy.replenishment.platelets]
type = "order_up_to"
units = 50
[[events]]
type = "mass_casualty"
name = "incident"
{mci}
"#
    ))
}

fn run(s: &Scenario, replication: u64) -> Demanded {
    let mut checker = InvariantChecker::new(s);
    let mut demanded = Demanded::default();
    Engine::new(s).run(11, replication, &mut Both(&mut checker, &mut demanded));
    assert_eq!(checker.periods_checked, s.calendar.periods);
    demanded
}

/// Units demanded at `site` (all products and groups) in each period.
fn at_site(s: &Scenario, d: &[Vec<u32>], site: &str) -> Vec<u32> {
    let i = s.sites.iter().position(|x| x.name == site).unwrap();
    let per_site = s.cells().products * s.cells().groups;
    d.iter()
        .map(|p| p[i * per_site..(i + 1) * per_site].iter().sum())
        .collect()
}

/// Everyone admitted and transfused, three red-cell units each, all within minutes.
const CERTAIN: &str = r#"start = 2026-03-05T21:00:00
hours = 24
sites = ["trauma centre"]
casualties = 40
admitted_share = 1.0
transfused_share = 1.0
units_per_patient = { type = "fixed", units = 3 }
half_life_hours = 0.01"#;

#[test]
fn an_incidents_units_are_its_patients_units_on_its_day_at_its_hospital_only() {
    let with = scenario(CERTAIN);
    let quiet = scenario(&CERTAIN.replace("casualties = 40", "casualties = 0"));
    for replication in 0..3 {
        let (a, b) = (run(&with, replication), run(&quiet, replication));
        let (ta, tb) = (
            at_site(&with, &a.units, "trauma centre"),
            at_site(&quiet, &b.units, "trauma centre"),
        );
        // Routine demand draws are shared (common random numbers): the difference is the
        // incident, 40 patients x 3 units, all on day 3 (the incident's day, 21:00).
        let extra: Vec<i64> = ta
            .iter()
            .zip(&tb)
            .map(|(x, y)| i64::from(*x) - i64::from(*y))
            .collect();
        let mut expected = vec![0i64; 10];
        expected[3] = 120;
        assert_eq!(extra, expected);
        assert_eq!(
            at_site(&with, &a.units, "community"),
            at_site(&quiet, &b.units, "community")
        );
        let requests = |d: &Demanded| -> u32 { d.requests.iter().flatten().sum() };
        assert_eq!(requests(&a) - requests(&b), 40, "one request per patient");
    }
}

#[test]
fn products_follow_the_ratio_and_emergency_release_gives_group_o_first() {
    let s = scenario(&format!(
        "{}\nproduct_ratio = {{ red_cells = 1, plasma = 0.5, platelets = 1 }}\nemergency_release = {{ share = 1, o_negative_share = 1, units = 2 }}",
        CERTAIN.replace(
            "{ type = \"fixed\", units = 3 }",
            "{ type = \"fixed\", units = 4 }"
        )
    ));
    let quiet = scenario(&CERTAIN.replace("casualties = 40", "casualties = 0"));
    let cells = s.cells();
    let trauma = s
        .sites
        .iter()
        .position(|x| x.name == "trauma centre")
        .unwrap();
    let product = |name: &str| {
        s.products
            .iter()
            .position(|p| p.product.name() == name)
            .unwrap()
    };
    let o_neg = s.groups.index_of("O-").unwrap();
    let (a, b) = (run(&s, 0), run(&quiet, 0));
    let day3 = |d: &Demanded, p: usize, g: usize| d.units[3][cells.index(trauma, p, g)];
    let red = product("red_cells");
    let by_group = |p: usize| -> Vec<u32> {
        (0..cells.groups)
            .map(|g| day3(&a, p, g) - if p == red { day3(&b, p, g) } else { 0 })
            .collect()
    };
    let red_extra = by_group(red);
    // Every patient's first 2 red cells are O-negative, the other 2 their own group.
    assert_eq!(red_extra.iter().sum::<u32>(), 160);
    // O-negative: 2 per patient, plus 2 more per O-negative patient; other groups: 2 per
    // patient of that group.
    assert!(red_extra[o_neg] >= 80, "{red_extra:?}");
    assert!(red_extra.iter().all(|u| u % 2 == 0), "{red_extra:?}");
    // Platelets 1:1 exactly; plasma 0.5 per unit is 2 per patient exactly.
    assert_eq!(by_group(product("platelets")).iter().sum::<u32>(), 160);
    assert_eq!(by_group(product("plasma")).iter().sum::<u32>(), 80);
}

#[test]
fn patients_and_timing_follow_their_laws() {
    // 200 casualties, 50% admitted, 40% of those transfused: 40 patients expected, variance
    // 200 x 0.2 x 0.8 = 32. Transfusion delay: half-life 24 h from 00:00 on day 3, so a
    // patient falls on day 3 with probability 1/2, day 4 with 1/4, and day 5 (the window's
    // last, which takes the tail) with 1/4.
    let s = scenario(
        "start = 2026-03-05\ndays = 3\nsites = [\"trauma centre\", \"community\"]\nshares = [0.75, 0.25]\ncasualties = 200\nadmitted_share = 0.5\ntransfused_share = 0.4\nunits_per_patient = { type = \"fixed\", units = 1 }\nhalf_life_hours = 24",
    );
    let quiet = scenario(
        "start = 2026-03-05\ndays = 3\ncasualties = 0\nadmitted_share = 0.5\ntransfused_share = 0.4\nunits_per_patient = { type = \"fixed\", units = 1 }\nhalf_life_hours = 24",
    );
    let n = 200u64;
    let (mut patients, mut by_day, mut trauma) = (Vec::new(), [0u64; 3], 0u64);
    for replication in 0..n {
        let (a, b) = (run(&s, replication), run(&quiet, replication));
        let extra = |site: &str| -> Vec<u64> {
            let (x, y) = (at_site(&s, &a.units, site), at_site(&quiet, &b.units, site));
            x.iter().zip(&y).map(|(x, y)| u64::from(x - y)).collect()
        };
        let (t, c) = (extra("trauma centre"), extra("community"));
        let total: u64 = t.iter().chain(&c).sum();
        patients.push(total as f64);
        for d in 0..3 {
            by_day[d] += t[3 + d] + c[3 + d];
        }
        trauma += t.iter().sum::<u64>();
        assert_eq!(
            t[..3].iter().chain(&t[6..]).sum::<u64>(),
            0,
            "only in the window"
        );
    }
    let mean = patients.iter().sum::<f64>() / n as f64;
    // Mean patients: 40, standard error sqrt(32 / 200) = 0.4; 4 standard errors.
    assert!(
        (mean - 40.0).abs() < 4.0 * (32.0f64 / n as f64).sqrt(),
        "mean {mean}"
    );
    let all: u64 = by_day.iter().sum();
    // Shares by day and by hospital: binomial proportions over `all` patients, within 4
    // standard errors of their exact values.
    let close = |count: u64, p: f64| {
        let se = (p * (1.0 - p) / all as f64).sqrt();
        (count as f64 / all as f64 - p).abs() < 4.0 * se
    };
    assert!(
        close(by_day[0], 0.5) && close(by_day[1], 0.25) && close(by_day[2], 0.25),
        "{by_day:?}"
    );
    assert!(close(trauma, 0.75), "trauma centre share {trauma} of {all}");
}

#[test]
fn incidents_are_validated_with_located_messages() {
    let base = "start = 2026-03-05\nhours = 6\ncasualties = 10\nadmitted_share = 0.5\ntransfused_share = 0.4\nunits_per_patient = { type = \"fixed\", units = 1 }\nhalf_life_hours = 2";
    let cases = [
        (
            base.replace("admitted_share = 0.5", "admitted_share = 1.5"),
            "events[0].admitted_share",
        ),
        (
            format!("{base}\nsites = [\"hub\"]"),
            "\"hub\" is a supplier; this event affects a hospital",
        ),
        (
            format!("{base}\nsites = [\"community\"]\nshares = [0.5, 0.5]"),
            "give one share per hospital",
        ),
        (
            format!("{base}\nproduct_ratio = {{ whole_blood = 1 }}"),
            "\"whole_blood\" is not simulated",
        ),
        (
            base.replace("casualties = 10", "casualties = 1e9"),
            "events[0].casualties",
        ),
        (
            format!("{base}\nemergency_release = {{ share = 1, o_negative_share = 2 }}"),
            "emergency_release.o_negative_share",
        ),
    ];
    for (event, expected) in cases {
        let text = format!(
            "[scenario]\nname = \"x\"\n[time]\nstart = 2026-03-02\nhorizon_days = 10\n[blood_groups]\nsystem = \"abo_rhd\"\ndonor_frequencies = {{ \"O+\" = 0.38, \"A+\" = 0.34, \"B+\" = 0.09, \"AB+\" = 0.03, \"O-\" = 0.07, \"A-\" = 0.06, \"B-\" = 0.02, \"AB-\" = 0.01 }}\n[products.red_cells]\nshelf_life_days = 42\n[[sites]]\nkind = \"supplier\"\nname = \"hub\"\n[[sites]]\nkind = \"hospital\"\nname = \"community\"\nsupplied_by = \"hub\"\n  [[sites.demand]]\n  product = \"red_cells\"\n  requests_per_day = {{ type = \"poisson\", mean = 3 }}\n[[links]]\nfrom = \"hub\"\nto = \"community\"\nhours = 2\n[policy.replenishment.red_cells]\ntype = \"order_up_to\"\nunits = 20\n[[events]]\ntype = \"mass_casualty\"\nname = \"x\"\n{event}\n"
        );
        let err = bloodsim::scenario::parse(&text, "mci.toml")
            .expect_err(&event)
            .to_string();
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
        assert!(err.contains("mci.toml:"), "located: {err}");
    }
}
