//! From raw TOML to a validated [`Scenario`], collecting every problem before failing.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use toml::value::Datetime;

mod events;
mod responses;

use super::error::{FieldPath, Locator, Problem, ScenarioError};
use super::limits::*;
use super::raw::*;
use super::{AlertLevel, AlertScope, Costs, InitialLot, ProductSpec, Scenario};
use crate::blood::{GroupSystem, Product};
use crate::calendar::{Calendar, PERIOD_HOURS_ALLOWED};
use crate::demand::DemandStream;
use crate::events::Event;
use crate::network::{Collection, Hospital, Lab, Role, Site, SiteId, Topology};
use crate::policy::{OrderUpTo, Transfers};
use crate::random::{Count, CountDistribution, MAX_REQUEST_UNITS, Shock, SizeTable};
use crate::supply::{DonationKind, DonationStream};

/// First characters a site name may not have (spreadsheet formula triggers).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Frequencies must sum to one within this tolerance (then they are normalised).
const SUM_TOLERANCE: f64 = 1e-3;

pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let locator = Locator::new(text);
    let raw = super::decode::decode(text, &locator).map_err(|problems| ScenarioError {
        file: file.to_string(),
        problems,
    })?;
    let mut v = Validator {
        locator,
        problems: Vec::new(),
        bad_shelf_life: Vec::new(),
        volumes: Vec::new(),
    };
    let scenario = v.scenario(&raw);
    match scenario {
        Some(s) if v.problems.is_empty() => Ok(s),
        _ => Err(ScenarioError {
            file: file.to_string(),
            problems: v.problems,
        }),
    }
}

struct Validator<'a> {
    locator: Locator<'a>,
    problems: Vec<Problem>,
    /// Products whose shelf life was rejected, so checks built on it stay quiet.
    bad_shelf_life: Vec<Product>,
    /// Every demand and donation stream's volume, for the check that no count can wrap.
    volumes: Vec<Volume>,
}

/// A stream's size, for [`Validator::check_volumes`].
struct Volume {
    /// Where its mean is written.
    path: FieldPath,
    site: SiteId,
    demand: bool,
    /// Mean count a day and its largest weekday multiplier.
    per_day: f64,
    weekday_peak: f64,
    /// Negative-binomial dispersion per day, if any.
    dispersion: Option<f64>,
    /// Units per event by product index, then 1 (the event itself: a donation in a lab's
    /// queue, or a request): mean, a bound on the mean over many events, and a bound on what
    /// a few events can add beyond it.
    units_mean: Vec<f64>,
    units_peak: Vec<f64>,
    units_slack: f64,
}

fn root() -> FieldPath {
    FieldPath::root()
}

/// A count process's per-group slices and their common per-period shock.
struct CountSplit {
    per_group: Vec<Count>,
    shock: Shock,
}

/// What validation has established so far, needed by later checks.
struct Context {
    calendar: Calendar,
    groups: GroupSystem,
    products: Vec<Product>,
    donor: Vec<f64>,
    demand_mix: Vec<f64>,
    site_index: HashMap<String, SiteId>,
    /// Names given to more than one site (references to them resolve to none).
    ambiguous: HashSet<String>,
    links: HashMap<(SiteId, SiteId), f64>,
    /// Links written with an invalid time (already reported; routes over them are not).
    bad_links: HashSet<(SiteId, SiteId)>,
    collection_by_day: Vec<f64>,
    demand_by_day: Vec<f64>,
}

impl Context {
    fn cells(&self, sites: usize) -> crate::scenario::Cells {
        crate::scenario::Cells {
            sites,
            products: self.products.len(),
            groups: self.groups.count(),
        }
    }

    fn product_index(&self, p: Product) -> Option<usize> {
        self.products.iter().position(|&q| q == p)
    }
}

