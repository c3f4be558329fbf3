//! Shared helpers: scenario builders and a recorder that checks the model's invariants.

use bloodsim::network::Role;
use bloodsim::record::{Flow, Issue, PeriodView, Recorder};
use bloodsim::responses::Action;
use bloodsim::scenario::{self, Scenario};

pub fn parse(text: &str) -> Scenario {
    match scenario::parse(text, "test.toml") {
        Ok(s) => s,
        Err(e) => panic!("test scenario did not validate:\n{e}\n{text}"),
    }
}

/// One hospital supplied by an unlimited supplier, one ungrouped product, Poisson demand of
/// one unit per request, order-up-to `level`.
pub struct Textbook {
    pub demand_per_period: f64,
    pub level: u32,
    pub shelf_life_days: u32,
    pub lead_periods: u32,
    pub review: &'static str,
    pub unmet: &'static str,
    pub days: u32,
    pub warm_up_days: u32,
}

impl Textbook {
    pub fn toml(&self) -> String {
        format!(
            r#"
[scenario]
name = "textbook"
[time]
start = 2026-01-05
horizon_days = {days}
warm_up_days = {warm}
[products.red_cells]
shelf_life_days = {shelf}
[[sites]]
kind = "supplier"
name = "supplier"
[[sites]]
kind = "hospital"
name = "hospital"
supplied_by = "supplier"
  [[sites.demand]]
  product = "red_cells"
  requests_per_day = {{ type = "poisson", mean = {lambda} }}
[[links]]
from = "supplier"
to = "hospital"
hours = {hours}
[policy]
unmet_demand = "{unmet}"
[policy.replenishment.red_cells]
type = "order_up_to"
units = {level}
review = "{review}"
[[initial_stock]]
site = "hospital"
product = "red_cells"
units = {level}
"#,
            days = self.days,
            warm = self.warm_up_days,
            shelf = self.shelf_life_days,
            lambda = self.demand_per_period,
            hours = self.lead_periods * 24,
            unmet = self.unmet,
            level = self.level,
            review = self.review,
        )
    }
}

/// Checks, every period, that units are conserved at every site and in the network, and,
/// at every issue, that units are unexpired and compatible.
pub struct InvariantChecker<'s> {
    scenario: &'s Scenario,
    /// Cumulative per cell: initial + collected + received - issued - shipped - expired - discarded.
    balance: Vec<i64>,
    /// Cumulative initial + collected, and issued + expired + discarded, over the network.
    sources: i64,
    sinks: i64,
    pub periods_checked: u32,
    pub issues_checked: u64,
    /// Units issued, as reported issue by issue.
    pub units_issued: u64,
    /// Units issued, as the period flows count them: equal to `units_issued` when every
    /// issue was reported (and checked).
    pub units_issued_in_flows: u64,
    /// Products some response may switch to RhD-positive (RhD-positive units to RhD-negative
    /// patients are allowed only for them).
    rhd_switch: Vec<bool>,
}

impl<'s> InvariantChecker<'s> {
    /// Asserts that every period was checked and every issued unit went through the
    /// per-issue checks (some were, if anything was issued).
    pub fn assert_complete(&self) {
        assert_eq!(self.periods_checked, self.scenario.calendar.periods);
        assert_eq!(
            self.units_issued, self.units_issued_in_flows,
            "issues reported to the checker vs units issued in the flows"
        );
        assert_eq!(self.issues_checked > 0, self.units_issued > 0);
    }

    pub fn new(scenario: &'s Scenario) -> Self {
        InvariantChecker {
            scenario,
            balance: vec![0; scenario.cells().len()],
            sources: 0,
            sinks: 0,
            periods_checked: 0,
            issues_checked: 0,
            units_issued: 0,
            units_issued_in_flows: 0,
            rhd_switch: (0..scenario.products.len())
                .map(|p| {
                    scenario.responses.iter().any(|r| {
                        matches!(&r.action, Action::SwitchToRhdPositive { products, .. } if products.contains(&p))
                    })
                })
                .collect(),
        }
    }
}

