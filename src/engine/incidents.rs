//! Step 3b: what events do to stock and demand directly. Facility damage destroys a share
//! of stock in its first period; imports arrive as fresh stock over their window; a
//! mass-casualty incident's patients are drawn in its first period from the event's own
//! stream and queued as urgent needs at their hospitals, each due in the period of its
//! transfusion ([`issuing`](super::issuing) serves them first).

use rand::RngExt;

use super::state::Urgent;
use super::{Model, State};
use crate::events::{Effect, MassCasualty};
use crate::random::{Stream, binomial, stochastic_round};
use crate::record::{Flow, Flows};

/// Applies the events active in period `t` (`streams`: one per event, in event order).
pub(super) fn incidents(
    model: &Model,
    t: u32,
    state: &mut State,
    flows: &mut Flows,
    streams: &mut [Stream],
) {
    for (event, rng) in model.scenario.events.iter().zip(streams) {
        if !event.active(t) {
            continue;
        }
        match &event.effect {
            Effect::MassCasualty(mci) if event.start == t => {
                draw_patients(model, mci, (t, event.end - 1), rng, &mut state.urgent);
            }
            Effect::Damage { sites, share } if event.start == t => {
                for &site in sites {
                    destroy(model, site, *share, rng, state, flows);
                }
            }
            Effect::Imports {
                site,
                product,
                units,
            } => {
                let spread = (t - event.start, event.end - event.start);
                deliver(model, t, (*site, *product, units), spread, state, flows);
            }
            _ => {}
        }
    }
}

/// Period `k` of `n`'s part of fresh `units` (by group) of `product` arriving at `site`,
/// counted as collected and released there (imports, by event or by response).
pub(super) fn deliver(
    model: &Model,
    t: u32,
    (site, product, units): (usize, usize, &[u32]),
    (k, n): (u32, u32),
    state: &mut State,
    flows: &mut Flows,
) {
    for (g, &total) in units.iter().enumerate() {
        let part = share_of(total, k, n);
        let cell = model.cells.index(site, product, g);
        state.inventory.add(cell, t + model.shelf[product], part);
        flows.add(Flow::Collected, cell, part);
        flows.add(Flow::Released, cell, part);
    }
}

/// Period `k`'s part of `total` spread over `n` periods: the parts differ by at most one
/// and sum to `total`.
fn share_of(total: u32, k: u32, n: u32) -> u32 {
    let upto = |k: u32| (u64::from(total) * u64::from(k) / u64::from(n)) as u32;
    upto(k + 1) - upto(k)
}

/// Destroys each unit in stock at `site` with probability `share`, oldest first.
fn destroy(
    model: &Model,
    site: usize,
    share: f64,
    rng: &mut Stream,
    state: &mut State,
    flows: &mut Flows,
) {
    let per_site = model.cells.products * model.cells.groups;
    for cell in site * per_site..(site + 1) * per_site {
        let lost = binomial(rng, state.inventory.on_hand(cell), share);
        state.inventory.take(cell, lost, true, |_, _| {});
        flows.add(Flow::Discarded, cell, lost);
    }
}

fn draw_patients(
    model: &Model,
    mci: &MassCasualty,
    (first, last): (u32, u32),
    rng: &mut Stream,
    urgent: &mut Vec<Urgent>,
) {
    let admitted = binomial(rng, mci.casualties, mci.admitted);
    let transfused = binomial(rng, admitted, mci.transfused);
    let period_hours = f64::from(model.scenario.calendar.period_hours);
    for _ in 0..transfused {
        let site = mci.hospitals[pick(&mci.hospital_cdf, rng.random())];
        let group = pick(&mci.group_cdf, rng.random());
        let units = mci.units.sample(rng);
        // Exponential delay from the incident, by its half-life.
        let u: f64 = rng.random();
        let delay = -(1.0 - u).ln() * mci.half_life_hours / std::f64::consts::LN_2;
        let offset = ((mci.offset_hours + delay) / period_hours).floor();
        let due = (f64::from(first) + offset).min(f64::from(last)) as u32;
        // Emergency release: the patient's first red cells are group O, then their own.
        let released_as = mci.emergency.and_then(|e| {
            (rng.random::<f64>() < e.share).then(|| {
                let o_negative = rng.random::<f64>() < e.o_negative;
                let o = if o_negative {
                    e.o_negative_group
                } else {
                    e.o_positive_group
                };
                (e, o)
            })
        });
        for (p, &ratio) in mci.ratio.iter().enumerate() {
            if ratio <= 0.0 {
                continue;
            }
            let mut need = stochastic_round(rng, f64::from(units) * ratio);
            if let Some((e, o)) = released_as
                && p == e.red_cells
            {
                let released = need.min(e.units);
                push(urgent, due, model.cells.index(site, p, o), released);
                need -= released;
            }
            push(urgent, due, model.cells.index(site, p, group), need);
        }
    }
}

/// The index of the first cumulative share above `u`.
fn pick(cdf: &[f64], u: f64) -> usize {
    cdf.partition_point(|&c| c <= u).min(cdf.len() - 1)
}

fn push(urgent: &mut Vec<Urgent>, due: u32, cell: usize, units: u32) {
    if units > 0 {
        urgent.push(Urgent {
            due,
            cell: cell as u32,
            units,
        });
    }
}
