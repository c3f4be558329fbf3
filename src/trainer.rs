//! A trainer's session: one replication played period by period, events injected live,
//! and the odds from the present.
//!
//! The session keeps the replication as a [`Snapshot`] between periods. Injecting an event
//! appends it to the scenario's text (starting now) and validates the whole file again, so
//! an event from the page gets exactly the checks and messages of one written by hand; the
//! replication then continues from its snapshot under the new scenario. Sites' streams are
//! keyed by name, so the branch draws the same donations and demand as the run without the
//! event: what differs is the event's effect. The odds run a few hundred futures from the
//! snapshot with and without the injected events, on common random numbers.
//!
//! Pure and deterministic like the engine: no I/O, no clock; the web server is in `serve`.

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::alert::{alert_stage, days_of_supply};
use crate::engine::{Engine, Snapshot};
use crate::network::Role;
use crate::record::{Flow, NullRecorder, PeriodView, Recorder};
use crate::scenario::{self, Scenario, ScenarioError};

/// Most futures one odds request may run, and most periods ahead.
pub const MAX_ODDS_REPLICATIONS: u32 = 2_000;
pub const MAX_ODDS_DAYS: u32 = 90;
/// Most periods one step request may advance.
pub const MAX_STEP_PERIODS: u32 = 366;
/// Most events a session may inject.
pub const MAX_INJECTIONS: usize = 50;

/// An event a trainer can inject from the page, starting at the current period. Each is
/// rendered as a scenario `[[events]]` table (see [`Injection::toml`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Injection {
    /// Casualties brought to one hospital: every one admitted, 38.7% transfused (Jerusalem,
    /// facts §5 [63]), 2.98 red cells each on average with plasma and platelets at 1 : 0.54
    /// : 0.81 (Las Vegas, facts §5 [59]), half of the need within ~1 h ([64]); half of the
    /// transfused get group O first (emergency release). As in `urban-mass-casualty.toml`.
    MassCasualty { hospital: String, casualties: u32 },
    /// A lab closed for `days`.
    LabOutage { lab: String, days: f64 },
    /// A transport link closed for `days` (nothing leaves until it reopens).
    LinkCut { from: String, to: String, days: f64 },
    /// Donations at every collection site multiplied by `factor` (> 1) for `days`.
    DonorAppeal { factor: f64, days: f64 },
    /// Donations at every collection site multiplied by `factor` (< 1) for `days`.
    CollectionDrop { factor: f64, days: f64 },
    /// A policy field set from now on, e.g. `policy.issuing` to `"lifo"` or
    /// `policy.replenishment.red_cells.days` to 2: the path as validation messages print it,
    /// of a value written in the file.
    PolicyChange { path: String, value: PolicyValue },
}

/// A policy value from the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PolicyValue {
    Flag(bool),
    Number(f64),
    Text(String),
}

impl PolicyValue {
    /// As a TOML literal (strings escaped).
    fn toml(&self) -> String {
        match self {
            PolicyValue::Flag(b) => b.to_string(),
            PolicyValue::Number(x) => x.to_string(),
            PolicyValue::Text(t) => toml::Value::String(t.clone()).to_string(),
        }
    }
}

