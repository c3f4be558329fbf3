//! The service's responses (see [`crate::responses`]): [`act`] at the start of a period sets
//! what is in force on the period's conditions and delivers requested imports; [`review`]
//! at its end reads days of supply and decides what happens next.

use super::{Conditions, Model, State};
use crate::alert::days_of_supply;
use crate::network::{Role, SiteId};
use crate::record::Flows;
use crate::responses::{Action, Activation};

/// Applies collection management and every action in force in period `t`.
pub(super) fn act(
    model: &Model,
    t: u32,
    state: &mut State,
    conditions: &mut Conditions,
    flows: &mut Flows,
) {
    let scenario = model.scenario;
    if let Some((from, factor)) = state.collection_next
        && from <= t
    {
        state.collection_factor = factor;
        state.collection_next = None;
    }
    let mut collection = state.collection_factor;
    for (i, response) in scenario.responses.iter().enumerate() {
        let window = state.activations[i];
        if !window.active(t) {
            continue;
        }
        match &response.action {
            Action::DonorAppeal { factor } => collection *= factor,
            Action::DeferElectives { factor, products } => {
                for &h in &scenario.topology.hospitals {
                    for &p in products {
                        *conditions.demand_mut(h, p) *= factor;
                    }
                }
            }
            Action::RationOrders { share, products } => {
                for &p in products {
                    conditions.ration(p, *share);
                }
            }
            Action::SwitchToRhdPositive { share, products } => {
                for &p in products {
                    conditions.allow_rhd_switch(p, *share);
                }
            }
            Action::RequestImports {
                site,
                product,
                units,
            } => {
                let spread = (t - window.from, window.until - window.from);
                let what = (*site, *product, units.as_slice());
                super::incidents::deliver(model, t, what, spread, state, flows);
            }
        }
    }
    if collection != 1.0 {
        for (s, site) in scenario.sites.iter().enumerate() {
            if matches!(site.role, Role::Collection(_)) {
                conditions.collection[s] *= collection;
            }
        }
    }
}

/// At the end of period `t`: collection management's review, and the triggers.
pub(super) fn review(model: &Model, t: u32, state: &mut State) {
    let scenario = model.scenario;
    if let Some(m) = &scenario.collection_management
        && (t + 1).is_multiple_of(m.review)
    {
        let network = (None, m.product, None);
        if let Some(days) = days(model, state, network, model.managed_baseline) {
            let next = m.next_factor(state.collection_factor, days, state.reviewed_days);
            state.collection_next = Some((t + 1 + m.delay, next));
            state.reviewed_days = Some(days);
        }
    }
    for (i, response) in scenario.responses.iter().enumerate() {
        if state.activations[i].pending(t) {
            continue;
        }
        let w = &response.trigger;
        let watched = days(
            model,
            state,
            (w.site, w.product, w.group),
            model.trigger_baselines[i],
        );
        if watched.is_some_and(|d| d < w.below_days) {
            let from = t + 1 + response.delay;
            state.activations[i] = Activation {
                from,
                until: from + response.duration,
            };
        }
    }
}

/// Days of supply of `product` (one group or all) at `site` or across the network's
/// stock-holding sites, at the end of the period; `baseline` is the demand behind them.
fn days(
    model: &Model,
    state: &State,
    (site, product, group): (Option<SiteId>, usize, Option<usize>),
    baseline: f64,
) -> Option<f64> {
    let one: [SiteId; 1];
    let sites: &[SiteId] = match site {
        Some(s) => {
            one = [s];
            &one
        }
        None => &model.scenario.topology.stock_sites,
    };
    let groups = match group {
        Some(g) => g..g + 1,
        None => 0..model.cells.groups,
    };
    let mut on_hand = 0u64;
    for &s in sites {
        for g in groups.clone() {
            on_hand += u64::from(state.inventory.on_hand(model.cells.index(s, product, g)));
        }
    }
    days_of_supply(on_hand, baseline)
}
