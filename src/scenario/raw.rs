//! The scenario file as written: serde types mirroring the TOML, with no checks beyond types.
//!
//! Every field is documented here, since this is the format planners write. Validation into
//! domain types happens in [`super::validate`]; nothing outside the `scenario` module sees
//! these types. Every magnitude is bounded (see [`super::limits`]); the limits are noted
//! here as "at most".

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::value::Datetime;

use crate::blood::Product;
use crate::policy::{Allocation, Issuing, ReviewTiming, UnmetDemand};

/// A whole scenario file.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Name, description and assumptions, shown in reports.
    pub scenario: RawMeta,
    /// Calendar, horizon, period length, seed and replications.
    pub time: RawTime,
    /// Which blood groups exist and how common they are among donors and patients.
    #[serde(default)]
    pub blood_groups: RawGroups,
    /// Products stocked, keyed by product name.
    pub products: RawProducts,
    /// Units of each product obtained from one donation of each kind.
    #[serde(default)]
    pub yields: RawYields,
    /// Collection sites, labs, hubs, hospitals and outside suppliers.
    pub sites: Vec<RawSite>,
    /// Transport times between sites.
    #[serde(default)]
    pub links: Vec<RawLink>,
    /// Issuing, substitution, replenishment and allocation rules.
    #[serde(default)]
    pub policy: RawPolicy,
    /// Seasonal and holiday multipliers.
    #[serde(default)]
    pub calendar: RawCalendar,
    /// Optional unit costs per product.
    #[serde(default)]
    pub costs: RawCostTable,
    /// Stock on hand at the start, with its age.
    #[serde(default)]
    pub initial_stock: Vec<RawInitialStock>,
    /// Alert bands by days of supply (e.g. Korea's five stages).
    #[serde(default)]
    pub alert_levels: Vec<RawAlertLevel>,
    /// Whose stock and which products the alert stages read (default: the network's, all).
    #[serde(default)]
    pub alert_scope: RawAlertScope,
    /// Emergency events: collection drops and surges, demand changes, lab outages,
    /// transport disruptions.
    #[serde(default)]
    pub events: Vec<RawEvent>,
    /// Collection planned to hold a target stock (a managed service).
    pub collection_management: Option<RawCollectionManagement>,
    /// The service's actions when stock falls below a threshold.
    #[serde(default)]
    pub responses: Vec<RawResponse>,
}

/// `[collection_management]`: each review, the collection factor is multiplied by
/// `1 + reaction x (target_days - days) / target_days`, within `[min_factor, max_factor]`,
/// in force `delay_days` later.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCollectionManagement {
    #[serde(default = "red_cells")]
    pub product: Product,
    pub target_days: f64,
    pub reaction: f64,
    #[serde(default = "seven")]
    pub review_days: f64,
    #[serde(default)]
    pub delay_days: f64,
    #[serde(default = "half")]
    pub min_factor: f64,
    #[serde(default = "one_and_a_half")]
    pub max_factor: f64,
}

fn red_cells() -> Product {
    Product::RedCells
}
fn seven() -> f64 {
    7.0
}
fn half() -> f64 {
    0.5
}
fn one_and_a_half() -> f64 {
    1.5
}

/// `[[responses]]`: when `when` holds at the end of a period, `action` starts `delay_days`
/// later and lasts `duration_days`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawResponse {
    pub name: String,
    pub when: RawTrigger,
    pub action: RawAction,
    #[serde(default)]
    pub delay_days: f64,
    pub duration_days: f64,
}

