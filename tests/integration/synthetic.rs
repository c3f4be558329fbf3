//! Synthetic but realistic results directories for tests of the plots and the report.

use std::path::Path;

use bloodsim::results::{
    ALL, AlertLevel, Estimate, EventWindow, Headline, PeriodRow, ReplicationRow, RunInfo,
    ScenarioInfo, SiteInfo, Summary, TimeInfo,
};

/// The shape of a synthetic result.
pub struct Shape {
    pub name: String,
    pub periods: u32,
    pub groups: Vec<String>,
    pub products: Vec<String>,
    /// Number of sites with per-site rows.
    pub sites: usize,
    pub replications: u64,
    /// Whether the summary lists an emergency event.
    pub event: bool,
}

impl Shape {
    /// 60 daily periods, groups O+/O-/A+, 2 products, 2 sites, 200 replications.
    pub fn small(name: &str) -> Shape {
        Shape {
            name: name.to_string(),
            periods: 60,
            groups: ["O+", "O-", "A+"].map(String::from).to_vec(),
            products: ["red_cells", "platelets"].map(String::from).to_vec(),
            sites: 2,
            replications: 200,
            event: true,
        }
    }

    /// 365 periods, 8 groups, 3 products, 30 sites, 1000 replications.
    pub fn large(name: &str) -> Shape {
        Shape {
            name: name.to_string(),
            periods: 365,
            groups: ["O+", "O-", "A+", "A-", "B+", "B-", "AB+", "AB-"]
                .map(String::from)
                .to_vec(),
            products: ["red_cells", "platelets", "plasma"]
                .map(String::from)
                .to_vec(),
            sites: 30,
            replications: 1000,
            event: true,
        }
    }
}

/// A small deterministic pseudo-random generator (xorshift), so the data are reproducible.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn est(mean: f64, half: f64) -> Estimate {
    Estimate {
        mean,
        ci_low: mean - half,
        ci_high: mean + half,
    }
}

fn site_names(n: usize) -> Vec<SiteInfo> {
    let cities = [
        "Seoul", "Busan", "Incheon", "Daegu", "Daejeon", "Gwangju", "Ulsan", "Suwon", "Changwon",
        "Jeju",
    ];
    (0..n)
        .map(|i| {
            let kind = if i % 5 == 0 { "hub" } else { "hospital" };
            let city = cities[i % cities.len()];
            let n = i / cities.len() + 1;
            let name = if kind == "hub" && n == 1 {
                format!("{city} hub")
            } else {
                format!("{city} {kind} {n}")
            };
            SiteInfo {
                name,
                kind: kind.to_string(),
                region: city.to_string(),
            }
        })
        .collect()
}

