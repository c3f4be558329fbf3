//! The per-period aggregate, the per-replication totals and the headline agree.

use bloodsim::monte_carlo::{self, Metric, RunSpec};
use bloodsim::report;

use crate::support::parse;

#[test]
fn period_means_add_up_to_replication_totals_and_headline() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/korea-baseline.toml"
    ))
    .unwrap();
    let mut scenario = parse(&text);
    scenario.calendar.periods = 90;
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
        // Quantiles are ordered and bracket the median.
        for t in (0..90).step_by(17) {
            let hist = out.aggregate.on_hand_histogram(t, series);
            let q: Vec<u64> = report::QUANTILES
                .iter()
                .map(|&q| hist.quantile(q).unwrap())
                .collect();
            assert!(q.windows(2).all(|w| w[0] <= w[1]), "{q:?}");
            assert_eq!(hist.total(), 8);
        }
    }
}