/// Why a request cannot be carried out: a message for the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ScenarioError> for Refused {
    fn from(e: ScenarioError) -> Refused {
        Refused(
            e.problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

impl Injection {
    /// Checks the parameters against the scenario (names of sites of the right kind, ranges),
    /// so that only known names and numbers reach the scenario text.
    fn check(&self, s: &Scenario) -> Result<(), Refused> {
        let site = |name: &str, want: fn(&Role) -> bool, what: &str| {
            s.sites
                .iter()
                .find(|x| x.name == name && want(&x.role))
                .map(|_| ())
                .ok_or_else(|| Refused(format!("no {what} named \"{name}\" in this scenario")))
        };
        let days = |d: f64| {
            if d.is_finite() && (1.0 / 24.0..=365.0).contains(&d) {
                Ok(())
            } else {
                Err(Refused(format!(
                    "days must be from 1/24 (an hour) to 365, found {d}"
                )))
            }
        };
        match self {
            Injection::MassCasualty {
                hospital,
                casualties,
            } => {
                site(hospital, |r| matches!(r, Role::Hospital(_)), "hospital")?;
                if !(1..=100_000).contains(casualties) {
                    return Err(Refused(format!(
                        "casualties must be from 1 to 100,000, found {casualties}"
                    )));
                }
                Ok(())
            }
            Injection::LabOutage { lab, days: d } => {
                site(lab, |r| matches!(r, Role::Lab(_)), "lab")?;
                days(*d)
            }
            Injection::LinkCut { from, to, days: d } => {
                site(from, |_| true, "site")?;
                site(to, |_| true, "site")?;
                days(*d)
            }
            Injection::DonorAppeal { factor, days: d } => {
                if !(factor.is_finite() && *factor > 1.0 && *factor <= 5.0) {
                    return Err(Refused(format!(
                        "an appeal's factor must be above 1 and at most 5, found {factor}"
                    )));
                }
                days(*d)
            }
            Injection::CollectionDrop { factor, days: d } => {
                if !(factor.is_finite() && (0.0..1.0).contains(factor)) {
                    return Err(Refused(format!(
                        "a drop's factor must be from 0 to below 1, found {factor}"
                    )));
                }
                days(*d)
            }
            Injection::PolicyChange { path, value } => {
                let allowed = |c: char| c.is_ascii_alphanumeric() || "_.[]".contains(c);
                if !path.starts_with("policy.") || path.len() > 200 || !path.chars().all(allowed) {
                    return Err(Refused(format!(
                        "a policy change names a field under `policy.`, e.g. \
                         policy.replenishment.red_cells.days; found \"{path}\""
                    )));
                }
                match value {
                    PolicyValue::Number(x) if !x.is_finite() => {
                        Err(Refused(format!("{path}: not a number: {x}")))
                    }
                    PolicyValue::Text(t) if t.len() > 100 => Err(Refused(format!(
                        "{path}: a value of at most 100 characters"
                    ))),
                    _ => Ok(()),
                }
            }
        }
    }

    /// A short label for the page and the event's name.
    pub fn label(&self) -> String {
        match self {
            Injection::MassCasualty {
                hospital,
                casualties,
            } => format!("mass casualty: {casualties} at {hospital}"),
            Injection::LabOutage { lab, days } => format!("lab outage: {lab}, {days} days"),
            Injection::LinkCut { from, to, days } => {
                format!("link cut: {from} -> {to}, {days} days")
            }
            Injection::DonorAppeal { factor, days } => {
                format!("donor appeal: donations x{factor} for {days} days")
            }
            Injection::CollectionDrop { factor, days } => {
                format!("collection drop: donations x{factor} for {days} days")
            }
            Injection::PolicyChange { path, value } => {
                format!("policy: {path} = {}", value.toml())
            }
        }
    }

    /// The `[[events]]` table, starting at `start` (TOML date-time). Strings are written as
    /// TOML basic strings with escapes, so no name can break out of its value.
    fn toml(&self, name: &str, start: &str, products: &[&str]) -> String {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let head = |kind: &str| {
            format!(
                "\n[[events]]\ntype = \"{kind}\"\nname = {}\nstart = {start}\n",
                q(name)
            )
        };
        match self {
            Injection::MassCasualty {
                hospital,
                casualties,
            } => format!(
                "{}hours = 48\nsites = [{}]\ncasualties = {casualties}\nadmitted_share = 1.0\n\
                 transfused_share = 0.387\nunits_per_patient = {{ type = \"rounded_gamma\", mean = 2.3, cv = 3.0 }}\n\
                 product_ratio = {{ {} }}\nhalf_life_hours = 1.06\n{}",
                head("mass_casualty"),
                q(hospital),
                casualty_ratio(products),
                if products.contains(&"red_cells") {
                    "emergency_release = { share = 0.5, o_negative_share = 0.4, units = 4 }\n"
                } else {
                    ""
                },
            ),
            Injection::LabOutage { lab, days } => format!(
                "{}days = {days}\nsites = [{}]\ncapacity_factor = 0\n",
                head("lab_outage"),
                q(lab)
            ),
            Injection::LinkCut { from, to, days } => format!(
                "{}days = {days}\nfrom = {}\nto = {}\nclosed = true\n",
                head("transport_disruption"),
                q(from),
                q(to)
            ),
            Injection::DonorAppeal { factor, days }
            | Injection::CollectionDrop { factor, days } => {
                format!(
                    "{}days = {days}\nfactor = {factor}\n",
                    head("collection_change")
                )
            }
            // Not an event: a setting of the file's text (see `Session::text_with`).
            Injection::PolicyChange { .. } => String::new(),
        }
    }
}

/// Components per red-cell unit for a casualty, for the products the scenario has (whole
/// blood stands in for red cells where it is the product).
fn casualty_ratio(products: &[&str]) -> String {
    [
        ("red_cells", 1.0),
        ("whole_blood", 1.0),
        ("plasma", 0.54),
        ("platelets", 0.81),
    ]
    .iter()
    .filter(|(p, _)| products.contains(p))
    .map(|(p, r)| format!("{p} = {r}"))
    .collect::<Vec<_>>()
    .join(", ")
}

/// One injected event: when, what, and its label.
#[derive(Debug, Clone, Serialize)]
pub struct Injected {
    pub period: u32,
    pub time: String,
    pub label: String,
    pub injection: Injection,
}

/// A scripted lesson: a scenario, the replication to play, and a timeline of prompts and
/// events. Played twice, it gives the same run: its events are injected at their periods
/// whatever the trainer's pauses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub title: String,
    /// The scenario file, relative to the lesson file.
    pub scenario: String,
    #[serde(default)]
    pub replication: u64,
    #[serde(default)]
    pub steps: Vec<LessonStep>,
}

/// At `day` (days from the scenario's start, warm-up included), show `prompt` and inject
/// `inject`; playing pauses there.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LessonStep {
    pub day: f64,
    pub prompt: String,
    #[serde(default)]
    pub inject: Vec<Injection>,
}

