//! Operating policies: how units are issued, how hospitals reorder, how a hub shares scarce
//! stock, and what happens to demand that cannot be met.
//!
//! The service's responses to emergencies (alert stages, donor appeals, rationing) live in
//! [`crate::responses`].

use serde::Deserialize;

/// Which units leave stock first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Issuing {
    /// Oldest first (by collection time).
    #[default]
    Fifo,
    /// Youngest first.
    Lifo,
    /// First expiring first. With one shelf life per product this is the same order as FIFO;
    /// it differs once units of one product can have different shelf lives.
    Fefo,
}

impl Issuing {
    /// Whether units are taken starting from the earliest expiry.
    pub fn oldest_first(self) -> bool {
        !matches!(self, Issuing::Lifo)
    }
}

/// What happens to demand that stock cannot meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmetDemand {
    /// The request is met elsewhere or not at all; it leaves the system.
    #[default]
    Lost,
    /// The missing units wait and are served first in later periods.
    Backordered,
}

/// How a hub shares stock among orders it cannot fill completely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Allocation {
    /// In proportion to the quantities ordered (largest remainder; ties to the first-listed hospital).
    #[default]
    Proportional,
    /// Hospitals with lower `priority` first, each filled completely before the next.
    Priority,
}

/// When in the period a hospital reviews its stock and orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewTiming {
    /// Before the period's demand: an order with zero lead time serves this period's demand.
    BeforeDemand,
    /// After the period's demand (default): stock is restored for the next period.
    #[default]
    AfterDemand,
}

/// Lateral resupply between hubs: when a hub cannot fill a hospital's order of a product in
/// `products`, the other hubs give from their surplus, richest first. A hub's surplus is
/// its shippable stock above the sum of its own hospitals' order-up-to levels, so it never
/// gives away what its hospitals may order in the same review.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfers {
    /// By scenario product index.
    pub products: Vec<bool>,
    /// Periods from the giving hub to the hospital.
    pub lead_time: u32,
}

/// A hospital's periodic-review, order-up-to rule for one product.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderUpTo {
    /// Target inventory position per recipient group, in units.
    pub level: Vec<u32>,
    /// Periods between reviews (>= 1); reviews happen in periods divisible by it.
    pub review_every: u32,
    pub timing: ReviewTiming,
    /// Most units ordered per group in one review.
    pub max_order: Option<u32>,
}

impl OrderUpTo {
    /// Units to order for one group given its inventory position (on hand + on order - backorders).
    pub fn order_quantity(&self, group: usize, position: i64) -> u32 {
        let want = (i64::from(self.level[group]) - position).max(0);
        let capped = match self.max_order {
            Some(cap) => want.min(i64::from(cap)),
            None => want,
        };
        capped as u32
    }

    pub fn reviews_in(&self, period: u32) -> bool {
        // Daily review, the common case, without a division per client and period.
        self.review_every == 1 || period.is_multiple_of(self.review_every)
    }
}

/// Splits `available` units among `requests` (in request order) by the allocation rule,
/// writing each grant into `grants`. `priorities` gives each request's rank (lower first).
/// Grants never exceed requests and sum to `min(available, sum of requests)`.
pub fn allocate(
    rule: Allocation,
    available: u32,
    requests: &[u32],
    priorities: &[u32],
    grants: &mut [u32],
) {
    let total: u64 = requests.iter().map(|&r| u64::from(r)).sum();
    if total <= u64::from(available) {
        grants.copy_from_slice(requests);
        return;
    }
    match rule {
        Allocation::Priority => allocate_by_priority(available, requests, priorities, grants),
        Allocation::Proportional => allocate_proportionally(available, requests, total, grants),
    }
}

