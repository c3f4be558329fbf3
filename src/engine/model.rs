//! The scenario compiled for the engine: the tables every replication reads and none
//! changes, built once per run.

use crate::events::Effect;
use crate::network::{Role, SiteId};
use crate::policy::{OrderUpTo, ReviewTiming};
use crate::random::Thinning;
use crate::scenario::{Cells, Scenario};

/// A hospital as its supplier sees it when filling orders.
#[derive(Debug, Clone, Copy)]
pub(super) struct Client<'s> {
    pub site: SiteId,
    pub lead_time: u32,
    /// Replenishment rule per product.
    pub rules: &'s [Option<OrderUpTo>],
}

/// What the engine reads about a scenario, laid out for the period steps.
#[derive(Debug, Clone)]
pub struct Model<'s> {
    pub(super) scenario: &'s Scenario,
    pub(super) cells: Cells,
    /// Shelf life in periods, by product.
    pub(super) shelf: Vec<u32>,
    /// Shelf life of each stock-holding cell (`None` for cells that hold no stock).
    pub(super) shelf_by_cell: Vec<Option<u32>>,
    /// The longest delay any item waits in transit or processing.
    pub(super) longest_delay: u32,
    /// The hospitals each site supplies, by site (see `Topology::clients`).
    pub(super) clients: Vec<Vec<Client<'s>>>,
    /// Priority of each client, by supplier (for `allocate`).
    pub(super) priorities: Vec<Vec<u32>>,
    /// Demand streams of each hospital grouped by product: (product, stream indices).
    pub(super) demand_by_product: Vec<Vec<(usize, Vec<usize>)>>,
    /// Review timings some hospital uses (the other pass is skipped).
    pub(super) timings_used: Vec<ReviewTiming>,
    /// Discards at testing, by site (labs only).
    pub(super) discards: Vec<Thinning>,
    /// Baseline demand per day behind what each response's trigger watches, by response.
    pub(super) trigger_baselines: Vec<f64>,
    /// Network baseline demand per day of the product collection management plans for.
    pub(super) managed_baseline: f64,
    /// Hubs, in site order: the sites lateral transfers draw from.
    pub(super) hubs: Vec<SiteId>,
    /// What a hub keeps back from lateral transfers, by cell: the sum of its own hospitals'
    /// order-up-to levels (zero elsewhere).
    pub(super) reserve: Vec<u32>,
    /// The random processes that may draw, ascending: every site's but a hub's or a
    /// supplier's (see `site_keys`), then every event's.
    pub(super) drawing: Vec<usize>,
}

impl<'s> Model<'s> {
    pub fn new(scenario: &'s Scenario) -> Model<'s> {
        let cells = scenario.cells();
        let shelf: Vec<u32> = scenario.products.iter().map(|p| p.shelf_life).collect();
        let mut shelf_by_cell = vec![None; cells.len()];
        for &s in &scenario.topology.stock_sites {
            for (p, &l) in shelf.iter().enumerate() {
                for g in 0..cells.groups {
                    shelf_by_cell[cells.index(s, p, g)] = Some(l);
                }
            }
        }
        // Hospitals in site order under their supplier, as in `Topology::clients`.
        let mut clients: Vec<Vec<Client<'s>>> = vec![Vec::new(); cells.sites];
        let mut priorities: Vec<Vec<u32>> = vec![Vec::new(); cells.sites];
        for (site, h) in scenario.hospitals() {
            clients[h.supplier].push(Client {
                site,
                lead_time: h.lead_time,
                rules: &h.replenishment,
            });
            priorities[h.supplier].push(h.priority);
        }
        let mut timings_used: Vec<ReviewTiming> = scenario
            .hospitals()
            .flat_map(|(_, h)| h.replenishment.iter().flatten().map(|r| r.timing))
            .collect();
        timings_used.dedup();
        let mut reserve = vec![0u32; cells.len()];
        for (_, h) in scenario.hospitals() {
            for (p, rule) in h.replenishment.iter().enumerate() {
                for (g, &level) in rule.iter().flat_map(|r| r.level.iter().enumerate()) {
                    let cell = cells.index(h.supplier, p, g);
                    reserve[cell] = reserve[cell].saturating_add(level);
                }
            }
        }
        Model {
            hubs: (0..cells.sites)
                .filter(|&s| matches!(scenario.sites[s].role, Role::Hub))
                .collect(),
            reserve,
            drawing: drawing_processes(scenario),
            scenario,
            cells,
            shelf,
            shelf_by_cell,
            longest_delay: longest_delay(scenario),
            priorities,
            clients,
            demand_by_product: demand_by_product(scenario, cells),
            timings_used,
            trigger_baselines: scenario
                .responses
                .iter()
                .map(|r| {
                    let w = &r.trigger;
                    scenario.baseline_per_day(w.site, w.product, w.group)
                })
                .collect(),
            managed_baseline: scenario
                .collection_management
                .map_or(0.0, |m| scenario.baseline_per_day(None, m.product, None)),
            discards: scenario
                .sites
                .iter()
                .map(|s| match &s.role {
                    Role::Lab(l) => Thinning::new(l.discard_fraction),
                    _ => Thinning::new(0.0),
                })
                .collect(),
        }
    }

    /// Most hospitals one site supplies.
    pub(super) fn most_clients(&self) -> usize {
        self.clients.iter().map(Vec::len).max().unwrap_or(0)
    }
}

fn longest_delay(scenario: &Scenario) -> u32 {
    scenario
        .sites
        .iter()
        .map(|s| match &s.role {
            Role::Collection(c) => c.to_lab.max(c.lab_to_hub),
            Role::Lab(l) => l.processing,
            Role::Hospital(h) => h.lead_time,
            _ => 0,
        })
        .chain(scenario.transfers.iter().map(|t| t.lead_time))
        .max()
        .unwrap_or(0)
}

fn demand_by_product(scenario: &Scenario, cells: Cells) -> Vec<Vec<(usize, Vec<usize>)>> {
    scenario
        .sites
        .iter()
        .enumerate()
        .map(|(site, s)| match &s.role {
            Role::Hospital(h) => (0..cells.products)
                .map(|p| {
                    let streams = (0..h.demand.len())
                        .filter(|&k| h.demand[k].product == p)
                        .collect::<Vec<_>>();
                    (p, streams)
                })
                .filter(|(p, ks)| !ks.is_empty() || incident_needs(scenario, site, *p))
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Whether a mass-casualty incident may send patients needing product `p` to `site`: the
/// hospital then issues `p` even without routine demand for it.
fn incident_needs(scenario: &Scenario, site: usize, p: usize) -> bool {
    scenario.events.iter().any(|e| match &e.effect {
        Effect::MassCasualty(mci) => mci.ratio[p] > 0.0 && mci.hospitals.contains(&site),
        _ => false,
    })
}

/// Indices of the random processes that may draw (see [`Model::drawing`]).
fn drawing_processes(scenario: &Scenario) -> Vec<usize> {
    let sites = scenario.sites.iter().enumerate();
    let drawing_sites = sites.filter(|(_, site)| !matches!(site.role, Role::Hub | Role::Supplier));
    let events = scenario.sites.len()..scenario.sites.len() + scenario.events.len();
    drawing_sites.map(|(s, _)| s).chain(events).collect()
}