impl Lesson {
    /// Parses a lesson file's text; errors name the file and the problem.
    pub fn parse(text: &str, file: &str) -> Result<Lesson, String> {
        toml::from_str(text).map_err(|e| format!("{file}: {e}"))
    }

    /// Whether a TOML text is a lesson rather than a scenario (a top-level `title` and
    /// `scenario` string).
    pub fn looks_like(text: &str) -> bool {
        toml::from_str::<toml::Table>(text).is_ok_and(|t| {
            t.get("scenario").is_some_and(toml::Value::is_str) && t.contains_key("title")
        })
    }
}

/// One replication in front of a class.
#[derive(Debug, Clone)]
pub struct Session {
    /// The scenario file's text, and its name for messages.
    text: String,
    file: String,
    /// The scenario as written, and with the injected events.
    written: Arc<Scenario>,
    current: Arc<Scenario>,
    injected: Vec<Injected>,
    snapshot: Snapshot,
    /// The same replication as it would stand now without the injected events (stepped
    /// alongside from the first injection, on the same keys): the odds' "without".
    counterfactual: Option<Snapshot>,
    /// The last period's flows, for the view.
    last: LastPeriod,
    /// A lesson's title and steps with their periods, the next step to apply, and the
    /// prompt shown (with the period it appeared).
    lesson: Option<(String, Vec<(u32, LessonStep)>)>,
    next_step: usize,
    prompt: Option<(u32, String)>,
}

