//! Step 3b: mass-casualty incidents. In an incident's first period its patients are drawn
//! from the event's own stream and queued as urgent requests at their hospitals, each due
//! in the period of its transfusion; [`issuing`](super::issuing) serves them first.

use rand::RngExt;

use super::state::Urgent;
use super::{Model, State};
use crate::events::{Effect, MassCasualty};
use crate::random::{Stream, binomial, stochastic_round};

/// Draws the patients of every incident starting in period `t` (`streams`: one per event).
pub(super) fn incidents(model: &Model, t: u32, state: &mut State, streams: &mut [Stream]) {
    for (event, rng) in model.scenario.events.iter().zip(streams) {
        if let Effect::MassCasualty(mci) = &event.effect
            && event.start == t
        {
            let last = event.end - 1;
            draw_patients(model, mci, (t, last), rng, &mut state.urgent);
        }
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
                let o = if o_negative { e.o_negative_group } else { e.o_positive_group };
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
