//! One replication of the supply network, period by period.
//!
//! The engine is pure and deterministic: no I/O, no clock, no globals. Randomness comes only
//! from per-process streams derived from (seed, process name, replication); results go only
//! to a [`Recorder`]. Within a period the steps run in this order (ARCHITECTURE.md explains
//! each):
//!
//! 1. arrivals (shipments, donations reaching labs, lab batches finishing processing)
//! 2. expiry (units whose expiry period is now leave stock)
//! 3. donations at collection sites
//! 4. lab processing starts (capacity-limited, oldest donations first)
//! 5. hospital reviews set to `before_demand`: orders, hub allocation, dispatch
//! 6. patient demand, issuing (exact group first, then compatible substitutes)
//! 7. hospital reviews set to `after_demand`
//! 8. record
//!
//! All state lives in flat per-cell arrays allocated once per [`Engine`]; a period allocates
//! nothing once the shipment and lab queues have grown to their working size.

use std::collections::VecDeque;

use crate::inventory::Inventory;
use crate::network::{Role, SiteId};
use crate::policy::{OrderUpTo, ReviewTiming, UnmetDemand, allocate};
use crate::random::{Scale, Stream, Thinning, period_scales, stochastic_round, stream};
use crate::record::{Flows, Issue, PeriodView, Recorder};
use crate::scenario::{Cells, Scenario};

/// Most products a scenario can have (red cells, platelets, plasma, whole blood).
const MAX_PRODUCTS: usize = 4;

/// Runs one replication of `scenario` and reports every period to `recorder`.
pub fn run_replication<R: Recorder>(
    scenario: &Scenario,
    seed: u64,
    replication: u64,
    recorder: &mut R,
) {
    Engine::new(scenario).run(seed, replication, recorder);
}

/// The random stream of each site's process (donations at a collection site, testing at a
/// lab, demand at a hospital) in one replication, by site.
pub fn site_streams(
    scenario: &Scenario,
    seed: u64,
    replication: u64,
) -> impl Iterator<Item = Stream> + '_ {
    scenario.sites.iter().map(move |site| {
        let process = match site.role {
            Role::Collection(_) => "donations",
            Role::Lab(_) => "testing",
            Role::Hospital(_) => "demand",
            Role::Hub | Role::Supplier => "none",
        };
        stream(seed, &format!("{process}/{}", site.name), replication)
    })
}

/// Donations of one group from one collection site, travelling to or waiting at a lab.
#[derive(Debug, Clone, Copy)]
struct LabLot {
    hub: u32,
    /// Periods from the lab to the hub.
    hub_delay: u32,
    group: u8,
    /// Period of collection.
    born: u32,
    donations: u32,
    /// Units of each product these donations will yield.
    units: [u32; MAX_PRODUCTS],
}

/// Units of one recipient group still needed after its own group's stock.
#[derive(Debug, Clone, Copy)]
struct Shortfall {
    group: usize,
    units: u32,
    /// A request of this period (counts as unmet), not an older backlog.
    new_request: bool,
}

#[derive(Debug, Clone, Copy)]
enum Transit {
    /// Units on the road to a stock-holding cell.
    Units { cell: u32, expiry: u32, units: u32 },
    /// Donations on the road to a lab.
    ToLab { lab: u32, lot: LabLot },
    /// A lab batch whose processing finishes in this period.
    Processed { lab: u32, lot: LabLot },
}

/// Multipliers in force in one period, by site. Today they come from the calendar; emergency
/// events and response policies will scale them here (collection drops and surges, demand
/// spikes, lab outages), leaving the steps themselves unchanged.
#[derive(Debug, Clone)]
struct Conditions {
    collection: Vec<f64>,
    demand: Vec<f64>,
    lab_capacity: Vec<f64>,
}