/// What the page shows of the present: every site's stock by group of one product, the
/// network's days of supply and alert stage, and what happened in the last period.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub scenario: String,
    pub period: u32,
    pub periods: u32,
    pub period_hours: u32,
    pub time: String,
    pub finished: bool,
    pub product: String,
    pub products: Vec<String>,
    pub groups: Vec<String>,
    pub alert_levels: Vec<(String, f64)>,
    pub sites: Vec<SiteView>,
    /// Hub -> hospital, collection -> lab, lab -> hub, by site index.
    pub links: Vec<(usize, usize)>,
    /// Network days of supply by group, then all groups (None without baseline demand).
    pub days_of_supply: Vec<Option<f64>>,
    /// Index into `alert_levels` of the network's stage (all groups), if in one.
    pub stage: Option<usize>,
    pub injected: Vec<Injected>,
    /// Names of the hospitals, labs and sites, for the event menu.
    pub hospitals: Vec<String>,
    pub labs: Vec<String>,
    /// A lesson's title, its current prompt and the period it appeared.
    pub lesson: Option<String>,
    pub prompt: Option<String>,
    pub prompt_period: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiteView {
    pub name: String,
    pub kind: String,
    pub region: String,
    /// Units on hand by group (of the view's product).
    pub stock: Vec<u32>,
    /// Units on the way to this site.
    pub in_transit: u32,
    /// Units of demand not met in the last period, and units issued.
    pub short: u32,
    pub issued: u32,
    pub days_of_supply: Option<f64>,
}

/// The last period's flows the view needs, by cell.
#[derive(Debug, Clone, Default)]
struct LastPeriod {
    unmet: Vec<u32>,
    issued: Vec<u32>,
}

impl Recorder for LastPeriod {
    fn period(&mut self, v: &PeriodView<'_>) {
        for (mine, flow) in [
            (&mut self.unmet, Flow::Unmet),
            (&mut self.issued, Flow::Issued),
        ] {
            mine.clear();
            mine.extend_from_slice(&v.flows[flow]);
        }
    }
}

impl Session {
    /// A session at the start of the scenario's `replication`.
    pub fn new(text: &str, file: &str, replication: u64) -> Result<Session, ScenarioError> {
        let written = Arc::new(scenario::parse(text, file)?);
        let mut engine = Engine::new(&written);
        engine.start(written.seed, replication);
        let snapshot = engine.snapshot();
        Ok(Session {
            text: text.to_string(),
            file: file.to_string(),
            current: Arc::clone(&written),
            written,
            injected: Vec::new(),
            snapshot,
            counterfactual: None,
            last: LastPeriod::default(),
            lesson: None,
            next_step: 0,
            prompt: None,
        })
    }

    /// A session playing `lesson` on the scenario in `text`; every step is checked first.
    pub fn with_lesson(text: &str, file: &str, lesson: &Lesson) -> Result<Session, Refused> {
        let mut session = Session::new(text, file, lesson.replication)?;
        let calendar = &session.written.calendar;
        let mut steps = Vec::with_capacity(lesson.steps.len());
        for (i, step) in lesson.steps.iter().enumerate() {
            let horizon = f64::from(calendar.periods * calendar.period_hours) / 24.0;
            if !(step.day.is_finite() && (0.0..horizon).contains(&step.day)) {
                return Err(Refused(format!(
                    "steps[{i}].day: must be from 0 to below the horizon's {horizon} days, found {}",
                    step.day
                )));
            }
            for (k, injection) in step.inject.iter().enumerate() {
                injection
                    .check(&session.written)
                    .map_err(|e| Refused(format!("steps[{i}].inject[{k}]: {e}")))?;
            }
            steps.push((calendar.days_to_periods(step.day), step.clone()));
        }
        steps.sort_by_key(|(period, _)| *period);
        session.lesson = Some((lesson.title.clone(), steps));
        session.apply_due_steps()?;
        // Play it through once, so an event that only fails with the ones before it (or a
        // step past the end of the horizon) is reported now, not in front of the class.
        let mut probe = session.clone();
        while let Some(next) = probe.next_step_period() {
            if probe.finished() {
                return Err(Refused(format!(
                    "a step falls at period {next}, after the horizon's last"
                )));
            }
            probe.step(MAX_STEP_PERIODS)?;
        }
        Ok(session)
    }