impl Validator<'_> {
    /// Reports a problem once: a rule shared by many sites (a policy default) is checked for
    /// each, but one mistake is one problem.
    fn err(&mut self, path: &FieldPath, message: impl Into<String>) {
        let problem = self.locator.problem(path, message.into());
        if !self.problems.contains(&problem) {
            self.problems.push(problem);
        }
    }

    /// A finite number at least `min`; reports and returns `None` otherwise.
    fn at_least(&mut self, path: &FieldPath, x: f64, min: f64) -> Option<f64> {
        if x.is_finite() && x >= min {
            Some(x)
        } else {
            self.err(path, format!("must be a number >= {min}, found {x}"));
            None
        }
    }

    /// A finite number from `min` to `max`; reports (naming the range and why) and returns
    /// `None` otherwise.
    fn within(&mut self, path: &FieldPath, x: f64, min: f64, max: f64, why: &str) -> Option<f64> {
        if x.is_finite() && x >= min && x <= max {
            Some(x)
        } else {
            self.err(
                path,
                format!("must be a number from {min} to {max} ({why}), found {x}"),
            );
            None
        }
    }

    /// A finite number above 0 and at most `max`.
    fn positive_at_most(&mut self, path: &FieldPath, x: f64, max: f64, why: &str) -> Option<f64> {
        if x.is_finite() && x > 0.0 && x <= max {
            Some(x)
        } else {
            self.err(
                path,
                format!("must be a number > 0 and at most {max} ({why}), found {x}"),
            );
            None
        }
    }

    fn positive(&mut self, path: &FieldPath, x: f64) -> Option<f64> {
        if x.is_finite() && x > 0.0 {
            Some(x)
        } else {
            self.err(path, format!("must be a number > 0, found {x}"));
            None
        }
    }

    fn scenario(&mut self, raw: &RawScenario) -> Option<Scenario> {
        let calendar = self.calendar(&raw.time)?;
        let groups = match raw.blood_groups.system {
            RawGroupSystem::AboRhd => GroupSystem::AboRhd,
            RawGroupSystem::Single => GroupSystem::Single,
        };
        let gpath = root().key("blood_groups");
        let donor = self.group_shares(
            &gpath.key("donor_frequencies"),
            &raw.blood_groups.donor_frequencies,
            groups,
        );
        let demand_mix = match &raw.blood_groups.demand_frequencies {
            Some(m) => self.group_shares(&gpath.key("demand_frequencies"), m, groups),
            None => donor.clone(),
        };
        let (products, product_specs) = self.products(&raw.products, groups, &calendar);
        let (collection_by_day, demand_by_day) = self.seasons(&raw.calendar, &calendar);
        let mut ctx = Context {
            calendar,
            groups,
            products,
            donor,
            demand_mix,
            site_index: HashMap::new(),
            ambiguous: HashSet::new(),
            bad_links: HashSet::new(),
            links: HashMap::new(),
            collection_by_day,
            demand_by_day,
        };
        self.site_names(&raw.sites, &mut ctx);
        self.links(&raw.links, &mut ctx);
        let yields = self.yields(&raw.yields, &ctx);
        let mut sites: Vec<Site> = raw
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| self.site(i, s, raw, &ctx, &yields))
            .collect();
        let baseline_demand = baseline_demand(&sites, &ctx);
        self.order_levels(raw, &mut sites, &ctx, &baseline_demand);
        self.check_sources(&sites, &ctx);
        let initial_stock = self.initial_stock(
            &raw.initial_stock,
            &sites,
            &ctx,
            &product_specs,
            &baseline_demand,
        );
        let alert_levels = self.alert_levels(&raw.alert_levels);
        let alert_scope = self.alert_scope(&raw.alert_scope, &sites, &ctx);
        let events = self.events(&raw.events, &sites, &ctx);
        self.check_volumes(&sites, &ctx, &initial_stock, &events);
        let managed = raw.collection_management.as_ref();
        let collection_management = managed.and_then(|m| self.collection_management(m, &ctx));
        let responses = self.responses(&raw.responses, &sites, &ctx, &baseline_demand);
        let costs = self.costs(&raw.costs, &ctx);
        let min_shelf_to_ship =
            self.min_shelf_to_ship(&raw.policy.min_shelf_life_days, &ctx, &product_specs);
        let transfers = raw
            .policy
            .transfers
            .as_ref()
            .map(|t| self.transfers(t, &ctx));
        Some(Scenario {
            name: raw.scenario.name.clone(),
            description: raw.scenario.description.clone(),
            assumptions: raw.scenario.assumptions.clone(),
            calendar: ctx.calendar,
            seed: raw.time.seed,
            replications: raw.time.replications,
            groups,
            donor_frequencies: ctx.donor,
            products: product_specs,
            topology: Topology::new(&sites),
            events,
            collection_management,
            responses,
            sites,
            issuing: raw.policy.issuing,
            unmet_demand: raw.policy.unmet_demand,
            allocation: raw.policy.allocation,
            min_shelf_to_ship,
            transfers,
            costs,
            initial_stock,
            alert_levels,
            alert_scope,
            baseline_demand,
        })
    }

    fn date(&mut self, path: &FieldPath, d: &Datetime) -> Option<NaiveDate> {
        let date = match (d.date, d.time) {
            (Some(date), None) => NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            ),
            _ => None,
        };
        if date.is_none() {
            self.err(
                path,
                format!("must be a plain date such as 2026-01-01, found {d}"),
            );
        }
        date
    }

    fn calendar(&mut self, t: &RawTime) -> Option<Calendar> {
        let p = root().key("time");
        let start = self.date(&p.key("start"), &t.start);
        if !PERIOD_HOURS_ALLOWED.contains(&t.period_hours) {
            self.err(
                &p.key("period_hours"),
                format!(
                    "must divide a day: one of {PERIOD_HOURS_ALLOWED:?}, found {}",
                    t.period_hours
                ),
            );
            return None;
        }
        let horizon = self.positive_at_most(
            &p.key("horizon_days"),
            t.horizon_days,
            MAX_HORIZON_DAYS,
            "a century",
        );
        let warm_up = self.within(
            &p.key("warm_up_days"),
            t.warm_up_days,
            0.0,
            MAX_HORIZON_DAYS,
            "shorter than the horizon",
        );
        if !(1..=MAX_REPLICATIONS).contains(&t.replications) {
            self.err(
                &p.key("replications"),
                format!(
                    "must be from 1 to {MAX_REPLICATIONS}, found {}",
                    t.replications
                ),
            );
        }
        let (start, horizon, warm_up) = (start?, horizon?, warm_up?);
        let mut cal = Calendar {
            start,
            period_hours: t.period_hours,
            periods: 0,
            warm_up_periods: 0,
        };
        cal.periods = cal.days_to_periods(horizon);
        cal.warm_up_periods = cal.days_to_periods(warm_up);
        if cal.periods == 0 {
            self.err(&p.key("horizon_days"), "is shorter than one period");
            return None;
        }
        if cal.warm_up_periods >= cal.periods {
            self.err(
                &p.key("warm_up_days"),
                format!("must be shorter than horizon_days ({horizon})"),
            );
        }
        Some(cal)
    }

    /// Shares by group from a `{ label = share }` table; missing groups get 0.
    fn group_shares(
        &mut self,
        path: &FieldPath,
        table: &BTreeMap<String, f64>,
        groups: GroupSystem,
    ) -> Vec<f64> {
        if groups == GroupSystem::Single {
            for (label, &x) in table {
                if label != crate::blood::SINGLE_LABEL || (x - 1.0).abs() > SUM_TOLERANCE {
                    self.err(&path.key(label), "a single-group scenario has only `any = 1.0`; remove this or set blood_groups.system = \"abo_rhd\"");
                }
            }
            return vec![1.0];
        }
        let mut shares = vec![0.0; groups.count()];
        let mut ok = true;
        for (label, &x) in table {
            match groups.index_of(label) {
                Some(g) => match self.at_least(&path.key(label), x, 0.0) {
                    Some(x) => shares[g] = x,
                    None => ok = false,
                },
                None => {
                    ok = false;
                    self.err(
                        &path.key(label),
                        format!(
                            "unknown blood group; allowed: {}",
                            groups.labels().join(", ")
                        ),
                    );
                }
            }
        }
        let sum: f64 = shares.iter().sum();
        if ok && (sum - 1.0).abs() > SUM_TOLERANCE {
            self.err(
                path,
                format!("shares must sum to 1 (within {SUM_TOLERANCE}), they sum to {sum:.6}"),
            );
        } else if sum > 0.0 {
            shares.iter_mut().for_each(|s| *s /= sum);
        }
        shares
    }

    /// `[policy.min_shelf_life_days]`: periods by product index, each below the shelf life.
    fn min_shelf_to_ship(
        &mut self,
        raw: &PerProduct<f64>,
        ctx: &Context,
        specs: &[ProductSpec],
    ) -> Vec<u32> {
        let mut floor = vec![0; ctx.products.len()];
        for (product, &days) in raw.entries() {
            let path = root()
                .key("policy")
                .key("min_shelf_life_days")
                .key(product.name());
            let Some(i) = self.simulated(&path, product, ctx) else {
                continue;
            };
            let shelf = specs[i].shelf_life;
            let Some(days) = self.at_least(&path, days, 0.0) else {
                continue;
            };
            let periods = ctx.calendar.days_to_periods(days.min(1e6));
            if periods >= shelf {
                self.err(
                    &path,
                    format!("must be shorter than the shelf life ({shelf} periods), or no unit could ever be shipped; found {days} days"),
                );
            } else {
                floor[i] = periods;
            }
        }
        floor
    }

    /// `[policy.transfers]`.
    fn transfers(&mut self, raw: &RawTransfers, ctx: &Context) -> Transfers {
        let path = root().key("policy").key("transfers");
        let mut products = vec![false; ctx.products.len()];
        for (k, &product) in raw.products.iter().enumerate() {
            if let Some(i) = self.simulated(&path.key("products").index(k), product, ctx) {
                products[i] = true;
            }
        }
        if raw.products.is_empty() {
            self.err(
                &path.key("products"),
                "list at least one product the hubs move between them, e.g. [\"red_cells\"]",
            );
        }
        let hours = self
            .within(
                &path.key("hours"),
                raw.hours,
                0.0,
                MAX_DELAY_HOURS,
                "about 12 weeks",
            )
            .unwrap_or(0.0);
        Transfers {
            products,
            lead_time: ctx.calendar.hours_to_periods(hours),
        }
    }

    fn products(
        &mut self,
        raw: &RawProducts,
        groups: GroupSystem,
        cal: &Calendar,
    ) -> (Vec<Product>, Vec<ProductSpec>) {
        let p = root().key("products");
        let mut products = Vec::new();
        let mut specs = Vec::new();
        for (product, spec) in raw.entries() {
            let path = p.key(product.name()).key("shelf_life_days");
            products.push(product);
            let shelf_life = match self
                .positive_at_most(
                    &path,
                    spec.shelf_life_days,
                    MAX_SHELF_LIFE_DAYS,
                    "ten years",
                )
                .map(|d| cal.days_to_periods(d))
            {
                Some(0) => {
                    self.err(
                        &path,
                        format!("is shorter than one period ({} hours)", cal.period_hours),
                    );
                    1
                }
                Some(periods) => periods,
                None => {
                    self.bad_shelf_life.push(product);
                    1
                }
            };
            let preference = (0..groups.count())
                .map(|r| match spec.substitution {
                    RawSubstitution::Compatible => product.preference_order(groups, r),
                    RawSubstitution::None => vec![r],
                })
                .collect();
            let rhd_switch = (0..groups.count())
                .map(|r| product.rhd_positive_switch(groups, r))
                .collect();
            specs.push(ProductSpec {
                product,
                shelf_life,
                preference,
                rhd_switch,
            });
        }
        if specs.is_empty() {
            self.err(
                &p,
                "define at least one product: red_cells, platelets, plasma or whole_blood",
            );
        }
        (products, specs)
    }

    fn seasons(&mut self, raw: &RawCalendar, cal: &Calendar) -> (Vec<f64>, Vec<f64>) {
        let p = root().key("calendar");
        let days = cal.days() as usize;
        let month_factors = |v: &mut Self, key: &str, list: &Option<Vec<f64>>| -> [f64; 12] {
            let mut out = [1.0; 12];
            if let Some(list) = list {
                if list.len() != 12 {
                    v.err(
                        &p.key(key),
                        format!("needs 12 values, January first; found {}", list.len()),
                    );
                } else {
                    for (m, &x) in list.iter().enumerate() {
                        out[m] = v
                            .within(&p.key(key).index(m), x, 0.0, MAX_FACTOR, "a multiplier")
                            .unwrap_or(1.0);
                    }
                }
            }
            out
        };
        let collection_month = month_factors(self, "collection_by_month", &raw.collection_by_month);
        let demand_month = month_factors(self, "demand_by_month", &raw.demand_by_month);
        let mut collection: Vec<f64> = (0..days as u32)
            .map(|d| collection_month[cal.month(d)])
            .collect();
        let mut demand: Vec<f64> = (0..days as u32)
            .map(|d| demand_month[cal.month(d)])
            .collect();
        self.trend(
            &p.key("collection_trend"),
            &raw.collection_trend,
            cal,
            &mut collection,
        );
        self.trend(&p.key("demand_trend"), &raw.demand_trend, cal, &mut demand);
        for (i, h) in raw.holidays.iter().enumerate() {
            let hp = p.key("holidays").index(i);
            let start = self.date(&hp.key("start"), &h.start);
            let len = self.within(
                &hp.key("days"),
                h.days,
                0.0,
                MAX_HORIZON_DAYS,
                "at most the longest horizon",
            );
            let factor = |v: &mut Self, key: &str, x: f64| {
                v.within(&hp.key(key), x, 0.0, MAX_FACTOR, "a multiplier")
            };
            let cf = factor(self, "collection_factor", h.collection_factor);
            let df = factor(self, "demand_factor", h.demand_factor);
            let (Some(start), Some(len), Some(cf), Some(df)) = (start, len, cf, df) else {
                continue;
            };
            // The days of the holiday within the horizon (one that began before the start
            // still applies to the days it overlaps).
            let first = (start - cal.start).num_days();
            let end = first + len.round() as i64;
            for d in first.max(0)..end.min(days as i64) {
                collection[d as usize] *= cf;
                demand[d as usize] *= df;
            }
        }
        (collection, demand)
    }

    /// Folds a yearly trend into per-day factors. The compounded factor must stay within
    /// [1/MAX_FACTOR, MAX_FACTOR] over the horizon, so a long horizon cannot turn a modest
    /// rate into an absurd one unnoticed.
    fn trend(
        &mut self,
        path: &FieldPath,
        raw: &Option<RawTrend>,
        cal: &Calendar,
        factors: &mut [f64],
    ) {
        let Some(raw) = raw else { return };
        let rate = self.within(
            &path.key("per_year"),
            raw.per_year,
            -0.5,
            2.0,
            "a yearly change: 0.25 is +25% a year",
        );
        let reference = self.date(&path.key("reference"), &raw.reference);
        let (Some(rate), Some(reference)) = (rate, reference) else {
            return;
        };
        let offset = (cal.start - reference).num_days() as f64;
        let growth = (1.0 + rate).ln() / 365.0;
        let at = |d: usize| ((offset + d as f64) * growth).exp();
        let last = factors.len().saturating_sub(1);
        let (lo, hi) = (at(0).min(at(last)), at(0).max(at(last)));
        if hi > MAX_FACTOR || lo < 1.0 / MAX_FACTOR {
            self.err(
                path,
                format!(
                    "compounds to a factor from {lo:.3} to {hi:.3} over the horizon; \
                     it must stay from {} to {MAX_FACTOR} (move `reference` nearer the \
                     horizon or lower `per_year`)",
                    1.0 / MAX_FACTOR
                ),
            );
            return;
        }
        for (d, f) in factors.iter_mut().enumerate() {
            *f *= at(d);
        }
    }

    fn site_names(&mut self, sites: &[RawSite], ctx: &mut Context) {
        if sites.len() > MAX_SITES {
            self.err(
                &root().key("sites"),
                format!("at most {MAX_SITES} sites, found {}", sites.len()),
            );
        }
        for (i, s) in sites.iter().enumerate() {
            let name = site_name(s);
            let path = root().key("sites").index(i).key("name");
            if name.trim().is_empty() {
                self.err(&path, "must not be empty");
            } else if name.starts_with(FORMULA_STARTS) {
                // Names go into the CSV files; spreadsheets run a cell starting with one of
                // these as a formula (OWASP "CSV injection").
                self.err(
                    &path,
                    format!(
                        "must not start with {}: spreadsheets opening the result files would run it as a formula; found \"{name}\"",
                        FORMULA_STARTS.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", ")
                    ),
                );
            } else if name == crate::results::ALL {
                self.err(
                    &path,
                    format!(
                        "\"{name}\" is reserved: the result files use it for the whole network"
                    ),
                );
            }
            if let Some(&first) = ctx.site_index.get(name) {
                self.err(
                    &path,
                    format!("duplicate site name \"{name}\" (first used by sites[{first}])"),
                );
                ctx.ambiguous.insert(name.to_string());
            } else {
                ctx.site_index.insert(name.to_string(), i);
            }
        }
        if sites.is_empty() {
            self.err(&root().key("sites"), "define at least one site");
        }
    }

    fn links(&mut self, links: &[RawLink], ctx: &mut Context) {
        for (i, l) in links.iter().enumerate() {
            let p = root().key("links").index(i);
            let from = self.site_ref(&p.key("from"), &l.from, ctx);
            let to = self.site_ref(&p.key("to"), &l.to, ctx);
            let hours = self.within(
                &p.key("hours"),
                l.hours,
                0.0,
                MAX_DELAY_HOURS,
                "about 12 weeks",
            );
            if let (Some(from), Some(to), None) = (from, to, hours) {
                ctx.bad_links.insert((from, to));
            }
            if let (Some(from), Some(to), Some(hours)) = (from, to, hours)
                && ctx.links.insert((from, to), hours).is_some()
            {
                self.err(
                    &p,
                    format!("duplicate link from \"{}\" to \"{}\"", l.from, l.to),
                );
            }
        }
    }

    fn site_ref(&mut self, path: &FieldPath, name: &str, ctx: &Context) -> Option<SiteId> {
        if ctx.ambiguous.contains(name) {
            // Already reported as a duplicate name; a reference to it is not a new problem.
            return None;
        }
        let found = ctx.site_index.get(name).copied();
        if found.is_none() {
            let mut known: Vec<&str> = ctx.site_index.keys().map(String::as_str).collect();
            known.sort_unstable();
            self.err(
                path,
                format!("no site named \"{name}\"; sites are: {}", known.join(", ")),
            );
        }
        found
    }

    /// A reference that must name a site of one of `kinds`.
    fn site_ref_of_kind(
        &mut self,
        path: &FieldPath,
        name: &str,
        raw: &RawScenario,
        ctx: &Context,
        kinds: &[&str],
    ) -> Option<SiteId> {
        let id = self.site_ref(path, name, ctx)?;
        let kind = raw_kind(&raw.sites[id]);
        if kinds.contains(&kind) {
            Some(id)
        } else {
            self.err(
                path,
                format!(
                    "\"{name}\" is a {kind}; this must name a {}",
                    kinds.join(" or ")
                ),
            );
            None
        }
    }

    fn transport(
        &mut self,
        path: &FieldPath,
        from: SiteId,
        to: SiteId,
        raw: &RawScenario,
        ctx: &Context,
    ) -> u32 {
        match ctx.links.get(&(from, to)) {
            Some(&hours) => ctx.calendar.hours_to_periods(hours),
            None if ctx.bad_links.contains(&(from, to))
                || [from, to]
                    .iter()
                    .any(|&s| ctx.ambiguous.contains(site_name(&raw.sites[s]))) =>
            {
                0 // a duplicate name or a link's invalid time, already reported
            }
            None => {
                let (a, b) = (site_name(&raw.sites[from]), site_name(&raw.sites[to]));
                self.err(path, format!("no link from \"{a}\" to \"{b}\"; add [[links]] with from = \"{a}\", to = \"{b}\", hours = ..."));
                0
            }
        }
    }

    fn yields(&mut self, raw: &RawYields, ctx: &Context) -> Vec<Vec<f64>> {
        DonationKind::ALL
            .iter()
            .map(|&kind| {
                let given = match kind {
                    DonationKind::WholeBlood => &raw.whole_blood,
                    DonationKind::ApheresisPlatelets => &raw.apheresis_platelets,
                    DonationKind::ApheresisPlasma => &raw.apheresis_plasma,
                };
                let y = given.clone().unwrap_or_else(|| default_yield(kind, &ctx.products));
                let mut out = vec![0.0; ctx.products.len()];
                for (product, &value) in y.entries() {
                    let path = root().key("yields").key(kind.name()).key(product.name());
                    let Some(value) = self.within(&path, value, 0.0, MAX_YIELD, "units per donation") else { continue };
                    match ctx.product_index(product) {
                        Some(p) => out[p] = value,
                        None if value > 0.0 => self.err(&path, format!("the scenario has no {product} product; define [products.{product}] or remove this yield")),
                        None => {}
                    }
                }
                out
            })
            .collect()
    }

    fn site(
        &mut self,
        i: usize,
        s: &RawSite,
        raw: &RawScenario,
        ctx: &Context,
        yields: &[Vec<f64>],
    ) -> Site {
        let p = root().key("sites").index(i);
        let role = match s {
            RawSite::Collection {
                lab,
                hub,
                donations,
                schedule,
                ..
            } => {
                let lab_id = self.site_ref_of_kind(&p.key("lab"), lab, raw, ctx, &["lab"]);
                let hub_id = self.site_ref_of_kind(&p.key("hub"), hub, raw, ctx, &["hub"]);
                let to_lab = lab_id.map_or(0, |l| self.transport(&p.key("lab"), i, l, raw, ctx));
                let lab_to_hub = match (lab_id, hub_id) {
                    (Some(l), Some(h)) => self.transport(&p.key("hub"), l, h, raw, ctx),
                    _ => 0,
                };
                let streams = donations
                    .iter()
                    .enumerate()
                    .map(|(k, d)| self.donation(&p.key("donations").index(k), d, i, ctx, yields))
                    .collect();
                let open = self.schedule(&p.key("schedule"), schedule.as_ref(), &ctx.calendar);
                let day_factor = ctx
                    .collection_by_day
                    .iter()
                    .zip(open)
                    .map(|(f, o)| if o { *f } else { 0.0 })
                    .collect();
                Role::Collection(Collection {
                    lab: lab_id.unwrap_or(0),
                    hub: hub_id.unwrap_or(0),
                    to_lab,
                    lab_to_hub,
                    donations: streams,
                    day_factor,
                })
            }
            RawSite::Lab {
                capacity_per_day,
                processing_hours,
                discard_fraction,
                ..
            } => {
                let capacity = capacity_per_day.and_then(|c| {
                    self.positive_at_most(
                        &p.key("capacity_per_day"),
                        c,
                        MAX_PER_DAY,
                        "donations a day",
                    )
                });
                let processing = self
                    .within(
                        &p.key("processing_hours"),
                        *processing_hours,
                        0.0,
                        MAX_DELAY_HOURS,
                        "about 12 weeks",
                    )
                    .unwrap_or(0.0);
                let discard = self
                    .at_least(&p.key("discard_fraction"), *discard_fraction, 0.0)
                    .unwrap_or(0.0);
                if discard >= 1.0 {
                    self.err(
                        &p.key("discard_fraction"),
                        format!("must be below 1, found {discard}"),
                    );
                }
                Role::Lab(Lab {
                    capacity_per_period: capacity.map(|c| c * ctx.calendar.day_fraction()),
                    processing: ctx.calendar.hours_to_periods(processing),
                    discard_fraction: discard,
                })
            }
            RawSite::Hub { .. } => Role::Hub,
            RawSite::Supplier { .. } => Role::Supplier,
            RawSite::Hospital {
                supplied_by,
                priority,
                demand,
                ..
            } => {
                let supplier = self.site_ref_of_kind(
                    &p.key("supplied_by"),
                    supplied_by,
                    raw,
                    ctx,
                    &["hub", "supplier"],
                );
                let lead_time =
                    supplier.map_or(0, |h| self.transport(&p.key("supplied_by"), h, i, raw, ctx));
                let demand = demand
                    .iter()
                    .enumerate()
                    .filter_map(|(k, d)| self.demand(&p.key("demand").index(k), d, i, ctx))
                    .collect();
                Role::Hospital(Hospital {
                    supplier: supplier.unwrap_or(0),
                    lead_time,
                    priority: *priority,
                    demand,
                    replenishment: vec![None; ctx.products.len()],
                    day_factor: ctx.demand_by_day.clone(),
                })
            }
        };
        let (name, region) = site_name_region(s);
        Site {
            name: name.to_string(),
            region: region.to_string(),
            role,
        }
    }

    fn weekday_profile(&mut self, path: &FieldPath, profile: &Option<Vec<f64>>) -> [f64; 7] {
        let mut out = [1.0; 7];
        if let Some(list) = profile {
            if list.len() != 7 {
                self.err(
                    path,
                    format!("needs 7 values, Monday first; found {}", list.len()),
                );
            } else {
                for (d, &x) in list.iter().enumerate() {
                    out[d] = self
                        .within(&path.index(d), x, 0.0, MAX_FACTOR, "a multiplier")
                        .unwrap_or(1.0);
                }
            }
        }
        out
    }

    /// A daily count process split into per-group, per-period slices, and the shock the
    /// groups share each period.
    fn count(
        &mut self,
        path: &FieldPath,
        raw: &RawCount,
        shares: &[f64],
        cal: &Calendar,
    ) -> CountSplit {
        let f = cal.day_fraction();
        let (mean, distribution, shock) = match raw {
            RawCount::Poisson { mean } => (*mean, CountDistribution::Poisson, Shock::NONE),
            RawCount::Fixed { mean } => (*mean, CountDistribution::Fixed, Shock::NONE),
            RawCount::NegativeBinomial { mean, dispersion } => {
                let k = if dispersion.is_finite() && *dispersion >= MIN_DISPERSION {
                    *dispersion
                } else {
                    self.err(
                        &path.key("dispersion"),
                        format!("must be a number >= {MIN_DISPERSION} (smaller values make a day's count mostly zero with rare huge bursts), found {dispersion}"),
                    );
                    1.0
                };
                (
                    *mean,
                    CountDistribution::Poisson,
                    Shock::gamma((k * f).max(f64::MIN_POSITIVE)),
                )
            }
            RawCount::Gamma { mean, cv } => {
                let shape =
                    match self.positive_at_most(&path.key("cv"), *cv, MAX_CV, "a shape of 0.01") {
                        Some(cv) => 1.0 / (cv * cv),
                        None => 1.0,
                    };
                // Stochastic rounding of each group's share of one Gamma draw per period.
                (
                    *mean,
                    CountDistribution::Fixed,
                    Shock::gamma((shape * f).max(f64::MIN_POSITIVE)),
                )
            }
        };
        let mean = self
            .within(&path.key("mean"), mean, 0.0, MAX_PER_DAY, "per day")
            .unwrap_or(0.0);
        CountSplit {
            per_group: shares
                .iter()
                .map(|&s| Count::new(distribution, mean * f * s))
                .collect(),
            shock,
        }
    }

    fn donation(
        &mut self,
        path: &FieldPath,
        d: &RawDonation,
        site: SiteId,
        ctx: &Context,
        yields: &[Vec<f64>],
    ) -> DonationStream {
        let kind = match d.donation {
            RawDonationKind::WholeBlood => DonationKind::WholeBlood,
            RawDonationKind::ApheresisPlatelets => DonationKind::ApheresisPlatelets,
            RawDonationKind::ApheresisPlasma => DonationKind::ApheresisPlasma,
        };
        let y = yields[DonationKind::ALL
            .iter()
            .position(|&k| k == kind)
            .unwrap_or(0)]
        .clone();
        if y.iter().all(|&x| x == 0.0) {
            self.err(
                &path.key("donation"),
                format!(
                    "{} donations yield no product this scenario simulates; set [yields.{}]",
                    kind.name(),
                    kind.name()
                ),
            );
        }
        let counts = self.count(&path.key("per_day"), &d.per_day, &ctx.donor, &ctx.calendar);
        let weekday = self.weekday_profile(&path.key("weekday_profile"), &d.weekday_profile);
        self.volumes.push(Volume {
            path: path.key("per_day").key("mean"),
            site,
            demand: false,
            per_day: count_mean(&d.per_day),
            weekday_peak: weekday.iter().copied().fold(0.0, f64::max),
            dispersion: count_dispersion(&d.per_day),
            units_mean: y.iter().copied().chain([1.0]).collect(),
            units_peak: y.iter().copied().chain([1.0]).collect(),
            // A fractional yield carries over: at most one unit more per period.
            units_slack: 1.0,
        });
        DonationStream {
            kind,
            per_group: counts.per_group,
            shock: counts.shock,
            weekday,
            yields: y,
        }
    }

    fn schedule(&mut self, path: &FieldPath, s: Option<&RawSchedule>, cal: &Calendar) -> Vec<bool> {
        let days = cal.days();
        match s {
            None => vec![true; days as usize],
            Some(RawSchedule::Weekly { weekdays }) => {
                const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
                let mut open = [false; 7];
                for (i, w) in weekdays.iter().enumerate() {
                    match NAMES.iter().position(|n| n.eq_ignore_ascii_case(w)) {
                        Some(d) => open[d] = true,
                        None => self.err(
                            &path.key("weekdays").index(i),
                            format!("unknown weekday \"{w}\"; allowed: {}", NAMES.join(", ")),
                        ),
                    }
                }
                (0..days).map(|d| open[cal.weekday(d)]).collect()
            }
            Some(RawSchedule::Dates { dates }) => {
                let mut open = vec![false; days as usize];
                for (i, d) in dates.iter().enumerate() {
                    if let Some(date) = self.date(&path.key("dates").index(i), d) {
                        let day = (date - cal.start).num_days();
                        if (0..i64::from(days)).contains(&day) {
                            open[day as usize] = true;
                        }
                    }
                }
                open
            }
        }
    }

    fn size(&mut self, path: &FieldPath, raw: &RawSize) -> SizeTable {
        let table = match raw {
            RawSize::Fixed { units } => {
                if *units == 0 || *units > MAX_REQUEST_UNITS {
                    self.err(
                        &path.key("units"),
                        format!("must be between 1 and {MAX_REQUEST_UNITS}, found {units}"),
                    );
                }
                Some(SizeTable::fixed((*units).clamp(1, MAX_REQUEST_UNITS)))
            }
            RawSize::Poisson { mean } => self
                .at_least(&path.key("mean"), *mean, 1.0)
                .and_then(SizeTable::shifted_poisson),
            RawSize::NegativeBinomial { mean, dispersion } => {
                let m = self.at_least(&path.key("mean"), *mean, 1.0);
                let k = self.positive(&path.key("dispersion"), *dispersion);
                m.zip(k)
                    .and_then(|(m, k)| SizeTable::shifted_negative_binomial(m, k))
            }
            RawSize::RoundedGamma { mean, cv } => {
                let m = self.positive(&path.key("mean"), *mean);
                let cv = self.positive(&path.key("cv"), *cv);
                m.zip(cv)
                    .and_then(|(m, cv)| SizeTable::rounded_gamma(m, cv))
            }
        };
        table.unwrap_or_else(|| {
            self.err(
                path,
                format!(
                    "this distribution puts real weight above {MAX_REQUEST_UNITS} units per request"
                ),
            );
            SizeTable::fixed(1)
        })
    }

    fn demand(
        &mut self,
        path: &FieldPath,
        d: &RawDemand,
        site: SiteId,
        ctx: &Context,
    ) -> Option<DemandStream> {
        let product = self.simulated(&path.key("product"), d.product, ctx)?;
        let mix = match &d.group_mix {
            Some(m) => self.group_shares(&path.key("group_mix"), m, ctx.groups),
            None => ctx.demand_mix.clone(),
        };
        let (count_key, raw_count, raw_size) = match (
            &d.requests_per_day,
            &d.units_per_day,
            &d.units_per_request,
        ) {
            (Some(c), None, size) => ("requests_per_day", c, size.clone().unwrap_or_default()),
            (None, Some(c), None) => ("units_per_day", c, RawSize::default()),
            (None, Some(_), Some(_)) => {
                self.err(
                        &path.key("units_per_request"),
                        "does not go with units_per_day (each unit is its own request); give requests_per_day with units_per_request, or units_per_day alone",
                    );
                return None;
            }
            (Some(_), Some(_), _) => {
                self.err(
                        &path.key("units_per_day"),
                        "give either requests_per_day (with units_per_request) or units_per_day, not both",
                    );
                return None;
            }
            (None, None, _) => {
                self.err(
                    path,
                    "needs requests_per_day (with units_per_request) or units_per_day",
                );
                return None;
            }
        };
        let counts = self.count(&path.key(count_key), raw_count, &mix, &ctx.calendar);
        let units = self.size(&path.key("units_per_request"), &raw_size);
        let weekday = self.weekday_profile(&path.key("weekday_profile"), &d.weekday_profile);
        let mut units_mean = vec![0.0; ctx.products.len() + 1];
        units_mean[product] = units.mean();
        units_mean[ctx.products.len()] = 1.0;
        let mut units_peak = units_mean.clone();
        // Random sizes: over many requests, twice their mean bounds their mean; over a few,
        // the largest size does.
        let random = !units.is_fixed();
        if random {
            units_peak[product] *= 2.0;
        }
        self.volumes.push(Volume {
            path: path.key(count_key).key("mean"),
            site,
            demand: true,
            per_day: count_mean(raw_count),
            weekday_peak: weekday.iter().copied().fold(0.0, f64::max),
            dispersion: count_dispersion(raw_count),
            units_mean,
            units_peak,
            units_slack: if random {
                f64::from(MAX_REQUEST_UNITS)
            } else {
                0.0
            },
        });
        Some(DemandStream {
            product,
            per_group: counts.per_group,
            shock: counts.shock,
            units,
            weekday,
        })
    }

    /// Resolves each hospital's replenishment rule now that baseline demand is known.
    fn order_levels(
        &mut self,
        raw: &RawScenario,
        sites: &mut [Site],
        ctx: &Context,
        baseline: &[f64],
    ) {
        let cells = ctx.cells(sites.len());
        for (i, site) in sites.iter_mut().enumerate() {
            let (Role::Hospital(h), RawSite::Hospital { replenishment, .. }) =
                (&mut site.role, &raw.sites[i])
            else {
                continue;
            };
            let p = root().key("sites").index(i).key("replenishment");
            for product in Product::ALL {
                let own = replenishment.get(product);
                let (rule, path) = match own {
                    Some(r) => (Some(r), p.key(product.name())),
                    None => (
                        raw.policy.replenishment.get(product),
                        root()
                            .key("policy")
                            .key("replenishment")
                            .key(product.name()),
                    ),
                };
                let Some(pi) = ctx.product_index(product) else {
                    if own.is_some() {
                        self.err(&path, format!("the scenario has no {product} product"));
                    }
                    continue;
                };
                let demands = h.demand.iter().any(|d| d.product == pi);
                let Some(RawReplenishment::OrderUpTo {
                    units,
                    days,
                    review_every_days,
                    review,
                    max_order_units,
                    min_units_per_group,
                }) = rule
                else {
                    if demands {
                        let here = root().key("sites").index(i).key("demand");
                        self.err(&here, format!("hospital \"{}\" has {product} demand but no replenishment rule; add [policy.replenishment.{product}] or one for this site", site.name));
                    }
                    continue;
                };
                let per_group: Vec<f64> = (0..ctx.groups.count())
                    .map(|g| baseline[cells.index(i, pi, g)])
                    .collect();
                let total: f64 = per_group.iter().sum();
                let level = match (units, days) {
                    (Some(u), None) => {
                        if *min_units_per_group != 0.0 {
                            self.err(
                                &path.key("min_units_per_group"),
                                "is a floor under a level in `days`; with `units`, set the level itself",
                            );
                        }
                        let u = self
                            .within(&path.key("units"), *u, 0.0, MAX_STOCK_UNITS, "units")
                            .unwrap_or(0.0);
                        let shares: Vec<f64> = if total > 0.0 {
                            per_group.iter().map(|x| x / total).collect()
                        } else {
                            ctx.donor.clone()
                        };
                        shares.iter().map(|s| (u * s).ceil() as u32).collect()
                    }
                    (None, Some(d)) => {
                        let d = self
                            .within(
                                &path.key("days"),
                                *d,
                                0.0,
                                MAX_SHELF_LIFE_DAYS,
                                "days of supply",
                            )
                            .unwrap_or(0.0);
                        let level: Vec<f64> = per_group.iter().map(|x| (d * x).ceil()).collect();
                        if let Some(&most) = level.iter().max_by(|a, b| a.total_cmp(b))
                            && most > MAX_STOCK_UNITS
                        {
                            self.err(
                                &path.key("days"),
                                format!("gives a level of {most} units for one group at hospital \"{}\", above the limit of {MAX_STOCK_UNITS}", site.name),
                            );
                        }
                        let floor = self
                            .within(
                                &path.key("min_units_per_group"),
                                *min_units_per_group,
                                0.0,
                                MAX_STOCK_UNITS,
                                "units",
                            )
                            .unwrap_or(0.0)
                            .ceil();
                        // The floor applies to groups the hospital has demand for.
                        level
                            .iter()
                            .zip(&per_group)
                            .map(|(&x, &demand)| {
                                let x = if demand > 0.0 { x.max(floor) } else { x };
                                x.min(MAX_STOCK_UNITS) as u32
                            })
                            .collect()
                    }
                    _ => {
                        self.err(&path, "give exactly one of `units` (order-up-to level in units) or `days` (in days of supply)");
                        vec![0; ctx.groups.count()]
                    }
                };
                let review_days = self
                    .positive_at_most(
                        &path.key("review_every_days"),
                        *review_every_days,
                        MAX_HORIZON_DAYS,
                        "a century",
                    )
                    .unwrap_or(1.0);
                if let Some(m) = max_order_units
                    && f64::from(*m) > MAX_STOCK_UNITS
                {
                    self.err(
                        &path.key("max_order_units"),
                        format!("must be at most {MAX_STOCK_UNITS}, found {m}"),
                    );
                }
                h.replenishment[pi] = Some(OrderUpTo {
                    level,
                    review_every: ctx.calendar.days_to_periods(review_days).max(1),
                    timing: *review,
                    max_order: *max_order_units,
                });
            }
        }
    }

    /// Every product a hospital needs must reach its hub from some collection site.
    fn check_sources(&mut self, sites: &[Site], ctx: &Context) {
        let mut produced = vec![vec![false; ctx.products.len()]; sites.len()];
        for s in sites {
            if let Role::Collection(c) = &s.role {
                for d in &c.donations {
                    for (p, &y) in d.yields.iter().enumerate() {
                        produced[c.hub][p] |= y > 0.0;
                    }
                }
            }
        }
        for (i, s) in sites.iter().enumerate() {
            let Role::Hospital(h) = &s.role else { continue };
            if !matches!(sites[h.supplier].role, Role::Hub) {
                continue;
            }
            for (k, d) in h.demand.iter().enumerate() {
                if !produced[h.supplier][d.product] {
                    let product = ctx.products[d.product];
                    self.err(
                        &root().key("sites").index(i).key("demand").index(k).key("product"),
                        format!("no collection site sends {product} to hub \"{}\", which supplies this hospital", sites[h.supplier].name),
                    );
                }
            }
        }
    }

    fn initial_stock(
        &mut self,
        raw: &[RawInitialStock],
        sites: &[Site],
        ctx: &Context,
        products: &[ProductSpec],
        baseline: &[f64],
    ) -> Vec<InitialLot> {
        let cells = ctx.cells(sites.len());
        let mut lots = Vec::new();
        for (i, entry) in raw.iter().enumerate() {
            let p = root().key("initial_stock").index(i);
            let Some(site) = self.site_ref(&p.key("site"), &entry.site, ctx) else {
                continue;
            };
            if !sites[site].role.holds_stock() {
                self.err(
                    &p.key("site"),
                    format!(
                        "\"{}\" is a {}; only hubs and hospitals hold stock",
                        entry.site,
                        sites[site].role.kind()
                    ),
                );
                continue;
            }
            let Some(product) = self.simulated(&p.key("product"), entry.product, ctx) else {
                continue;
            };
            let demand: Vec<f64> = (0..ctx.groups.count())
                .map(|g| baseline[cells.index(site, product, g)])
                .collect();
            let per_group: Vec<f64> =
                match (&entry.units, &entry.units_by_group, &entry.days_of_supply) {
                    (Some(u), None, None) => {
                        let u = self
                            .within(&p.key("units"), *u, 0.0, MAX_STOCK_UNITS, "units")
                            .unwrap_or(0.0);
                        let total: f64 = demand.iter().sum();
                        let shares: Vec<f64> = if total > 0.0 {
                            demand.iter().map(|d| d / total).collect()
                        } else {
                            ctx.donor.clone()
                        };
                        apportion(u.round() as u32, &shares)
                            .into_iter()
                            .map(f64::from)
                            .collect()
                    }
                    (None, Some(table), None) => {
                        let mut out = vec![0.0; ctx.groups.count()];
                        for (label, &x) in table {
                            let path = p.key("units_by_group").key(label);
                            match ctx.groups.index_of(label) {
                                Some(g) => {
                                    out[g] = self
                                        .within(&path, x, 0.0, MAX_STOCK_UNITS, "units")
                                        .unwrap_or(0.0)
                                        .round()
                                }
                                None => self.err(
                                    &path,
                                    format!(
                                        "unknown blood group; allowed: {}",
                                        ctx.groups.labels().join(", ")
                                    ),
                                ),
                            }
                        }
                        out
                    }
                    (None, None, Some(days)) => {
                        let days = self
                            .within(
                                &p.key("days_of_supply"),
                                *days,
                                0.0,
                                MAX_SHELF_LIFE_DAYS,
                                "days",
                            )
                            .unwrap_or(0.0);
                        let units: Vec<f64> = demand.iter().map(|d| (d * days).round()).collect();
                        if units.iter().any(|&u| u > MAX_STOCK_UNITS) {
                            self.err(
                                &p.key("days_of_supply"),
                                format!("gives more than {MAX_STOCK_UNITS} units for one group"),
                            );
                            continue;
                        }
                        units
                    }
                    _ => {
                        self.err(
                            &p,
                            "give exactly one of `units`, `units_by_group` or `days_of_supply`",
                        );
                        continue;
                    }
                };
            let shelf = products[product].shelf_life;
            let age = entry.age_days.unwrap_or(RawAge { min: 0.0, max: 0.0 });
            let (min, max) = (
                ctx.calendar.days_to_periods(age.min.max(0.0)),
                ctx.calendar.days_to_periods(age.max.max(0.0)),
            );
            if !(age.min.is_finite() && age.max.is_finite() && age.min >= 0.0 && age.min <= age.max)
            {
                self.err(
                    &p.key("age_days"),
                    format!(
                        "needs 0 <= min <= max, found min = {}, max = {}",
                        age.min, age.max
                    ),
                );
                continue;
            }
            if max >= shelf && !self.bad_shelf_life.contains(&entry.product) {
                self.err(
                    &p.key("age_days").key("max"),
                    format!(
                        "units this old have expired: {} shelf life is {} periods",
                        entry.product, shelf
                    ),
                );
                continue;
            }
            for (group, &units) in per_group.iter().enumerate() {
                let ages = max - min + 1;
                for (k, n) in apportion(units as u32, &vec![1.0; ages as usize])
                    .into_iter()
                    .enumerate()
                {
                    if n > 0 {
                        lots.push(InitialLot {
                            site,
                            product,
                            group,
                            age: min + k as u32,
                            units: n,
                        });
                    }
                }
            }
        }
        lots
    }

    fn alert_scope(&mut self, raw: &RawAlertScope, sites: &[Site], ctx: &Context) -> AlertScope {
        let n = ctx.products.len();
        let products = match &raw.products {
            None => vec![true; n],
            Some(list) => {
                let path = root().key("alert_scope").key("products");
                let mut on = vec![false; n];
                for (k, &product) in list.iter().enumerate() {
                    if let Some(i) = self.simulated(&path.index(k), product, ctx) {
                        on[i] = true;
                    }
                }
                on
            }
        };
        let hubs_only = raw.stock == RawStageStock::Hubs;
        if hubs_only && !sites.iter().any(|s| matches!(s.role, Role::Hub)) {
            self.err(
                &root().key("alert_scope").key("stock"),
                "is \"hubs\" but the scenario has no hub; use \"network\"",
            );
        }
        AlertScope {
            hubs_only,
            products,
        }
    }

    fn alert_levels(&mut self, raw: &[RawAlertLevel]) -> Vec<AlertLevel> {
        if raw.len() > MAX_ALERT_LEVELS {
            self.err(
                &root().key("alert_levels"),
                format!(
                    "at most {MAX_ALERT_LEVELS} alert levels, found {}",
                    raw.len()
                ),
            );
            return Vec::new();
        }
        let mut levels: Vec<AlertLevel> = raw
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let below = self.positive(
                    &root().key("alert_levels").index(i).key("below_days"),
                    a.below_days,
                )?;
                Some(AlertLevel {
                    name: a.name.clone(),
                    below_days: below,
                })
            })
            .collect();
        levels.sort_by(|a, b| b.below_days.total_cmp(&a.below_days));
        levels
    }

    /// Every unit count in the engine is 32 bits. Bound what any one can reach: units of a
    /// product at one site in one period (the peak calendar and weekday multipliers, a
    /// negative-binomial day far in its tail, Poisson noise), and units of a product over the
    /// whole run across the network (what a backlog or a lab queue can accumulate), both
    /// within [`MAX_UNITS`], a quarter of the counters' range.
    fn check_volumes(
        &mut self,
        sites: &[Site],
        ctx: &Context,
        initial: &[InitialLot],
        events: &[Event],
    ) {
        if !self.problems.is_empty() {
            return; // the streams' numbers may be placeholders for rejected values
        }
        let peak = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
        let (demand_day, collection_day) = (
            peak(&ctx.demand_by_day) * crate::events::peak_factor(events, true),
            peak(&ctx.collection_by_day) * crate::events::peak_factor(events, false),
        );
        let f = ctx.calendar.day_fraction();
        let days = f64::from(ctx.calendar.days());
        // The products, then the events themselves (donations or requests).
        let products = ctx.products.len() + 1;
        let name = |p: usize, demand: bool| match ctx.products.get(p) {
            Some(product) => product.name(),
            None if demand => "requests",
            None => "donations",
        };
        // By (site, product): peak units a period, and the stream contributing most.
        let mut per_period: BTreeMap<(SiteId, usize, bool), (f64, usize, f64)> = BTreeMap::new();
        // By (product, demand?): units over the run, and the stream contributing most.
        let mut per_run: BTreeMap<(usize, bool), (f64, usize, f64)> = BTreeMap::new();
        for (k, v) in self.volumes.iter().enumerate() {
            let calendar = if v.demand { demand_day } else { collection_day };
            let daily = v.per_day * calendar * v.weekday_peak;
            let shock = v.dispersion.map_or(1.0, |d| gamma_shock_bound(d * f));
            let m = daily * f * shock;
            let events = m + 10.0 * m.sqrt() + 10.0;
            for p in 0..products {
                if v.units_mean[p] == 0.0 {
                    continue;
                }
                let here = events * v.units_peak[p] + v.units_slack;
                let run = daily * days * v.units_mean[p];
                // The total, and the stream contributing most (named in a message).
                let add = |e: &mut (f64, usize, f64), units: f64| {
                    e.0 += units;
                    if units > e.2 {
                        (e.1, e.2) = (k, units);
                    }
                };
                add(
                    per_period
                        .entry((v.site, p, v.demand))
                        .or_insert((0.0, k, 0.0)),
                    here,
                );
                add(per_run.entry((p, v.demand)).or_insert((0.0, k, 0.0)), run);
            }
        }
        for lot in initial {
            per_run
                .entry((lot.product, false))
                .or_insert((0.0, usize::MAX, 0.0))
                .0 += f64::from(lot.units);
        }
        // One problem of each kind (demand, collection) is enough to act on.
        let mut reported = HashSet::new();
        for (&(site, p, demand), &(units, k, _)) in &per_period {
            if units > MAX_UNITS && reported.insert(demand) {
                let what = if demand { "demand" } else { "collection" };
                let path = self.volumes[k].path.clone();
                self.err(
                    &path,
                    format!(
                        "{what} of {} at \"{}\" could reach {units:.3e} in one period (at the peak calendar and weekday multipliers), above the limit of {MAX_UNITS:e} (counts are 32-bit); lower the rate, the units per request or yield, or the multipliers",
                        name(p, demand), sites[site].name
                    ),
                );
            }
        }
        for (&(p, demand), &(units, k, _)) in &per_run {
            if units > MAX_UNITS && reported.insert(demand) {
                let what = if demand {
                    "demand"
                } else {
                    "collection and initial stock"
                };
                let path = match self.volumes.get(k) {
                    Some(v) => v.path.clone(),
                    None => root().key("time").key("horizon_days"),
                };
                self.err(
                    &path,
                    format!(
                        "{what} of {} over the {days} days of the horizon could total {units:.3e} across the network (at the peak calendar and weekday multipliers), above the limit of {MAX_UNITS:e} (counts are 32-bit); shorten time.horizon_days or lower the rates",
                        name(p, demand)
                    ),
                );
            }
        }
    }

    fn costs(&mut self, raw: &RawCostTable, ctx: &Context) -> Vec<Costs> {
        let mut out = vec![Costs::default(); ctx.products.len()];
        for (product, c) in raw.entries() {
            let p = root().key("costs").key(product.name());
            let Some(pi) = ctx.product_index(product) else {
                self.err(&p, format!("the scenario has no {product} product"));
                continue;
            };
            let mut check = |key: &str, x: f64| self.at_least(&p.key(key), x, 0.0).unwrap_or(0.0);
            out[pi] = Costs {
                per_unit_collected: check("per_unit_collected", c.per_unit_collected),
                per_unit_ordered: check("per_unit_ordered", c.per_unit_ordered),
                per_unit_short: check("per_unit_short", c.per_unit_short),
                per_unit_expired: check("per_unit_expired", c.per_unit_expired),
                holding_per_unit_day: check("holding_per_unit_day", c.holding_per_unit_day),
            };
        }
        out
    }
}

