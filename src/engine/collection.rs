//! Step 3: donations at collection sites, turned into product units and sent to the lab.
//!
//! Each collection site sends one lot per group per period. Fractional yields (a quarter of
//! a platelet pool per whole-blood donation) carry their remainder to the next period, as
//! leftover buffy coats wait for the next pool.

use super::state::{LabLot, MAX_PRODUCTS};
use super::{Conditions, Model, State};
use crate::network::Role;
use crate::random::{Scale, Stream, period_scales};
use crate::record::Flows;

pub(super) fn collection(
    model: &Model,
    t: u32,
    conditions: &Conditions,
    state: &mut State,
    flows: &mut Flows,
    streams: &mut [Stream],
    scales: &mut [Vec<Scale>],
) {
    let (scenario, cells) = (model.scenario, model.cells);
    let weekday = conditions.weekday;
    for (s, site) in scenario.sites.iter().enumerate() {
        let Role::Collection(c) = &site.role else {
            continue;
        };
        let factor = conditions.collection[s];
        if factor <= 0.0 {
            continue;
        }
        let rng = &mut streams[s];
        let processes = c.donations.iter().map(|d| (&d.shock, d.weekday[weekday]));
        let scales = &mut scales[s];
        period_scales(scales, rng, factor, processes);
        for g in 0..cells.groups {
            let mut donations = 0u32;
            let mut expected = [0.0f64; MAX_PRODUCTS];
            for (d, scale) in c.donations.iter().zip(scales.iter()) {
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
            for p in 0..cells.products {
                let carry = &mut state.yield_carry[cells.index(s, p, g)];
                let total = *carry + expected[p];
                // Truncation is floor here (total >= 0), without a libm call.
                units[p] = total as u32;
                *carry = total - f64::from(units[p]);
            }
            let lot = LabLot {
                source: s as u32,
                hub: c.hub as u32,
                hub_delay: c.lab_to_hub,
                group: g as u8,
                born: t,
                donations,
                units,
            };
            let delay = c.to_lab + conditions.to_lab_delay(s);
            state.send_to_lab(flows, cells, t, (s, c.lab), delay, lot);
        }
    }
}