    /// Applies the lesson's steps due at the current period; whether any was.
    fn apply_due_steps(&mut self) -> Result<bool, Refused> {
        let period = self.period();
        let mut due = Vec::new();
        if let Some((_, steps)) = &self.lesson {
            while let Some((p, step)) = steps.get(self.next_step) {
                if *p > period {
                    break;
                }
                due.push(step.clone());
                self.next_step += 1;
            }
        }
        for step in &due {
            for injection in &step.inject {
                self.inject(injection.clone())?;
            }
            self.prompt = Some((period, step.prompt.clone()));
        }
        Ok(!due.is_empty())
    }

    /// The period of the lesson's next step, if any is left.
    fn next_step_period(&self) -> Option<u32> {
        let (_, steps) = self.lesson.as_ref()?;
        steps.get(self.next_step).map(|(p, _)| *p)
    }

    pub fn scenario(&self) -> &Scenario {
        &self.current
    }

    pub fn period(&self) -> u32 {
        self.snapshot.state.period()
    }

    /// Units on hand by cell, as the engine's state holds them.
    pub fn snapshot_on_hand(&self) -> &[u32] {
        self.snapshot.state.on_hand()
    }

    pub fn finished(&self) -> bool {
        self.period() >= self.current.calendar.periods
    }

    /// Advances up to `periods` periods (fewer at the end of the horizon).
    pub fn step(&mut self, periods: u32) -> Result<(), Refused> {
        if periods == 0 || periods > MAX_STEP_PERIODS {
            return Err(Refused(format!(
                "steps must be from 1 to {MAX_STEP_PERIODS} periods, found {periods}"
            )));
        }
        let mut left = periods;
        while left > 0 && !self.finished() {
            let k = self
                .next_step_period()
                .map_or(left, |p| left.min(p.saturating_sub(self.period())));
            if k > 0 {
                self.snapshot = advance(&self.current, &self.snapshot, k, &mut self.last);
                if let Some(c) = &self.counterfactual {
                    let c = advance(&self.written, c, k, &mut NullRecorder);
                    self.counterfactual = Some(c);
                }
                left -= k;
            }
            // A lesson's step pauses the play where it falls.
            if self.apply_due_steps()? {
                break;
            }
        }
        Ok(())
    }

    /// Injects an event starting now; the replication continues under the new scenario.
    pub fn inject(&mut self, injection: Injection) -> Result<(), Refused> {
        if self.finished() {
            return Err(Refused("the run has ended: restart it to inject".into()));
        }
        if self.injected.len() >= MAX_INJECTIONS {
            return Err(Refused(format!(
                "at most {MAX_INJECTIONS} events per session: restart it"
            )));
        }
        injection.check(&self.current)?;
        let period = self.period();
        let start = self.current.calendar.period_start(period);
        let mut injected = self.injected.clone();
        injected.push(Injected {
            period,
            time: start.format("%Y-%m-%d %H:%M").to_string(),
            label: injection.label(),
            injection,
        });
        let scenario = scenario::parse(&self.text_with(&injected)?, &self.file)?;
        compatible(&self.current, &scenario)?;
        self.current = Arc::new(scenario);
        if self.counterfactual.is_none() {
            self.counterfactual = Some(self.snapshot.clone());
        }
        self.injected = injected;
        Ok(())
    }

    /// The scenario's text with every injected event so far: a file that replays the
    /// session's run from the start (same seed and replication).
    pub fn scenario_text(&self) -> String {
        // Every injection was applied once, so its text applies again.
        self.text_with(&self.injected).unwrap_or_else(|e| e.0)
    }

    /// The scenario's text with `injected`: policy settings in place (later ones win), then
    /// the events, each starting at its period.
    fn text_with(&self, injected: &[Injected]) -> Result<String, Refused> {
        let mut text = self.text.clone();
        for e in injected {
            if let Injection::PolicyChange { path, value } = &e.injection {
                text = scenario::overrides::apply(&text, &[(path, &value.toml())])
                    .map_err(|e| Refused(e.0))?;
            }
        }
        for (i, e) in injected.iter().enumerate() {
            let start = self.written.calendar.period_start(e.period);
            let name = format!("trainer {}: {}", i + 1, e.label);
            let start = start.format("%Y-%m-%dT%H:%M:%S").to_string();
            text.push_str(&e.injection.toml(&name, &start, &self.product_names()));
        }
        Ok(text)
    }

