//! Validation of `[[events]]`: windows in periods, targets resolved to sites and legs.

use chrono::NaiveDate;
use toml::value::Datetime;

use super::super::error::FieldPath;
use super::super::limits::{
    MAX_CASUALTIES, MAX_DELAY_HOURS, MAX_EVENTS, MAX_FACTOR, MAX_HORIZON_DAYS, MAX_STOCK_UNITS,
    MAX_UNITS,
};
use super::super::raw::{PerProduct, RawEmergencyRelease, RawEvent, RawUnits};
use super::{Context, Validator, root};
use crate::blood::Product;
use crate::events::{Delay, Effect, EmergencyRelease, Event, Leg, MassCasualty, Profile};
use crate::network::{Role, Site, SiteId};
use crate::random::MAX_REQUEST_UNITS;

/// The fields every event has.
struct Common<'a> {
    name: &'a str,
    start: &'a Datetime,
    days: Option<f64>,
    hours: Option<f64>,
}

/// Which sites an event may target.
#[derive(Clone, Copy)]
enum Kind {
    Collection,
    Lab,
    Hospital,
    /// A hub or hospital.
    Stock,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Collection => "collection site",
            Kind::Lab => "lab",
            Kind::Hospital => "hospital",
            Kind::Stock => "hub or hospital",
        }
    }

    fn matches(self, role: &Role) -> bool {
        matches!(
            (self, role),
            (Kind::Collection, Role::Collection(_))
                | (Kind::Lab, Role::Lab(_))
                | (Kind::Hospital, Role::Hospital(_))
                | (Kind::Stock, Role::Hub | Role::Hospital(_))
        )
    }
}