fn allocate_by_priority(available: u32, requests: &[u32], priorities: &[u32], grants: &mut [u32]) {
    grants.fill(0);
    let mut left = available;
    let mut served_below: Option<u32> = None;
    // Ranks in increasing order without sorting (no allocation): n is a hub's hospital count.
    while let Some(rank) = priorities
        .iter()
        .copied()
        .filter(|&p| served_below.is_none_or(|s| p > s))
        .min()
    {
        for (i, &r) in requests.iter().enumerate() {
            if priorities[i] == rank && left > 0 {
                let g = r.min(left);
                grants[i] = g;
                left -= g;
            }
        }
        served_below = Some(rank);
    }
}

/// Largest-remainder (Hamilton) apportionment: floors first, then one unit each to the
/// largest fractional parts, ties to the earlier request, so the result is deterministic.
fn allocate_proportionally(available: u32, requests: &[u32], total: u64, grants: &mut [u32]) {
    let mut given: u64 = 0;
    for (g, &r) in grants.iter_mut().zip(requests) {
        *g = (u64::from(r) * u64::from(available) / total) as u32;
        given += u64::from(*g);
    }
    let mut left = u64::from(available) - given;
    while left > 0 {
        // Remainder of request i is r*available mod total; pick the largest not yet topped up.
        let mut best: Option<(usize, u64)> = None;
        for (i, &r) in requests.iter().enumerate() {
            if grants[i] >= r {
                continue;
            }
            let rem = (u64::from(r) * u64::from(available)) % total;
            let exact_floor = (u64::from(r) * u64::from(available) / total) as u32;
            if grants[i] > exact_floor {
                continue;
            }
            if best.is_none_or(|(_, b)| rem > b) {
                best = Some((i, rem));
            }
        }
        match best {
            Some((i, _)) => {
                grants[i] += 1;
                left -= 1;
            }
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        rule: Allocation,
        available: u32,
        requests: &[u32],
        priorities: &[u32],
        expected: &[u32],
    ) {
        let mut grants = vec![0; requests.len()];
        allocate(rule, available, requests, priorities, &mut grants);
        assert_eq!(grants, expected, "{rule:?} {available} of {requests:?}");
    }

    #[test]
    fn allocation_cases() {
        use Allocation::*;
        check(Proportional, 100, &[10, 20], &[0, 0], &[10, 20]);
        check(Proportional, 10, &[10, 10], &[0, 0], &[5, 5]);
        check(Proportional, 10, &[10, 20], &[0, 0], &[3, 7]); // 3.33, 6.67
        check(Proportional, 1, &[5, 5], &[0, 0], &[1, 0]); // tie to the first
        check(Proportional, 0, &[5, 5], &[0, 0], &[0, 0]);
        check(Proportional, 7, &[0, 3, 9], &[0, 0, 0], &[0, 2, 5]); // 1.75, 5.25
        check(Priority, 10, &[8, 8, 8], &[1, 0, 2], &[2, 8, 0]);
        check(Priority, 20, &[8, 8, 8], &[0, 0, 1], &[8, 8, 4]);
    }

    #[test]
    fn proportional_grants_sum_to_available() {
        let requests = [7, 13, 1, 0, 29, 3];
        for available in 0..53 {
            let mut grants = [0; 6];
            allocate(
                Allocation::Proportional,
                available,
                &requests,
                &[0; 6],
                &mut grants,
            );
            assert_eq!(grants.iter().sum::<u32>(), available);
            assert!(grants.iter().zip(&requests).all(|(g, r)| g <= r));
        }
    }

    #[test]
    fn order_up_to_respects_level_and_cap() {
        let p = OrderUpTo {
            level: vec![10, 4],
            review_every: 2,
            timing: ReviewTiming::AfterDemand,
            max_order: Some(6),
        };
        assert_eq!(p.order_quantity(0, 7), 3);
        assert_eq!(p.order_quantity(0, -5), 6);
        assert_eq!(p.order_quantity(1, 9), 0);
        assert!(p.reviews_in(0) && !p.reviews_in(1) && p.reviews_in(4));
    }
}
