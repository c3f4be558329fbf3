//! Step 6: patient demand and issuing.
//!
//! Per hospital and product, for each recipient group: the backlog first, then mass-casualty
//! patients due now, then this period's requests (each a number of units) from the group's own stock in issuing order, partially
//! if stock runs out. Each remainder is then sought from compatible groups in the product's
//! preference order. What is still missing is unmet: lost, or added to the backlog.

use super::state::Urgent;
use super::{Conditions, Model, State};
use crate::network::{Role, SiteId};
use crate::policy::UnmetDemand;
use crate::random::{Scale, Stream, period_scales};
use crate::record::{Flow, Flows, Issue, Recorder};

/// Units of one recipient group still needed after its own group's stock.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shortfall {
    group: usize,
    units: u32,
    /// A request of this period (counts as unmet), not an older backlog.
    new_request: bool,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn demand<R: Recorder>(
    model: &Model,
    t: u32,
    conditions: &Conditions,
    state: &mut State,
    flows: &mut Flows,
    streams: &mut [Stream],
    (site_scales, residual, urgent): (&mut [Vec<Scale>], &mut Vec<Shortfall>, &mut Vec<Urgent>),
    recorder: &mut R,
) {
    let scenario = model.scenario;
    take_urgent(t, state, urgent);
    let weekday = conditions.weekday;
    for (h, by_product) in model.demand_by_product.iter().enumerate() {
        let Role::Hospital(hosp) = &scenario.sites[h].role else {
            continue;
        };
        let rng = &mut streams[h];
        let processes = hosp.demand.iter().map(|d| {
            (
                &d.shock,
                d.weekday[weekday] * conditions.demand(h, d.product),
            )
        });
        let scales = &mut site_scales[h];
        period_scales(scales, rng, 1.0, processes);
        for (p, stream_ids) in by_product {
            let mut issuer = Issuer {
                model,
                t,
                site: h,
                product: *p,
                rhd_switch: conditions.rhd_switch_share(*p),
                state: &mut *state,
                flows: &mut *flows,
                recorder: &mut *recorder,
            };
            residual.clear();
            for g in 0..model.cells.groups {
                let demand = Demand {
                    streams: stream_ids,
                    scales,
                    urgent,
                };
                serve_own_group(&mut issuer, g, demand, rng, residual);
            }
            substitute(&mut issuer, residual);
        }
    }
}

/// Moves the mass-casualty needs due in period `t` into `now`, sorted by cell.
fn take_urgent(t: u32, state: &mut State, now: &mut Vec<Urgent>) {
    now.clear();
    if state.urgent.is_empty() {
        return;
    }
    state.urgent.retain(|u| {
        let due = u.due <= t;
        if due {
            now.push(*u);
        }
        !due
    });
    now.sort_by_key(|u| u.cell);
}

/// This period's demand at one hospital for one product.
#[derive(Clone, Copy)]
struct Demand<'a> {
    /// The hospital's demand streams for the product.
    streams: &'a [usize],
    /// The period's multipliers, by stream.
    scales: &'a [Scale],
    /// Mass-casualty needs due now, sorted by cell.
    urgent: &'a [Urgent],
}

/// Issues one hospital's units of one product in one period.
struct Issuer<'a, 'm, 's, R> {
    model: &'a Model<'s>,
    t: u32,
    site: SiteId,
    product: usize,
    /// Share of RhD-negative shortfalls that may take RhD-positive units now (0 = none).
    rhd_switch: f64,
    state: &'m mut State,
    flows: &'m mut Flows,
    recorder: &'m mut R,
}