impl Validator<'_> {
    pub(super) fn events(&mut self, raw: &[RawEvent], sites: &[Site], ctx: &Context) -> Vec<Event> {
        let mut events = Vec::new();
        if raw.len() > MAX_EVENTS {
            self.err(
                &root().key("events"),
                format!(
                    "{} events, above the limit of {MAX_EVENTS} `[[events]]` entries",
                    raw.len()
                ),
            );
            return events;
        }
        for (i, e) in raw.iter().enumerate() {
            let p = root().key("events").index(i);
            if let Some(event) = self.event(&p, e, sites, ctx) {
                events.push(event);
            }
        }
        events
    }

    fn event(
        &mut self,
        p: &FieldPath,
        e: &RawEvent,
        sites: &[Site],
        ctx: &Context,
    ) -> Option<Event> {
        let (common, effect) = match e {
            RawEvent::CollectionChange {
                name,
                start,
                days,
                hours,
                sites: names,
                regions,
                factor,
            } => {
                let targets = self.targets(p, names, regions, Kind::Collection, sites, ctx);
                let factor =
                    self.within(&p.key("factor"), *factor, 0.0, MAX_FACTOR, "a multiplier");
                let effect = Some(Effect::Collection {
                    sites: targets?,
                    profile: Profile::Constant(factor?),
                });
                (
                    Common {
                        name,
                        start,
                        days: *days,
                        hours: *hours,
                    },
                    effect,
                )
            }
            RawEvent::DonationSurge {
                name,
                start,
                days,
                hours,
                sites: names,
                regions,
                peak,
                lag_hours,
                half_life_days,
            } => {
                let targets = self.targets(p, names, regions, Kind::Collection, sites, ctx);
                let peak = self.within(&p.key("peak"), *peak, 0.0, MAX_FACTOR, "a multiplier");
                let lag = self.within(
                    &p.key("lag_hours"),
                    *lag_hours,
                    0.0,
                    MAX_HORIZON_DAYS * 24.0,
                    "the longest horizon",
                );
                let half_life = self.positive_at_most(
                    &p.key("half_life_days"),
                    *half_life_days,
                    MAX_HORIZON_DAYS,
                    "the longest horizon",
                );
                let per_day = f64::from(ctx.calendar.periods_per_day());
                let effect = Some(Effect::Collection {
                    sites: targets?,
                    profile: Profile::Surge {
                        peak: peak?,
                        lag: ctx.calendar.hours_to_periods(lag?),
                        half_life: half_life? * per_day,
                    },
                });
                (
                    Common {
                        name,
                        start,
                        days: *days,
                        hours: *hours,
                    },
                    effect,
                )
            }
            RawEvent::DemandChange {
                name,
                start,
                days,
                hours,
                sites: names,
                regions,
                products,
                factor,
            } => {
                let targets = self.targets(p, names, regions, Kind::Hospital, sites, ctx);
                let factor =
                    self.within(&p.key("factor"), *factor, 0.0, MAX_FACTOR, "a multiplier");
                let products = self.event_products(&p.key("products"), products, ctx);
                let effect = Some(Effect::Demand {
                    sites: targets?,
                    products: products?,
                    factor: factor?,
                });
                (
                    Common {
                        name,
                        start,
                        days: *days,
                        hours: *hours,
                    },
                    effect,
                )
            }
            RawEvent::LabOutage {
                name,
                start,
                days,
                hours,
                sites: names,
                regions,
                capacity_factor,
            } => {
                let targets = self.targets(p, names, regions, Kind::Lab, sites, ctx);
                let factor = self.within(
                    &p.key("capacity_factor"),
                    *capacity_factor,
                    0.0,
                    MAX_FACTOR,
                    "a multiplier",
                );
                let effect = Some(Effect::LabCapacity {
                    sites: targets?,
                    factor: factor?,
                });
                (
                    Common {
                        name,
                        start,
                        days: *days,
                        hours: *hours,
                    },
                    effect,
                )
            }
            RawEvent::TransportDisruption {
                name,
                start,
                days,
                hours,
                from,
                to,
                closed,
                extra_hours,
            } => {
                let link = (from.as_str(), to.as_str());
                let effect = self.disruption(p, link, *closed, *extra_hours, sites, ctx);
                (
                    Common {
                        name,
                        start,
                        days: *days,
                        hours: *hours,
                    },
                    effect,
                )
            }
            RawEvent::Imports {
                name,
                start,
                days,
                hours,
                site,
                product,
                units,
            } => {
                let effect = self.imports(p, site, *product, units, sites, ctx);
                (
                    Common {
                        name,
                        start,
                        days: *days,
                        hours: *hours,
                    },
                    effect,
                )
            }
            RawEvent::FacilityDamage {
                name,
                start,
                days,
                hours,
                sites: names,
                regions,
                stock_destroyed_share,
            } => {
                let targets = self.targets(p, names, regions, Kind::Stock, sites, ctx);
                let share = self.within(
                    &p.key("stock_destroyed_share"),
                    *stock_destroyed_share,
                    0.0,
                    1.0,
                    "a share",
                );
                let effect = Some(Effect::Damage {
                    sites: targets?,
                    share: share?,
                });
                (
                    Common {
                        name,
                        start,
                        days: *days,
                        hours: *hours,
                    },
                    effect,
                )
            }
            RawEvent::MassCasualty {
                name,
                start,
                days,
                hours,
                ..
            } => {
                let effect = self.mass_casualty(p, e, sites, ctx);
                (
                    Common {
                        name,
                        start,
                        days: *days,
                        hours: *hours,
                    },
                    effect,
                )
            }
        };
        let window = self.window(p, &common, ctx);
        let ((start, end), mut effect) = (window?, effect?);
        if let Effect::MassCasualty(mci) = &mut effect {
            // Hours into the first period at which the incident happens.
            let start_hours =
                self.event_start(&p.key("start"), common.start, ctx.calendar.start)?;
            mci.offset_hours = start_hours - f64::from(start * ctx.calendar.period_hours);
        }
        Some(Event {
            name: common.name.to_string(),
            start,
            end,
            effect,
        })
    }

    /// The event's periods `[start, end)`, clipped to the horizon; an event wholly outside
    /// it is an error (it would silently do nothing).
    fn window(&mut self, p: &FieldPath, c: &Common<'_>, ctx: &Context) -> Option<(u32, u32)> {
        let cal = &ctx.calendar;
        let start_hours = self.event_start(&p.key("start"), c.start, cal.start);
        let length_hours = match (c.days, c.hours) {
            (Some(d), None) => self.positive(&p.key("days"), d).map(|d| d * 24.0),
            (None, Some(h)) => self.positive(&p.key("hours"), h),
            _ => {
                self.err(
                    p,
                    "give exactly one of `days` or `hours` for the event's duration",
                );
                None
            }
        };
        let (start_hours, length_hours) = (start_hours?, length_hours?);
        let period = f64::from(cal.period_hours);
        let horizon = f64::from(cal.periods);
        // Periods overlapped by [start, start + length), at least one.
        let first = (start_hours / period).floor();
        let last = ((start_hours + length_hours) / period)
            .ceil()
            .max(first + 1.0);
        if last <= 0.0 || first >= horizon {
            self.err(
                &p.key("start"),
                format!(
                    "the event \"{}\" falls wholly outside the simulated horizon ({} to {})",
                    c.name,
                    cal.start,
                    cal.date(cal.days())
                ),
            );
            return None;
        }
        Some((first.max(0.0) as u32, last.min(horizon) as u32))
    }

    /// Hours from the scenario's start to the event's start (negative if before it).
    fn event_start(&mut self, path: &FieldPath, d: &Datetime, origin: NaiveDate) -> Option<f64> {
        let date = d.date.and_then(|date| {
            NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            )
        });
        let time = match d.time {
            None => Some(0.0),
            Some(t) if d.offset.is_none() && t.hour < 24 && t.minute < 60 => {
                Some(f64::from(t.hour) + f64::from(t.minute) / 60.0)
            }
            Some(_) => None,
        };
        match (date, time) {
            (Some(date), Some(time)) => Some((date - origin).num_days() as f64 * 24.0 + time),
            _ => {
                self.err(
                    path,
                    format!(
                        "must be a date (2026-02-01) or a local date and time \
                         (2026-02-01T06:00:00), found {d}"
                    ),
                );
                None
            }
        }
    }

    /// Sites named or in the regions named, of the kind the event affects; all such sites
    /// when neither is given.
    fn targets(
        &mut self,
        p: &FieldPath,
        names: &[String],
        regions: &[String],
        kind: Kind,
        sites: &[Site],
        ctx: &Context,
    ) -> Option<Vec<SiteId>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, name) in names.iter().enumerate() {
            let path = p.key("sites").index(i);
            match self.site_ref(&path, name, ctx) {
                Some(s) if kind.matches(&sites[s].role) => out.push(s),
                Some(s) => {
                    let found = sites[s].role.kind();
                    self.err(
                        &path,
                        format!(
                            "\"{name}\" is a {found}; this event affects a {}",
                            kind.name()
                        ),
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        for (i, region) in regions.iter().enumerate() {
            let in_region: Vec<SiteId> = (0..sites.len())
                .filter(|&s| sites[s].region == *region && kind.matches(&sites[s].role))
                .collect();
            if in_region.is_empty() {
                let path = p.key("regions").index(i);
                self.err(&path, format!("no {} in region \"{region}\"", kind.name()));
                ok = false;
            }
            out.extend(in_region);
        }
        if names.is_empty() && regions.is_empty() {
            out.extend((0..sites.len()).filter(|&s| kind.matches(&sites[s].role)));
        }
        out.sort_unstable();
        out.dedup();
        ok.then_some(out)
    }

    pub(super) fn event_products(
        &mut self,
        path: &FieldPath,
        products: &[crate::blood::Product],
        ctx: &Context,
    ) -> Option<Vec<usize>> {
        if products.is_empty() {
            return Some((0..ctx.products.len()).collect());
        }
        let mut out = Vec::new();
        for (i, &product) in products.iter().enumerate() {
            out.push(self.simulated(&path.index(i), product, ctx)?);
        }
        Some(out)
    }

    fn mass_casualty(
        &mut self,
        p: &FieldPath,
        e: &RawEvent,
        sites: &[Site],
        ctx: &Context,
    ) -> Option<Effect> {
        let RawEvent::MassCasualty {
            sites: names,
            regions,
            shares,
            casualties,
            admitted_share,
            transfused_share,
            units_per_patient,
            product_ratio,
            half_life_hours,
            emergency_release,
            ..
        } = e
        else {
            return None;
        };
        let hospitals = self.targets(p, names, regions, Kind::Hospital, sites, ctx);
        let hospital_cdf = hospitals
            .as_ref()
            .and_then(|h| self.hospital_shares(p, (names, regions), shares, h.len(), ctx));
        let casualties = self.within(
            &p.key("casualties"),
            *casualties,
            0.0,
            MAX_CASUALTIES,
            "people in one incident",
        );
        let admitted = self.within(
            &p.key("admitted_share"),
            *admitted_share,
            0.0,
            1.0,
            "a share",
        );
        let transfused = self.within(
            &p.key("transfused_share"),
            *transfused_share,
            0.0,
            1.0,
            "a share",
        );
        let problems = self.problems.len();
        let units = self.size(&p.key("units_per_patient"), units_per_patient);
        let units = (self.problems.len() == problems).then_some(units);
        let ratio = self.product_ratio(&p.key("product_ratio"), product_ratio.as_ref(), ctx);
        let half_life = self.positive_at_most(
            &p.key("half_life_hours"),
            *half_life_hours,
            MAX_DELAY_HOURS,
            "hours to transfusion",
        );
        let emergency = match emergency_release {
            Some(r) => Some(self.emergency_release(&p.key("emergency_release"), r, ctx)?),
            None => None,
        };
        let mut group_cdf = ctx.demand_mix.clone();
        let mut acc = 0.0;
        for c in &mut group_cdf {
            acc += *c;
            *c = acc;
        }
        if let Some(last) = group_cdf.last_mut() {
            *last = 1.0;
        }
        let (casualties, units, ratio) = (casualties?.round(), units?, ratio?);
        let most = casualties * f64::from(units.max()) * ratio.iter().copied().fold(0.0, f64::max);
        if most > MAX_UNITS {
            self.err(
                p,
                format!(
                    "this incident could need {most:.3e} units of one product (every casualty \
                     transfused the most units), above the limit of {MAX_UNITS:e} (counts are \
                     32-bit); lower `casualties`, `units_per_patient` or `product_ratio`"
                ),
            );
            return None;
        }
        Some(Effect::MassCasualty(Box::new(MassCasualty {
            casualties: casualties as u32,
            admitted: admitted?,
            transfused: transfused?,
            units,
            ratio,
            hospitals: hospitals?,
            hospital_cdf: hospital_cdf?,
            group_cdf,
            offset_hours: 0.0,
            half_life_hours: half_life?,
            emergency,
        })))
    }

    /// Cumulative shares of the receiving hospitals: `shares` aligned with `names`, or equal.
    fn hospital_shares(
        &mut self,
        p: &FieldPath,
        (names, regions): (&[String], &[String]),
        shares: &[f64],
        hospitals: usize,
        ctx: &Context,
    ) -> Option<Vec<f64>> {
        if shares.is_empty() {
            return Some(
                (1..=hospitals)
                    .map(|i| i as f64 / hospitals as f64)
                    .collect(),
            );
        }
        if !regions.is_empty() || shares.len() != names.len() || hospitals != names.len() {
            self.err(
                &p.key("shares"),
                format!(
                    "give one share per hospital named in `sites` ({} named, {} shares; no `regions`, no repeated names)",
                    names.len(),
                    shares.len()
                ),
            );
            return None;
        }
        let mut ok = true;
        for (i, &x) in shares.iter().enumerate() {
            ok &= self
                .within(&p.key("shares").index(i), x, 0.0, 1.0, "a share")
                .is_some();
        }
        let total: f64 = shares.iter().sum();
        if ok && (total - 1.0).abs() > 1e-6 {
            self.err(&p.key("shares"), format!("must sum to 1, found {total}"));
            return None;
        }
        // `targets` sorted the hospitals by site; order the shares the same way.
        let mut by_site: Vec<(usize, f64)> = names
            .iter()
            .zip(shares)
            .filter_map(|(n, &x)| Some((*ctx.site_index.get(n)?, x)))
            .collect();
        by_site.sort_by_key(|&(s, _)| s);
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = by_site
            .iter()
            .map(|&(_, x)| {
                acc += x / total;
                acc
            })
            .collect();
        if let Some(last) = cdf.last_mut() {
            *last = 1.0;
        }
        ok.then_some(cdf)
    }

    fn imports(
        &mut self,
        p: &FieldPath,
        site: &str,
        product: Product,
        units: &RawUnits,
        sites: &[Site],
        ctx: &Context,
    ) -> Option<Effect> {
        let target = self.stock_site(&p.key("site"), site, sites, ctx);
        let index = self.simulated(&p.key("product"), product, ctx);
        let by_group = self.units_by_group(&p.key("units"), units, ctx);
        Some(Effect::Imports {
            site: target?,
            product: index?,
            units: by_group?,
        })
    }

    /// A hub or hospital, by name.
    pub(super) fn stock_site(
        &mut self,
        path: &FieldPath,
        name: &str,
        sites: &[Site],
        ctx: &Context,
    ) -> Option<SiteId> {
        let s = self.site_ref(path, name, ctx)?;
        if Kind::Stock.matches(&sites[s].role) {
            return Some(s);
        }
        let found = sites[s].role.kind();
        self.err(
            path,
            format!("\"{name}\" is a {found}; give a hub or hospital"),
        );
        None
    }

    /// The index of a product the scenario simulates, or an error at `path` saying how to
    /// add it.
    pub(super) fn simulated(
        &mut self,
        path: &FieldPath,
        product: Product,
        ctx: &Context,
    ) -> Option<usize> {
        let index = ctx.product_index(product);
        if index.is_none() {
            let name = product.name();
            let msg = format!(
                "\"{name}\" is not simulated in this scenario: the scenario has no {name} product; define [products.{name}]"
            );
            self.err(path, msg);
        }
        index
    }

    /// Units by group: a total split by the donor frequencies, or given per group label.
    pub(super) fn units_by_group(
        &mut self,
        path: &FieldPath,
        units: &RawUnits,
        ctx: &Context,
    ) -> Option<Vec<u32>> {
        let in_range = |v: &mut Self, path: &FieldPath, x: f64| {
            v.within(path, x, 0.0, MAX_STOCK_UNITS, "units")
                .map(|x| x.round() as u32)
        };
        match units {
            RawUnits::Total(x) => {
                let total = in_range(self, path, *x)?;
                Some(super::apportion(total, &ctx.donor))
            }
            RawUnits::ByGroup(map) => {
                let mut out = vec![0; ctx.groups.count()];
                let mut ok = true;
                for (label, &x) in map {
                    let key = path.key(label);
                    match ctx.groups.index_of(label) {
                        Some(g) => match in_range(self, &key, x) {
                            Some(u) => out[g] = u,
                            None => ok = false,
                        },
                        None => {
                            let msg = format!(
                                "no blood group \"{label}\" here; groups are: {}",
                                ctx.groups.labels().join(", ")
                            );
                            self.err(&key, msg);
                            ok = false;
                        }
                    }
                }
                ok.then_some(out)
            }
        }
    }

    /// Units of each product per red-cell unit, by product index (default: red cells 1).
    fn product_ratio(
        &mut self,
        path: &FieldPath,
        raw: Option<&PerProduct<f64>>,
        ctx: &Context,
    ) -> Option<Vec<f64>> {
        let mut ratio = vec![0.0; ctx.products.len()];
        let Some(raw) = raw else {
            match ctx.product_index(Product::RedCells) {
                Some(r) => ratio[r] = 1.0,
                None => {
                    self.err(
                        path,
                        "this scenario has no red cells: give `product_ratio` for its products",
                    );
                    return None;
                }
            }
            return Some(ratio);
        };
        let mut ok = true;
        for (product, &x) in raw.entries() {
            let key = path.key(product.name());
            match ctx.product_index(product) {
                Some(k) => match self.within(&key, x, 0.0, MAX_FACTOR, "units per red-cell unit") {
                    Some(x) => ratio[k] = x,
                    None => ok = false,
                },
                None => {
                    let msg = format!("\"{}\" is not simulated in this scenario", product.name());
                    self.err(&key, msg);
                    ok = false;
                }
            }
        }
        if ok && ratio.iter().all(|&x| x == 0.0) {
            self.err(path, "at least one product must have a ratio above 0");
            return None;
        }
        ok.then_some(ratio)
    }

    fn emergency_release(
        &mut self,
        p: &FieldPath,
        r: &RawEmergencyRelease,
        ctx: &Context,
    ) -> Option<EmergencyRelease> {
        let share = self.within(&p.key("share"), r.share, 0.0, 1.0, "a share");
        let o_negative = self.within(
            &p.key("o_negative_share"),
            r.o_negative_share,
            0.0,
            1.0,
            "a share",
        );
        let groups = (
            ctx.groups.index_of("O+"),
            ctx.groups.index_of("O-"),
            ctx.product_index(Product::RedCells),
        );
        let (Some(o_positive_group), Some(o_negative_group), Some(red_cells)) = groups else {
            self.err(
                p,
                "emergency release gives group-O red cells: it needs `blood_groups.system = \"abo_rhd\"` and red cells",
            );
            return None;
        };
        if r.units == 0 || r.units > MAX_REQUEST_UNITS {
            self.err(
                &p.key("units"),
                format!("must be from 1 to {MAX_REQUEST_UNITS}, found {}", r.units),
            );
            return None;
        }
        Some(EmergencyRelease {
            share: share?,
            o_negative: o_negative?,
            units: r.units,
            o_positive_group,
            o_negative_group,
            red_cells,
        })
    }

    /// The legs a link carries: roads of collection sites to their lab, of their lab to the
    /// hub, and deliveries from a supplier to a hospital.
    fn disruption(
        &mut self,
        p: &FieldPath,
        (from, to): (&str, &str),
        closed: bool,
        extra_hours: Option<f64>,
        sites: &[Site],
        ctx: &Context,
    ) -> Option<Effect> {
        let delay = match (closed, extra_hours) {
            (true, None) => Some(Delay::Closed),
            (false, Some(h)) => self
                .positive_at_most(
                    &p.key("extra_hours"),
                    h,
                    MAX_DELAY_HOURS,
                    "transport up to weeks",
                )
                .map(|h| Delay::Slowed(ctx.calendar.hours_to_periods(h).max(1))),
            _ => {
                self.err(p, "give either `closed = true` or `extra_hours`");
                None
            }
        };
        let from_id = self.site_ref(&p.key("from"), from, ctx);
        let to_id = self.site_ref(&p.key("to"), to, ctx);
        let (from_id, to_id) = (from_id?, to_id?);
        let mut legs = Vec::new();
        for (s, site) in sites.iter().enumerate() {
            match &site.role {
                Role::Collection(c) => {
                    if (s, c.lab) == (from_id, to_id) {
                        legs.push(Leg::ToLab(s));
                    }
                    if (c.lab, c.hub) == (from_id, to_id) {
                        legs.push(Leg::ToHub(s));
                    }
                }
                Role::Hospital(h) if (h.supplier, s) == (from_id, to_id) => {
                    legs.push(Leg::ToHospital(s));
                }
                _ => {}
            }
        }
        if legs.is_empty() {
            self.err(
                p,
                format!(
                    "no units travel from \"{from}\" to \"{to}\": a disrupted link must carry \
                     donations to a lab, a lab's units to a hub, or a hospital's deliveries"
                ),
            );
            return None;
        }
        Some(Effect::Transport {
            legs,
            delay: delay?,
        })
    }
}
