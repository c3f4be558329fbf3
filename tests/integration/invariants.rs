//! Property tests: on random small networks with random events and responses, units are
//! conserved at every site in every period, no unit is issued after its expiry, and only
//! compatible units are issued.

use bloodsim::engine::Engine;
use proptest::prelude::*;

use crate::support::{InvariantChecker, parse};

#[derive(Debug, Clone)]
struct Net {
    abo: bool,
    period_hours: u32,
    shelf: [u32; 3],
    collections: Vec<(f64, u32, u32)>, // (donations per day, lab index, hub index)
    labs: Vec<(Option<u32>, u32, f64)>, // (capacity, processing hours, discard)
    hubs: usize,
    hospitals: Vec<(usize, f64, u32, u32, u32)>, // (hub, requests/day, size kind, level days, lead hours)
    with_supplier_hospital: bool,
    hours: u32,
    issuing: &'static str,
    unmet: &'static str,
    allocation: &'static str,
    review: &'static str,
    substitution: &'static str,
    initial_days: f64,
    /// (type, start day, days, factor, target index): events of every kind.
    events: Vec<(u8, u32, u32, f64, usize)>,
    /// Days of shelf life a hub ships with (capped below each product's shelf life), and
    /// the transport hours of lateral transfers between hubs, if any.
    shipping: (u32, Option<u32>),
    /// (action type, below days, parameter): triggered responses of every kind; and whether
    /// collection is managed.
    responses: (Vec<(u8, f64, f64)>, bool),
}

fn net() -> impl Strategy<Value = Net> {
    (
        any::<bool>(),
        prop::sample::select(vec![4u32, 8, 12, 24]),
        (1u32..12, 1u32..6, 1u32..60),
        prop::collection::vec((0.0f64..60.0, 0u32..2, 0u32..2), 1..4),
        prop::collection::vec((prop::option::of(5u32..80), 0u32..60, 0.0f64..0.2), 1..3),
        1usize..3,
        prop::collection::vec((0usize..2, 0.0f64..30.0, 0u32..4, 0u32..5, 0u32..72), 1..4),
        any::<bool>(),
        0u32..48,
    )
        .prop_flat_map(
            |(abo, ph, shelf, collections, labs, hubs, hospitals, sup, hours)| {
                (
                    Just((
                        abo,
                        ph,
                        shelf,
                        collections,
                        labs,
                        hubs,
                        hospitals,
                        sup,
                        hours,
                    )),
                    prop::sample::select(vec!["fifo", "lifo", "fefo"]),
                    prop::sample::select(vec!["lost", "backordered"]),
                    prop::sample::select(vec!["proportional", "priority"]),
                    prop::sample::select(vec!["before_demand", "after_demand"]),
                    prop::sample::select(vec!["compatible", "none"]),
                    0.0f64..4.0,
                    prop::collection::vec(
                        (0u8..6, 0u32..20, 1u32..8, 0.0f64..3.0, 0usize..8),
                        0..4,
                    ),
                    (0u32..3, prop::option::of(0u32..48)),
                    (
                        prop::collection::vec((0u8..5, 0.0f64..10.0, 0.0f64..3.0), 0..3),
                        any::<bool>(),
                    ),
                )
            },
        )
        .prop_map(
            |(
                (
                    abo,
                    period_hours,
                    shelf,
                    collections,
                    labs,
                    hubs,
                    hospitals,
                    with_supplier_hospital,
                    hours,
                ),
                issuing,
                unmet,
                allocation,
                review,
                substitution,
                initial_days,
                events,
                shipping,
                responses,
            )| Net {
                abo,
                period_hours,
                shelf: [shelf.0, shelf.1, shelf.2],
                collections,
                labs,
                hubs,
                hospitals,
                with_supplier_hospital,
                hours,
                issuing,
                unmet,
                allocation,
                review,
                substitution,
                initial_days,
                events,
                shipping,
                responses,
            },
        )
}

