//! What a planner measures in one replication, defined exactly once.
//!
//! All metrics count only periods after warm-up. For each product and recipient group
//! (and for all groups together):
//! - demand: units requested by patients;
//! - issued: units issued to those patients (own group or substituted);
//! - fill rate = issued / demand;
//! - units short: demand not issued in the period it arose;
//! - expired: units reaching expiry anywhere in the network (by the unit's group);
//! - released: units entering stock from testing, or from outside suppliers;
//! - opening stock: units on hand at hubs and hospitals or in transit when measurement
//!   starts (the end of warm-up; the initial stock when there is none);
//! - outdate rate = expired / (opening stock + released): every unit that can expire while
//!   measured was in stock when measurement began or released since, so the rate stays a
//!   share (at most 1, but for units expiring in testing, which are never released);
//! - days of supply at the end of a period = units on hand at hubs and hospitals /
//!   baseline mean demand per day (the scenario's base rates, without calendar effects);
//! - alert band: the most severe band whose `below_days` exceeds the days of supply;
//! - units moved: units leaving any site for another by road (donations to their lab, a
//!   lab's releases to the hub, deliveries to hospitals, transfers between hubs);
//! - hours from donation to the hub: over the units labs released, the mean time from
//!   donation until the unit reaches its hub's stock (collection trip, queue, processing
//!   and the trip to the hub, with any delays of events), in whole periods.

use crate::alert::{alert_stage, days_of_supply};
use crate::network::Role;
use crate::record::{Flow, PeriodView, Recorder};
use crate::scenario::{AlertLevel, Costs, Scenario};

/// Totals of one replication for one product and group (or all groups).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub demand: u64,
    pub issued: u64,
    pub units_short: u64,
    pub requests: u64,
    pub requests_short: u64,
    pub expired: u64,
    pub released: u64,
    /// Units in stock or in transit when measurement starts (see the module documentation).
    pub opening_stock: u64,
    pub collected: u64,
    pub ordered: u64,
    /// Sum over measured periods of units on hand (for mean stock and holding cost).
    pub unit_periods_on_hand: u64,
    /// Measured periods with any unmet demand.
    pub periods_short: u32,
    /// Sum and minimum of days of supply over measured periods.
    pub days_of_supply_sum: f64,
    pub days_of_supply_min: f64,
    /// Units leaving a site for another.
    pub moved: u64,
    /// Units released by labs, and the sum of their periods from donation to the hub.
    pub lab_released: u64,
    pub release_lag: u64,
}

impl Line {
    pub fn fill_rate(&self) -> f64 {
        ratio(self.issued, self.demand)
    }

    pub fn outdate_rate(&self) -> f64 {
        ratio(self.expired, self.released + self.opening_stock)
    }

    /// Mean hours from donation until a released unit reaches its hub (NaN without labs).
    pub fn hours_to_hub(&self, period_hours: f64) -> f64 {
        ratio(self.release_lag, self.lab_released) * period_hours
    }

    /// Cost of this line: units collected (or supplied), ordered, short and expired at their
    /// unit costs, plus holding cost per unit on hand per day.
    pub fn cost(&self, c: &Costs, period_days: f64) -> f64 {
        self.collected as f64 * c.per_unit_collected
            + self.ordered as f64 * c.per_unit_ordered
            + self.units_short as f64 * c.per_unit_short
            + self.expired as f64 * c.per_unit_expired
            + self.unit_periods_on_hand as f64 * period_days * c.holding_per_unit_day
    }
}

/// `num / den`, or NaN when there is nothing to divide (no demand, nothing released).
pub fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        f64::NAN
    } else {
        num as f64 / den as f64
    }
}

/// The totals of one replication: one [`Line`] per product and group (and all groups),
/// and the periods spent in each alert band.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationTotals {
    lines: Vec<Line>,
    /// Measured periods in each alert band, by line, then band (scenario order).
    alert_periods: Vec<u32>,
    layout: Layout,
}

/// How lines and alert bands are laid out in the totals of one replication.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Layout {
    groups: usize,
    bands: usize,
    period_days: f64,
}

impl ReplicationTotals {
    pub fn view(&self) -> TotalsView<'_> {
        TotalsView {
            lines: &self.lines,
            alert_periods: &self.alert_periods,
            layout: self.layout,
        }
    }
}

