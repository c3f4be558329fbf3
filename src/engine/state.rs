//! The state of one replication: everything that carries over from one period to the next.
//!
//! [`State`] is one plain value. Cloning it snapshots a replication, so a trainer can pause,
//! branch and resume one; the engine's other parts are either fixed for the run (the
//! [`Model`](super::Model)) or rebuilt every period (flows, conditions, scratch space).

use std::collections::VecDeque;

use crate::inventory::Inventory;
use crate::network::SiteId;
use crate::record::{Flow, Flows};
use crate::responses::Activation;
use crate::scenario::Cells;

/// Most products a scenario can have (red cells, platelets, plasma, whole blood).
pub(crate) const MAX_PRODUCTS: usize = 4;

/// Donations of one group from one collection site, travelling to or waiting at a lab.
#[derive(Debug, Clone, Copy)]
pub(super) struct LabLot {
    /// The collection site the donations came from.
    pub source: u32,
    pub hub: u32,
    /// Periods from the lab to the hub.
    pub hub_delay: u32,
    pub group: u8,
    /// Period of collection.
    pub born: u32,
    pub donations: u32,
    /// Units of each product these donations will yield.
    pub units: [u32; MAX_PRODUCTS],
}

impl LabLot {
    /// Takes `k` of the lot's donations (and their share of units) out of it.
    pub fn split(&mut self, k: u32) -> LabLot {
        let mut batch = *self;
        if k >= self.donations {
            self.donations = 0;
            self.units = [0; MAX_PRODUCTS];
            return batch;
        }
        batch.donations = k;
        for p in 0..MAX_PRODUCTS {
            let share =
                (u64::from(self.units[p]) * u64::from(k) / u64::from(self.donations)) as u32;
            batch.units[p] = share;
            self.units[p] -= share;
        }
        self.donations -= k;
        batch
    }
}

/// Something that happens in a later period: an arrival, or the end of a lab's processing.
#[derive(Debug, Clone, Copy)]
pub(super) enum Transit {
    /// Units on the road to a stock-holding cell.
    Units { cell: u32, expiry: u32, units: u32 },
    /// Donations on the road to a lab.
    ToLab { lab: u32, lot: LabLot },
    /// A lab batch whose processing finishes in this period.
    Processed { lab: u32, lot: LabLot },
}

/// Units a mass-casualty patient needs of one cell's product and group, in period `due`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Urgent {
    pub due: u32,
    pub cell: u32,
    pub units: u32,
}

/// Everything one replication carries from one period to the next.
#[derive(Debug, Clone)]
pub struct State {
    /// The next period to simulate.
    pub(super) period: u32,
    pub(super) inventory: Inventory,
    /// Items due in a later period, by due period modulo the ring's length (a power of
    /// two), each with its due period. The ring grows if a delay ever reaches its length, so
    /// nothing is early.
    pub(super) transit: Vec<Vec<(u32, Transit)>>,
    /// Donations waiting for processing, oldest first, by lab.
    pub(super) lab_queue: Vec<VecDeque<LabLot>>,
    /// Fraction of a donation's processing capacity carried to the next period, by lab.
    pub(super) lab_credit: Vec<f64>,
    /// Fractional product units carried to the next lot, by collection cell.
    pub(super) yield_carry: Vec<f64>,
    /// Units on the road towards each cell.
    pub(super) in_transit: Vec<u32>,
    /// Units at a lab, waiting for or in testing and processing, by cell.
    pub(super) in_testing: Vec<u32>,
    /// Units owed to patients (backordered), by recipient cell.
    pub(super) backlog: Vec<u32>,
    /// Mass-casualty patients' needs not yet due.
    pub(super) urgent: Vec<Urgent>,
    /// Fraction of a unit carried to the next shortfall under the switch to RhD-positive,
    /// by recipient cell, so the share switched is exact over time without a random draw.
    pub(super) rhd_switch_credit: Vec<f64>,
    /// Collection management's factor in force, and the next one with its first period.
    pub(super) collection_factor: f64,
    pub(super) collection_next: Option<(u32, f64)>,
    /// Days of supply collection management saw at its last review.
    pub(super) reviewed_days: Option<f64>,
    /// When each triggered response acts, by response.
    pub(super) activations: Vec<Activation>,
}

