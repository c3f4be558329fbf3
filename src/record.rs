//! What the engine reports each period, and the [`Recorder`] trait that receives it.
//!
//! The engine never aggregates, prints or writes: it hands a [`PeriodView`] to a recorder.
//! The Monte Carlo aggregator, the per-replication totals, trajectory writers and the
//! invariant checks in tests are all recorders.

use crate::scenario::Cells;

/// One unit flow of a period, per (site, product, group) cell: `flows[Flow::Collected]`
/// reads it, `flows.add(Flow::Collected, cell, units)` adds to it.
///
/// Stock flows are counted by the group of the unit; demand flows (`Demanded`,
/// `IssuedExact`, `IssuedSubstituted`, `Unmet`, `Requests`, `RequestsShort`) by the
/// recipient's group, at the hospital.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Units obtained from donations at a collection site, supplied from outside by a
    /// supplier, or imported (an imports event; also counted as released there).
    Collected,
    /// Units arriving at a site from another site.
    Received,
    /// Units leaving a site for another site.
    Shipped,
    /// Units released by a lab after testing and processing (not discarded), or imported.
    Released,
    /// Units discarded at testing, or destroyed by facility damage.
    Discarded,
    /// Units that reached their expiry at the site (in stock, in a lab, or on arrival).
    Expired,
    /// Units issued to patients, by the unit's group.
    Issued,
    /// Units hospitals ordered.
    Ordered,
    /// Units requested by patients of the group in this period.
    Demanded,
    /// Units issued to patients of the group from their own group.
    IssuedExact,
    /// Units issued to patients of the group from another, compatible group.
    IssuedSubstituted,
    /// Units requested in this period and not issued in it.
    Unmet,
    /// Patient requests arriving in this period.
    Requests,
    /// Requests of this period not fully served in it.
    RequestsShort,
}

impl Flow {
    /// How many flows there are: one past the last variant, which must stay last.
    pub const COUNT: usize = Flow::RequestsShort as usize + 1;
}

/// Unit flows during one period, per (site, product, group) cell (see [`Cells`]), indexed
/// by [`Flow`].
///
/// Every flow's cells lie in one buffer, so a period starts with one clearing pass, not
/// one per flow (per-call overhead dominated small networks).
#[derive(Debug, Clone, Default)]
pub struct Flows {
    cells: usize,
    /// By (flow, cell).
    counts: Vec<u32>,
    /// Units placed at period 0 (zero in every later period).
    pub initial: Vec<u32>,
    /// For the units labs released, the sum of the periods from their donation until they
    /// reach the hub (release plus the trip), a unit at a time. Summed over the network's
    /// labs by (product, group) pair, index `product * groups + group` (a metric's input
    /// only: per lab it would make every period's clearing an eighth longer).
    pub release_lag: Vec<u64>,
}

impl Flows {
    pub fn new(cells: Cells) -> Flows {
        Flows {
            cells: cells.len(),
            counts: vec![0; Flow::COUNT * cells.len()],
            initial: vec![0; cells.len()],
            release_lag: vec![0; cells.products * cells.groups],
        }
    }

    /// Zeroes the flows before period `period`. `initial` is non-zero only in period 0, so
    /// it is zeroed only around it (a replication may end after period 0).
    pub fn clear(&mut self, period: u32) {
        self.counts.fill(0);
        if period <= 1 {
            self.initial.fill(0);
        }
        self.release_lag.fill(0);
    }

    /// Adds `units` to `flow` at `cell`: one index computation and one bounds check, as
    /// cheap as a field of its own (the engine's hot loops add flows everywhere).
    #[inline]
    pub fn add(&mut self, flow: Flow, cell: usize, units: u32) {
        debug_assert!(cell < self.cells, "cell {cell} of {}", self.cells);
        self.counts[flow as usize * self.cells + cell] += units;
    }