/// Days of supply of `product` (of one `group`, or all) at one `site` (a hub or hospital)
/// or across the network, below `below_days`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrigger {
    pub product: Product,
    pub group: Option<String>,
    pub site: Option<String>,
    pub below_days: f64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawAction {
    /// Donations everywhere multiplied by `factor`.
    DonorAppeal { factor: f64 },
    /// Patient requests for `products` (default: the trigger's) multiplied by `factor`.
    DeferElectives {
        factor: f64,
        #[serde(default)]
        products: Vec<Product>,
    },
    /// Suppliers grant at most `share` of each hospital order for `products` (default: the
    /// trigger's).
    RationOrders {
        share: f64,
        #[serde(default)]
        products: Vec<Product>,
    },
    /// RhD-negative patients short of RhD-negative red cells get RhD-positive ones for
    /// `share` of their missing units; `products` (default: the trigger's) must be red cells
    /// or whole blood.
    SwitchToRhdPositive {
        share: f64,
        #[serde(default)]
        products: Vec<Product>,
    },
    /// `units` of `product` (default: the trigger's) arriving at `site` over the duration.
    RequestImports {
        site: String,
        product: Option<Product>,
        units: RawUnits,
    },
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Assumptions a reader of the results should know, one sentence each.
    #[serde(default)]
    pub assumptions: Vec<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTime {
    /// First simulated day (a TOML date, e.g. `2026-01-01`), so weekdays and holidays are real.
    #[schemars(with = "String")]
    pub start: Datetime,
    /// Simulated days, warm-up included (at most 36,500).
    pub horizon_days: f64,
    /// Days at the start excluded from metrics, while stock settles.
    #[serde(default)]
    pub warm_up_days: f64,
    /// Length of one period in hours: 1, 2, 3, 4, 6, 8, 12 or 24 (default 24).
    #[serde(default = "default_period_hours")]
    pub period_hours: u32,
    /// Default seed (the command line may override it).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Default number of replications (1 to 10,000,000).
    #[serde(default = "default_replications")]
    pub replications: u64,
}

fn default_period_hours() -> u32 {
    24
}
fn default_seed() -> u64 {
    1
}
fn default_replications() -> u64 {
    1000
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroups {
    /// `abo_rhd` (eight groups) or `single` (one ungrouped product; the default).
    #[serde(default)]
    pub system: RawGroupSystem,
    /// Share of donations by group, e.g. `{ "O+" = 0.2775, ... }`; must sum to 1.
    #[serde(default)]
    pub donor_frequencies: BTreeMap<String, f64>,
    /// Default share of patient demand by group (defaults to the donor frequencies).
    #[serde(default)]
    pub demand_frequencies: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawGroupSystem {
    AboRhd,
    #[default]
    Single,
}

/// A table keyed by product name (`red_cells`, `platelets`, `plasma`, `whole_blood`); an
/// unknown key is an error naming the four allowed.
#[derive(Debug, Deserialize, Clone, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerProduct<T> {
    pub red_cells: Option<T>,
    pub platelets: Option<T>,
    pub plasma: Option<T>,
    pub whole_blood: Option<T>,
}

impl<T> Default for PerProduct<T> {
    fn default() -> Self {
        PerProduct {
            red_cells: None,
            platelets: None,
            plasma: None,
            whole_blood: None,
        }
    }
}

impl<T> PerProduct<T> {
    pub fn get(&self, product: Product) -> Option<&T> {
        match product {
            Product::RedCells => self.red_cells.as_ref(),
            Product::Platelets => self.platelets.as_ref(),
            Product::Plasma => self.plasma.as_ref(),
            Product::WholeBlood => self.whole_blood.as_ref(),
        }
    }

    /// The entries given, in product order.
    pub fn entries(&self) -> impl Iterator<Item = (Product, &T)> {
        Product::ALL
            .into_iter()
            .filter_map(|p| self.get(p).map(|v| (p, v)))
    }
}

/// Products simulated; a product not listed is not simulated.
pub type RawProducts = PerProduct<RawProduct>;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProduct {
    /// Days from collection to expiry; a unit can be issued up to the end of the last period
    /// before collection time + shelf life. At most 3,650.
    pub shelf_life_days: f64,
    /// `compatible` (issue compatible groups in preference order when the exact group is out;
    /// default) or `none`.
    #[serde(default)]
    pub substitution: RawSubstitution,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawSubstitution {
    #[default]
    Compatible,
    None,
}

/// Yields per donation kind. Omitted kinds take defaults for the products the scenario has:
/// whole blood -> 1 red cell unit, 1 plasma unit, 0.25 platelet units (one pool per four
/// buffy coats); apheresis platelets -> 1 platelet unit; apheresis plasma -> 1 plasma unit.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawYields {
    pub whole_blood: Option<RawYield>,
    pub apheresis_platelets: Option<RawYield>,
    pub apheresis_plasma: Option<RawYield>,
}

/// Expected units of each product per donation; a fractional part carries over to the
/// next period's lot (so 0.25 platelets means one pool per four donations).
pub type RawYield = PerProduct<f64>;

/// A site; `kind` says which.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawSite {
    /// A fixed donor centre or a mobile drive.
    Collection {
        name: String,
        #[serde(default)]
        region: String,
        /// Lab that tests and processes this site's donations.
        lab: String,
        /// Hub whose stock receives the released units.
        hub: String,
        /// Donation streams (whole blood, apheresis).
        donations: Vec<RawDonation>,
        /// Days the site collects; default every day.
        #[serde(default)]
        schedule: Option<RawSchedule>,
    },
    /// A testing and processing lab.
    Lab {
        name: String,
        #[serde(default)]
        region: String,
        /// Donations it can start processing per day (at most 10^6); omit for unlimited.
        capacity_per_day: Option<f64>,
        /// Hours from the start of processing to release (at most 2,000).
        #[serde(default)]
        processing_hours: f64,
        /// Share of units discarded at testing (reactive, failed, damaged), 0 <= x < 1.
        #[serde(default)]
        discard_fraction: f64,
    },
    /// A blood centre or distribution hub holding stock for hospitals.
    Hub {
        name: String,
        #[serde(default)]
        region: String,
    },
    /// A hospital, or hospitals of a region aggregated, with demand and stock.
    Hospital {
        name: String,
        #[serde(default)]
        region: String,
        /// The hub or supplier this hospital orders from.
        supplied_by: String,
        /// Rank when the hub allocates by priority: lower is served first (default 0).
        #[serde(default)]
        priority: u32,
        /// Patient demand streams.
        #[serde(default)]
        demand: Vec<RawDemand>,
        /// Overrides of the replenishment policy for this hospital (boxed: most hospitals
        /// have none, and the rules are large).
        #[serde(default)]
        replenishment: Box<RawReplenishmentSet>,
    },
    /// An outside source with unlimited fresh stock (imports, or a textbook supplier).
    Supplier {
        name: String,
        #[serde(default)]
        region: String,
    },
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawDonationKind {
    WholeBlood,
    ApheresisPlatelets,
    ApheresisPlasma,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDonation {
    /// `whole_blood`, `apheresis_platelets` or `apheresis_plasma`.
    pub donation: RawDonationKind,
    /// Donations per day (before weekday, season and holiday multipliers).
    pub per_day: RawCount,
    /// Seven multipliers, Monday first (default all 1).
    pub weekday_profile: Option<Vec<f64>>,
}

/// Which days a collection site is open.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawSchedule {
    /// Open on these weekdays (`mon` ... `sun`).
    Weekly { weekdays: Vec<String> },
    /// Open only on these dates (a mobile drive's calendar).
    Dates {
        #[schemars(with = "Vec<String>")]
        dates: Vec<Datetime>,
    },
}

/// A count of events per day: `mean` at most 10^6, `dispersion` at least 0.01.
#[derive(Debug, Deserialize, Clone, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawCount {
    Poisson {
        mean: f64,
    },
    /// Over-dispersed counts: variance = mean + mean^2 / dispersion (of the daily total over
    /// groups). The over-dispersion is one turnout shock per period shared by all groups
    /// (a Gamma multiplier of mean 1); given it, each group's count is Poisson.
    NegativeBinomial {
        mean: f64,
        dispersion: f64,
    },
    /// A fixed rate; a fractional count per period is rounded stochastically.
    Fixed {
        mean: f64,
    },
    /// Rounded gamma: the day's count is a Gamma draw with this mean and coefficient of
    /// variation (`cv` > 0, at most 10), rounded stochastically; it may be zero. For daily
    /// totals whose spread is known as a CV rather than a dispersion.
    Gamma {
        mean: f64,
        cv: f64,
    },
}

/// Units in one patient request.
#[derive(Debug, Deserialize, Clone, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawSize {
    Fixed {
        units: u32,
    },
    /// 1 + Poisson(mean - 1).
    Poisson {
        mean: f64,
    },
    /// 1 + negative binomial with mean (mean - 1).
    NegativeBinomial {
        mean: f64,
        dispersion: f64,
    },
    /// max(1, round(Gamma)) with the given mean and coefficient of variation.
    RoundedGamma {
        mean: f64,
        cv: f64,
    },
}