/// Read access to one replication's totals, wherever they are stored.
#[derive(Debug, Clone, Copy)]
pub struct TotalsView<'a> {
    lines: &'a [Line],
    alert_periods: &'a [u32],
    layout: Layout,
}

impl<'a> TotalsView<'a> {
    fn index(&self, product: usize, group: Option<usize>) -> usize {
        product * (self.layout.groups + 1) + group.unwrap_or(self.layout.groups)
    }

    pub fn line(&self, product: usize, group: Option<usize>) -> &'a Line {
        &self.lines[self.index(product, group)]
    }

    /// Measured periods spent in each alert band (scenario order).
    pub fn periods_in_alert(&self, product: usize, group: Option<usize>) -> &'a [u32] {
        let (i, bands) = (self.index(product, group), self.layout.bands);
        &self.alert_periods[i * bands..(i + 1) * bands]
    }

    pub fn period_days(&self) -> f64 {
        self.layout.period_days
    }
}

/// The totals of many replications in replication order, stored flat: two allocations in
/// all, sized once, not two per replication (which fragmented the heap over long runs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TotalsTable {
    lines: Vec<Line>,
    alert_periods: Vec<u32>,
    lines_per_replication: usize,
    layout: Layout,
}

impl TotalsTable {
    /// A table of `replications` empty rows, to be filled by [`TotalsTable::set`] in any
    /// order (one allocation, sized once).
    pub fn with_rows(scenario: &Scenario, replications: usize) -> TotalsTable {
        let layout = Layout::new(scenario);
        let lines_per_replication = scenario.products.len() * (layout.groups + 1);
        let n = replications * lines_per_replication;
        TotalsTable {
            lines: vec![Line::default(); n],
            alert_periods: vec![0; n * layout.bands],
            lines_per_replication,
            layout,
        }
    }

    /// Stores replication `r`'s totals.
    pub fn set(&mut self, r: usize, totals: TotalsView<'_>) {
        let n = self.lines_per_replication;
        let bands = n * self.layout.bands;
        self.lines[r * n..(r + 1) * n].clone_from_slice(totals.lines);
        self.alert_periods[r * bands..(r + 1) * bands].copy_from_slice(totals.alert_periods);
    }

