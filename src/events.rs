//! Emergency events: what happens to the network, when, and where.
//!
//! An event is a window of periods and an effect on the rates the engine applies: it scales
//! donations, demand or lab capacity at the sites it targets, or delays the transport legs
//! it targets. Events act only through the period's [`Conditions`], so the engine's steps
//! never know why a rate changed, and a scenario without events runs exactly as before.
//! Targets are resolved to site indices (and transport legs) when the scenario is validated.

use crate::engine::Conditions;
use crate::network::SiteId;
use crate::random::SizeTable;

/// One event of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    /// First period affected.
    pub start: u32,
    /// First period no longer affected.
    pub end: u32,
    pub effect: Effect,
}

/// What an event does while it lasts.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Donations at these collection sites scaled by a factor: a pandemic's deferrals,
    /// cancelled drives, weather (< 1), or a surge of donors after a disaster (> 1).
    Collection {
        sites: Vec<SiteId>,
        profile: Profile,
    },
    /// Patient requests at these hospitals for these products scaled by a factor: elective
    /// surgery deferred (< 1), or demand up (> 1).
    Demand {
        sites: Vec<SiteId>,
        products: Vec<usize>,
        factor: f64,
    },
    /// Processing capacity of these labs scaled by a factor (0 = out of action; donations
    /// wait in the queue, batches already in processing finish).
    LabCapacity { sites: Vec<SiteId>, factor: f64 },
    /// A transport link closed or slowed: units dispatched on these legs in the window
    /// take `delay` longer (units already on the road arrive as planned).
    Transport { legs: Vec<Leg>, delay: Delay },
    /// A mass-casualty incident: patients, drawn when it starts, needing units at hospitals
    /// over its window (see [`MassCasualty`]). It adds demand; it changes no rate.
    MassCasualty(Box<MassCasualty>),
    /// Imports or mutual aid: fresh units of one product, by group, arriving at a
    /// stock-holding site, spread evenly over the event's window (the periods' parts differ
    /// by at most one unit).
    Imports {
        site: SiteId,
        product: usize,
        units: Vec<u32>,
    },
    /// Facility damage at stock-holding sites: in the event's first period each unit in
    /// stock is destroyed with probability `share` (drawn per cell from the event's stream;
    /// the oldest units go first). Pair it with a lab outage or a closed link for a site
    /// that also stops working.
    Damage { sites: Vec<SiteId>, share: f64 },
}

/// A mass-casualty incident, drawn from its own random stream in its first period.
///
/// Admitted patients ~ Binomial(casualties, admitted); transfused ~ Binomial(admitted,
/// transfused). Each transfused patient goes to one of `hospitals` (by share), has a blood
/// group drawn from the scenario's demand mix, needs a heavy-tailed number of units
/// (`units`, in red-cell units; other products by `ratio`, stochastically rounded), and is
/// transfused after an exponential delay from the incident (`half_life` periods), within
/// the event's window. Emergency release: a share of patients get their first units as
/// group O (O-negative or O-positive) before their group is known.
#[derive(Debug, Clone, PartialEq)]
pub struct MassCasualty {
    pub casualties: u32,
    /// Share of casualties admitted to hospital.
    pub admitted: f64,
    /// Share of admitted patients transfused.
    pub transfused: f64,
    /// Units per transfused patient (red-cell units).
    pub units: SizeTable,
    /// Units of each product (by product index) per unit of `units`.
    pub ratio: Vec<f64>,
    /// Receiving hospitals, and their cumulative share of patients (the last is 1).
    pub hospitals: Vec<SiteId>,
    pub hospital_cdf: Vec<f64>,
    /// Cumulative share of patients by blood group (the last is 1).
    pub group_cdf: Vec<f64>,
    /// Hours from the start of the event's first period to the incident.
    pub offset_hours: f64,
    /// Half-life, in hours, of the time from the incident to a patient's transfusion.
    pub half_life_hours: f64,
    pub emergency: Option<EmergencyRelease>,
}

/// Group-O red cells issued before a patient's group is known (facts file §3: O RhD+ for
/// men and older women, O- limited for others; typing takes minutes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmergencyRelease {
    /// Share of transfused patients whose first units are emergency-released.
    pub share: f64,
    /// Share of those given O-negative (the rest O-positive).
    pub o_negative: f64,
    /// Red-cell units per such patient given as group O; the rest are group-specific.
    pub units: u32,
    /// Indices of O-positive and O-negative in the group system.
    pub o_positive_group: usize,
    pub o_negative_group: usize,
    /// Index of red cells among the scenario's products.
    pub red_cells: usize,
}