/// Splits `total` into integer parts proportional to `weights` (largest remainder, ties to
/// the first), so the parts always add up to `total`.
fn apportion(total: u32, weights: &[f64]) -> Vec<u32> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 || weights.is_empty() {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| f64::from(total) * w / sum).collect();
    let mut parts: Vec<u32> = exact.iter().map(|x| x.floor() as u32).collect();
    let mut left = total - parts.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

fn count_mean(c: &RawCount) -> f64 {
    match c {
        RawCount::Poisson { mean }
        | RawCount::Fixed { mean }
        | RawCount::NegativeBinomial { mean, .. }
        | RawCount::Gamma { mean, .. } => *mean,
    }
}

fn count_dispersion(c: &RawCount) -> Option<f64> {
    match c {
        RawCount::NegativeBinomial { dispersion, .. } => Some(*dispersion),
        RawCount::Gamma { cv, .. } if *cv > 0.0 => Some(1.0 / (cv * cv)),
        _ => None,
    }
}

/// A multiplier a Gamma(shape, 1/shape) turnout shock exceeds with probability below
/// e^-40 (4e-18) per draw: the Chernoff bound P(X > x) <= exp(-shape (x - 1 - ln x)),
/// solved for x > 1 by bisection.
fn gamma_shock_bound(shape: f64) -> f64 {
    let excess = |x: f64| shape * (x - 1.0 - x.ln()) - 40.0;
    let (mut lo, mut hi) = (1.0, 2.0);
    while excess(hi) < 0.0 && hi < 1e300 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if excess(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

fn default_yield(kind: DonationKind, products: &[Product]) -> RawYield {
    let has = |p| products.contains(&p);
    let only = |p: Product, x: f64| if has(p) { Some(x) } else { None };
    match kind {
        DonationKind::WholeBlood => RawYield {
            red_cells: only(Product::RedCells, 1.0),
            plasma: only(Product::Plasma, 1.0),
            platelets: only(Product::Platelets, 0.25),
            whole_blood: None,
        },
        DonationKind::ApheresisPlatelets => RawYield {
            platelets: only(Product::Platelets, 1.0),
            ..RawYield::default()
        },
        DonationKind::ApheresisPlasma => RawYield {
            plasma: only(Product::Plasma, 1.0),
            ..RawYield::default()
        },
    }
}

/// Baseline units per day by cell: hospitals' own demand; hubs and suppliers the sum over
/// the hospitals they supply.
fn baseline_demand(sites: &[Site], ctx: &Context) -> Vec<f64> {
    let cells = ctx.cells(sites.len());
    let mut out = vec![0.0; cells.len()];
    let per_day = ctx.calendar.periods_per_day();
    for (i, s) in sites.iter().enumerate() {
        let Role::Hospital(h) = &s.role else { continue };
        for d in &h.demand {
            for g in 0..cells.groups {
                let units = d.mean_units_per_day(g, per_day);
                out[cells.index(i, d.product, g)] += units;
                if h.supplier != i {
                    out[cells.index(h.supplier, d.product, g)] += units;
                }
            }
        }
    }
    out
}

fn site_name(s: &RawSite) -> &str {
    site_name_region(s).0
}

fn site_name_region(s: &RawSite) -> (&str, &str) {
    match s {
        RawSite::Collection { name, region, .. }
        | RawSite::Lab { name, region, .. }
        | RawSite::Hub { name, region }
        | RawSite::Hospital { name, region, .. }
        | RawSite::Supplier { name, region } => (name, region),
    }
}

fn raw_kind(s: &RawSite) -> &'static str {
    match s {
        RawSite::Collection { .. } => "collection",
        RawSite::Lab { .. } => "lab",
        RawSite::Hub { .. } => "hub",
        RawSite::Hospital { .. } => "hospital",
        RawSite::Supplier { .. } => "supplier",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_keeps_the_total() {
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(apportion(7, &[0.5, 0.25, 0.25]), vec![3, 2, 2]); // 3.5, 1.75, 1.75
        assert_eq!(apportion(0, &[1.0]), vec![0]);
        assert_eq!(apportion(5, &[0.0, 0.0]), vec![0, 0]);
    }
}