    pub fn len(&self) -> usize {
        self.lines.len() / self.lines_per_replication.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Replication `r`'s totals.
    pub fn get(&self, r: usize) -> TotalsView<'_> {
        let n = self.lines_per_replication;
        let bands = n * self.layout.bands;
        TotalsView {
            lines: &self.lines[r * n..(r + 1) * n],
            alert_periods: &self.alert_periods[r * bands..(r + 1) * bands],
            layout: self.layout,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = TotalsView<'_>> + '_ {
        (0..self.len()).map(|r| self.get(r))
    }
}

impl Layout {
    fn new(scenario: &Scenario) -> Layout {
        Layout {
            groups: scenario.groups.count(),
            bands: scenario.alert_levels.len(),
            period_days: scenario.calendar.day_fraction(),
        }
    }
}

/// A [`Recorder`] computing [`ReplicationTotals`]; reused across replications.
#[derive(Debug, Clone)]
pub struct TotalsRecorder {
    totals: ReplicationTotals,
    /// Totals before the first period.
    fresh: ReplicationTotals,
    warm_up: u32,
    /// Network baseline demand per day by (product, group) and per product for all groups.
    baseline: Vec<f64>,
    alert_levels: Vec<AlertLevel>,
    /// The sites whose stock the alert stages read (`stock_sites`, or hubs only), and
    /// whether they differ from `stock_sites`.
    staged_sites: Vec<usize>,
    hubs_only: bool,
    /// By product: whether alert stages apply.
    staged_products: Vec<bool>,
    /// Sites by role, precomputed for the per-period sums.
    all_sites: Vec<usize>,
    stock_sites: Vec<usize>,
    hospitals: Vec<usize>,
    labs: Vec<usize>,
    suppliers: Vec<usize>,
    /// Flows by cell (laid out as [`Flows::all`]), summed over the measured periods so
    /// far: a period adds the runs of cells the lines read, contiguous slices, and the
    /// lines take them (summed over the sites each reads) only when read
    /// ([`totals`](Self::totals)). Summing each flow over its sites into sixteen lines
    /// every period took a third of a one-hospital model's run.
    cell_flows: Vec<u64>,
    /// The runs of [`Flows::all`] the lines read ([`read_flows`](Self::read_flows)), merged
    /// where adjacent: a period adds only these to `cell_flows`.
    read_runs: Vec<std::ops::Range<usize>>,
    /// Cells per flow (sites x products x groups), and per site.
    cells: usize,
    per_site: usize,
    /// Units short and, for labs' releases, periods from donation to the hub, by (product,
    /// group) pair: summed over the measured periods.
    short: [u64; MAX_PAIRS],
    release_lag: [u64; MAX_PAIRS],
    /// The period's network stock, stock the alert stages read, and units short, by pair
    /// (scratch, reused; taken out while a period is closed).
    period: Option<Box<[[u64; MAX_PAIRS]; 3]>>,
}

impl TotalsRecorder {
    pub fn new(scenario: &Scenario) -> TotalsRecorder {
        let groups = scenario.groups.count();
        let network = |p, g| scenario.baseline_per_day(None, p, g);
        let baseline: Vec<f64> = (0..scenario.products.len())
            .flat_map(|p| {
                (0..groups)
                    .map(move |g| network(p, Some(g)))
                    .chain([network(p, None)])
            })
            .collect();
        let line = Line {
            days_of_supply_min: f64::INFINITY,
            ..Line::default()
        };
        let fresh = ReplicationTotals {
            lines: vec![line; baseline.len()],
            alert_periods: vec![0; baseline.len() * scenario.alert_levels.len()],
            layout: Layout::new(scenario),
        };
        let topology = &scenario.topology;
        let cells = scenario.cells();
        let mut recorder = TotalsRecorder {
            totals: fresh.clone(),
            fresh,
            warm_up: scenario.calendar.warm_up_periods,
            baseline,
            alert_levels: scenario.alert_levels.clone(),
            staged_sites: if scenario.alert_scope.hubs_only {
                (0..scenario.sites.len())
                    .filter(|&s| matches!(scenario.sites[s].role, Role::Hub))
                    .collect()
            } else {
                topology.stock_sites.clone()
            },
            hubs_only: scenario.alert_scope.hubs_only,
            staged_products: scenario.alert_scope.products.clone(),
            all_sites: (0..scenario.sites.len()).collect(),
            stock_sites: topology.stock_sites.clone(),
            hospitals: topology.hospitals.clone(),
            labs: topology.labs.clone(),
            suppliers: topology.suppliers.clone(),
            cell_flows: vec![0; Flow::COUNT * cells.len()],
            cells: cells.len(),
            per_site: cells.products * cells.groups,
            short: [0; MAX_PAIRS],
            release_lag: [0; MAX_PAIRS],
            period: Some(Box::new([[0; MAX_PAIRS]; 3])),
            read_runs: Vec::new(),
        };
        recorder.read_runs = recorder.runs_read();
        recorder
    }

    /// Each flow the lines read, with the sites it is summed over (see
    /// [`settle_flows`](Self::settle_flows)).
    fn read_flows(&self) -> [(Flow, &[usize]); 11] {
        let (h, all) = (&self.hospitals[..], &self.all_sites[..]);
        [
            (Flow::Demanded, h),
            (Flow::IssuedExact, h),
            (Flow::IssuedSubstituted, h),
            (Flow::Requests, h),
            (Flow::RequestsShort, h),
            (Flow::Ordered, h),
            (Flow::Expired, all),
            (Flow::Collected, all),
            (Flow::Shipped, all),
            // A lab's releases, or what a supplier sends (counted as collected there).
            (Flow::Released, &self.labs),
            (Flow::Collected, &self.suppliers),
        ]
    }

    /// The cells of [`read_flows`](Self::read_flows) in [`Flows::all`], as maximal runs.
    fn runs_read(&self) -> Vec<std::ops::Range<usize>> {
        let mut read = vec![false; Flow::COUNT * self.cells];
        for (flow, sites) in self.read_flows() {
            for &s in sites {
                let start = flow as usize * self.cells + s * self.per_site;
                read[start..start + self.per_site].fill(true);
            }
        }
        let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
        for (i, _) in read.iter().enumerate().filter(|(_, r)| **r) {
            match runs.last_mut() {
                Some(run) if run.end == i => run.end = i + 1,
                _ => runs.push(i..i + 1),
            }
        }
        runs
    }

    /// The totals so far (a whole replication's, once it has run).
    pub fn totals(&mut self) -> &ReplicationTotals {
        self.settle_flows();
        &self.totals
    }

    /// Returns the replication's totals and starts afresh for the next one.
    pub fn finish(&mut self) -> ReplicationTotals {
        self.settle_flows();
        let totals = std::mem::replace(&mut self.totals, self.fresh.clone());
        self.clear_flows();
        totals
    }

    /// Starts afresh for the next replication, reusing the memory.
    pub fn reset(&mut self) {
        self.totals.lines.clone_from_slice(&self.fresh.lines);
        self.totals.alert_periods.fill(0);
        self.clear_flows();
    }

    fn clear_flows(&mut self) {
        // Cells outside the runs are never added to.
        for run in &self.read_runs {
            self.cell_flows[run.clone()].fill(0);
        }
        self.short = [0; MAX_PAIRS];
        self.release_lag = [0; MAX_PAIRS];
    }

    /// Sets each line's flows from the sums by cell, over the sites each flow is counted
    /// at (the all-groups line to their sum over groups); the rest of a line is kept
    /// period by period.
    fn settle_flows(&mut self) {
        let groups = self.totals.layout.groups;
        let pairs = self.per_site;
        // One flow's sum by pair over the listed sites.
        let by_pair = |flow: Flow, sites: &[usize]| {
            let j = flow as usize;
            let cells = &self.cell_flows[j * self.cells..(j + 1) * self.cells];
            let mut out = [0u64; MAX_PAIRS];
            for &s in sites {
                let site = &cells[s * pairs..(s + 1) * pairs];
                for (o, &c) in out.iter_mut().zip(site) {
                    *o += c;
                }
            }
            out
        };
        let [
            demand,
            exact,
            substituted,
            requests,
            requests_short,
            ordered,
            expired,
            collected,
            moved,
            lab_released,
            supplied,
        ] = self.read_flows().map(|(flow, sites)| by_pair(flow, sites));
        for p in 0..pairs / groups.max(1) {
            let mut all = Line::default();
            for g in 0..groups {
                let k = p * groups + g;
                let flows = Line {
                    demand: demand[k],
                    issued: exact[k] + substituted[k],
                    units_short: self.short[k],
                    requests: requests[k],
                    requests_short: requests_short[k],
                    ordered: ordered[k],
                    expired: expired[k],
                    released: lab_released[k] + supplied[k],
                    collected: collected[k],
                    moved: moved[k],
                    lab_released: lab_released[k],
                    release_lag: self.release_lag[k],
                    ..Line::default()
                };
                all.add_flows(&flows);
                self.totals.lines[p * (groups + 1) + g].set_flows(&flows);
            }
            self.totals.lines[p * (groups + 1) + groups].set_flows(&all);
        }
    }

    /// Ends a measured period for line `i`: stock, shortage, days of supply, and the alert
    /// band of `staged` units (the stock the stages read; `None` if they skip the product).
    fn close_period(&mut self, i: usize, on_hand: u64, staged: Option<u64>, short: bool) {
        let line = &mut self.totals.lines[i];
        line.unit_periods_on_hand += on_hand;
        line.periods_short += u32::from(short);
        let days = days_of_supply(on_hand, self.baseline[i]);
        if let Some(dos) = days {
            line.days_of_supply_sum += dos;
            line.days_of_supply_min = line.days_of_supply_min.min(dos);
        }
        // The stages usually read all stock: the same division, done once.
        let staged_days = match staged {
            Some(u) if u == on_hand => days,
            Some(u) => days_of_supply(u, self.baseline[i]),
            None => None,
        };
        if let Some(band) = staged_days.and_then(|dos| alert_stage(&self.alert_levels, dos)) {
            self.totals.alert_periods[i * self.totals.layout.bands + band] += 1;
        }
    }
}

impl TotalsRecorder {
    /// Sets each line's opening stock: the sum of `sources` over stock-holding sites.
    fn opening_stock(&mut self, v: &PeriodView<'_>, sources: &[&[u32]]) {
        let (products, groups) = (v.cells.products, v.cells.groups);
        let mut units = [0u64; MAX_PAIRS];
        for values in sources {
            v.add_over_sites(&self.stock_sites, values, &mut units[..products * groups]);
        }
        for p in 0..products {
            let all = p * (groups + 1) + groups;
            self.totals.lines[all].opening_stock = 0;
            for g in 0..groups {
                let u = units[p * groups + g];
                self.totals.lines[p * (groups + 1) + g].opening_stock = u;
                self.totals.lines[all].opening_stock += u;
            }
        }
    }
}

/// Most (product, group) pairs: 4 products x 8 groups.
const MAX_PAIRS: usize = 32;

impl Recorder for TotalsRecorder {
    fn period(&mut self, v: &PeriodView<'_>) {
        if v.period + 1 == self.warm_up {
            // The end of warm-up: what is in stock or on its way to stock is the opening stock.
            self.opening_stock(v, &[v.on_hand, v.in_transit]);
        }
        if v.period < self.warm_up {
            return;
        }
        if v.period == 0 {
            // No warm-up: the initial stock is the opening stock.
            self.opening_stock(v, &[&v.flows.initial]);
        }
        let (products, groups) = (v.cells.products, v.cells.groups);
        let pairs = products * groups;
        let f = v.flows;
        let all = f.all();
        for run in &self.read_runs {
            for (sum, &c) in self.cell_flows[run.clone()]
                .iter_mut()
                .zip(&all[run.clone()])
            {
                *sum += u64::from(c);
            }
        }
        for (sum, &l) in self.release_lag.iter_mut().zip(&f.release_lag) {
            *sum += l;
        }
        let h = &self.hospitals;
        // What each line needs of this period alone: stock, and whether any was short.
        let mut scratch = self.period.take().expect("put back every period");
        let [on_hand, hub_stock, short] = &mut *scratch;
        v.sum_over_sites(h, &f[Flow::Unmet], &mut short[..pairs]);
        for (sum, &s) in self.short.iter_mut().zip(&short[..pairs]) {
            *sum += s;
        }
        v.sum_over_sites(&self.stock_sites, v.on_hand, &mut on_hand[..pairs]);
        let staged_stock = if self.hubs_only {
            v.sum_over_sites(&self.staged_sites, v.on_hand, &mut hub_stock[..pairs]);
            &*hub_stock
        } else {
            &*on_hand
        };
        for p in 0..products {
            let all = p * (groups + 1) + groups;
            let staged = self.staged_products[p];
            let (mut on_hand_all, mut staged_all, mut short_all) = (0, 0, false);
            for g in 0..groups {
                let k = p * groups + g;
                let staged_units = staged.then_some(staged_stock[k]);
                self.close_period(p * (groups + 1) + g, on_hand[k], staged_units, short[k] > 0);
                on_hand_all += on_hand[k];
                staged_all += staged_stock[k];
                short_all |= short[k] > 0;
            }
            let staged_units = staged.then_some(staged_all);
            self.close_period(all, on_hand_all, staged_units, short_all);
        }
        self.period = Some(scratch);
    }
}

impl Line {
    /// Takes the flows (the fields the recorder sums by cell) from `d`, keeping what the
    /// periods set one by one: opening stock, stock, shortage periods, days of supply.
    fn set_flows(&mut self, d: &Line) {
        *self = Line {
            opening_stock: self.opening_stock,
            unit_periods_on_hand: self.unit_periods_on_hand,
            periods_short: self.periods_short,
            days_of_supply_sum: self.days_of_supply_sum,
            days_of_supply_min: self.days_of_supply_min,
            ..d.clone()
        };
    }

    fn add_flows(&mut self, d: &Line) {
        self.demand += d.demand;
        self.issued += d.issued;
        self.units_short += d.units_short;
        self.requests += d.requests;
        self.requests_short += d.requests_short;
        self.expired += d.expired;
        self.released += d.released;
        self.collected += d.collected;
        self.ordered += d.ordered;
        self.moved += d.moved;
        self.lab_released += d.lab_released;
        self.release_lag += d.release_lag;
    }
}
