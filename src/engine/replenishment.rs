//! Steps 5 and 7: hospitals due for review order up to their level; each supplier fills the
//! orders (allocating when short) and dispatches.

use super::state::Shipment;
use super::{Conditions, Model, State};
use crate::network::{Role, SiteId};
use crate::policy::{ReviewTiming, allocate};
use crate::record::{Flow, Flows};

/// Scratch space for one supplier's orders, sized for the largest client list.
#[derive(Debug, Clone, Default)]
pub(super) struct Orders {
    /// Which clients review the product now.
    due: Vec<bool>,
    /// Units each client orders, and (rationed) may be granted.
    asked: Vec<u32>,
    requests: Vec<u32>,
    grants: Vec<u32>,
}

impl Orders {
    pub fn new(most_clients: usize) -> Orders {
        Orders {
            due: vec![false; most_clients],
            asked: vec![0; most_clients],
            requests: vec![0; most_clients],
            grants: vec![0; most_clients],
        }
    }
}

pub(super) fn reviews(
    model: &Model,
    (t, timing): (u32, ReviewTiming),
    conditions: &Conditions,
    state: &mut State,
    flows: &mut Flows,
    orders: &mut Orders,
) {
    if !model.timings_used.contains(&timing) {
        return;
    }
    for &supplier in &model.scenario.topology.dispatchers {
        let unlimited = matches!(model.scenario.sites[supplier].role, Role::Supplier);
        for p in 0..model.cells.products {
            if mark_due(model, t, timing, supplier, p, &mut orders.due) {
                for g in 0..model.cells.groups {
                    let order = (supplier, unlimited, p, g);
                    fill_orders(model, t, conditions, order, state, flows, orders);
                }
            }
        }
    }
}

/// Marks which clients of `supplier` review `p` now (in `due`); true if any does.
fn mark_due(
    model: &Model,
    t: u32,
    timing: ReviewTiming,
    supplier: SiteId,
    p: usize,
    due: &mut [bool],
) -> bool {
    let mut any = false;
    for (due, client) in due.iter_mut().zip(&model.clients[supplier]) {
        *due = client.rules[p]
            .as_ref()
            .is_some_and(|rule| rule.timing == timing && rule.reviews_in(t));
        any |= *due;
    }
    any
}

/// The part of an order of `quantity` a rationing supplier may grant (rounded to nearest).
fn ration(quantity: u32, share: f64) -> u32 {
    if share >= 1.0 {
        quantity
    } else {
        (f64::from(quantity) * share).round() as u32
    }
}

/// Orders of one supplier's clients for product `p`, group `g`: asked, granted, dispatched.
fn fill_orders(
    model: &Model,
    t: u32,
    conditions: &Conditions,
    (supplier, unlimited, p, g): (SiteId, bool, usize, usize),
    state: &mut State,
    flows: &mut Flows,
    orders: &mut Orders,
) {
    let cells = model.cells;
    let clients = &model.clients[supplier];
    let n = clients.len();
    let mut any = false;
    for (k, client) in clients.iter().enumerate() {
        let quantity = match &client.rules[p] {
            Some(rule) if orders.due[k] => {
                let cell = cells.index(client.site, p, g);
                let position = i64::from(state.inventory.on_hand(cell))
                    + i64::from(state.in_transit[cell])
                    - i64::from(state.backlog[cell]);
                rule.order_quantity(g, position)
            }
            _ => 0,
        };
        orders.asked[k] = quantity;
        orders.requests[k] = ration(quantity, conditions.order_share(p));
        any |= quantity > 0;
    }
    if !any {
        return;
    }
    let supplier_cell = cells.index(supplier, p, g);
    let min_expiry = t + model.scenario.min_shelf_to_ship[p];
    let (requests, grants) = (&orders.requests[..n], &mut orders.grants[..n]);
    if unlimited {
        grants.copy_from_slice(requests);
    } else if n == 1 {
        // What `allocate` gives a single client under any rule.
        grants[0] = requests[0].min(state.inventory.on_hand_from(supplier_cell, min_expiry));
    } else {
        let available = state.inventory.on_hand_from(supplier_cell, min_expiry);
        let priorities = &model.priorities[supplier];
        allocate(
            model.scenario.allocation,
            available,
            requests,
            priorities,
            grants,
        );
    }
    let oldest_first = model.scenario.issuing.oldest_first();
    let transfers = model
        .scenario
        .transfers
        .as_ref()
        .filter(|tr| !unlimited && tr.products[p]);
    for (k, client) in clients.iter().enumerate() {
        let (ordered, granted) = (orders.asked[k], orders.grants[k]);
        if ordered == 0 {
            continue;
        }
        let cell = cells.index(client.site, p, g);
        flows.add(Flow::Ordered, cell, ordered);
        let delivery_delay = conditions.delivery_delay(client.site);
        if granted > 0 {
            let lead_time = client.lead_time + delivery_delay;
            if unlimited {
                flows.add(Flow::Collected, supplier_cell, granted);
                let shipment = Shipment {
                    from: supplier_cell,
                    to: cell,
                    expiry: t + model.shelf[p],
                    units: granted,
                    delay: lead_time,
                };
                state.ship_units(flows, t, shipment);
            } else {
                let route = (supplier_cell, cell, lead_time);
                state.dispatch(flows, t, route, granted, (min_expiry, oldest_first));
            }
        }
        if let Some(tr) = transfers {
            let short = orders.requests[k] - granted;
            if short > 0 {
                let to = (cell, tr.lead_time + delivery_delay);
                let supply = (min_expiry, oldest_first);
                lateral(model, t, (supplier, p, g), to, short, supply, state, flows);
            }
        }
    }
}

/// Lateral resupply: the `short` units a hub could not give a hospital (cell `to`) come
/// from the other hubs' surplus, richest first (ties to the first-listed hub).
// Rare (a hub short with transfers on): kept out of the order loop, whose registers it crowded.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn lateral(
    model: &Model,
    t: u32,
    (supplier, p, g): (SiteId, usize, usize),
    (to, delay): (usize, u32),
    mut short: u32,
    supply: (u32, bool),
    state: &mut State,
    flows: &mut Flows,
) {
    let cells = model.cells;
    while short > 0 {
        let mut richest: Option<(usize, u32)> = None;
        for &hub in &model.hubs {
            if hub == supplier {
                continue;
            }
            let cell = cells.index(hub, p, g);
            // No surplus without more on hand than the reserve: skip the slot sum.
            if state.inventory.on_hand(cell) <= model.reserve[cell] {
                continue;
            }
            let surplus = state
                .inventory
                .on_hand_from(cell, supply.0)
                .saturating_sub(model.reserve[cell]);
            if surplus > richest.map_or(0, |(_, s)| s) {
                richest = Some((cell, surplus));
            }
        }
        let Some((from, surplus)) = richest else {
            return;
        };
        let units = short.min(surplus);
        state.dispatch(flows, t, (from, to, delay), units, supply);
        short -= units;
    }
}
