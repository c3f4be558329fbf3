//! One replication of the supply network, period by period.
//!
//! The engine is pure and deterministic: no I/O, no clock, no globals. Randomness comes only
//! from per-process streams derived from (seed, process name, replication, period); results
//! go only to a [`Recorder`]. It has four parts:
//!
//! - the [`Model`]: the scenario compiled into lookup tables, fixed for a run;
//! - the [`State`]: everything a replication carries from one period to the next, one value
//!   that can be cloned to branch a replication;
//! - the period's [`Conditions`]: multipliers on rates by site and extra transport time,
//!   set by the calendar and the scenario's [`events`](crate::events);
//! - the steps, one module each, in this order within a period (ARCHITECTURE.md explains
//!   each):
//!
//! 1. [`arrivals`]: shipments, donations reaching labs, lab batches finishing processing
//! 2. [`expiry`]: units whose expiry period is now leave stock
//! 3. [`collection`]: donations at collection sites; [`incidents`]: stock destroyed by
//!    facility damage, imports arriving, a mass-casualty incident's patients drawn
//! 4. [`labs`]: processing starts (capacity-limited, oldest donations first)
//! 5. [`replenishment`]: hospital reviews set to `before_demand`
//! 6. [`issuing`]: patient demand (mass-casualty patients first), issuing (exact group
//!    first, then compatible substitutes)
//! 7. [`replenishment`]: hospital reviews set to `after_demand`
//! 8. record, then [`responses`]: the service reviews days of supply and decides its next
//!    actions (they act from the next period at the earliest)
//!
//! State lives in flat per-cell arrays allocated once per [`Engine`]; a period allocates
//! nothing once the shipment and lab queues have grown to their working size.

mod arrivals;
mod collection;
mod conditions;
mod expiry;
mod incidents;
mod issuing;
mod labs;
mod model;
mod replenishment;
mod responses;
mod state;

pub use conditions::Conditions;
pub use model::Model;
pub use state::{State, Urgent};

use crate::events;
use crate::network::Role;
use crate::policy::ReviewTiming;
use crate::random::{ProcessKey, Scale, Stream};
use crate::record::{Flows, PeriodView, Recorder};
use crate::scenario::Scenario;

/// Runs one replication of `scenario` and reports every period to `recorder`.
pub fn run_replication<R: Recorder>(
    scenario: &Scenario,
    seed: u64,
    replication: u64,
    recorder: &mut R,
) {
    Engine::new(scenario).run(seed, replication, recorder);
}

/// The key of each site's random process (donations at a collection site, testing at a
/// lab, demand at a hospital) in one replication, by site.
pub fn site_keys(
    scenario: &Scenario,
    seed: u64,
    replication: u64,
) -> impl Iterator<Item = ProcessKey> + '_ {
    scenario.sites.iter().map(move |site| {
        let process = match site.role {
            Role::Collection(_) => "donations",
            Role::Lab(_) => "testing",
            Role::Hospital(_) => "demand",
            Role::Hub | Role::Supplier => "none",
        };
        ProcessKey::new(seed, &format!("{process}/{}", site.name), replication)
    })
}

/// The key of each event's random process (a mass-casualty incident's patients), by
/// event: keyed by the event's name (and its occurrence, for a repeated name), so adding an
/// event leaves every other stream alone.
fn event_keys(
    scenario: &Scenario,
    seed: u64,
    replication: u64,
) -> impl Iterator<Item = ProcessKey> + '_ {
    scenario.events.iter().enumerate().map(move |(i, event)| {
        let earlier = scenario.events[..i]
            .iter()
            .filter(|e| e.name == event.name)
            .count();
        let process = match earlier {
            0 => format!("event/{}", event.name),
            k => format!("event/{}/{k}", event.name),
        };
        ProcessKey::new(seed, &process, replication)
    })
}

/// The random streams of one replication: each site's process key, its stream for the
/// current period, and the words it drew in earlier periods.
#[derive(Debug, Default)]
struct Streams {
    keys: Vec<ProcessKey>,
    current: Vec<Stream>,
    earlier_words: Vec<u64>,
    /// Processes that may draw: hubs and suppliers never do, so their streams are not
    /// re-keyed each period (a hub-heavy network spent a share of its time there).
    drawing: Vec<usize>,
}

impl Streams {
    fn start(&mut self, keys: impl Iterator<Item = ProcessKey>, drawing: &[usize]) {
        self.keys.clear();
        self.keys.extend(keys);
        self.current.clear();
        self.current.extend(self.keys.iter().map(|k| k.stream(0)));
        self.earlier_words.clear();
        self.earlier_words.resize(self.keys.len(), 0);
        self.drawing.clear();
        self.drawing.extend_from_slice(drawing);
    }

    /// Every drawing process's stream for period `t`, from its start.
    fn begin_period(&mut self, t: u32) {
        for &i in &self.drawing {
            let rng = &mut self.current[i];
            self.earlier_words[i] += rng.words();
            *rng = self.keys[i].stream(t);
        }
        debug_assert!(
            self.current
                .iter()
                .enumerate()
                .all(|(i, rng)| rng.words() == 0 || self.drawing.binary_search(&i).is_ok()),
            "only drawing processes draw"
        );
    }

    fn words_drawn(&self) -> Vec<u64> {
        let now = self.current.iter().map(Stream::words);
        self.earlier_words
            .iter()
            .zip(now)
            .map(|(a, b)| a + b)
            .collect()
    }
}