impl Default for RawSize {
    fn default() -> Self {
        RawSize::Fixed { units: 1 }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDemand {
    pub product: Product,
    /// Patient requests per day (or give `units_per_day`).
    pub requests_per_day: Option<RawCount>,
    /// Units per request (default: one unit).
    pub units_per_request: Option<RawSize>,
    /// Units per day, for demand known as daily unit totals: requests of one unit each.
    pub units_per_day: Option<RawCount>,
    /// Share of requests by recipient group (default: `blood_groups.demand_frequencies`).
    pub group_mix: Option<BTreeMap<String, f64>>,
    /// Seven multipliers, Monday first (default all 1).
    pub weekday_profile: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub from: String,
    pub to: String,
    /// Transport time, rounded to the nearest whole period (at most 2,000 hours).
    pub hours: f64,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// `fifo` (oldest first; default), `lifo` or `fefo`.
    #[serde(default)]
    pub issuing: Issuing,
    /// `lost` (default) or `backordered`.
    #[serde(default)]
    pub unmet_demand: UnmetDemand,
    /// How a hub shares scarce stock among hospitals' orders: `proportional` (default) or `priority`.
    #[serde(default)]
    pub allocation: Allocation,
    /// Default hospital replenishment per product.
    #[serde(default)]
    pub replenishment: RawReplenishmentSet,
    /// Least shelf life, in days, a unit must have left for a hub to ship it, by product
    /// (default 0: any unit in date).
    #[serde(default)]
    pub min_shelf_life_days: PerProduct<f64>,
    /// Hubs resupply one another's shortfalls (lateral transfers).
    pub transfers: Option<RawTransfers>,
}

/// Lateral transfers: a hub that cannot fill a hospital's order asks the other hubs, which
/// give from stock above what their own hospitals may order.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTransfers {
    /// Products moved between hubs.
    pub products: Vec<Product>,
    /// Transport time from another hub to the hospital, in hours (at most 2,000).
    pub hours: f64,
}

/// Replenishment rules by product.
pub type RawReplenishmentSet = PerProduct<RawReplenishment>;

/// A hospital's ordering rule for one product.
#[derive(Debug, Deserialize, Clone, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawReplenishment {
    /// Periodic review: raise the inventory position (on hand + on order - backorders) to a level.
    OrderUpTo {
        /// Level in units, shared among groups by the hospital's demand mix (at most 10^8).
        units: Option<f64>,
        /// Level in days of the hospital's baseline mean demand, per group.
        days: Option<f64>,
        /// Days between reviews (default 1).
        #[serde(default = "default_review_days")]
        review_every_days: f64,
        /// `before_demand` or `after_demand` (default).
        #[serde(default)]
        review: ReviewTiming,
        /// Most units ordered per group in one review.
        max_order_units: Option<u32>,
        /// Least level per recipient group the hospital has demand for: a floor under a
        /// `days` level, so small users of a rare group (RhD-negative) hold a request's worth.
        #[serde(default)]
        min_units_per_group: f64,
    },
}