impl State {
    /// An empty network; `longest_delay` sizes the transit ring; `responses` is the number of
    /// the scenario's triggered responses.
    pub(super) fn new(
        cells: Cells,
        shelf_by_cell: &[Option<u32>],
        longest_delay: u32,
        responses: usize,
    ) -> State {
        let n = cells.len();
        State {
            period: 0,
            inventory: Inventory::new(shelf_by_cell),
            transit: vec![Vec::new(); (longest_delay as usize + 1).next_power_of_two()],
            lab_queue: vec![VecDeque::new(); cells.sites],
            lab_credit: vec![0.0; cells.sites],
            yield_carry: vec![0.0; n],
            in_transit: vec![0; n],
            in_testing: vec![0; n],
            backlog: vec![0; n],
            urgent: Vec::new(),
            rhd_switch_credit: vec![0.0; n],
            collection_factor: 1.0,
            collection_next: None,
            reviewed_days: None,
            activations: vec![Activation::default(); responses],
        }
    }

    /// Empties the network, keeping the allocations.
    pub(super) fn clear(&mut self) {
        self.period = 0;
        self.inventory.clear();
        self.transit.iter_mut().for_each(Vec::clear);
        self.lab_queue.iter_mut().for_each(VecDeque::clear);
        self.lab_credit.fill(0.0);
        self.yield_carry.fill(0.0);
        self.in_transit.fill(0);
        self.in_testing.fill(0);
        self.backlog.fill(0);
        self.urgent.clear();
        self.rhd_switch_credit.fill(0.0);
        self.collection_factor = 1.0;
        self.collection_next = None;
        self.reviewed_days = None;
        self.activations.fill(Activation::default());
    }

    /// The next period to simulate.
    pub fn period(&self) -> u32 {
        self.period
    }

    /// Units in stock by cell.
    pub fn on_hand(&self) -> &[u32] {
        self.inventory.on_hand_all()
    }

    /// Units on the road towards each cell.
    pub fn in_transit(&self) -> &[u32] {
        &self.in_transit
    }

    /// Units at labs by cell.
    pub fn in_testing(&self) -> &[u32] {
        &self.in_testing
    }

    /// Units owed to patients by recipient cell.
    pub fn backlog(&self) -> &[u32] {
        &self.backlog
    }

    /// Mass-casualty patients' needs drawn but not yet due.
    pub fn urgent(&self) -> &[Urgent] {
        &self.urgent
    }

    /// When each of the scenario's responses acts (empty windows before it triggers).
    pub fn activations(&self) -> &[Activation] {
        &self.activations
    }

    /// Collection management's factor in force.
    pub fn collection_factor(&self) -> f64 {
        self.collection_factor
    }

    fn slot(&self, period: u32) -> usize {
        ring_slot(&self.transit, period)
    }

    /// Queues `item` for period `due`, growing the ring first if `due` is a full lap away.
    #[inline]
    pub(super) fn schedule(&mut self, now: u32, due: u32, item: Transit) {
        schedule(&mut self.transit, now, due, item);
    }

    /// Takes the items due in period `t` (the ring holds nothing due earlier).
    pub(super) fn take_due(&mut self, t: u32) -> Vec<(u32, Transit)> {
        let slot = self.slot(t);
        std::mem::take(&mut self.transit[slot])
    }

    /// Hands back the (emptied) buffer of period `t`'s slot, so its capacity is reused.
    pub(super) fn return_due(&mut self, t: u32, buffer: Vec<(u32, Transit)>) {
        let slot = self.slot(t);
        debug_assert!(self.transit[slot].is_empty());
        self.transit[slot] = buffer;
    }

    /// Sends units from one cell to a stock cell of the same product and group, arriving
    /// after `delay` periods (now if zero).
    #[inline]
    pub(super) fn ship_units(&mut self, flows: &mut Flows, t: u32, shipment: Shipment) {
        let Shipment {
            from,
            to,
            expiry,
            units,
            delay,
        } = shipment;
        flows.add(Flow::Shipped, from, units);
        if delay == 0 {
            self.receive_units(flows, t, to, expiry, units);
        } else {
            self.in_transit[to] += units;
            let item = Transit::Units {
                cell: to as u32,
                expiry,
                units,
            };
            self.schedule(t, t + delay, item);
        }
    }

