//! How units leave a hub, checked exactly in small networks: a minimum remaining shelf life
//! keeps short-dated units back (FEFO above the floor); lateral transfers between hubs give
//! only surplus above the giving hub's own hospitals' levels and arrive after their transport
//! time; alert stages read the stock and products `[alert_scope]` names. And the units-per-day
//! demand form, checked statistically. Conservation is checked in every period.

use bloodsim::engine::Engine;
use bloodsim::metrics::TotalsRecorder;
use bloodsim::record::{Both, Flow, PeriodView, Recorder};
use bloodsim::scenario::Scenario;

use crate::support::{InvariantChecker, parse};

/// Per period, by site: each flow summed over products and groups.
#[derive(Default)]
struct Trace {
    shipped: Vec<Vec<u32>>,
    received: Vec<Vec<u32>>,
    expired: Vec<Vec<u32>>,
    in_transit: Vec<Vec<u32>>,
    on_hand: Vec<Vec<u32>>,
    demanded: Vec<Vec<u32>>,
    requests: Vec<Vec<u32>>,
}

impl Recorder for Trace {
    fn period(&mut self, v: &PeriodView<'_>) {
        let per_site = v.cells.products * v.cells.groups;
        let sum = |x: &[u32]| -> Vec<u32> { x.chunks(per_site).map(|c| c.iter().sum()).collect() };
        self.shipped.push(sum(&v.flows[Flow::Shipped]));
        self.received.push(sum(&v.flows[Flow::Received]));
        self.expired.push(sum(&v.flows[Flow::Expired]));
        self.in_transit.push(sum(v.in_transit));
        self.on_hand.push(sum(v.on_hand));
        self.demanded.push(sum(&v.flows[Flow::Demanded]));
        self.requests.push(sum(&v.flows[Flow::Requests]));
    }
}

/// A collection site that never collects and a lab, so that validation sees `hub` supplied
/// with `donation` (the tests' stock is all initial).
fn idle_supply(hub: &str, donation: &str) -> String {
    format!(
        r#"
[[sites]]
kind = "lab"
name = "{hub} lab"
[[sites]]
kind = "collection"
name = "{hub} donors"
lab = "{hub} lab"
hub = "{hub}"
  [[sites.donations]]
  donation = "{donation}"
  per_day = {{ type = "fixed", mean = 0 }}
[[links]]
from = "{hub} donors"
to = "{hub} lab"
hours = 0
[[links]]
from = "{hub} lab"
to = "{hub}"
hours = 0
"#
    )
}

fn run(s: &Scenario) -> Trace {
    let mut checker = InvariantChecker::new(s);
    let mut trace = Trace::default();
    let mut engine = Engine::new(s);
    engine.run(11, 0, &mut Both(&mut checker, &mut trace));
    assert_eq!(checker.periods_checked, s.calendar.periods);
    trace
}

fn site(s: &Scenario, name: &str) -> usize {
    s.sites.iter().position(|x| x.name == name).unwrap()
}

/// A hub holding 10 platelets with one day left and 10 with four, and a hospital with no
/// demand that orders up to 15 on day 0 with no lead time.
fn platelets(policy: &str) -> Scenario {
    parse(&format!(
        r#"
[scenario]
name = "floor"
[time]
start = 2026-01-05
horizon_days = 3
[products.platelets]
shelf_life_days = 5
[[sites]]
kind = "hub"
name = "hub"
[[sites]]
kind = "hospital"
name = "hospital"
supplied_by = "hub"
  [[sites.demand]]
  product = "platelets"
  units_per_day = {{ type = "fixed", mean = 0 }}
[[links]]
from = "hub"
to = "hospital"
hours = 0
[policy]
issuing = "fefo"
{policy}
[policy.replenishment.platelets]
type = "order_up_to"
units = 15
[[initial_stock]]
site = "hub"
product = "platelets"
units = 10
age_days = {{ min = 4, max = 4 }}
[[initial_stock]]
site = "hub"
product = "platelets"
units = 10
age_days = {{ min = 1, max = 1 }}
{supply}
"#,
        supply = idle_supply("hub", "apheresis_platelets")
    ))
}

