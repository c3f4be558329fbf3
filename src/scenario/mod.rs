//! Scenarios: the TOML a planner writes, parsed once at the edge into validated domain types.
//!
//! [`parse`] turns text into a [`Scenario`] or a [`ScenarioError`] listing every problem with
//! its file, line, column and field. The rest of the crate only sees [`Scenario`], whose
//! invariants (references resolve, rates are finite and non-negative, shelf lives at least one
//! period, frequencies sum to one) the engine relies on.

mod decode;
mod error;
pub mod limits;
pub mod overrides;
pub mod plan;
mod raw;
mod validate;

use std::path::Path;

pub use error::{Problem, ScenarioError};

use crate::blood::{GroupSystem, Product};
use crate::calendar::Calendar;
use crate::events::Event;
use crate::network::{Role, Site, SiteId, Topology};
use crate::policy::{Allocation, Issuing, Transfers, UnmetDemand};
use crate::responses::{CollectionManagement, Response};

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub assumptions: Vec<String>,
    pub calendar: Calendar,
    pub seed: u64,
    pub replications: u64,
    pub groups: GroupSystem,
    /// Share of donations by group.
    pub donor_frequencies: Vec<f64>,
    /// Products simulated; their position is the product index used everywhere else.
    pub products: Vec<ProductSpec>,
    pub sites: Vec<Site>,
    pub issuing: Issuing,
    pub unmet_demand: UnmetDemand,
    pub allocation: Allocation,
    /// Least shelf life, in periods, a hub ships a unit with, by product (0: any in date).
    pub min_shelf_to_ship: Vec<u32>,
    /// Lateral resupply between hubs, if the service moves stock between them.
    pub transfers: Option<Transfers>,
    /// Unit costs by product index (zero when not given).
    pub costs: Vec<Costs>,
    pub initial_stock: Vec<InitialLot>,
    /// Alert bands, least severe first (largest `below_days` first).
    pub alert_levels: Vec<AlertLevel>,
    pub alert_scope: AlertScope,
    /// Baseline mean demand in units per day by cell (see [`Cells`]): a hospital's own, a
    /// hub's or supplier's the sum of the hospitals it supplies. Days of supply divide by it.
    pub baseline_demand: Vec<f64>,
    /// Sites by role and who supplies whom, derived once from `sites`.
    pub topology: Topology,
    /// Emergency events, in file order.
    pub events: Vec<Event>,
    /// Collection planned to hold a target stock, if the service manages it.
    pub collection_management: Option<CollectionManagement>,
    /// The service's triggered actions, in file order.
    pub responses: Vec<Response>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductSpec {
    pub product: Product,
    /// Periods a unit can be issued in: collected in period c, it can be issued in periods
    /// c ..= c + shelf_life - 1 and expires at the start of period c + shelf_life.
    pub shelf_life: u32,
    /// Donor groups each recipient group may receive, most preferred first; just the own
    /// group when substitution is off.
    pub preference: Vec<Vec<usize>>,
    /// RhD-positive groups each RhD-negative recipient may get while a
    /// `switch_to_rhd_positive` response is in force, most preferred first (empty when
    /// none; see [`Product::rhd_positive_switch`](crate::blood::Product::rhd_positive_switch)).
    pub rhd_switch: Vec<Vec<usize>>,
}

/// Unit costs, in any one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Costs {
    pub per_unit_collected: f64,
    pub per_unit_ordered: f64,
    pub per_unit_short: f64,
    pub per_unit_expired: f64,
    pub holding_per_unit_day: f64,
}

/// Units in stock at the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialLot {
    pub site: SiteId,
    pub product: usize,
    pub group: usize,
    /// Periods since collection (0 = fresh); less than the shelf life.
    pub age: u32,
    pub units: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertLevel {
    pub name: String,
    pub below_days: f64,
}

/// What the alert stages read: days of supply of the hubs' stock (a blood service's own
/// count, as Korea's stages) or of the whole network's, for some products.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertScope {
    /// Stages read hub stock only; otherwise hubs' and hospitals'.
    pub hubs_only: bool,
    /// By product index: whether stages apply to it.
    pub products: Vec<bool>,
}

