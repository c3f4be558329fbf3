//! What holds in one period, by site: the multipliers the steps apply to their baseline
//! rates. The calendar sets them; emergency events and the service's responses scale them,
//! so the steps themselves never know why a rate changed.

use crate::network::Role;
use crate::scenario::Scenario;

/// Multipliers in force in one period, by site.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions {
    /// On donations at each collection site (0 = closed).
    pub collection: Vec<f64>,
    /// On patient requests at each hospital.
    pub demand: Vec<f64>,
    /// On each lab's processing capacity.
    pub lab_capacity: Vec<f64>,
}

impl Conditions {
    pub fn new(sites: usize) -> Conditions {
        Conditions {
            collection: vec![1.0; sites],
            demand: vec![1.0; sites],
            lab_capacity: vec![1.0; sites],
        }
    }

    /// The calendar's multipliers for period `t` (weekday, season, holidays).
    pub fn from_calendar(&mut self, scenario: &Scenario, t: u32) {
        let day = scenario.calendar.day_of(t) as usize;
        for (s, site) in scenario.sites.iter().enumerate() {
            match &site.role {
                Role::Collection(c) => self.collection[s] = c.day_factor[day],
                Role::Hospital(h) => self.demand[s] = h.day_factor[day],
                Role::Lab(_) => self.lab_capacity[s] = 1.0,
                Role::Hub | Role::Supplier => {}
            }
        }
    }
}