    fn product_names(&self) -> Vec<&'static str> {
        self.written
            .products
            .iter()
            .map(|p| p.product.name())
            .collect()
    }

    /// Back to the start of the replication, without injected events.
    pub fn restart(&mut self) {
        let mut engine = Engine::new(&self.written);
        engine.start(self.written.seed, self.snapshot.replication);
        self.snapshot = engine.snapshot();
        self.current = Arc::clone(&self.written);
        self.injected.clear();
        self.counterfactual = None;
        self.next_step = 0;
        self.prompt = None;
        // The lesson's first steps were checked when it was loaded.
        let _ = self.apply_due_steps();
        self.last = LastPeriod::default();
    }

    /// The present, for product `product` (an index into the scenario's products).
    pub fn view(&self, product: usize) -> View {
        let s = &*self.current;
        let cells = s.cells();
        let product = product.min(cells.products - 1);
        let groups = cells.groups;
        let state = &self.snapshot.state;
        let cell = |site: usize, g: usize| cells.index(site, product, g);
        let flow = |v: &[u32], site: usize| -> u32 {
            v.get(cell(site, 0)..cell(site, 0) + groups)
                .map_or(0, |x| x.iter().sum())
        };
        let sites = s
            .sites
            .iter()
            .enumerate()
            .map(|(i, site)| {
                let stock: Vec<u32> = (0..groups).map(|g| state.on_hand()[cell(i, g)]).collect();
                let held = stock.iter().map(|&u| u64::from(u)).sum();
                SiteView {
                    name: site.name.clone(),
                    kind: site.role.kind().to_string(),
                    region: site.region.clone(),
                    in_transit: (0..groups).map(|g| state.in_transit()[cell(i, g)]).sum(),
                    short: flow(&self.last.unmet, i),
                    issued: flow(&self.last.issued, i),
                    days_of_supply: site
                        .role
                        .holds_stock()
                        .then(|| days_of_supply(held, s.baseline_per_day(Some(i), product, None)))
                        .flatten(),
                    stock,
                }
            })
            .collect::<Vec<_>>();
        let network = |g: Option<usize>| -> Option<f64> {
            let held: u64 = s
                .topology
                .stock_sites
                .iter()
                .flat_map(|&site| {
                    match g {
                        Some(g) => g..g + 1,
                        None => 0..groups,
                    }
                    .map(move |g| (site, g))
                })
                .map(|(site, g)| u64::from(state.on_hand()[cell(site, g)]))
                .sum();
            days_of_supply(held, s.baseline_per_day(None, product, g))
        };
        let days: Vec<Option<f64>> = (0..groups).map(Some).chain([None]).map(network).collect();
        let stage = days[groups].and_then(|d| alert_stage(&s.alert_levels, d));
        let names = |keep: fn(&Role) -> bool| {
            s.sites
                .iter()
                .filter(|x| keep(&x.role))
                .map(|x| x.name.clone())
                .collect()
        };
        let period = self.period().min(s.calendar.periods.saturating_sub(1));
        View {
            scenario: s.name.clone(),
            period: self.period(),
            periods: s.calendar.periods,
            period_hours: s.calendar.period_hours,
            time: s
                .calendar
                .period_start(period)
                .format("%a %Y-%m-%d %H:%M")
                .to_string(),
            finished: self.finished(),
            product: s.products[product].product.name().to_string(),
            products: s
                .products
                .iter()
                .map(|p| p.product.name().to_string())
                .collect(),
            groups: s.groups.labels().iter().map(|g| g.to_string()).collect(),
            alert_levels: s
                .alert_levels
                .iter()
                .map(|a| (a.name.clone(), a.below_days))
                .collect(),
            links: links(s),
            sites,
            days_of_supply: days,
            stage,
            injected: self.injected.clone(),
            hospitals: names(|r| matches!(r, Role::Hospital(_))),
            labs: names(|r| matches!(r, Role::Lab(_))),
            lesson: self.lesson.as_ref().map(|(title, _)| title.clone()),
            prompt: self.prompt.as_ref().map(|(_, p)| p.clone()),
            prompt_period: self.prompt.as_ref().map(|(p, _)| *p),
        }
    }

    /// What the odds need, taken under the session's lock and computed without it.
    pub fn odds_request(&self, replications: u32, days: u32) -> Result<OddsRequest, Refused> {
        if !(1..=MAX_ODDS_REPLICATIONS).contains(&replications) {
            return Err(Refused(format!(
                "replications must be from 1 to {MAX_ODDS_REPLICATIONS}, found {replications}"
            )));
        }
        if !(1..=MAX_ODDS_DAYS).contains(&days) {
            return Err(Refused(format!(
                "days ahead must be from 1 to {MAX_ODDS_DAYS}, found {days}"
            )));
        }
        let calendar = &self.current.calendar;
        let periods = calendar
            .days_to_periods(f64::from(days))
            .min(calendar.periods.saturating_sub(self.period()));
        if periods == 0 {
            return Err(Refused("the run has ended: nothing lies ahead".into()));
        }
        Ok(OddsRequest {
            with: Arc::clone(&self.current),
            without: self
                .counterfactual
                .clone()
                .map(|c| (Arc::clone(&self.written), c)),
            snapshot: self.snapshot.clone(),
            replications,
            periods,
        })
    }
}

