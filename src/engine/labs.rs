//! Step 4: labs start testing and processing queued donations, oldest first, up to their
//! capacity; and the release of a processed batch (step 1, or now without processing time).

use super::state::{LabLot, Shipment, Transit};
use super::{Conditions, Model, State};
use crate::network::{Role, SiteId};
use crate::random::{Stream, stochastic_round};
use crate::record::{Flow, Flows};

pub(super) fn processing(
    model: &Model,
    t: u32,
    conditions: &Conditions,
    state: &mut State,
    flows: &mut Flows,
    streams: &mut [Stream],
) {
    for &lab in &model.scenario.topology.labs {
        let Role::Lab(spec) = &model.scenario.sites[lab].role else {
            continue;
        };
        let factor = conditions.lab_capacity[lab];
        let mut credit = match spec.capacity_per_period {
            Some(c) => state.lab_credit[lab] + c * factor,
            // An unlimited lab is open or, under an outage, closed.
            None if factor > 0.0 => f64::INFINITY,
            None => 0.0,
        };
        while credit >= 1.0 {
            let Some(front) = state.lab_queue[lab].front_mut() else {
                break;
            };
            let k = if (front.donations as f64) <= credit {
                front.donations
            } else {
                credit as u32
            };
            let batch = front.split(k);
            if front.donations == 0 {
                state.lab_queue[lab].pop_front();
            }
            credit -= f64::from(k);
            if spec.processing == 0 {
                release(
                    model,
                    t,
                    conditions,
                    (lab, batch),
                    state,
                    flows,
                    &mut streams[lab],
                );
            } else {
                let item = Transit::Processed {
                    lab: lab as u32,
                    lot: batch,
                };
                state.schedule(t, t + spec.processing, item);
            }
        }
        // Unused capacity is not banked; only the fraction of a donation carries over.
        state.lab_credit[lab] = if credit.is_finite() {
            credit.fract()
        } else {
            0.0
        };
    }
}

/// A processed batch leaves the lab: expired units counted, reactive or failed donations
/// discarded whole (all their components), the rest shipped to the hub.
pub(super) fn release(
    model: &Model,
    t: u32,
    conditions: &Conditions,
    (lab, lot): (SiteId, LabLot),
    state: &mut State,
    flows: &mut Flows,
    rng: &mut Stream,
) {
    let cells = model.cells;
    let failed = model.discards[lab].sample(rng, lot.donations);
    for p in 0..cells.products {
        let u = lot.units[p];
        if u == 0 {
            continue;
        }
        let cell = cells.index(lab, p, lot.group as usize);
        state.in_testing[cell] -= u;
        let expiry = lot.born + model.shelf[p];
        if expiry <= t {
            flows.add(Flow::Expired, cell, u);
            continue;
        }
        // The failed donations' share of this product's units, rounded without bias.
        let discarded = stochastic_round(
            rng,
            f64::from(u) * f64::from(failed) / f64::from(lot.donations),
        )
        .min(u);
        flows.add(Flow::Discarded, cell, discarded);
        let released = u - discarded;
        flows.add(Flow::Released, cell, released);
        let delay = lot.hub_delay + conditions.to_hub_delay(lot.source as usize);
        let pair = cells.index(0, p, lot.group as usize);
        flows.release_lag[pair] += u64::from(released) * u64::from(t + delay - lot.born);
        let shipment = Shipment {
            from: cell,
            to: cells.index(lot.hub as usize, p, lot.group as usize),
            expiry,
            units: released,
            delay,
        };
        state.ship_units(flows, t, shipment);
    }
}