/// Backlog, mass-casualty needs and new requests of recipient group `g` from its own stock;
/// the rest goes to `residual`.
fn serve_own_group<R: Recorder>(
    is: &mut Issuer<'_, '_, '_, R>,
    g: usize,
    demand: Demand<'_>,
    rng: &mut Stream,
    residual: &mut Vec<Shortfall>,
) {
    let Demand {
        streams: stream_ids,
        scales,
        urgent,
    } = demand;
    let Role::Hospital(hosp) = &is.model.scenario.sites[is.site].role else {
        return;
    };
    let cell = is.model.cells.index(is.site, is.product, g);
    let mut available = is.state.inventory.on_hand(cell);
    let mut served = 0u32;
    let owed = std::mem::take(&mut is.state.backlog[cell]);
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
    let short = |units| Shortfall {
        group: g,
        units,
        new_request: true,
    };
    let first = urgent.partition_point(|u| (u.cell as usize) < cell);
    for u in urgent[first..]
        .iter()
        .take_while(|u| u.cell as usize == cell)
    {
        is.flows.add(Flow::Requests, cell, 1);
        is.flows.add(Flow::Demanded, cell, u.units);
        let now = u.units.min(available);
        available -= now;
        served += now;
        if now < u.units {
            residual.push(short(u.units - now));
        }
    }
    for &k in stream_ids {
        let stream = &hosp.demand[k];
        let n = stream.per_group[g].sample(rng, &scales[k]);
        is.flows.add(Flow::Requests, cell, n);
        if stream.units.is_fixed() {
            // Same outcome as the loop below, without a draw per request.
            let size = stream.units.sample(rng);
            is.flows.add(Flow::Demanded, cell, n * size);
            let full = (available / size).min(n);
            available -= full * size;
            served += full * size;
            if full < n {
                let partial = available;
                available = 0;
                served += partial;
                residual.push(short(size - partial));
                residual.extend((full + 1..n).map(|_| short(size)));
            }
            continue;
        }
        for _ in 0..n {
            let size = stream.units.sample(rng);
            is.flows.add(Flow::Demanded, cell, size);
            let now = size.min(available);
            available -= now;
            served += now;
            if now < size {
                residual.push(short(size - now));
            }
        }
    }
    is.flows.add(Flow::IssuedExact, cell, served);
    is.issue(g, g, served);
}

/// Each shortfall sought from compatible groups in preference order, then (while the
/// service has switched RhD-negative patients to RhD-positive) its share from RhD-positive
/// groups; what is still missing is unmet (if new) and backordered (if the policy says so).
fn substitute<R: Recorder>(is: &mut Issuer<'_, '_, '_, R>, residual: &[Shortfall]) {
    let (model, site, p) = (is.model, is.site, is.product);
    let backorder = model.scenario.unmet_demand == UnmetDemand::Backordered;
    for &Shortfall {
        group: g,
        units: need,
        new_request,
    } in residual
    {
        let cell = model.cells.index(site, p, g);
        let spec = &model.scenario.products[p];
        let mut missing = is.substitute_from(g, &spec.preference[g][1..], need);
        if missing > 0 && is.rhd_switch > 0.0 && !spec.rhd_switch[g].is_empty() {
            let credit = &mut is.state.rhd_switch_credit[cell];
            *credit += is.rhd_switch * f64::from(missing);
            let allowed = (credit.floor() as u32).min(missing);
            *credit -= f64::from(allowed);
            let left = is.substitute_from(g, &spec.rhd_switch[g], allowed);
            missing -= allowed - left;
        }
        if new_request && missing > 0 {
            is.flows.add(Flow::Unmet, cell, missing);
            is.flows.add(Flow::RequestsShort, cell, 1);
        }
        if backorder {
            is.state.backlog[cell] += missing;
        }
    }
}

impl<R: Recorder> Issuer<'_, '_, '_, R> {
    /// Issues up to `need` units to recipient group `g` from `donors` in order; returns
    /// what is still missing.
    fn substitute_from(&mut self, g: usize, donors: &[usize], mut need: u32) -> u32 {
        let (cells, site, p) = (self.model.cells, self.site, self.product);
        for &donor in donors {
            if need == 0 {
                break;
            }
            let got = self
                .state
                .inventory
                .on_hand(cells.index(site, p, donor))
                .min(need);
            if got > 0 {
                self.issue(donor, g, got);
                self.flows
                    .add(Flow::IssuedSubstituted, cells.index(site, p, g), got);
                need -= got;
            }
        }
        need
    }

    /// Issues `units` of group `donor` to patients of group `recipient`, in issuing order.
    fn issue(&mut self, donor: usize, recipient: usize, units: u32) {
        if units == 0 {
            return;
        }
        let (site, product, period) = (self.site, self.product, self.t);
        let cell = self.model.cells.index(site, product, donor);
        self.flows.add(Flow::Issued, cell, units);
        let oldest_first = self.model.scenario.issuing.oldest_first();
        let recorder = &mut *self.recorder;
        self.state
            .inventory
            .take(cell, units, oldest_first, |expiry, n| {
                recorder.issue(Issue {
                    period,
                    site,
                    product,
                    donor,
                    recipient,
                    expiry,
                    units: n,
                })
            });
    }
}