/// Site links for the map: who sends to whom (collection -> lab -> hub -> hospital).
fn links(s: &Scenario) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, site) in s.sites.iter().enumerate() {
        match &site.role {
            Role::Collection(c) => {
                out.push((i, c.lab));
                if !out.contains(&(c.lab, c.hub)) {
                    out.push((c.lab, c.hub));
                }
            }
            Role::Hospital(h) => out.push((h.supplier, i)),
            _ => {}
        }
    }
    out
}

/// A branch keeps the replication's state: the new scenario must lay it out the same way.
fn compatible(old: &Scenario, new: &Scenario) -> Result<(), Refused> {
    if old.cells() != new.cells() || old.responses.len() != new.responses.len() {
        return Err(Refused(
            "that change would alter the network's sites, products or responses; \
             a running replication can only branch on events and policy values"
                .into(),
        ));
    }
    Ok(())
}

/// Runs `periods` more periods of a snapshot (fewer at the end of the horizon).
fn advance<R: Recorder>(s: &Scenario, from: &Snapshot, periods: u32, recorder: &mut R) -> Snapshot {
    let mut engine = Engine::new(s);
    engine.resume(from, from.replication);
    for _ in 0..periods {
        if engine.finished() {
            break;
        }
        engine.step(recorder);
    }
    engine.snapshot()
}

/// The futures to run: from the present under the scenario with the injected events and,
/// if there are any, from the present the run would have without them, under the scenario
/// as written (an event's effects already in the state, such as casualties waiting for
/// blood, are part of what it changed).
#[derive(Debug, Clone)]
pub struct OddsRequest {
    with: Arc<Scenario>,
    without: Option<(Arc<Scenario>, Snapshot)>,
    snapshot: Snapshot,
    replications: u32,
    periods: u32,
}

/// Percentiles of the network's days of supply (all groups) by period ahead, and the share
/// of futures with a unit short, by group, by period and over the whole window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fan {
    /// p05, p25, p50, p75, p95 of days of supply at the end of each period ahead.
    pub days_of_supply: Vec<[f64; 5]>,
    /// P(some unit of the group short anywhere in the period), by group then period.
    pub shortage_by_period: Vec<Vec<f64>>,
    /// P(some unit of the group short at some point in the window), by group.
    pub shortage_in_window: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Odds {
    pub product: String,
    pub groups: Vec<String>,
    pub replications: u32,
    /// Start time of each period ahead.
    pub times: Vec<String>,
    pub with: Fan,
    /// The same futures without the injected events (common random numbers).
    pub without: Option<Fan>,
}

/// Futures are keyed as replications from this offset, apart from the session's own.
const FUTURE_KEYS: u64 = 1 << 40;

