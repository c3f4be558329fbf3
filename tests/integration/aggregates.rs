//! The per-period aggregate, the per-replication totals and the headline agree.

use bloodsim::monte_carlo::histogram::{bucket, bucket_floor};
use bloodsim::monte_carlo::{self, Metric, RunSpec};
use bloodsim::record::Flow;
use bloodsim::report;

use crate::support::parse;

/// korea-baseline cut to its first `periods` periods.
fn korea(periods: u32) -> bloodsim::scenario::Scenario {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/korea-baseline.toml"
    ))
    .unwrap();
    let mut scenario = parse(&text);
    scenario.calendar.periods = periods;
    // A fortnight's warm-up, so that short cuts still measure most of their periods.
    scenario.calendar.warm_up_periods = 14.min(periods / 2);
    scenario
}

#[test]
fn period_means_add_up_to_replication_totals_and_headline() {
    let scenario = korea(90);
    let spec = RunSpec {
        seed: 3,
        replications: 8,
    };
    let out = monte_carlo::run(&scenario, spec, &|| {});
    let rows: Vec<_> = report::replication_rows(&scenario, &out.totals).collect();
    let headline = report::headlines(&scenario, &out.totals);
    assert_eq!(out.aggregate.replications, 8);
    for (p, spec) in scenario.products.iter().enumerate() {
        let name = spec.product.name();
        // The network series for all groups of this product.
        let series = out
            .aggregate
            .series
            .iter()
            .position(|s| s.site.is_none() && s.product == p && s.group.is_none())
            .unwrap();
        let warm = scenario.calendar.warm_up_periods;
        let short_from_periods: f64 = (warm..90)
            .map(|t| out.aggregate.mean(Metric::UnitsShort, t, series))
            .sum();
        let expired_from_periods: f64 = (warm..90)
            .map(|t| out.aggregate.mean(Metric::Expired, t, series))
            .sum();
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r.product == name && r.group == "all")
            .collect();
        assert_eq!(mine.len(), 8);
        let short_from_rows = mine.iter().map(|r| r.units_short as f64).sum::<f64>() / 8.0;
        let expired_from_rows = mine.iter().map(|r| r.expired as f64).sum::<f64>() / 8.0;
        assert!(
            (short_from_periods - short_from_rows).abs() < 1e-6,
            "{name}: {short_from_periods} vs {short_from_rows}"
        );
        assert!(
            (expired_from_periods - expired_from_rows).abs() < 1e-6,
            "{name}: {expired_from_periods} vs {expired_from_rows}"
        );
        let h = headline
            .iter()
            .find(|h| h.product == name && h.group == "all")
            .unwrap();
        assert!((h.units_short.mean - short_from_rows).abs() < 1e-9);
        let mean_fill = mine.iter().map(|r| r.fill_rate).sum::<f64>() / 8.0;
        assert!((h.fill_rate.mean - mean_fill).abs() < 1e-12);
        let any_short = mine.iter().filter(|r| r.units_short > 0).count() as f64 / 8.0;
        assert!((h.shortage_probability.mean - any_short).abs() < 1e-12);
        // Alert stages: from each replication's days per stage in replications.csv, the
        // mean share of measured days and the share of replications reaching the stage or a
        // worse one; reaching a stage is no likelier than reaching a milder one.
        let stages = scenario.alert_levels.len();
        assert_eq!(
            (h.time_in_stage.len(), h.stage_probability.len()),
            (stages, stages)
        );
        let days: Vec<Vec<f64>> = mine
            .iter()
            .map(|r| {
                r.periods_in_alert
                    .split(';')
                    .map(|x| x.parse().unwrap())
                    .collect()
            })
            .collect();
        let measured = f64::from(90 - warm);
        for b in 0..stages {
            let share = days.iter().map(|d| d[b] / measured).sum::<f64>() / 8.0;
            assert!(
                (h.time_in_stage[b].mean - share).abs() < 1e-12,
                "{name} stage {b}"
            );
            let reached = days.iter().filter(|d| d[b..].iter().any(|&n| n > 0.0));
            let p = reached.count() as f64 / 8.0;
            assert!(
                (h.stage_probability[b].mean - p).abs() < 1e-12,
                "{name} stage {b}"
            );
        }
        let p: Vec<f64> = h.stage_probability.iter().map(|e| e.mean).collect();
        assert!(p.windows(2).all(|w| w[0] >= w[1]), "{name}: {p:?}");
        let in_stages: f64 = h.time_in_stage.iter().map(|e| e.mean).sum();
        assert!(in_stages <= 1.0 + 1e-12, "{name}: {in_stages}");
        // Quantiles are ordered and bracket the median.
        for t in (0..90).step_by(17) {
            let hist = out.aggregate.on_hand_histogram(t, series);
            let q: Vec<u64> = report::QUANTILES
                .iter()
                .map(|&q| hist.quantile(q).unwrap().value)
                .collect();
            assert!(q.windows(2).all(|w| w[0] <= w[1]), "{q:?}");
            assert_eq!(hist.total(), 8);
        }
    }
}