/// Scratch space the steps reuse every period.
#[derive(Debug, Clone, Default)]
struct Scratch {
    /// Multipliers of each site's count processes in its last period, by site and process
    /// (a site's are recomputed only where they changed; see `random::period_scales`).
    scales: Vec<Vec<Scale>>,
    /// Demand not met from the patient's own group, awaiting substitutes.
    shortfalls: Vec<issuing::Shortfall>,
    orders: replenishment::Orders,
    /// Mass-casualty needs due this period, sorted by cell.
    urgent: Vec<Urgent>,
}

/// Runs replications of one scenario, reusing its memory from one to the next.
pub struct Engine<'s> {
    model: Model<'s>,
    state: State,
    conditions: Conditions,
    flows: Flows,
    streams: Streams,
    scratch: Scratch,
    /// The seed and replication the streams are keyed by.
    keyed: (u64, u64),
}

/// A replication paused between periods: its state and the seed and replication its streams
/// are keyed by. Every period's draws are a function of (key, period), so this is all a
/// resumed replication needs, also under a scenario with events added (their streams are
/// keyed by name, the sites' by theirs).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub state: State,
    pub seed: u64,
    pub replication: u64,
}

impl<'s> Engine<'s> {
    pub fn new(scenario: &'s Scenario) -> Engine<'s> {
        let model = Model::new(scenario);
        let cells = model.cells;
        Engine {
            state: State::new(
                cells,
                &model.shelf_by_cell,
                model.longest_delay,
                scenario.responses.len(),
            ),
            conditions: Conditions::new(cells.sites, cells.products),
            flows: Flows::new(cells),
            streams: Streams::default(),
            scratch: Scratch {
                scales: vec![Vec::new(); cells.sites],
                shortfalls: Vec::new(),
                orders: replenishment::Orders::new(model.most_clients()),
                urgent: Vec::new(),
            },
            model,
            keyed: (0, 0),
        }
    }

    /// Runs one replication from a clean state.
    pub fn run<R: Recorder>(&mut self, seed: u64, replication: u64, recorder: &mut R) {
        self.start(seed, replication);
        while self.state.period < self.model.scenario.calendar.periods {
            self.step(recorder);
        }
    }

    /// Empties the network and keys the random streams of `replication`.
    pub fn start(&mut self, seed: u64, replication: u64) {
        self.state.clear();
        self.key(seed, replication);
    }

    fn key(&mut self, seed: u64, replication: u64) {
        let scenario = self.model.scenario;
        let keys =
            site_keys(scenario, seed, replication).chain(event_keys(scenario, seed, replication));
        self.streams.start(keys, &self.model.drawing);
        self.keyed = (seed, replication);
    }

    /// The replication as it stands between periods.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            state: self.state.clone(),
            seed: self.keyed.0,
            replication: self.keyed.1,
        }
    }

    /// Continues from `snapshot` with the streams of `replication` (the snapshot's own to
    /// resume it; another to branch a different future from the same present). The scenario
    /// must have the snapshot's sites, products and responses (events may differ).
    pub fn resume(&mut self, snapshot: &Snapshot, replication: u64) {
        self.state.clone_from(&snapshot.state);
        self.key(snapshot.seed, replication);
    }

    /// Whether the replication has reached the end of the horizon.
    pub fn finished(&self) -> bool {
        self.state.period >= self.model.scenario.calendar.periods
    }

    /// Simulates the next period and reports it to `recorder`.
    pub fn step<R: Recorder>(&mut self, recorder: &mut R) {
        let Engine {
            model,
            state,
            conditions,
            flows,
            streams,
            scratch,
            ..
        } = self;
        let t = state.period;
        streams.begin_period(t);
        let (streams, event_streams) = streams.current.split_at_mut(model.cells.sites);
        flows.clear(t);
        if t == 0 {
            place_initial_stock(model, state, flows);
        }
        conditions.from_calendar(model.scenario, t);
        events::apply(&model.scenario.events, t, conditions);
        responses::act(model, t, state, conditions, flows);
        arrivals::arrivals(model, t, conditions, state, flows, streams);
        expiry::expiry(model, t, state, flows);
        collection::collection(
            model,
            t,
            conditions,
            state,
            flows,
            streams,
            &mut scratch.scales,
        );
        incidents::incidents(model, t, state, flows, event_streams);
        labs::processing(model, t, conditions, state, flows, streams);
        let orders = &mut scratch.orders;
        replenishment::reviews(
            model,
            (t, ReviewTiming::BeforeDemand),
            conditions,
            state,
            flows,
            orders,
        );
        let demand_scratch = (
            &mut scratch.scales[..],
            &mut scratch.shortfalls,
            &mut scratch.urgent,
        );
        issuing::demand(
            model,
            t,
            conditions,
            state,
            flows,
            streams,
            demand_scratch,
            recorder,
        );
        replenishment::reviews(
            model,
            (t, ReviewTiming::AfterDemand),
            conditions,
            state,
            flows,
            orders,
        );
        recorder.period(&PeriodView {
            period: t,
            cells: model.cells,
            flows,
            on_hand: state.inventory.on_hand_all(),
            in_transit: &state.in_transit,
            in_testing: &state.in_testing,
            backlog: &state.backlog,
        });
        responses::review(model, t, state);
        state.period = t + 1;
    }

    /// The replication's state between periods.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Random 64-bit words each site's stream has used so far in this replication: how
    /// much randomness the replication drew, by process.
    pub fn words_drawn(&self) -> Vec<u64> {
        self.streams.words_drawn()
    }
}

fn place_initial_stock(model: &Model, state: &mut State, flows: &mut Flows) {
    for lot in &model.scenario.initial_stock {
        let cell = model.cells.index(lot.site, lot.product, lot.group);
        let expiry = model.shelf[lot.product] - lot.age;
        state.inventory.add(cell, expiry, lot.units);
        flows.initial[cell] += lot.units;
    }
}
