//! What holds in one period, by site: the multipliers the steps apply to their baseline
//! rates, and extra transport time. The calendar sets them; emergency events (and, later,
//! the service's responses) change them, so the steps themselves never know why a rate
//! changed.

use crate::events::Leg;
use crate::network::{Role, SiteId};
use crate::scenario::Scenario;

/// Multipliers and delays in force in one period, by site.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions {
    products: usize,
    /// On donations at each collection site (0 = closed).
    pub collection: Vec<f64>,
    /// On patient requests, by hospital and product (`site * products + product`).
    demand: Vec<f64>,
    /// On each lab's processing capacity.
    pub lab_capacity: Vec<f64>,
    /// Extra periods for units leaving now, by collection site: on the road to its lab,
    /// and (its donations' units) from the lab to the hub.
    pub to_lab_delay: Vec<u32>,
    pub to_hub_delay: Vec<u32>,
    /// Extra periods for deliveries leaving now for each hospital.
    pub delivery_delay: Vec<u32>,
    /// Largest share of a hospital's order a supplier grants, by product (rationing).
    pub order_share: Vec<f64>,
    /// Share of RhD-negative patients' missing units that may be given RhD-positive units,
    /// by product (0 = no switch).
    pub rhd_switch_share: Vec<f64>,
}

impl Conditions {
    pub fn new(sites: usize, products: usize) -> Conditions {
        Conditions {
            products,
            collection: vec![1.0; sites],
            demand: vec![1.0; sites * products],
            lab_capacity: vec![1.0; sites],
            to_lab_delay: vec![0; sites],
            to_hub_delay: vec![0; sites],
            delivery_delay: vec![0; sites],
            order_share: vec![1.0; products],
            rhd_switch_share: vec![0.0; products],
        }
    }

    /// The calendar's multipliers for period `t` (weekday, season, holidays), and no delays.
    pub fn from_calendar(&mut self, scenario: &Scenario, t: u32) {
        let day = scenario.calendar.day_of(t) as usize;
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
        self.to_lab_delay.fill(0);
        self.to_hub_delay.fill(0);
        self.delivery_delay.fill(0);
        self.order_share.fill(1.0);
        self.rhd_switch_share.fill(0.0);
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
        match leg {
            Leg::ToLab(s) => &mut self.to_lab_delay[s],
            Leg::ToHub(s) => &mut self.to_hub_delay[s],
            Leg::ToHospital(s) => &mut self.delivery_delay[s],
        }
    }
}