fn default_review_days() -> f64 {
    1.0
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCalendar {
    /// Twelve collection multipliers, January first.
    pub collection_by_month: Option<Vec<f64>>,
    /// Twelve demand multipliers, January first.
    pub demand_by_month: Option<Vec<f64>>,
    /// Steady yearly growth (or decline) of collection, compounding daily.
    pub collection_trend: Option<RawTrend>,
    /// Steady yearly growth (or decline) of demand, compounding daily.
    pub demand_trend: Option<RawTrend>,
    #[serde(default)]
    pub holidays: Vec<RawHoliday>,
}

/// A trend over the horizon: on day `d` the rates are multiplied by
/// `(1 + per_year) ^ ((d - reference) / 365)`, so the factor is 1 on `reference`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrend {
    /// Yearly change as a fraction: 0.25 is +25% a year, -0.1 is -10% a year
    /// (from -0.5 to 2).
    pub per_year: f64,
    /// The date on which the factor is 1: the rates written in the file are those of this day.
    #[schemars(with = "String")]
    pub reference: Datetime,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHoliday {
    /// For the reader of the file; the model uses only the dates and factors.
    #[allow(dead_code)]
    pub name: String,
    #[schemars(with = "String")]
    pub start: Datetime,
    /// Whole days the holiday lasts (default 1; at most 36,500). A holiday that began before
    /// the scenario's start applies to the days it overlaps.
    #[serde(default = "default_one")]
    pub days: f64,
    /// Multiplier on collections during the holiday (default 1).
    #[serde(default = "default_one")]
    pub collection_factor: f64,
    /// Multiplier on demand during the holiday (default 1).
    #[serde(default = "default_one")]
    pub demand_factor: f64,
}

fn default_one() -> f64 {
    1.0
}

/// Unit costs by product.
pub type RawCostTable = PerProduct<RawCosts>;

/// Unit costs in any one currency.
#[derive(Debug, Deserialize, Default, Clone, Copy, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCosts {
    #[serde(default)]
    pub per_unit_collected: f64,
    #[serde(default)]
    pub per_unit_ordered: f64,
    #[serde(default)]
    pub per_unit_short: f64,
    #[serde(default)]
    pub per_unit_expired: f64,
    #[serde(default)]
    pub holding_per_unit_day: f64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInitialStock {
    /// A hub or hospital.
    pub site: String,
    pub product: Product,
    /// Total units, shared among groups by the demand mix the site serves.
    pub units: Option<f64>,
    /// Units per group, e.g. `{ "O-" = 40, "O+" = 300 }`.
    pub units_by_group: Option<BTreeMap<String, f64>>,
    /// Days of the site's baseline demand, per group.
    pub days_of_supply: Option<f64>,
    /// Ages in days, spread evenly from `min` to `max` (default all fresh).
    pub age_days: Option<RawAge>,
}

#[derive(Debug, Deserialize, Clone, Copy, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAge {
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlertLevel {
    pub name: String,
    /// The band applies when days of supply (of the stock `[alert_scope]` names) are below
    /// this. At most 16 levels.
    pub below_days: f64,
}

/// What the alert stages measure.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlertScope {
    /// `network` (default: hubs and hospitals) or `hubs` (blood-centre stock, as Korea
    /// counts its days of supply).
    #[serde(default)]
    pub stock: RawStageStock,
    /// Products the stages apply to (default: every product).
    pub products: Option<Vec<Product>>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawStageStock {
    #[default]
    Network,
    Hubs,
}

/// An emergency event; `type` says which. Every event has a `name`, a `start` (a date, or a
/// date and time such as `2026-02-01T06:00:00`, rounded to the period), and a duration in
/// `days` or `hours` (exactly one). Events that target sites take `sites` (names) and/or
/// `regions` (the sites' `region`); with neither, every site of the kind the event affects.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawEvent {
    /// Donations at collection sites scaled by `factor` (e.g. 0.891 for Korea's -10.9%
    /// donors in 2020; 0 for cancelled drives).
    CollectionChange {
        name: String,
        #[schemars(with = "String")]
        start: Datetime,
        days: Option<f64>,
        hours: Option<f64>,
        #[serde(default)]
        sites: Vec<String>,
        #[serde(default)]
        regions: Vec<String>,
        factor: f64,
    },
    /// The public's donation surge after a disaster: donations rise to `peak` times normal
    /// `lag_hours` after the start, then decay towards normal with `half_life_days`.
    DonationSurge {
        name: String,
        #[schemars(with = "String")]
        start: Datetime,
        days: Option<f64>,
        hours: Option<f64>,
        #[serde(default)]
        sites: Vec<String>,
        #[serde(default)]
        regions: Vec<String>,
        peak: f64,
        #[serde(default)]
        lag_hours: f64,
        half_life_days: f64,
    },
    /// Patient requests at hospitals scaled by `factor` (< 1: electives deferred; > 1:
    /// demand up), for the listed `products` (default all).
    DemandChange {
        name: String,
        #[schemars(with = "String")]
        start: Datetime,
        days: Option<f64>,
        hours: Option<f64>,
        #[serde(default)]
        sites: Vec<String>,
        #[serde(default)]
        regions: Vec<String>,
        #[serde(default)]
        products: Vec<Product>,
        factor: f64,
    },
    /// Labs out of action or degraded: capacity scaled by `capacity_factor` (default 0,
    /// closed). Donations wait in the queue; batches already in processing finish. A lab
    /// with unlimited capacity is either open or closed.
    LabOutage {
        name: String,
        #[schemars(with = "String")]
        start: Datetime,
        days: Option<f64>,
        hours: Option<f64>,
        #[serde(default)]
        sites: Vec<String>,
        #[serde(default)]
        regions: Vec<String>,
        #[serde(default)]
        capacity_factor: f64,
    },
    /// A transport link (a `[[links]]` entry, `from` -> `to`) closed (`closed = true`:
    /// nothing leaves until it reopens) or slowed by `extra_hours`. Units already on the
    /// road arrive as planned.
    TransportDisruption {
        name: String,
        #[schemars(with = "String")]
        start: Datetime,
        days: Option<f64>,
        hours: Option<f64>,
        from: String,
        to: String,
        #[serde(default)]
        closed: bool,
        extra_hours: Option<f64>,
    },
    /// A mass-casualty incident at `start` (a date and time): `casualties`, of whom
    /// `admitted_share` are admitted and `transfused_share` of those transfused, each needing
    /// `units_per_patient` red-cell units (and other products by `product_ratio`) after an
    /// exponential delay with `half_life_hours`, within the event's `days`/`hours`. Patients
    /// go to the hospitals in `sites`/`regions` (by `shares`, aligned with `sites`; equal
    /// otherwise).
    MassCasualty {
        name: String,
        #[schemars(with = "String")]
        start: Datetime,
        days: Option<f64>,
        hours: Option<f64>,
        #[serde(default)]
        sites: Vec<String>,
        #[serde(default)]
        regions: Vec<String>,
        #[serde(default)]
        shares: Vec<f64>,
        casualties: f64,
        admitted_share: f64,
        transfused_share: f64,
        units_per_patient: RawSize,
        /// Units of each product per red-cell unit (default: red cells only, 1).
        product_ratio: Option<PerProduct<f64>>,
        half_life_hours: f64,
        emergency_release: Option<RawEmergencyRelease>,
    },
    /// Imports or mutual aid: fresh `units` of `product` arriving at the stock-holding
    /// `site` (a hub or hospital), spread evenly over the event's window.
    Imports {
        name: String,
        #[schemars(with = "String")]
        start: Datetime,
        days: Option<f64>,
        hours: Option<f64>,
        site: String,
        product: Product,
        units: RawUnits,
    },
    /// Facility damage: in the event's first period each unit in stock at the hubs and
    /// hospitals in `sites`/`regions` is destroyed with probability `stock_destroyed_share`.
    FacilityDamage {
        name: String,
        #[schemars(with = "String")]
        start: Datetime,
        days: Option<f64>,
        hours: Option<f64>,
        #[serde(default)]
        sites: Vec<String>,
        #[serde(default)]
        regions: Vec<String>,
        stock_destroyed_share: f64,
    },
}

/// Units imported, by blood group label (`{ "O-" = 200, "O+" = 400 }`), or one number: a
/// total split by the donor frequencies (the only form for ungrouped scenarios).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RawUnits {
    Total(f64),
    ByGroup(BTreeMap<String, f64>),
}

/// Group-O red cells for patients whose group is not yet known.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEmergencyRelease {
    /// Share of transfused patients whose first units are emergency-released.
    pub share: f64,
    /// Share of those given O-negative (the rest O-positive).
    pub o_negative_share: f64,
    /// Red-cell units per such patient before group-specific units (default 4, facts §3).
    #[serde(default = "default_emergency_units")]
    pub units: u32,
}

fn default_emergency_units() -> u32 {
    4
}