    /// Every flow's cells, by (flow, cell): flow `f` at cell `c` is at `f as usize *
    /// cells + c`.
    #[inline]
    pub fn all(&self) -> &[u32] {
        &self.counts
    }
}

impl std::ops::Index<Flow> for Flows {
    type Output = [u32];

    #[inline]
    fn index(&self, flow: Flow) -> &[u32] {
        let start = flow as usize * self.cells;
        &self.counts[start..start + self.cells]
    }
}

/// The state at the end of one period, and its flows.
#[derive(Debug, Clone, Copy)]
pub struct PeriodView<'a> {
    pub period: u32,
    pub cells: Cells,
    pub flows: &'a Flows,
    /// Units in stock at hubs and hospitals, by cell.
    pub on_hand: &'a [u32],
    /// Units on the road toward the site, by cell.
    pub in_transit: &'a [u32],
    /// Units at a lab waiting for or in testing and processing, by cell.
    pub in_testing: &'a [u32],
    /// Units owed to patients (backordered demand), by recipient cell.
    pub backlog: &'a [u32],
}

impl PeriodView<'_> {
    /// Sets `out`, indexed by `product * groups + group`, to the sum of `values` over the
    /// listed sites (each site's cells are contiguous, so this reads memory in order). The
    /// first site is copied, not added to zeros: no clearing pass per sum and period.
    #[inline]
    pub fn sum_over_sites<T: Copy + Into<u64>>(
        &self,
        sites: &[usize],
        values: &[T],
        out: &mut [u64],
    ) {
        let Some((&first, rest)) = sites.split_first() else {
            out.fill(0);
            return;
        };
        for (o, &v) in out.iter_mut().zip(self.site_cells(first, values)) {
            *o = v.into();
        }
        self.add_over_sites(rest, values, out);
    }

    /// Adds `values` of each listed site into `out` (as [`sum_over_sites`](Self::sum_over_sites)).
    #[inline]
    pub fn add_over_sites<T: Copy + Into<u64>>(
        &self,
        sites: &[usize],
        values: &[T],
        out: &mut [u64],
    ) {
        for &s in sites {
            for (o, &v) in out.iter_mut().zip(self.site_cells(s, values)) {
                *o += v.into();
            }
        }
    }

    #[inline]
    fn site_cells<'v, T>(&self, site: usize, values: &'v [T]) -> &'v [T] {
        let per_site = self.cells.products * self.cells.groups;
        &values[site * per_site..(site + 1) * per_site]
    }
}

/// One issue of units to patients, reported for checks (compatibility, freshness).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issue {
    pub period: u32,
    pub site: usize,
    pub product: usize,
    /// Group of the units issued.
    pub donor: usize,
    /// Group of the patients.
    pub recipient: usize,
    /// Expiry period of the units (the first period they could no longer be issued).
    pub expiry: u32,
    pub units: u32,
}

/// Receives what the engine reports. All methods but `period` default to doing nothing, and
/// the engine is generic over the recorder, so unused hooks cost nothing.
pub trait Recorder {
    /// Called once at the end of every period.
    fn period(&mut self, view: &PeriodView<'_>);

    /// Called for every batch of units issued to patients.
    #[inline]
    fn issue(&mut self, _issue: Issue) {}
}

/// Records nothing; for benchmarks of the engine alone.
pub struct NullRecorder;

impl Recorder for NullRecorder {
    #[inline]
    fn period(&mut self, _view: &PeriodView<'_>) {}
}

/// Two recorders fed the same periods and issues.
pub struct Both<'a, A, B>(pub &'a mut A, pub &'a mut B);

impl<A: Recorder, B: Recorder> Recorder for Both<'_, A, B> {
    #[inline]
    fn period(&mut self, view: &PeriodView<'_>) {
        self.0.period(view);
        self.1.period(view);
    }

    #[inline]
    fn issue(&mut self, issue: Issue) {
        self.0.issue(issue);
        self.1.issue(issue);
    }
}