/// The state of one replication, reusable across replications to avoid reallocation.
pub struct Engine<'s> {
    scenario: &'s Scenario,
    cells: Cells,
    shelf: Vec<u32>,
    inventory: Inventory,
    /// Shipments by arrival period modulo `transit.len()`.
    transit: Vec<Vec<Transit>>,
    lab_queue: Vec<VecDeque<LabLot>>,
    lab_credit: Vec<f64>,
    /// Fractional product units carried to the next lot, by collection cell.
    yield_carry: Vec<f64>,
    in_transit: Vec<u32>,
    in_testing: Vec<u32>,
    backlog: Vec<u32>,
    flows: Flows,
    conditions: Conditions,
    streams: Vec<Stream>,
    /// Sites holding stock (hubs and hospitals).
    stock_sites: Vec<SiteId>,
    /// Sites that supply hospitals, and the hospitals each site supplies, in site order.
    suppliers: Vec<SiteId>,
    clients: Vec<Vec<Client<'s>>>,
    /// Demand streams of each hospital grouped by product: (product, stream indices).
    demand_by_product: Vec<Vec<(usize, Vec<usize>)>>,
    /// Review timings some hospital uses (the other pass is skipped).
    timings_used: Vec<ReviewTiming>,
    /// Discards at testing, by site (labs only).
    discards: Vec<Thinning>,
    // Scratch space reused every period.
    /// Multipliers of the current site's count processes, by process.
    scales: Vec<Scale>,
    due: Vec<bool>,
    requests: Vec<u32>,
    /// Priority of each client, by supplier (for `allocate`).
    priorities: Vec<Vec<u32>>,
    grants: Vec<u32>,
    /// Demand not met from the patient's own group, awaiting substitutes.
    shortfalls: Vec<Shortfall>,
    /// (expiry, units) drawn from a hub's stock for one shipment.
    batches: Vec<(u32, u32)>,
}

/// A hospital as its supplier sees it when filling orders.
#[derive(Debug, Clone, Copy)]
struct Client<'s> {
    site: SiteId,
    lead_time: u32,
    priority: u32,
    /// Replenishment rule per product.
    rules: &'s [Option<OrderUpTo>],
}