/// Writes `summary.json`, `periods.csv` and `replications.csv` for `shape` into `dir`.
pub fn write_results(dir: &Path, shape: &Shape) {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let sites = site_names(shape.sites);
    let event = EventWindow {
        name: "Earthquake: donations halved".to_string(),
        start_period: shape.periods * 5 / 12,
        end_period: shape.periods * 7 / 12,
    };
    let warm_up = (shape.periods / 8).max(1);
    let mut all_groups = shape.groups.clone();
    all_groups.push(ALL.to_string());

    // Days of supply: a baseline per group and product, a dip during the event.
    let base = |product: &str, group: &str| -> f64 {
        let p = match product {
            "platelets" => 3.0,
            "plasma" => 20.0,
            _ => 7.0,
        };
        let g = match group {
            "O-" => 0.6,
            "AB-" | "B-" => 0.8,
            "A+" => 1.1,
            _ => 1.0,
        };
        p * g
    };
    let dip = |t: u32| -> f64 {
        if t >= event.start_period && t < event.end_period + 10 {
            let into = (t - event.start_period) as f64;
            let len = (event.end_period - event.start_period) as f64;
            if into < len {
                1.0 - 0.6 * into / len
            } else {
                0.4 + 0.6 * (into - len) / 10.0
            }
        } else {
            1.0
        }
    };

    let mut rows: Vec<PeriodRow> = Vec::new();
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap();
    let site_labels: Vec<String> = std::iter::once(ALL.to_string())
        .chain(sites.iter().map(|s| s.name.clone()))
        .collect();
    for t in 0..shape.periods {
        let time = (start + chrono::Duration::days(t as i64))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        for site in &site_labels {
            for product in &shape.products {
                for group in &all_groups {
                    let site_factor = match site_labels.iter().position(|s| s == site) {
                        Some(0) | None => 1.0,
                        Some(i) => 0.7 + 0.6 * ((i * 37 % 11) as f64 / 10.0),
                    };
                    let m =
                        base(product, group) * dip(t) * site_factor * (0.95 + 0.1 * noise.next());
                    let spread = 0.25 * m + 0.3;
                    let short_p = (0.02 + 0.5 * (1.0 - dip(t))).min(1.0)
                        * if group == "O-" { 1.5 } else { 1.0 };
                    let short_units = 12.0 * short_p * if group == ALL { 3.0 } else { 1.0 };
                    let q = |k: f64, v: f64| Some((v + k).max(0.0));
                    let mut push = |metric: &str, mean: f64, pct: bool, s: f64| {
                        rows.push(PeriodRow {
                            period: t,
                            time: time.clone(),
                            site: site.clone(),
                            product: product.clone(),
                            group: group.clone(),
                            metric: metric.to_string(),
                            mean,
                            p05: if pct { q(-1.6 * s, mean) } else { None },
                            p25: if pct { q(-0.7 * s, mean) } else { None },
                            p50: if pct { q(0.0, mean) } else { None },
                            p75: if pct { q(0.7 * s, mean) } else { None },
                            p95: if pct { q(1.6 * s, mean) } else { None },
                        });
                    };
                    push("days_of_supply", m, true, spread);
                    push("on_hand", m * 40.0, true, spread * 40.0);
                    push("units_short", short_units, true, short_units * 0.8);
                    push("expired", 2.0, true, 1.0);
                    push("shortage_probability", short_p.min(1.0), false, 0.0);
                }
            }
        }
    }

    let mut reps: Vec<ReplicationRow> = Vec::new();
    for r in 0..shape.replications {
        for product in &shape.products {
            for group in &all_groups {
                let bad = noise.next();
                let short = if bad < 0.6 {
                    0
                } else {
                    ((bad - 0.6) * 300.0) as u64
                };
                let demand = 5000;
                reps.push(ReplicationRow {
                    replication: r,
                    product: product.clone(),
                    group: group.clone(),
                    demand,
                    issued: demand - short,
                    units_short: short,
                    requests_short: short / 2,
                    expired: 40,
                    released: 5100,
                    outdate_rate: 40.0 / 5100.0,
                    fill_rate: (demand - short) as f64 / demand as f64,
                    min_days_of_supply: 1.5,
                    periods_in_alert: "3;1;0;0".to_string(),
                    cost: 0.0,
                    units_moved: 10_000,
                    hours_donation_to_hub: 48.0,
                    collected: 5200,
                });
            }
        }
    }

    let mut headline = Vec::new();
    for product in &shape.products {
        for (i, group) in all_groups.iter().enumerate() {
            let k = i as f64;
            headline.push(Headline {
                product: product.clone(),
                group: group.clone(),
                demand: est(5000.0, 40.0),
                fill_rate: est(0.985 - 0.004 * k, 0.002 + 0.001 * k),
                units_short: est(60.0 + 10.0 * k, 5.0),
                shortage_probability: est(if group == "O-" { 0.55 } else { 0.3 + 0.02 * k }, 0.03),
                expired: est(40.0, 3.0),
                outdate_rate: est(0.008 + 0.002 * k, 0.001),
                mean_days_of_supply: est(base(product, group), 0.2),
                time_in_stage: [0.3, 0.1, 0.02, 0.0].map(|t| est(t, 0.01)).to_vec(),
                stage_probability: [1.0, 0.7, 0.2, 0.0].map(|p| est(p, 0.05)).to_vec(),
            });
        }
    }

    let summary = Summary {
        bloodsim_version: "0.1.0".to_string(),
        scenario: ScenarioInfo {
            name: shape.name.clone(),
            description:
                "Synthetic test scenario: <script>alert('x')</script> & a regional earthquake."
                    .to_string(),
            assumptions: vec![
                "Donations fall by half during the event".to_string(),
                "Red cells keep 35 days".to_string(),
            ],
            file: "scenarios/synthetic.toml".to_string(),
            file_sha256: "0".repeat(64),
        },
        run: RunInfo {
            seed: 42,
            replications: shape.replications,
            threads: 2,
            wall_seconds: 12.5,
            shards: None,
            approximate_percentiles: 0,
        },
        time: TimeInfo {
            start: "2025-01-01T00:00:00".to_string(),
            period_hours: 24,
            periods: shape.periods,
            warm_up_periods: warm_up,
        },
        groups: shape.groups.clone(),
        products: shape.products.clone(),
        sites,
        alert_levels: vec![
            AlertLevel {
                name: "attention".into(),
                below_days: 5.0,
            },
            AlertLevel {
                name: "caution".into(),
                below_days: 3.0,
            },
            AlertLevel {
                name: "alert".into(),
                below_days: 2.0,
            },
            AlertLevel {
                name: "serious".into(),
                below_days: 1.0,
            },
        ],
        alert_stock: "network".into(),
        alert_products: Vec::new(),
        events: if shape.event {
            vec![event.clone()]
        } else {
            Vec::new()
        },
        headline,
        files: Vec::new(),
    };

    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&summary).unwrap(),
    )
    .unwrap();
    let mut w = csv::Writer::from_path(dir.join("periods.csv")).unwrap();
    for row in &rows {
        w.serialize(row).unwrap();
    }
    w.flush().unwrap();
    let mut w = csv::Writer::from_path(dir.join("replications.csv")).unwrap();
    for row in &reps {
        w.serialize(row).unwrap();
    }
    w.flush().unwrap();
}