    /// Sends up to `units` of the stock in cell `from` above the shelf-life floor to cell
    /// `to`, each unit keeping its expiry, arriving after `delay` periods (now if zero).
    /// Returns the units sent.
    #[inline]
    pub(super) fn dispatch(
        &mut self,
        flows: &mut Flows,
        t: u32,
        (from, to, delay): (usize, usize, u32),
        units: u32,
        floor: (u32, bool),
    ) -> u32 {
        // Stock in a cell expires after `t` (the expiry step ran), so none expires on arrival
        // today: the units go ring to ring.
        let sent = if delay == 0 {
            let sent = self.inventory.transfer_from(from, to, units, floor);
            flows.add(Flow::Received, to, sent);
            sent
        } else {
            let State {
                inventory, transit, ..
            } = self;
            let sent = inventory.take_from(from, units, floor, |expiry, units| {
                let item = Transit::Units {
                    cell: to as u32,
                    expiry,
                    units,
                };
                schedule(transit, t, t + delay, item);
            });
            self.in_transit[to] += sent;
            sent
        };
        flows.add(Flow::Shipped, from, sent);
        sent
    }

    /// Units reach a stock cell: into stock, or expired on arrival.
    #[inline]
    pub(super) fn receive_units(
        &mut self,
        flows: &mut Flows,
        t: u32,
        cell: usize,
        expiry: u32,
        units: u32,
    ) {
        flows.add(Flow::Received, cell, units);
        if expiry <= t {
            flows.add(Flow::Expired, cell, units);
        } else {
            self.inventory.add(cell, expiry, units);
        }
    }

    /// A lot leaves a collection site for its lab, arriving after `delay` periods.
    pub(super) fn send_to_lab(
        &mut self,
        flows: &mut Flows,
        cells: Cells,
        t: u32,
        (from, lab): (SiteId, SiteId),
        delay: u32,
        lot: LabLot,
    ) {
        for p in 0..cells.products {
            let u = lot.units[p];
            let from_cell = cells.index(from, p, lot.group as usize);
            flows.add(Flow::Collected, from_cell, u);
            flows.add(Flow::Shipped, from_cell, u);
            let lab_cell = cells.index(lab, p, lot.group as usize);
            if delay == 0 {
                flows.add(Flow::Received, lab_cell, u);
                self.in_testing[lab_cell] += u;
            } else {
                self.in_transit[lab_cell] += u;
            }
        }
        if delay == 0 {
            self.lab_queue[lab].push_back(lot);
        } else {
            let item = Transit::ToLab {
                lab: lab as u32,
                lot,
            };
            self.schedule(t, t + delay, item);
        }
    }
}

/// Units of one cell sent to another cell of the same product and group.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shipment {
    pub from: usize,
    pub to: usize,
    pub expiry: u32,
    pub units: u32,
    pub delay: u32,
}

/// Queues `item` on the transit ring for period `due`, growing the ring first if `due` is a
/// full lap away. (A function of the ring alone, so a dispatch can schedule while it holds
/// the inventory.)
#[inline]
fn schedule(ring: &mut Vec<Vec<(u32, Transit)>>, now: u32, due: u32, item: Transit) {
    if (due - now) as usize >= ring.len() {
        grow_transit(ring, due - now);
    }
    let slot = ring_slot(ring, due);
    ring[slot].push((due, item));
}

/// The ring's slot for period `period`. Ring lengths are powers of two, so a mask, not a
/// division (a national network schedules hundreds of shipments a period).
#[inline]
fn ring_slot(ring: &[Vec<(u32, Transit)>], period: u32) -> usize {
    debug_assert!(ring.len().is_power_of_two());
    period as usize & (ring.len() - 1)
}

/// Re-lays the ring for delays up to `delay` (only when an event lengthens a trip past
/// every link of the scenario); items keep their order within each due period.
#[cold]
#[inline(never)]
fn grow_transit(ring: &mut Vec<Vec<(u32, Transit)>>, delay: u32) {
    let len = (delay as usize + 1).next_power_of_two();
    let old = std::mem::replace(ring, vec![Vec::new(); len]);
    for (due, item) in old.into_iter().flatten() {
        let slot = ring_slot(ring, due);
        ring[slot].push((due, item));
    }
}