impl Net {
    fn toml(&self) -> String {
        let mut t = format!(
            "[scenario]\nname = \"random\"\n[time]\nstart = 2026-02-10\nhorizon_days = 20\nperiod_hours = {}\n",
            self.period_hours
        );
        if self.abo {
            t += "[blood_groups]\nsystem = \"abo_rhd\"\ndonor_frequencies = { \"O+\" = 0.37, \"O-\" = 0.08, \"A+\" = 0.3, \"A-\" = 0.06, \"B+\" = 0.1, \"B-\" = 0.02, \"AB+\" = 0.05, \"AB-\" = 0.02 }\n";
            t += "demand_frequencies = { \"O+\" = 0.3, \"O-\" = 0.16, \"A+\" = 0.3, \"A-\" = 0.06, \"B+\" = 0.1, \"B-\" = 0.02, \"AB+\" = 0.04, \"AB-\" = 0.02 }\n";
        }
        for (name, shelf) in ["red_cells", "platelets", "plasma"].iter().zip(self.shelf) {
            t += &format!(
                "[products.{name}]\nshelf_life_days = {shelf}\nsubstitution = \"{}\"\n",
                self.substitution
            );
        }
        let mut links = Vec::new();
        for (i, (cap, proc_h, discard)) in self.labs.iter().enumerate() {
            t += &format!(
                "[[sites]]\nkind = \"lab\"\nname = \"lab{i}\"\nprocessing_hours = {proc_h}\ndiscard_fraction = {discard}\n"
            );
            if let Some(c) = cap {
                t += &format!("capacity_per_day = {c}\n");
            }
        }
        // Every hub is fed by at least one collection site.
        let hubs = self.hubs.min(self.collections.len());
        for h in 0..hubs {
            t += &format!("[[sites]]\nkind = \"hub\"\nname = \"hub{h}\"\n");
        }
        for (i, (rate, lab, _)) in self.collections.iter().enumerate() {
            let lab = *lab as usize % self.labs.len();
            let hub = i % hubs;
            t += &format!(
                "[[sites]]\nkind = \"collection\"\nname = \"col{i}\"\nlab = \"lab{lab}\"\nhub = \"hub{hub}\"\n[[sites.donations]]\ndonation = \"whole_blood\"\nper_day = {{ type = \"poisson\", mean = {rate} }}\n"
            );
            links.push((format!("col{i}"), format!("lab{lab}"), self.hours));
            links.push((format!("lab{lab}"), format!("hub{hub}"), self.hours / 2));
        }
        let sizes = [
            "{ type = \"fixed\", units = 1 }",
            "{ type = \"fixed\", units = 3 }",
            "{ type = \"poisson\", mean = 2.5 }",
            "{ type = \"rounded_gamma\", mean = 6, cv = 1.2 }",
        ];
        let mut hospitals: Vec<(String, String, f64, u32, u32, u32)> = self
            .hospitals
            .iter()
            .enumerate()
            .map(|(i, (hub, rate, size, level, lead))| {
                (
                    format!("hosp{i}"),
                    format!("hub{}", hub % hubs),
                    *rate,
                    *size,
                    *level,
                    *lead,
                )
            })
            .collect();
        if self.with_supplier_hospital {
            t += "[[sites]]\nkind = \"supplier\"\nname = \"import\"\n";
            hospitals.push(("imported".into(), "import".into(), 5.0, 2, 2, 24));
        }
        for (i, (name, from, rate, size, level, lead)) in hospitals.iter().enumerate() {
            t += &format!(
                "[[sites]]\nkind = \"hospital\"\nname = \"{name}\"\nsupplied_by = \"{from}\"\npriority = {}\n",
                i % 2
            );
            for product in ["red_cells", "platelets", "plasma"] {
                t += &format!(
                    "[[sites.demand]]\nproduct = \"{product}\"\nrequests_per_day = {{ type = \"negative_binomial\", mean = {rate}, dispersion = 2.0 }}\nunits_per_request = {}\n",
                    sizes[*size as usize % sizes.len()]
                );
            }
            for product in ["red_cells", "platelets", "plasma"] {
                t += &format!(
                    "[sites.replenishment.{product}]\ntype = \"order_up_to\"\ndays = {level}\nreview = \"{}\"\n",
                    self.review
                );
            }
            links.push((from.clone(), name.clone(), *lead));
        }
        for (i, _) in self.hospitals.iter().enumerate().take(1) {
            for (product, shelf) in ["red_cells", "platelets"].iter().zip(self.shelf) {
                t += &format!(
                    "[[initial_stock]]\nsite = \"hosp{i}\"\nproduct = \"{product}\"\ndays_of_supply = {}\nage_days = {{ min = 0, max = {} }}\n",
                    self.initial_days,
                    shelf - 1
                );
            }
        }
        for h in 0..hubs {
            t += &format!(
                "[[initial_stock]]\nsite = \"hub{h}\"\nproduct = \"red_cells\"\nunits = 40\n"
            );
        }
        links.sort();
        links.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        for (from, to, hours) in &links {
            t += &format!("[[links]]\nfrom = \"{from}\"\nto = \"{to}\"\nhours = {hours}\n");
        }
        for &(kind, start, days, factor, target) in &self.events {
            t += &format!(
                "[[events]]\nname = \"e\"\nstart = 2026-{}\ndays = {days}\n",
                // Day `start` of the scenario (from 10 February).
                match 10 + start {
                    d @ ..=28 => format!("02-{d:02}"),
                    d => format!("03-{:02}", d - 28),
                }
            );
            let col = target % self.collections.len();
            t += &match kind {
                0 => format!(
                    "type = \"collection_change\"\nsites = [\"col{col}\"]\nfactor = {factor}\n"
                ),
                1 => format!(
                    "type = \"donation_surge\"\npeak = {}\nhalf_life_days = 2\n",
                    1.0 + factor
                ),
                2 => format!(
                    "type = \"demand_change\"\nsites = [\"{}\"]\nfactor = {factor}\n",
                    hospitals[target % hospitals.len()].0
                ),
                3 => format!(
                    "type = \"lab_outage\"\nsites = [\"lab{}\"]\ncapacity_factor = {}\n",
                    target % self.labs.len(),
                    factor.min(1.0)
                ),
                4 => {
                    let emergency = if self.abo {
                        "emergency_release = { share = 0.6, o_negative_share = 0.3 }\n"
                    } else {
                        ""
                    };
                    format!(
                        "type = \"mass_casualty\"\nsites = [\"{}\"]\ncasualties = {}\nadmitted_share = 0.4\ntransfused_share = 0.4\nunits_per_patient = {{ type = \"rounded_gamma\", mean = 4, cv = 1.5 }}\nproduct_ratio = {{ red_cells = 1, platelets = 0.81, plasma = 0.54 }}\nhalf_life_hours = {}\n{emergency}",
                        hospitals[target % hospitals.len()].0,
                        (factor * 100.0).round(),
                        1.0 + factor * 10.0
                    )
                }
                _ => {
                    let (from, to, _) = &links[target % links.len()];
                    let delay = if factor < 1.5 {
                        "closed = true".to_string()
                    } else {
                        format!("extra_hours = {}", factor * 20.0)
                    };
                    format!(
                        "type = \"transport_disruption\"\nfrom = \"{from}\"\nto = \"{to}\"\n{delay}\n"
                    )
                }
            };
        }
        t += &format!(
            "[policy]\nissuing = \"{}\"\nunmet_demand = \"{}\"\nallocation = \"{}\"\n",
            self.issuing, self.unmet, self.allocation
        );
        let products = ["red_cells", "platelets", "plasma"];
        let floors: Vec<String> = products
            .iter()
            .zip(self.shelf)
            .map(|(name, shelf)| format!("{name} = {}", self.shipping.0.min(shelf - 1)))
            .collect();
        t += &format!("min_shelf_life_days = {{ {} }}\n", floors.join(", "));
        if let Some(hours) = self.shipping.1 {
            t += &format!("transfers = {{ products = {products:?}, hours = {hours} }}\n");
        }
        t + &self.responses_toml()
    }