#[test]
fn a_shelf_life_floor_keeps_short_dated_units_at_the_hub() {
    let plain = platelets("");
    let (hub, hospital) = (site(&plain, "hub"), site(&plain, "hospital"));
    let t = run(&plain);
    // Oldest first: the ten with a day left go out, and expire at the hospital next day.
    assert_eq!(t.shipped[0][hub], 15);
    assert_eq!(t.expired[1][hospital], 10);
    assert_eq!(t.expired[1][hub], 0);

    let floored = platelets("min_shelf_life_days = { platelets = 2 }");
    let t = run(&floored);
    // Only the ten with four days left may go; the short-dated ten expire at the hub.
    assert_eq!(t.shipped[0][hub], 10);
    assert_eq!(t.received[0][hospital], 10);
    assert_eq!(t.expired[1][hub], 10);
    assert_eq!(t.expired[1][hospital], 0);
    assert_eq!(t.on_hand[1][hospital], 10);
}

/// Hubs with one hospital each (no demand, ordering up to 10 daily with no lead time), in
/// the order given, each hub holding the units given.
fn hubs(stock: &[(&str, u32)], transfers: &str) -> Scenario {
    let mut text = format!(
        r#"
[scenario]
name = "transfers"
[time]
start = 2026-01-05
horizon_days = 5
[products.red_cells]
shelf_life_days = 35
[policy]
{transfers}
[policy.replenishment.red_cells]
type = "order_up_to"
units = 10
"#
    );
    for (name, units) in stock {
        text += &format!(
            r#"
[[sites]]
kind = "hub"
name = "{name} hub"
[[sites]]
kind = "hospital"
name = "{name} hospital"
supplied_by = "{name} hub"
  [[sites.demand]]
  product = "red_cells"
  units_per_day = {{ type = "fixed", mean = 0 }}
[[links]]
from = "{name} hub"
to = "{name} hospital"
hours = 0
[[initial_stock]]
site = "{name} hub"
product = "red_cells"
units = {units}
"#
        );
    }
    for (name, _) in stock {
        text += &idle_supply(&format!("{name} hub"), "whole_blood");
    }
    parse(&text)
}

const TRANSFERS: &str = "transfers = { products = [\"red_cells\"], hours = 48 }";

#[test]
fn without_transfers_a_hub_with_nothing_ships_nothing() {
    let s = hubs(&[("west", 0), ("east", 30)], "");
    let t = run(&s);
    let west = site(&s, "west hospital");
    assert!(t.received.iter().all(|r| r[west] == 0));
    assert_eq!(t.shipped[0][site(&s, "east hub")], 10);
}

#[test]
fn a_transfer_gives_only_surplus_and_arrives_after_its_transport_time() {
    let s = hubs(&[("west", 0), ("east", 15)], TRANSFERS);
    let (west, east) = (site(&s, "west hospital"), site(&s, "east hospital"));
    let east_hub = site(&s, "east hub");
    let t = run(&s);
    // The west hospital's order comes first, but the east hub keeps its own hospital's
    // level (10) back: 5 go west, arriving two days later; the east hospital gets its 10.
    assert_eq!(t.shipped[0][east_hub], 15);
    assert_eq!(t.in_transit[0][west], 5);
    assert_eq!(t.received[0][east], 10);
    assert_eq!(t.received[1][west], 0);
    assert_eq!(t.received[2][west], 5);
    // Nothing is left to give: the west hospital stays at 5.
    assert!(t.shipped[1..].iter().all(|x| x[east_hub] == 0));
    assert_eq!(t.on_hand[4][west], 5);
}

#[test]
fn the_hub_with_the_most_surplus_gives_first() {
    let s = hubs(&[("west", 0), ("east", 15), ("north", 30)], TRANSFERS);
    let t = run(&s);
    // Surpluses 5 (east) and 20 (north): north covers the whole order of 10.
    assert_eq!(t.shipped[0][site(&s, "north hub")], 10 + 10);
    assert_eq!(t.shipped[0][site(&s, "east hub")], 10);
    assert_eq!(t.in_transit[0][site(&s, "west hospital")], 10);
}

/// A hub and a hospital with red cells and platelets, 10 units a day of each; the hub holds
/// 20 of each, the hospital 40 (ordering up to 40 daily, no lead time).
fn staged(scope: &str) -> Scenario {
    parse(&format!(
        r#"
[scenario]
name = "stages"
[time]
start = 2026-01-05
horizon_days = 4
[products.red_cells]
shelf_life_days = 35
[products.platelets]
shelf_life_days = 5
[[sites]]
kind = "hub"
name = "hub"
[[sites]]
kind = "hospital"
name = "hospital"
supplied_by = "hub"
  [[sites.demand]]
  product = "red_cells"
  units_per_day = {{ type = "fixed", mean = 10 }}
  [[sites.demand]]
  product = "platelets"
  units_per_day = {{ type = "fixed", mean = 10 }}
[[links]]
from = "hub"
to = "hospital"
hours = 0
[policy.replenishment.red_cells]
type = "order_up_to"
units = 40
[policy.replenishment.platelets]
type = "order_up_to"
units = 40
[[initial_stock]]
site = "hub"
product = "red_cells"
units = 20
[[initial_stock]]
site = "hub"
product = "platelets"
units = 20
[[initial_stock]]
site = "hospital"
product = "red_cells"
units = 40
[[initial_stock]]
site = "hospital"
product = "platelets"
units = 40
[[alert_levels]]
name = "low"
below_days = 3
{scope}
{supply}
"#,
        supply = idle_supply("hub", "whole_blood")
            + &idle_supply("hub", "apheresis_platelets")
                .replace("hub lab", "hub platelet lab")
                .replace("hub donors", "hub platelet donors")
    ))
}