impl<'s> Engine<'s> {
    pub fn new(scenario: &'s Scenario) -> Engine<'s> {
        let cells = scenario.cells();
        let shelf: Vec<u32> = scenario.products.iter().map(|p| p.shelf_life).collect();
        let mut shelf_by_cell = vec![None; cells.len()];
        for (s, site) in scenario.sites.iter().enumerate() {
            if site.role.holds_stock() {
                for (p, &l) in shelf.iter().enumerate() {
                    for g in 0..cells.groups {
                        shelf_by_cell[cells.index(s, p, g)] = Some(l);
                    }
                }
            }
        }
        let max_delay = scenario
            .sites
            .iter()
            .map(|s| match &s.role {
                Role::Collection(c) => c.to_lab.max(c.lab_to_hub),
                Role::Lab(l) => l.processing,
                Role::Hospital(h) => h.lead_time,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        let n_sites = scenario.sites.len();
        let mut clients = vec![Vec::new(); n_sites];
        for (site, h) in scenario.hospitals() {
            clients[h.supplier].push(Client {
                site,
                lead_time: h.lead_time,
                priority: h.priority,
                rules: &h.replenishment,
            });
        }
        let demand_by_product = scenario
            .sites
            .iter()
            .map(|s| match &s.role {
                Role::Hospital(h) => (0..cells.products)
                    .map(|p| {
                        (
                            p,
                            (0..h.demand.len())
                                .filter(|&k| h.demand[k].product == p)
                                .collect::<Vec<_>>(),
                        )
                    })
                    .filter(|(_, ks)| !ks.is_empty())
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let most_clients = clients.iter().map(Vec::len).max().unwrap_or(0);
        let mut timings_used: Vec<ReviewTiming> = scenario
            .hospitals()
            .flat_map(|(_, h)| h.replenishment.iter().flatten().map(|r| r.timing))
            .collect();
        timings_used.dedup();
        Engine {
            scenario,
            cells,
            shelf,
            inventory: Inventory::new(&shelf_by_cell),
            transit: vec![Vec::new(); max_delay as usize + 1],
            lab_queue: vec![VecDeque::new(); n_sites],
            lab_credit: vec![0.0; n_sites],
            yield_carry: vec![0.0; cells.len()],
            in_transit: vec![0; cells.len()],
            in_testing: vec![0; cells.len()],
            backlog: vec![0; cells.len()],
            flows: Flows::new(cells.len()),
            conditions: Conditions {
                collection: vec![1.0; n_sites],
                demand: vec![1.0; n_sites],
                lab_capacity: vec![1.0; n_sites],
            },
            streams: Vec::with_capacity(n_sites),
            stock_sites: (0..n_sites)
                .filter(|&s| scenario.sites[s].role.holds_stock())
                .collect(),
            suppliers: (0..n_sites).filter(|&s| !clients[s].is_empty()).collect(),
            demand_by_product,
            timings_used,
            discards: scenario
                .sites
                .iter()
                .map(|s| match &s.role {
                    Role::Lab(l) => Thinning::new(l.discard_fraction),
                    _ => Thinning::new(0.0),
                })
                .collect(),
            scales: Vec::new(),
            due: vec![false; most_clients],
            requests: vec![0; most_clients],
            priorities: clients
                .iter()
                .map(|c| c.iter().map(|c| c.priority).collect())
                .collect(),
            grants: vec![0; most_clients],
            clients,
            shortfalls: Vec::new(),
            batches: Vec::new(),
        }
    }

    /// Runs one replication from a clean state.
    pub fn run<R: Recorder>(&mut self, seed: u64, replication: u64, recorder: &mut R) {
        self.reset(seed, replication);
        for t in 0..self.scenario.calendar.periods {
            self.flows.clear();
            if t == 0 {
                self.place_initial_stock();
            }
            self.update_conditions(t);
            self.arrivals(t);
            self.expiry(t);
            self.donations(t);
            self.lab_processing(t);
            self.reviews(t, ReviewTiming::BeforeDemand);
            self.demand(t, recorder);
            self.reviews(t, ReviewTiming::AfterDemand);
            recorder.period(&PeriodView {
                period: t,
                cells: self.cells,
                flows: &self.flows,
                on_hand: self.inventory.on_hand_all(),
                in_transit: &self.in_transit,
                in_testing: &self.in_testing,
                backlog: &self.backlog,
            });
        }
    }

    fn reset(&mut self, seed: u64, replication: u64) {
        self.inventory.clear();
        self.transit.iter_mut().for_each(Vec::clear);
        self.lab_queue.iter_mut().for_each(VecDeque::clear);
        self.lab_credit.fill(0.0);
        self.yield_carry.fill(0.0);
        self.in_transit.fill(0);
        self.in_testing.fill(0);
        self.backlog.fill(0);
        self.streams.clear();
        self.streams
            .extend(site_streams(self.scenario, seed, replication));
    }

    /// Random words (32-bit) each site's stream has used so far in this replication: how
    /// much randomness the replication drew, by process.
    pub fn words_drawn(&self) -> Vec<u128> {
        self.streams.iter().map(|s| s.get_word_pos()).collect()
    }

    fn place_initial_stock(&mut self) {
        for lot in &self.scenario.initial_stock {
            let cell = self.cells.index(lot.site, lot.product, lot.group);
            self.inventory
                .add(cell, self.shelf[lot.product] - lot.age, lot.units);
            self.flows.initial[cell] += lot.units;
        }
    }

    /// The calendar's multipliers; emergency events will apply theirs here.
    fn update_conditions(&mut self, t: u32) {
        let day = self.scenario.calendar.day_of(t) as usize;
        for (s, site) in self.scenario.sites.iter().enumerate() {
            match &site.role {
                Role::Collection(c) => self.conditions.collection[s] = c.day_factor[day],
                Role::Hospital(h) => self.conditions.demand[s] = h.day_factor[day],
                Role::Lab(_) => self.conditions.lab_capacity[s] = 1.0,
                Role::Hub | Role::Supplier => {}
            }
        }
    }

    fn slot(&self, period: u32) -> usize {
        period as usize % self.transit.len()
    }

    /// Sends units from one cell to a stock cell of the same product and group, arriving
    /// after `delay` periods (now if zero).
    fn ship_units(
        &mut self,
        t: u32,
        from_cell: usize,
        to_cell: usize,
        expiry: u32,
        units: u32,
        delay: u32,
    ) {
        self.flows.shipped[from_cell] += units;
        if delay == 0 {
            self.receive_units(t, to_cell, expiry, units);
        } else {
            self.in_transit[to_cell] += units;
            let slot = self.slot(t + delay);
            self.transit[slot].push(Transit::Units {
                cell: to_cell as u32,
                expiry,
                units,
            });
        }
    }

    fn receive_units(&mut self, t: u32, cell: usize, expiry: u32, units: u32) {
        self.flows.received[cell] += units;
        if expiry <= t {
            self.flows.expired[cell] += units;
        } else {
            self.inventory.add(cell, expiry, units);
        }
    }

    fn lot_cell(&self, site: usize, product: usize, lot: &LabLot) -> usize {
        self.cells.index(site, product, lot.group as usize)
    }

    fn arrivals(&mut self, t: u32) {
        let slot = self.slot(t);
        let mut arriving = std::mem::take(&mut self.transit[slot]);
        for item in arriving.drain(..) {
            match item {
                Transit::Units {
                    cell,
                    expiry,
                    units,
                } => {
                    self.in_transit[cell as usize] -= units;
                    self.receive_units(t, cell as usize, expiry, units);
                }
                Transit::ToLab { lab, lot } => {
                    for p in 0..self.cells.products {
                        let cell = self.lot_cell(lab as usize, p, &lot);
                        self.in_transit[cell] -= lot.units[p];
                        self.in_testing[cell] += lot.units[p];
                        self.flows.received[cell] += lot.units[p];
                    }
                    self.lab_queue[lab as usize].push_back(lot);
                }
                Transit::Processed { lab, lot } => self.release(t, lab as usize, lot),
            }
        }
        // Hand the (now empty) buffer back so its capacity is reused.
        self.transit[slot] = arriving;
    }

    fn expiry(&mut self, t: u32) {
        let per_site = self.cells.products * self.cells.groups;
        for &s in &self.stock_sites {
            for cell in s * per_site..(s + 1) * per_site {
                self.flows.expired[cell] += self.inventory.expire(cell, t);
            }
        }
    }

    /// Each collection site sends one lot per group per period to its lab. Fractional yields
    /// (e.g. a quarter of a platelet pool per whole-blood donation) carry their remainder to
    /// the next period, as leftover buffy coats wait for the next pool.
    fn donations(&mut self, t: u32) {
        let calendar = &self.scenario.calendar;
        let weekday = calendar.weekday(calendar.day_of(t));
        for (s, site) in self.scenario.sites.iter().enumerate() {
            let Role::Collection(c) = &site.role else {
                continue;
            };
            let factor = self.conditions.collection[s];
            if factor <= 0.0 {
                continue;
            }
            let processes = c.donations.iter().map(|d| (&d.shock, d.weekday[weekday]));
            period_scales(&mut self.scales, &mut self.streams[s], factor, processes);
            for g in 0..self.cells.groups {
                let rng = &mut self.streams[s];
                let mut donations = 0u32;
                let mut expected = [0.0f64; MAX_PRODUCTS];
                for (d, scale) in c.donations.iter().zip(&self.scales) {
                    let n = d.per_group[g].sample(rng, scale);
                    donations += n;
                    for (e, &y) in expected.iter_mut().zip(&d.yields) {
                        *e += f64::from(n) * y;
                    }
                }
                if donations == 0 {
                    continue;
                }
                let mut units = [0u32; MAX_PRODUCTS];
                for p in 0..self.cells.products {
                    let carry = &mut self.yield_carry[self.cells.index(s, p, g)];
                    let total = *carry + expected[p];
                    // Truncation is floor here (total >= 0), without a libm call.
                    units[p] = total as u32;
                    *carry = total - f64::from(units[p]);
                }
                let lot = LabLot {
                    hub: c.hub as u32,
                    hub_delay: c.lab_to_hub,
                    group: g as u8,
                    born: t,
                    donations,
                    units,
                };
                self.send_to_lab(t, s, c.lab, c.to_lab, lot);
            }
        }
    }

    fn send_to_lab(&mut self, t: u32, from: SiteId, lab: SiteId, delay: u32, lot: LabLot) {
        for p in 0..self.cells.products {
            let u = lot.units[p];
            let from_cell = self.lot_cell(from, p, &lot);
            self.flows.collected[from_cell] += u;
            self.flows.shipped[from_cell] += u;
            let lab_cell = self.lot_cell(lab, p, &lot);
            if delay == 0 {
                self.flows.received[lab_cell] += u;
                self.in_testing[lab_cell] += u;
            } else {
                self.in_transit[lab_cell] += u;
            }
        }
        if delay == 0 {
            self.lab_queue[lab].push_back(lot);
        } else {
            let slot = self.slot(t + delay);
            self.transit[slot].push(Transit::ToLab {
                lab: lab as u32,
                lot,
            });
        }
    }

    /// Starts processing queued donations up to the lab's capacity, oldest first.
    fn lab_processing(&mut self, t: u32) {
        for lab in 0..self.scenario.sites.len() {
            let Role::Lab(spec) = &self.scenario.sites[lab].role else {
                continue;
            };
            let processing = spec.processing;
            let mut credit = match spec.capacity_per_period {
                Some(c) => self.lab_credit[lab] + c * self.conditions.lab_capacity[lab],
                None => f64::INFINITY,
            };
            while credit >= 1.0 {
                let Some(front) = self.lab_queue[lab].front_mut() else {
                    break;
                };
                let k = if (front.donations as f64) <= credit {
                    front.donations
                } else {
                    credit as u32
                };
                let batch = split_lot(front, k);
                if front.donations == 0 {
                    self.lab_queue[lab].pop_front();
                }
                credit -= f64::from(k);
                if processing == 0 {
                    self.release(t, lab, batch);
                } else {
                    let slot = self.slot(t + processing);
                    self.transit[slot].push(Transit::Processed {
                        lab: lab as u32,
                        lot: batch,
                    });
                }
            }
            // Unused capacity is not banked; only the fraction of a donation carries over.
            self.lab_credit[lab] = if credit.is_finite() {
                credit.fract()
            } else {
                0.0
            };
        }
    }

    /// A processed batch leaves the lab: expired units counted, reactive or failed donations
    /// discarded whole (all their components), the rest shipped to the hub.
    fn release(&mut self, t: u32, lab: SiteId, lot: LabLot) {
        let hub = lot.hub as usize;
        let rng = &mut self.streams[lab];
        let failed = self.discards[lab].sample(rng, lot.donations);
        for p in 0..self.cells.products {
            let u = lot.units[p];
            if u == 0 {
                continue;
            }
            let cell = self.lot_cell(lab, p, &lot);
            self.in_testing[cell] -= u;
            let expiry = lot.born + self.shelf[p];
            if expiry <= t {
                self.flows.expired[cell] += u;
                continue;
            }
            // The failed donations' share of this product's units, rounded without bias.
            let rng = &mut self.streams[lab];
            let discarded = stochastic_round(
                rng,
                f64::from(u) * f64::from(failed) / f64::from(lot.donations),
            )
            .min(u);
            self.flows.discarded[cell] += discarded;
            let released = u - discarded;
            self.flows.released[cell] += released;
            let hub_cell = self.lot_cell(hub, p, &lot);
            self.ship_units(t, cell, hub_cell, expiry, released, lot.hub_delay);
        }
    }

    /// Hospitals due for review at this timing order up to their level; each supplier fills
    /// the orders (allocating when short) and dispatches.
    fn reviews(&mut self, t: u32, timing: ReviewTiming) {
        if !self.timings_used.contains(&timing) {
            return;
        }
        for i in 0..self.suppliers.len() {
            let supplier = self.suppliers[i];
            let unlimited = matches!(self.scenario.sites[supplier].role, Role::Supplier);
            for p in 0..self.cells.products {
                if self.mark_due(t, timing, supplier, p) {
                    for g in 0..self.cells.groups {
                        self.fill_orders(t, supplier, unlimited, p, g);
                    }
                }
            }
        }
    }

    /// Marks which clients of `supplier` review `p` now (in `due`); true if any does.
    fn mark_due(&mut self, t: u32, timing: ReviewTiming, supplier: SiteId, p: usize) -> bool {
        let mut any = false;
        for (due, client) in self.due.iter_mut().zip(&self.clients[supplier]) {
            *due = client.rules[p]
                .as_ref()
                .is_some_and(|rule| rule.timing == timing && rule.reviews_in(t));
            any |= *due;
        }
        any
    }

    fn fill_orders(&mut self, t: u32, supplier: SiteId, unlimited: bool, p: usize, g: usize) {
        let clients = &self.clients[supplier];
        let n = clients.len();
        let mut any = false;
        for (k, client) in clients.iter().enumerate() {
            let quantity = match &client.rules[p] {
                Some(rule) if self.due[k] => {
                    let cell = self.cells.index(client.site, p, g);
                    let position = i64::from(self.inventory.on_hand(cell))
                        + i64::from(self.in_transit[cell])
                        - i64::from(self.backlog[cell]);
                    rule.order_quantity(g, position)
                }
                _ => 0,
            };
            self.requests[k] = quantity;
            any |= quantity > 0;
        }
        if !any {
            return;
        }
        let supplier_cell = self.cells.index(supplier, p, g);
        if unlimited {
            self.grants[..n].copy_from_slice(&self.requests[..n]);
        } else if n == 1 {
            // What `allocate` gives a single client under any rule.
            self.grants[0] = self.requests[0].min(self.inventory.on_hand(supplier_cell));
        } else {
            let available = self.inventory.on_hand(supplier_cell);
            allocate(
                self.scenario.allocation,
                available,
                &self.requests[..n],
                &self.priorities[supplier],
                &mut self.grants[..n],
            );
        }
        let oldest_first = self.scenario.issuing.oldest_first();
        for k in 0..n {
            let (ordered, granted) = (self.requests[k], self.grants[k]);
            if ordered == 0 {
                continue;
            }
            let Client {
                site, lead_time, ..
            } = self.clients[supplier][k];
            let cell = self.cells.index(site, p, g);
            self.flows.ordered[cell] += ordered;
            if granted == 0 {
                continue;
            }
            if unlimited {
                self.flows.collected[supplier_cell] += granted;
                self.ship_units(
                    t,
                    supplier_cell,
                    cell,
                    t + self.shelf[p],
                    granted,
                    lead_time,
                );
            } else if lead_time == 0 {
                // Same-period delivery: stock moves ring to ring, expiry by expiry.
                let moved = self
                    .inventory
                    .transfer(supplier_cell, cell, granted, oldest_first);
                self.flows.shipped[supplier_cell] += moved;
                self.flows.received[cell] += moved;
            } else {
                let mut batches = std::mem::take(&mut self.batches);
                batches.clear();
                self.inventory
                    .take(supplier_cell, granted, oldest_first, |e, units| {
                        batches.push((e, units))
                    });
                for &(expiry, units) in &batches {
                    self.ship_units(t, supplier_cell, cell, expiry, units, lead_time);
                }
                self.batches = batches;
            }
        }
    }

    /// Patient requests arrive and are served: backlog first, then each request from the
    /// patient's own group; what is still missing is then sought from compatible groups in
    /// preference order. What remains is unmet (lost or backordered).
    fn demand<R: Recorder>(&mut self, t: u32, recorder: &mut R) {
        let calendar = &self.scenario.calendar;
        let weekday = calendar.weekday(calendar.day_of(t));
        let oldest_first = self.scenario.issuing.oldest_first();
        let backorder = self.scenario.unmet_demand == UnmetDemand::Backordered;
        let demand_by_product = std::mem::take(&mut self.demand_by_product);
        for (h, by_product) in demand_by_product.iter().enumerate() {
            let Role::Hospital(hosp) = &self.scenario.sites[h].role else {
                continue;
            };
            let factor = self.conditions.demand[h];
            let processes = hosp.demand.iter().map(|d| (&d.shock, d.weekday[weekday]));
            period_scales(&mut self.scales, &mut self.streams[h], factor, processes);
            for (p, streams) in by_product {
                let p = *p;
                let mut residual = std::mem::take(&mut self.shortfalls);
                residual.clear();
                for g in 0..self.cells.groups {
                    let cell = self.cells.index(h, p, g);
                    let mut available = self.inventory.on_hand(cell);
                    let mut served = 0u32;
                    let owed = std::mem::take(&mut self.backlog[cell]);
                    let from_backlog = owed.min(available);
                    available -= from_backlog;
                    served += from_backlog;
                    if owed > from_backlog {
                        residual.push(Shortfall {
                            group: g,
                            units: owed - from_backlog,
                            new_request: false,
                        });
                    }
                    for &k in streams {
                        let stream = &hosp.demand[k];
                        let rng = &mut self.streams[h];
                        let n = stream.per_group[g].sample(rng, &self.scales[k]);
                        self.flows.requests[cell] += n;
                        if stream.units.is_fixed() {
                            // Same outcome as the loop below, without a draw per request.
                            let size = stream.units.sample(rng);
                            self.flows.demanded[cell] += n * size;
                            let full = (available / size).min(n);
                            available -= full * size;
                            served += full * size;
                            if full < n {
                                let partial = available;
                                available = 0;
                                served += partial;
                                residual.push(Shortfall {
                                    group: g,
                                    units: size - partial,
                                    new_request: true,
                                });
                                for _ in full + 1..n {
                                    residual.push(Shortfall {
                                        group: g,
                                        units: size,
                                        new_request: true,
                                    });
                                }
                            }
                            continue;
                        }
                        for _ in 0..n {
                            let size = stream.units.sample(rng);
                            self.flows.demanded[cell] += size;
                            let now = size.min(available);
                            available -= now;
                            served += now;
                            if now < size {
                                residual.push(Shortfall {
                                    group: g,
                                    units: size - now,
                                    new_request: true,
                                });
                            }
                        }
                    }
                    self.flows.issued_exact[cell] += served;
                    self.issue(t, h, p, g, g, served, oldest_first, recorder);
                }
                for &Shortfall {
                    group: g,
                    units: need,
                    new_request: is_new,
                } in &residual
                {
                    let cell = self.cells.index(h, p, g);
                    let mut missing = need;
                    for &donor in &self.scenario.products[p].preference[g][1..] {
                        if missing == 0 {
                            break;
                        }
                        let donor_cell = self.cells.index(h, p, donor);
                        let got = self.inventory.on_hand(donor_cell).min(missing);
                        if got > 0 {
                            self.issue(t, h, p, donor, g, got, oldest_first, recorder);
                            self.flows.issued_substituted[cell] += got;
                            missing -= got;
                        }
                    }
                    if is_new && missing > 0 {
                        self.flows.unmet[cell] += missing;
                        self.flows.requests_short[cell] += 1;
                    }
                    if backorder {
                        self.backlog[cell] += missing;
                    }
                }
                self.shortfalls = residual;
            }
        }
        self.demand_by_product = demand_by_product;
    }

    #[allow(clippy::too_many_arguments)]
    fn issue<R: Recorder>(
        &mut self,
        t: u32,
        site: SiteId,
        p: usize,
        donor: usize,
        recipient: usize,
        units: u32,
        oldest_first: bool,
        recorder: &mut R,
    ) {
        if units == 0 {
            return;
        }
        let cell = self.cells.index(site, p, donor);
        self.flows.issued[cell] += units;
        self.inventory.take(cell, units, oldest_first, |expiry, n| {
            recorder.issue(Issue {
                period: t,
                site,
                product: p,
                donor,
                recipient,
                expiry,
                units: n,
            })
        });
    }
}

/// Takes `k` of a lot's donations (and their share of units) out of it.
fn split_lot(lot: &mut LabLot, k: u32) -> LabLot {
    let mut batch = *lot;
    if k >= lot.donations {
        lot.donations = 0;
        lot.units = [0; MAX_PRODUCTS];
        return batch;
    }
    batch.donations = k;
    for p in 0..MAX_PRODUCTS {
        let share = (u64::from(lot.units[p]) * u64::from(k) / u64::from(lot.donations)) as u32;
        batch.units[p] = share;
        lot.units[p] -= share;
    }
    lot.donations -= k;
    batch
}
