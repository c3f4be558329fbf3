//! Step 1: what is due this period arrives. Shipments enter stock (or expire on arrival),
//! donations reach their lab's queue, and lab batches whose processing ends now are released.

use super::labs::release;
use super::state::Transit;
use super::{Conditions, Model, State};
use crate::random::Stream;
use crate::record::{Flow, Flows};

pub(super) fn arrivals(
    model: &Model,
    t: u32,
    conditions: &Conditions,
    state: &mut State,
    flows: &mut Flows,
    streams: &mut [Stream],
) {
    let cells = model.cells;
    let mut arriving = state.take_due(t);
    for (due, item) in arriving.drain(..) {
        debug_assert_eq!(due, t, "the transit ring delivers nothing early or late");
        match item {
            Transit::Units {
                cell,
                expiry,
                units,
            } => {
                state.in_transit[cell as usize] -= units;
                state.receive_units(flows, t, cell as usize, expiry, units);
            }
            Transit::ToLab { lab, lot } => {
                for p in 0..cells.products {
                    let cell = cells.index(lab as usize, p, lot.group as usize);
                    state.in_transit[cell] -= lot.units[p];
                    state.in_testing[cell] += lot.units[p];
                    flows.add(Flow::Received, cell, lot.units[p]);
                }
                state.lab_queue[lab as usize].push_back(lot);
            }
            Transit::Processed { lab, lot } => {
                let lab = lab as usize;
                release(
                    model,
                    t,
                    conditions,
                    (lab, lot),
                    state,
                    flows,
                    &mut streams[lab],
                );
            }
        }
    }
    state.return_due(t, arriving);
}
