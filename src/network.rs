//! The supply network: sites in regions, their roles, and transport between them.
//!
//! Units flow collection site -> lab (testing and processing) -> hub (blood centre stock) ->
//! hospital; hospitals may instead order from an outside supplier. Sites are dense indices
//! ([`SiteId`]) so the engine keeps flat arrays.

use crate::demand::DemandStream;
use crate::policy::OrderUpTo;
use crate::supply::DonationStream;

/// Index of a site in [`crate::scenario::Scenario::sites`].
pub type SiteId = usize;

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub name: String,
    pub region: String,
    pub role: Role,
}

/// What a site does. One role per site: a blood centre that collects and stocks is written
/// as a collection site and a hub.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    Collection(Collection),
    Lab(Lab),
    Hub,
    Hospital(Hospital),
    /// Unlimited fresh stock from outside the network.
    Supplier,
}

impl Role {
    pub fn kind(&self) -> &'static str {
        match self {
            Role::Collection(_) => "collection",
            Role::Lab(_) => "lab",
            Role::Hub => "hub",
            Role::Hospital(_) => "hospital",
            Role::Supplier => "supplier",
        }
    }

    /// Hubs and hospitals hold stock by age; other sites only pass units on.
    pub fn holds_stock(&self) -> bool {
        matches!(self, Role::Hub | Role::Hospital(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub lab: SiteId,
    pub hub: SiteId,
    /// Periods on the road to the lab.
    pub to_lab: u32,
    /// Periods on the road from the lab to the hub.
    pub lab_to_hub: u32,
    pub donations: Vec<DonationStream>,
    /// Multiplier per day for opening days, season and holidays (0 = closed).
    pub day_factor: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lab {
    /// Donations it can start processing per period; `None` = unlimited.
    pub capacity_per_period: Option<f64>,
    /// Periods from the start of processing to release.
    pub processing: u32,
    /// Share of units discarded at testing.
    pub discard_fraction: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hospital {
    /// Hub or supplier it orders from.
    pub supplier: SiteId,
    /// Periods from dispatch to arrival.
    pub lead_time: u32,
    pub priority: u32,
    pub demand: Vec<DemandStream>,
    /// Replenishment rule per scenario product index (`None` if it never orders that product).
    pub replenishment: Vec<Option<OrderUpTo>>,
    /// Demand multiplier per day for season and holidays.
    pub day_factor: Vec<f64>,
}

/// Who does what in the network, derived once from the sites so that the engine, the
/// recorders and the reports agree on it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Topology {
    /// Hubs and hospitals: the sites whose stock counts as on hand.
    pub stock_sites: Vec<SiteId>,
    pub hospitals: Vec<SiteId>,
    pub labs: Vec<SiteId>,
    /// Outside suppliers (unlimited fresh stock).
    pub suppliers: Vec<SiteId>,
    /// Sites that fill hospitals' orders (hubs and suppliers with at least one client), in
    /// site order.
    pub dispatchers: Vec<SiteId>,
    /// The hospitals each site supplies, in site order (empty for most sites).
    pub clients: Vec<Vec<SiteId>>,
}

impl Topology {
    pub fn new(sites: &[Site]) -> Topology {
        let where_role = |keep: fn(&Role) -> bool| -> Vec<SiteId> {
            (0..sites.len()).filter(|&s| keep(&sites[s].role)).collect()
        };
        let mut clients = vec![Vec::new(); sites.len()];
        for (s, site) in sites.iter().enumerate() {
            if let Role::Hospital(h) = &site.role {
                clients[h.supplier].push(s);
            }
        }
        Topology {
            stock_sites: where_role(Role::holds_stock),
            hospitals: where_role(|r| matches!(r, Role::Hospital(_))),
            labs: where_role(|r| matches!(r, Role::Lab(_))),
            suppliers: where_role(|r| matches!(r, Role::Supplier)),
            dispatchers: (0..sites.len())
                .filter(|&s| !clients[s].is_empty())
                .collect(),
            clients,
        }
    }
}
