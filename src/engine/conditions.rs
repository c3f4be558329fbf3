//! What holds in one period, by site: the multipliers the steps apply to their baseline
//! rates, and extra transport time. The calendar sets them; emergency events (and, later,
//! the service's responses) change them, so the steps themselves never know why a rate
//! changed.

use crate::events::Leg;
use crate::network::{Role, SiteId};
use crate::scenario::Scenario;

/// Multipliers and delays in force in one period, by site.
#[derive(Debug, Clone)]
pub struct Conditions {
    products: usize,
    /// The period's weekday (Monday = 0), which sets every weekday multiplier.
    pub weekday: usize,
    /// On donations at each collection site (0 = closed).
    pub collection: Vec<f64>,
    /// On patient requests, by hospital and product (`site * products + product`).
    demand: Vec<f64>,
    /// On each lab's processing capacity.
    pub lab_capacity: Vec<f64>,
    /// Extra periods for units leaving now, by collection site: on the road to its lab,
    /// and (its donations' units) from the lab to the hub.
    to_lab_delay: Vec<u32>,
    to_hub_delay: Vec<u32>,
    /// Extra periods for deliveries leaving now for each hospital.
    delivery_delay: Vec<u32>,
    /// Largest share of a hospital's order a supplier grants, by product (rationing).
    order_share: Vec<f64>,
    /// Share of RhD-negative patients' missing units that may be given RhD-positive units,
    /// by product (0 = no switch).
    rhd_switch_share: Vec<f64>,
    /// Whether a delay or share above was changed since the calendar last set them: most
    /// periods change none, and resetting five arrays every period weighed on small
    /// networks.
    adjusted: bool,
}

impl Conditions {
    pub fn new(sites: usize, products: usize) -> Conditions {
        Conditions {
            products,
            weekday: 0,
            collection: vec![1.0; sites],
            demand: vec![1.0; sites * products],
            lab_capacity: vec![1.0; sites],
            to_lab_delay: vec![0; sites],
            to_hub_delay: vec![0; sites],
            delivery_delay: vec![0; sites],
            order_share: vec![1.0; products],
            rhd_switch_share: vec![0.0; products],
            adjusted: false,
        }
    }

    /// The calendar's multipliers for period `t` (weekday, season, holidays), and no delays.
    pub fn from_calendar(&mut self, scenario: &Scenario, t: u32) {
        let day = scenario.calendar.day_of(t);
        self.weekday = scenario.calendar.weekday(day);
        let day = day as usize;
        for (s, site) in scenario.sites.iter().enumerate() {
            match &site.role {
                Role::Collection(c) => self.collection[s] = c.day_factor[day],
                Role::Hospital(h) => {
                    let products = s * self.products..(s + 1) * self.products;
                    self.demand[products].fill(h.day_factor[day]);
                }
                Role::Lab(_) => self.lab_capacity[s] = 1.0,
                Role::Hub | Role::Supplier => {}
            }
        }
        if std::mem::take(&mut self.adjusted) {
            self.to_lab_delay.fill(0);
            self.to_hub_delay.fill(0);
            self.delivery_delay.fill(0);
            self.order_share.fill(1.0);
            self.rhd_switch_share.fill(0.0);
        }
    }

    /// The multiplier on a hospital's requests for one product.
    #[inline]
    pub fn demand(&self, site: SiteId, product: usize) -> f64 {
        self.demand[site * self.products + product]
    }

    pub fn demand_mut(&mut self, site: SiteId, product: usize) -> &mut f64 {
        &mut self.demand[site * self.products + product]
    }

    /// Extra periods on one transport leg.
    pub fn extra_delay_mut(&mut self, leg: Leg) -> &mut u32 {
        self.adjusted = true;
        match leg {
            Leg::ToLab(s) => &mut self.to_lab_delay[s],
            Leg::ToHub(s) => &mut self.to_hub_delay[s],
            Leg::ToHospital(s) => &mut self.delivery_delay[s],
        }
    }

    /// Extra periods for units leaving collection site `s` now, to its lab.
    #[inline]
    pub fn to_lab_delay(&self, s: SiteId) -> u32 {
        self.to_lab_delay[s]
    }

    /// Extra periods for units of collection site `s`'s donations leaving the lab now.
    #[inline]
    pub fn to_hub_delay(&self, s: SiteId) -> u32 {
        self.to_hub_delay[s]
    }

    /// Extra periods for deliveries leaving now for hospital `s`.
    #[inline]
    pub fn delivery_delay(&self, s: SiteId) -> u32 {
        self.delivery_delay[s]
    }

    /// Largest share of a hospital's order a supplier grants for product `p`.
    #[inline]
    pub fn order_share(&self, p: usize) -> f64 {
        self.order_share[p]
    }

    /// Caps the share of orders for product `p` a supplier grants at `share`.
    pub fn ration(&mut self, p: usize, share: f64) {
        self.adjusted = true;
        self.order_share[p] = self.order_share[p].min(share);
    }

    /// Share of RhD-negative patients' missing units of product `p` that may be given
    /// RhD-positive units.
    #[inline]
    pub fn rhd_switch_share(&self, p: usize) -> f64 {
        self.rhd_switch_share[p]
    }

    /// Lets at least `share` of RhD-negative patients' missing units of product `p` be
    /// given RhD-positive units.
    pub fn allow_rhd_switch(&mut self, p: usize, share: f64) {
        self.adjusted = true;
        let now = &mut self.rhd_switch_share[p];
        *now = now.max(share);
    }
}