/// How an event's factor moves over its window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Profile {
    /// The same factor throughout.
    Constant(f64),
    /// A donation surge: the factor rises from 1 to `peak` after `lag` periods, then decays
    /// back towards 1 with the given half-life (in periods).
    Surge { peak: f64, lag: u32, half_life: f64 },
}

impl Profile {
    /// The factor `elapsed` periods after the event's start.
    pub fn factor(self, elapsed: u32) -> f64 {
        match self {
            Profile::Constant(f) => f,
            Profile::Surge {
                peak,
                lag,
                half_life,
            } => {
                if elapsed < lag {
                    1.0
                } else {
                    let decay = 0.5f64.powf(f64::from(elapsed - lag) / half_life);
                    1.0 + (peak - 1.0) * decay
                }
            }
        }
    }
}

/// A transport leg as the engine routes units: a collection site's road to its lab, its
/// lab's road on to the hub, or a hospital's deliveries from its supplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Donations of this collection site on their way to the lab.
    ToLab(SiteId),
    /// Released units of this collection site's donations on their way to the hub.
    ToHub(SiteId),
    /// Deliveries to this hospital.
    ToHospital(SiteId),
}

/// Extra transport time on a disrupted leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    /// Periods added to the trip.
    Slowed(u32),
    /// Nothing leaves until the link reopens at the end of the window.
    Closed,
}

impl Event {
    pub fn active(&self, t: u32) -> bool {
        (self.start..self.end).contains(&t)
    }
}

/// The largest product of demand (`demand = true`) or collection factors that overlapping
/// events can apply in one period, anywhere (at least 1): validation bounds a period's
/// counts with it so no event can make a 32-bit count wrap.
pub fn peak_factor(events: &[Event], demand: bool) -> f64 {
    let factor = |e: &Event| match (&e.effect, demand) {
        (Effect::Demand { factor, .. }, true) => factor.max(1.0),
        (Effect::Collection { profile, .. }, false) => match *profile {
            Profile::Constant(f) => f.max(1.0),
            Profile::Surge { peak, .. } => peak.max(1.0),
        },
        _ => 1.0,
    };
    // The product is largest at some event's start.
    events
        .iter()
        .map(|at| {
            events
                .iter()
                .filter(|e| e.active(at.start))
                .map(factor)
                .product::<f64>()
        })
        .fold(1.0, f64::max)
}

/// Applies the events active in period `t` to `conditions` (already set by the calendar).
/// Factors of overlapping events multiply; transport delays add.
pub fn apply(events: &[Event], t: u32, conditions: &mut Conditions) {
    for event in events.iter().filter(|e| e.active(t)) {
        match &event.effect {
            Effect::Collection { sites, profile } => {
                let factor = profile.factor(t - event.start);
                for &s in sites {
                    conditions.collection[s] *= factor;
                }
            }
            Effect::Demand {
                sites,
                products,
                factor,
            } => {
                for &s in sites {
                    for &p in products {
                        *conditions.demand_mut(s, p) *= factor;
                    }
                }
            }
            Effect::LabCapacity { sites, factor } => {
                for &s in sites {
                    conditions.lab_capacity[s] *= factor;
                }
            }
            Effect::Transport { legs, delay } => {
                let extra = match *delay {
                    Delay::Slowed(periods) => periods,
                    Delay::Closed => event.end - t,
                };
                for &leg in legs {
                    *conditions.extra_delay_mut(leg) += extra;
                }
            }
            // Demand and stock, changed by the engine's incidents step.
            Effect::MassCasualty(_) | Effect::Imports { .. } | Effect::Damage { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_surge_rises_after_its_lag_and_halves_each_half_life() {
        let surge = Profile::Surge {
            peak: 3.0,
            lag: 2,
            half_life: 4.0,
        };
        let f: Vec<f64> = [0, 1, 2, 6, 10].map(|e| surge.factor(e)).to_vec();
        assert_eq!(f, vec![1.0, 1.0, 3.0, 2.0, 1.5]);
    }
}
