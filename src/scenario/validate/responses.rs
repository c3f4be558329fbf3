//! Validation of `[collection_management]` and `[[responses]]`.

use super::super::error::FieldPath;
use super::super::limits::{MAX_FACTOR, MAX_HORIZON_DAYS};
use super::super::raw::{RawAction, RawCollectionManagement, RawResponse, RawTrigger};
use super::{Context, Validator, root};
use crate::network::Site;
use crate::responses::{Action, CollectionManagement, Response, Trigger};

impl Validator<'_> {
    pub(super) fn collection_management(
        &mut self,
        m: &RawCollectionManagement,
        ctx: &Context,
    ) -> Option<CollectionManagement> {
        let p = root().key("collection_management");
        let product = self.simulated(&p.key("product"), m.product, ctx);
        let target = self.positive_at_most(&p.key("target_days"), m.target_days, 365.0, "days");
        let reaction = self.within(
            &p.key("reaction"),
            m.reaction,
            0.0,
            1.0,
            "a share of the gap",
        );
        let review = self.days_to_periods(&p.key("review_days"), m.review_days, ctx, 1);
        let delay = self.days_to_periods(&p.key("delay_days"), m.delay_days, ctx, 0);
        let min = self.within(
            &p.key("min_factor"),
            m.min_factor,
            0.0,
            1.0,
            "a multiplier <= 1",
        );
        let max = self.within(
            &p.key("max_factor"),
            m.max_factor,
            1.0,
            MAX_FACTOR,
            "a multiplier >= 1",
        );
        Some(CollectionManagement {
            product: product?,
            target_days: target?,
            reaction: reaction?,
            review: review?,
            delay: delay?,
            min_factor: min?,
            max_factor: max?,
        })
    }

    pub(super) fn responses(
        &mut self,
        raw: &[RawResponse],
        sites: &[Site],
        ctx: &Context,
        baseline_demand: &[f64],
    ) -> Vec<Response> {
        let mut out = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            let p = root().key("responses").index(i);
            let trigger = self.trigger(&p.key("when"), &r.when, sites, ctx, baseline_demand);
            let action =
                trigger.and_then(|t| self.action(&p.key("action"), &r.action, t, sites, ctx));
            let delay = self.days_to_periods(&p.key("delay_days"), r.delay_days, ctx, 0);
            let duration = self.days_to_periods(&p.key("duration_days"), r.duration_days, ctx, 1);
            if let (Some(trigger), Some(action), Some(delay), Some(duration)) =
                (trigger, action, delay, duration)
            {
                out.push(Response {
                    name: r.name.clone(),
                    trigger,
                    action,
                    delay,
                    duration,
                });
            }
        }
        out
    }

    fn trigger(
        &mut self,
        p: &FieldPath,
        t: &RawTrigger,
        sites: &[Site],
        ctx: &Context,
        baseline_demand: &[f64],
    ) -> Option<Trigger> {
        let product = self.simulated(&p.key("product"), t.product, ctx);
        let group = match &t.group {
            Some(label) => {
                let g = ctx.groups.index_of(label);
                if g.is_none() {
                    let msg = format!(
                        "no blood group \"{label}\" here; groups are: {}",
                        ctx.groups.labels().join(", ")
                    );
                    self.err(&p.key("group"), msg);
                }
                Some(g?)
            }
            None => None,
        };
        let site = match &t.site {
            Some(name) => Some(self.stock_site(&p.key("site"), name, sites, ctx)?),
            None => None,
        };
        let below = self.positive_at_most(&p.key("below_days"), t.below_days, 365.0, "days");
        let product = product?;
        // Days of supply need demand to divide by.
        let cells = ctx.cells(sites.len());
        let watched = |s: usize| {
            (0..cells.groups)
                .filter(|&g| group.is_none_or(|k| k == g))
                .map(|g| baseline_demand[cells.index(s, product, g)])
                .sum::<f64>()
        };
        let demand: f64 = match site {
            Some(s) => watched(s),
            None => (0..sites.len())
                .filter(|&s| matches!(sites[s].role, crate::network::Role::Hospital(_)))
                .map(watched)
                .sum(),
        };
        if demand <= 0.0 {
            self.err(
                p,
                "no patient demand for this product here, so days of supply are undefined",
            );
            return None;
        }
        Some(Trigger {
            product,
            group,
            site,
            below_days: below?,
        })
    }

    fn action(
        &mut self,
        p: &FieldPath,
        a: &RawAction,
        trigger: Trigger,
        sites: &[Site],
        ctx: &Context,
    ) -> Option<Action> {
        let products = |v: &mut Self, list: &[crate::blood::Product]| {
            if list.is_empty() {
                Some(vec![trigger.product])
            } else {
                v.event_products(&p.key("products"), list, ctx)
            }
        };
        match a {
            RawAction::DonorAppeal { factor } => {
                let factor =
                    self.within(&p.key("factor"), *factor, 0.0, MAX_FACTOR, "a multiplier");
                Some(Action::DonorAppeal { factor: factor? })
            }
            RawAction::DeferElectives {
                factor,
                products: list,
            } => {
                let factor = self.within(&p.key("factor"), *factor, 0.0, 1.0, "a multiplier <= 1");
                let products = products(self, list);
                Some(Action::DeferElectives {
                    factor: factor?,
                    products: products?,
                })
            }
            RawAction::RationOrders {
                share,
                products: list,
            } => {
                let share = self.within(&p.key("share"), *share, 0.0, 1.0, "a share");
                let products = products(self, list);
                Some(Action::RationOrders {
                    share: share?,
                    products: products?,
                })
            }
            RawAction::SwitchToRhdPositive {
                share,
                products: list,
            } => {
                let share = self.within(&p.key("share"), *share, 0.0, 1.0, "a share");
                let products = products(self, list)?;
                let switchable = |&q: &usize| {
                    (0..ctx.groups.count()).any(|r| {
                        !ctx.products[q]
                            .rhd_positive_switch(ctx.groups, r)
                            .is_empty()
                    })
                };
                if !products.iter().all(switchable) {
                    self.err(
                        &p.key("products"),
                        "the switch to RhD-positive applies to red cells or whole blood, and needs `blood_groups.system = \"abo_rhd\"`",
                    );
                    return None;
                }
                Some(Action::SwitchToRhdPositive {
                    share: share?,
                    products,
                })
            }
            RawAction::RequestImports {
                site,
                product,
                units,
            } => {
                let site = self.stock_site(&p.key("site"), site, sites, ctx);
                let product = match product {
                    Some(x) => self.simulated(&p.key("product"), *x, ctx),
                    None => Some(trigger.product),
                };
                let units = self.units_by_group(&p.key("units"), units, ctx);
                Some(Action::RequestImports {
                    site: site?,
                    product: product?,
                    units: units?,
                })
            }
        }
    }

    /// Days as whole periods (rounded), at least `min`, up to the longest horizon.
    fn days_to_periods(
        &mut self,
        path: &FieldPath,
        days: f64,
        ctx: &Context,
        min: u32,
    ) -> Option<u32> {
        let d = self.within(path, days, 0.0, MAX_HORIZON_DAYS, "days")?;
        let periods = ctx.calendar.hours_to_periods(d * 24.0).max(min);
        Some(periods)
    }
}