    fn responses_toml(&self) -> String {
        let mut t = String::new();
        if self.hospitals.iter().all(|h| h.1 <= 0.0) {
            return t; // No demand: days of supply are undefined.
        }
        for &(kind, below, x) in &self.responses.0 {
            let action = match kind {
                0 => format!("type = \"donor_appeal\", factor = {}", 1.0 + x),
                1 => format!("type = \"defer_electives\", factor = {}", x / 3.0),
                2 => format!("type = \"ration_orders\", share = {}", x / 3.0),
                3 if self.abo => format!("type = \"switch_to_rhd_positive\", share = {}", x / 3.0),
                _ => format!(
                    "type = \"request_imports\", site = \"hub0\", units = {}",
                    x * 10.0
                ),
            };
            t += &format!(
                "[[responses]]\nname = \"r\"\nwhen = {{ product = \"red_cells\", below_days = {below} }}\naction = {{ {action} }}\ndelay_days = {}\nduration_days = {}\n",
                x.floor(),
                1.0 + 2.0 * x
            );
        }
        if self.responses.1 {
            t += "[collection_management]\ntarget_days = 4\nreaction = 0.3\nreview_days = 3\ndelay_days = 1\n";
        }
        t
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_networks_keep_every_invariant(net in net(), seed in 0u64..1000) {
        let text = net.toml();
        let scenario = parse(&text);
        let mut checker = InvariantChecker::new(&scenario);
        Engine::new(&scenario).run(seed, 0, &mut checker);
        prop_assert_eq!(checker.periods_checked, scenario.calendar.periods);
        checker.assert_complete();
    }
}

/// Every bundled scenario (the library planners copy) runs a few replications keeping
/// every invariant: units conserved at each site and period, no negative stock, every issue
/// compatible. Replications run in parallel (rayon), so three cost about what one did on two
/// cores. The scenarios' own figures are measured by `scenarios/table.py`.
#[test]
fn every_bundled_scenario_keeps_every_invariant() {
    use rayon::prelude::*;
    const REPLICATIONS: u64 = 3;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the scenario library: {files:?}");
    let scenarios: Vec<_> = files
        .iter()
        .map(|path| bloodsim::scenario::load(path).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let runs: Vec<(usize, u64)> = (0..files.len())
        .flat_map(|i| (0..REPLICATIONS).map(move |r| (i, r)))
        .collect();
    runs.par_iter().for_each(|&(i, replication)| {
        let scenario = &scenarios[i];
        let mut checker = InvariantChecker::new(scenario);
        Engine::new(scenario).run(scenario.seed, replication, &mut checker);
        assert_eq!(
            checker.periods_checked,
            scenario.calendar.periods,
            "{} replication {replication}",
            files[i].display()
        );
        checker.assert_complete();
    });
}