/// Per-period, per-replication values of one cell metric, kept whole for the check below.
struct Cells {
    on_hand: Vec<Vec<u32>>,
    unmet: Vec<Vec<u32>>,
    expired: Vec<Vec<u32>>,
}

impl bloodsim::record::Recorder for Cells {
    fn period(&mut self, v: &bloodsim::record::PeriodView<'_>) {
        self.on_hand.push(v.on_hand.to_vec());
        self.unmet.push(v.flows[Flow::Unmet].to_vec());
        self.expired.push(v.flows[Flow::Expired].to_vec());
    }
}

/// Every series of the aggregate (network, site; by group and over all groups) against
/// values recomputed from the raw cells of each replication: exact sums, shortage counts,
/// and quantiles as order statistics (exact below 1,024 units, the floor of the value's
/// 0.2%-wide bucket above). 40 replications: the 32-replication pilot, which sets the
/// histograms' layout, and 8 more that may fall beyond it; one and two threads must agree.
#[test]
fn every_series_matches_the_raw_cells() {
    let periods = 20;
    let scenario = korea(periods);
    let n = 40u64;
    let spec = RunSpec {
        seed: 5,
        replications: n,
    };
    let pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    };
    let out = pool(2).install(|| monte_carlo::run(&scenario, spec, &|| {}));
    let single = pool(1).install(|| monte_carlo::run(&scenario, spec, &|| {}));
    assert!(out.aggregate == single.aggregate, "1 and 2 threads differ");

    let raw: Vec<Cells> = (0..n)
        .map(|r| {
            let mut cells = Cells {
                on_hand: vec![],
                unmet: vec![],
                expired: vec![],
            };
            bloodsim::engine::run_replication(&scenario, spec.seed, r, &mut cells);
            cells
        })
        .collect();
    let c = scenario.cells();
    let a = &out.aggregate;
    let mut checked_groups = 0;
    let mut approximate = 0;
    for (i, s) in a.series.iter().enumerate() {
        let sites: Vec<usize> = s.site.map_or((0..c.sites).collect(), |x| vec![x]);
        let groups: Vec<usize> = s.group.map_or((0..c.groups).collect(), |g| vec![g]);
        checked_groups += usize::from(s.site.is_some() && s.group.is_some());
        let value = |m: &Vec<Vec<u32>>, t: usize| -> u64 {
            sites
                .iter()
                .flat_map(|&x| groups.iter().map(move |&g| c.index(x, s.product, g)))
                .map(|cell| u64::from(m[t][cell]))
                .sum()
        };
        for t in 0..periods as usize {
            let on_hand: Vec<u64> = raw.iter().map(|r| value(&r.on_hand, t)).collect();
            let short: Vec<u64> = raw.iter().map(|r| value(&r.unmet, t)).collect();
            let expired: Vec<u64> = raw.iter().map(|r| value(&r.expired, t)).collect();
            let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / n as f64;
            let p = t as u32;
            assert_eq!(a.mean(Metric::OnHand, p, i), mean(&on_hand));
            assert_eq!(a.mean(Metric::UnitsShort, p, i), mean(&short));
            assert_eq!(a.mean(Metric::Expired, p, i), mean(&expired));
            let short_share = short.iter().filter(|&&x| x > 0).count() as f64 / n as f64;
            assert_eq!(a.shortage_probability(p, i), short_share);
            let mut sorted = on_hand.clone();
            sorted.sort_unstable();
            for q in report::QUANTILES {
                let k = ((q * n as f64).ceil() as usize).max(1);
                let truth = bucket_floor(bucket(sorted[k - 1]));
                let got = a.on_hand_histogram(p, i).quantile(q).unwrap();
                // Exact, or (beyond the pilot's range, and flagged) a bin floor below it.
                assert!(
                    got.value == truth || (!got.exact && got.value < truth),
                    "{s:?} period {t} q {q}: {got:?} vs {truth}"
                );
                approximate += usize::from(!got.exact);
            }
        }
    }
    assert!(checked_groups > 0, "no site-by-group series");
    // The pilot's margin holds almost every later value: at most 0.1% of percentiles are
    // approximate (9 of 125,550 with this seed), and the summary counts them.
    assert_eq!(approximate as u64, report::approximate_percentiles(a));
    assert!(
        approximate * 1000 <= a.windows() * 5,
        "{approximate} approximate"
    );
}