impl OddsRequest {
    /// Runs the futures in parallel; the result does not depend on the thread count (each
    /// future has its own keys, and results are gathered in future order).
    pub fn run(&self, product: usize) -> Odds {
        let s = &*self.with;
        let product = product.min(s.products.len() - 1);
        let fan = |scenario: &Scenario, from: &Snapshot| {
            fan(scenario, from, self.replications, self.periods, product)
        };
        let with = fan(&self.with, &self.snapshot);
        let without = self.without.as_ref().map(|(s, from)| fan(s, from));
        let start = self.snapshot.state.period();
        Odds {
            product: s.products[product].product.name().to_string(),
            groups: s.groups.labels().iter().map(|g| g.to_string()).collect(),
            replications: self.replications,
            times: (start..start + self.periods)
                .map(|t| {
                    s.calendar
                        .period_start(t)
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .collect(),
            with,
            without,
        }
    }
}

/// One future's path: network days of supply and whether each group was short, by period.
struct Path {
    days: Vec<f64>,
    /// By period, then group.
    short: Vec<bool>,
}

struct PathRecorder<'a> {
    scenario: &'a Scenario,
    product: usize,
    baseline: f64,
    path: Path,
}

impl Recorder for PathRecorder<'_> {
    fn period(&mut self, v: &PeriodView<'_>) {
        let cells = v.cells;
        let mut held = 0u64;
        for &site in &self.scenario.topology.stock_sites {
            for g in 0..cells.groups {
                held += u64::from(v.on_hand[cells.index(site, self.product, g)]);
            }
        }
        self.path
            .days
            .push(days_of_supply(held, self.baseline).unwrap_or(f64::NAN));
        for g in 0..cells.groups {
            let short = (0..cells.sites)
                .any(|site| v.flows[Flow::Unmet][cells.index(site, self.product, g)] > 0);
            self.path.short.push(short);
        }
    }
}

fn fan(
    scenario: &Scenario,
    snapshot: &Snapshot,
    replications: u32,
    periods: u32,
    product: usize,
) -> Fan {
    let groups = scenario.groups.count();
    let baseline = scenario.baseline_per_day(None, product, None);
    let paths: Vec<Path> = (0..u64::from(replications))
        .into_par_iter()
        .map_init(
            || Engine::new(scenario),
            |engine, r| {
                engine.resume(snapshot, FUTURE_KEYS + r);
                let mut rec = PathRecorder {
                    scenario,
                    product,
                    baseline,
                    path: Path {
                        days: Vec::with_capacity(periods as usize),
                        short: Vec::with_capacity(periods as usize * groups),
                    },
                };
                for _ in 0..periods {
                    engine.step(&mut rec);
                }
                rec.path
            },
        )
        .collect();
    let n = paths.len() as f64;
    let mut column = Vec::with_capacity(paths.len());
    let days_of_supply = (0..periods as usize)
        .map(|t| {
            column.clear();
            column.extend(paths.iter().map(|p| p.days[t]).filter(|d| d.is_finite()));
            column.sort_by(f64::total_cmp);
            [0.05, 0.25, 0.5, 0.75, 0.95].map(|q| quantile(&column, q))
        })
        .collect();
    let shortage_by_period = (0..groups)
        .map(|g| {
            (0..periods as usize)
                .map(|t| paths.iter().filter(|p| p.short[t * groups + g]).count() as f64 / n)
                .collect()
        })
        .collect();
    let shortage_in_window = (0..groups)
        .map(|g| {
            paths
                .iter()
                .filter(|p| (0..periods as usize).any(|t| p.short[t * groups + g]))
                .count() as f64
                / n
        })
        .collect();
    Fan {
        days_of_supply,
        shortage_by_period,
        shortage_in_window,
    }
}

/// The `q` quantile of sorted values (linear interpolation); NaN if empty.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => {
            let x = q * (n - 1) as f64;
            let (i, f) = (x.floor() as usize, x.fract());
            let next = sorted[(i + 1).min(n - 1)];
            sorted[i] + f * (next - sorted[i])
        }
    }
}