/// The (site, product, group) grid every per-cell array uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cells {
    pub sites: usize,
    pub products: usize,
    pub groups: usize,
}

impl Cells {
    pub fn len(&self) -> usize {
        self.sites * self.products * self.groups
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn index(&self, site: SiteId, product: usize, group: usize) -> usize {
        (site * self.products + product) * self.groups + group
    }

    /// (site, product, group) of a cell.
    pub fn split(&self, cell: usize) -> (SiteId, usize, usize) {
        let per_site = self.products * self.groups;
        (
            cell / per_site,
            cell % per_site / self.groups,
            cell % self.groups,
        )
    }
}

impl Scenario {
    pub fn cells(&self) -> Cells {
        Cells {
            sites: self.sites.len(),
            products: self.products.len(),
            groups: self.groups.count(),
        }
    }

    /// Index of a product, if the scenario simulates it.
    pub fn product_index(&self, product: Product) -> Option<usize> {
        self.products.iter().position(|p| p.product == product)
    }

    pub fn hospitals(&self) -> impl Iterator<Item = (SiteId, &crate::network::Hospital)> {
        self.sites
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.role {
                Role::Hospital(h) => Some((i, h)),
                _ => None,
            })
    }

    /// Baseline demand per day behind a site (`None`: the network's hospitals) for one
    /// product and one group (`None`: all groups); the denominator of days of supply.
    pub fn baseline_per_day(
        &self,
        site: Option<SiteId>,
        product: usize,
        group: Option<usize>,
    ) -> f64 {
        let cells = self.cells();
        let groups = match group {
            Some(g) => g..g + 1,
            None => 0..cells.groups,
        };
        let one;
        let sites: &[SiteId] = match site {
            Some(s) => {
                one = [s];
                &one
            }
            None => &self.topology.hospitals,
        };
        let mut sum = 0.0;
        for &s in sites {
            for g in groups.clone() {
                sum += self.baseline_demand[cells.index(s, product, g)];
            }
        }
        sum
    }

    /// The same scenario with a different seed or replication count.
    pub fn with_run(mut self, seed: Option<u64>, replications: Option<u64>) -> Scenario {
        self.seed = seed.unwrap_or(self.seed);
        self.replications = replications.unwrap_or(self.replications);
        self
    }
}

/// A JSON Schema of the scenario file format, derived from the types the file is read into
/// (so it cannot drift from the parser). Editors with a TOML language server (taplo, Even
/// Better TOML) read it from a file's `#:schema` first line. Ranges and cross-references
/// are checked by validation, not by the schema.
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(raw::RawScenario);
    schema.insert(
        "title".into(),
        "bloodsim scenario (scenarios/*.toml)".into(),
    );
    serde_json::to_string_pretty(&schema).expect("a schema serializes") + "\n"
}

/// Parses and validates scenario text; `file` names it in messages.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    validate::parse(text, file)
}

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    parse_bytes(&read(path)?, &file)
}

/// Reads a scenario file's bytes, once (a pipe such as `<(cat f)` can be read only once), up
/// to [`limits::MAX_FILE_BYTES`].
pub fn read(path: &Path) -> Result<Vec<u8>, ScenarioError> {
    use std::io::Read;
    let file = path.display().to_string();
    let cannot = |e: std::io::Error| {
        ScenarioError::whole_file(&file, format!("cannot read the scenario file: {e}"))
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(ScenarioError::whole_file(
            &file,
            format!(
                "the scenario file is larger than {} KiB, the limit for a scenario",
                limits::MAX_FILE_BYTES / 1024
            ),
        ));
    }
    Ok(bytes)
}

/// Parses and validates scenario bytes (UTF-8 text); `file` names it in messages.
pub fn parse_bytes(bytes: &[u8], file: &str) -> Result<Scenario, ScenarioError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ScenarioError::whole_file(
            file,
            format!(
                "cannot read the scenario file: not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    parse(text, file)
}
