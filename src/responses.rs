//! The blood service's responses: what it does when stock runs low or high.
//!
//! Two kinds, both acting only through the period's
//! [`Conditions`](crate::engine::Conditions) (and, for imports, fresh stock), so the engine's
//! steps never know why a rate changed:
//!
//! - **Collection management**: a managed service plans collection to hold a target stock,
//!   booking fewer donors when stock is high and more when it is low. Each review it
//!   projects stock one review ahead from its last change (`days + (days - previous)`) and
//!   multiplies its collection factor by `1 + reaction x (target - projected) / target`
//!   (clamped), so stock settles at the target when donations can meet demand; the new
//!   factor takes effect after a booking delay. Without the projection (pure integral
//!   control of an integrating stock) stock would oscillate around the target for ever;
//!   with it, the deviation shrinks by a factor of about `sqrt(1 - c)` per review, where
//!   `c` = reaction / target x days of collection per review (0.26 for korea-baseline).
//! - **Triggered actions**: when days of supply of a product (network-wide or at one site,
//!   for all groups or one group) fall below a threshold, an action starts after a delay and
//!   lasts a duration: a donor appeal (collection up), deferring elective demand, rationing
//!   hospital orders, switching RhD-negative patients to RhD-positive red cells, or
//!   requesting imports. It can trigger again once it has ended.
//!
//! Days of supply are computed as the recorders compute them ([`crate::alert`]), at the end
//! of each period, so the service acts on what a planner would see.

use crate::network::SiteId;

/// Collection planned to hold a target stock of one product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectionManagement {
    pub product: usize,
    /// Network days of supply the plan aims at.
    pub target_days: f64,
    /// Share of the relative gap to the target closed per review.
    pub reaction: f64,
    /// Periods between reviews.
    pub review: u32,
    /// Periods from a review until its new factor is in force (donor bookings).
    pub delay: u32,
    pub min_factor: f64,
    pub max_factor: f64,
}

impl CollectionManagement {
    /// The next collection factor after a review that saw `days` of supply (and `previous`
    /// at the review before, if any).
    pub fn next_factor(&self, factor: f64, days: f64, previous: Option<f64>) -> f64 {
        let projected = days + previous.map_or(0.0, |p| days - p);
        let gap = (self.target_days - projected) / self.target_days;
        (factor * (1.0 + self.reaction * gap)).clamp(self.min_factor, self.max_factor)
    }
}

/// An action the service takes when stock falls below a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub name: String,
    pub trigger: Trigger,
    pub action: Action,
    /// Periods from the trigger to the action taking effect.
    pub delay: u32,
    /// Periods the action lasts.
    pub duration: u32,
}

/// Days of supply of `product` (one group, or all) at one site or across the network,
/// below `below_days`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trigger {
    pub product: usize,
    pub group: Option<usize>,
    /// A hub or hospital; `None` for the network (every hub and hospital).
    pub site: Option<SiteId>,
    pub below_days: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Donations at every collection site multiplied by `factor` (> 1).
    DonorAppeal { factor: f64 },
    /// Patient requests for `products` at every hospital multiplied by `factor` (< 1).
    DeferElectives { factor: f64, products: Vec<usize> },
    /// Suppliers grant at most `share` of each hospital order for `products` (10 asked, 8
    /// given).
    RationOrders { share: f64, products: Vec<usize> },
    /// RhD-negative patients whose own and RhD-negative substitutes have run out get
    /// RhD-positive red cells of `products` for `share` of their missing units (men and
    /// women past childbearing age; facts §3 [30][31]); NHSBT's amber-phase switch.
    SwitchToRhdPositive { share: f64, products: Vec<usize> },
    /// Fresh units of `product`, by group, arriving at `site` spread evenly over the
    /// action's duration.
    RequestImports {
        site: SiteId,
        product: usize,
        units: Vec<u32>,
    },
}

/// When a triggered response acts: periods `[from, until)`; empty before it first triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Activation {
    pub from: u32,
    pub until: u32,
}

impl Activation {
    pub fn active(&self, t: u32) -> bool {
        (self.from..self.until).contains(&t)
    }

    /// Triggered and not yet over at the end of period `t` (waiting for its delay, or
    /// acting): it cannot trigger again.
    pub fn pending(&self, t: u32) -> bool {
        t + 1 < self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_management_closes_its_share_of_the_gap_within_bounds() {
        let m = CollectionManagement {
            product: 0,
            target_days: 5.0,
            reaction: 0.5,
            review: 7,
            delay: 0,
            min_factor: 0.6,
            max_factor: 1.3,
        };
        assert_eq!(m.next_factor(1.0, 5.0, None), 1.0);
        assert_eq!(m.next_factor(1.0, 10.0, None), 0.6);
        assert!((m.next_factor(1.0, 4.0, None) - 1.1).abs() < 1e-12);
        assert_eq!(m.next_factor(1.2, 0.0, None), 1.3);
        // Falling from 6 to 5 days projects 4: collect 10% more although at target.
        assert!((m.next_factor(1.0, 5.0, Some(6.0)) - 1.1).abs() < 1e-12);
        assert_eq!(m.next_factor(1.0, 5.0, Some(5.0)), 1.0);
    }
}
