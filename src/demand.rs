//! Patient demand: requests arrive per period, each for a number of units, so a massive
//! transfusion is one request for many units and plain unit demand is one unit per request.

use crate::random::{Count, Shock, SizeTable};

/// One demand stream of a hospital for one product.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandStream {
    /// Scenario product index.
    pub product: usize,
    /// Requests of each recipient group per period (baseline), by group index.
    pub per_group: Vec<Count>,
    /// Shock shared by all groups each period (negative binomial counts).
    pub shock: Shock,
    pub units: SizeTable,
    /// Multiplier by weekday, Monday first.
    pub weekday: [f64; 7],
}

impl DemandStream {
    /// Baseline mean units per day for one group: requests x mean size x mean weekday factor.
    pub fn mean_units_per_day(&self, group: usize, periods_per_day: u32) -> f64 {
        let weekday_mean = self.weekday.iter().sum::<f64>() / 7.0;
        self.per_group[group].mean * f64::from(periods_per_day) * self.units.mean() * weekday_mean
    }
}