fn periods_low(s: &Scenario) -> Vec<u32> {
    let mut totals = TotalsRecorder::new(s);
    Engine::new(s).run(1, 0, &mut totals);
    let view = totals.totals().view();
    (0..s.products.len())
        .map(|p| view.periods_in_alert(p, None)[0])
        .collect()
}

#[test]
fn alert_stages_read_the_stock_and_products_their_scope_names() {
    // End of day 0..3: the hub holds 10, 0, 0, 0 units (1, 0, 0, 0 days); the network 50,
    // 40, 30, 20 (5, 4, 3, 2 days). Below 3 days: every day at the hub, one in the network.
    assert_eq!(periods_low(&staged("")), vec![1, 1]);
    let hubs = "[alert_scope]\nstock = \"hubs\"";
    assert_eq!(periods_low(&staged(hubs)), vec![4, 4]);
    let red_only = "[alert_scope]\nstock = \"hubs\"\nproducts = [\"red_cells\"]";
    assert_eq!(periods_low(&staged(red_only)), vec![4, 0]);
}

/// One hospital supplied from outside, with `units_per_day` demand over `days` days: the
/// daily totals.
fn daily_units(count: &str, days: u32) -> Vec<f64> {
    let s = parse(&format!(
        r#"
[scenario]
name = "units per day"
[time]
start = 2026-01-05
horizon_days = {days}
[products.red_cells]
shelf_life_days = 35
[[sites]]
kind = "supplier"
name = "supplier"
[[sites]]
kind = "hospital"
name = "hospital"
supplied_by = "supplier"
  [[sites.demand]]
  product = "red_cells"
  units_per_day = {count}
[[links]]
from = "supplier"
to = "hospital"
hours = 0
[policy.replenishment.red_cells]
type = "order_up_to"
units = 100
"#
    ));
    let h = site(&s, "hospital");
    let t = run(&s);
    for (d, r) in t.demanded.iter().zip(&t.requests) {
        assert_eq!(d[h], r[h], "one unit per request");
    }
    t.demanded.iter().map(|d| f64::from(d[h])).collect()
}

/// Sample mean and variance, and the standard errors of each (the variance's from the
/// sample's fourth central moment: Var(s^2) ~ (m4 - s^4) / n).
fn moments(x: &[f64]) -> (f64, f64, f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n;
    (mean, var, (var / n).sqrt(), ((m4 - var * var) / n).sqrt())
}

#[test]
fn units_per_day_draws_daily_totals_with_the_stated_mean_and_spread() {
    // Fixed seed; each check within 4 standard errors (a false alarm below 1e-4 per check).
    let nb = daily_units(
        "{ type = \"negative_binomial\", mean = 6, dispersion = 3 }",
        3000,
    );
    let (mean, var, se_mean, se_var) = moments(&nb);
    assert!(
        (mean - 6.0).abs() < 4.0 * se_mean,
        "mean {mean} ± {se_mean}"
    );
    // Negative binomial: variance = mean + mean^2 / dispersion = 18.
    assert!(
        (var - 18.0).abs() < 4.0 * se_var,
        "variance {var} ± {se_var}"
    );

    let gamma = daily_units("{ type = \"gamma\", mean = 6, cv = 0.5 }", 3000);
    let (mean, var, se_mean, se_var) = moments(&gamma);
    assert!(
        (mean - 6.0).abs() < 4.0 * se_mean,
        "mean {mean} ± {se_mean}"
    );
    // Rounded gamma: (cv mean)^2 = 9, plus the stochastic rounding's frac(1 - frac), 1/6 on
    // average for a continuous draw.
    let expected = 9.0 + 1.0 / 6.0;
    assert!(
        (var - expected).abs() < 4.0 * se_var,
        "variance {var} ± {se_var}"
    );
}
