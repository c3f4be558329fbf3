//! Step 2: units whose expiry period is now leave stock at every hub and hospital.

use super::{Model, State};
use crate::record::{Flow, Flows};

pub(super) fn expiry(model: &Model, t: u32, state: &mut State, flows: &mut Flows) {
    let per_site = model.cells.products * model.cells.groups;
    for &s in &model.scenario.topology.stock_sites {
        for cell in s * per_site..(s + 1) * per_site {
            flows.add(Flow::Expired, cell, state.inventory.expire(cell, t));
        }
    }
}