impl Recorder for InvariantChecker<'_> {
    fn period(&mut self, v: &PeriodView<'_>) {
        let f = v.flows;
        for c in 0..v.cells.len() {
            let inflow = i64::from(f.initial[c])
                + i64::from(f[Flow::Collected][c])
                + i64::from(f[Flow::Received][c]);
            let outflow = i64::from(f[Flow::Issued][c])
                + i64::from(f[Flow::Shipped][c])
                + i64::from(f[Flow::Expired][c])
                + i64::from(f[Flow::Discarded][c]);
            self.balance[c] += inflow - outflow;
            let held = i64::from(v.on_hand[c]) + i64::from(v.in_testing[c]);
            let (site, _, _) = v.cells.split(c);
            let name = &self.scenario.sites[site].name;
            assert_eq!(
                self.balance[c], held,
                "period {}: units not conserved at {name} (cell {c})",
                v.period
            );
            if !self.scenario.sites[site].role.holds_stock() {
                assert_eq!(v.on_hand[c], 0, "stock at a site that holds none: {name}");
            }
            if !matches!(self.scenario.sites[site].role, Role::Lab(_)) {
                assert_eq!(v.in_testing[c], 0, "testing outside a lab: {name}");
            }
            self.units_issued_in_flows += u64::from(f[Flow::Issued][c]);
            self.sources += i64::from(f.initial[c]) + i64::from(f[Flow::Collected][c]);
            self.sinks += i64::from(f[Flow::Issued][c])
                + i64::from(f[Flow::Expired][c])
                + i64::from(f[Flow::Discarded][c]);
            assert!(
                f[Flow::RequestsShort][c] <= f[Flow::Requests][c],
                "more short requests than requests"
            );
            assert!(
                f[Flow::Unmet][c] <= f[Flow::Demanded][c],
                "more unmet than demanded"
            );
        }
        // Units issued by donor group equal units received by recipient groups, per site and product.
        for start in (0..v.cells.len()).step_by(v.cells.groups) {
            let by_donor: u32 = f[Flow::Issued][start..start + v.cells.groups].iter().sum();
            let by_recipient: u32 = (start..start + v.cells.groups)
                .map(|c| f[Flow::IssuedExact][c] + f[Flow::IssuedSubstituted][c])
                .sum();
            assert_eq!(
                by_donor, by_recipient,
                "period {}: issued units by donor and recipient differ",
                v.period
            );
        }
        // Network: everything that entered is issued, gone, held, or on the road.
        let in_transit: i64 = v.in_transit.iter().map(|&x| i64::from(x)).sum();
        let held: i64 = v
            .on_hand
            .iter()
            .chain(v.in_testing)
            .map(|&x| i64::from(x))
            .sum();
        assert_eq!(
            self.sources,
            self.sinks + held + in_transit,
            "period {}: network not conserved",
            v.period
        );
        self.periods_checked += 1;
    }

    fn issue(&mut self, i: Issue) {
        let spec = &self.scenario.products[i.product];
        assert!(
            i.expiry > i.period,
            "unit issued at period {} after its expiry {}",
            i.period,
            i.expiry
        );
        assert!(
            i.expiry <= i.period + spec.shelf_life,
            "unit from the future"
        );
        // RhD-positive red cells to an RhD-negative patient: only under a switch response.
        let switched =
            spec.rhd_switch[i.recipient].contains(&i.donor) && self.rhd_switch[i.product];
        assert!(
            spec.product
                .compatible(self.scenario.groups, i.donor, i.recipient)
                || switched,
            "incompatible issue {i:?}"
        );
        assert!(
            spec.preference[i.recipient].contains(&i.donor) || switched,
            "substitution not allowed by policy: {i:?}"
        );
        assert!(
            matches!(self.scenario.sites[i.site].role, Role::Hospital(_)),
            "issue outside a hospital"
        );
        self.issues_checked += 1;
        self.units_issued += u64::from(i.units);
    }
}
