//! One replication of korea-baseline, reported as simulated (site x product x group x period)
//! cells per second: the engine alone; only the random draws the engine makes; and the
//! engine with the runner's recorders (per-replication totals, per-period aggregate).
//! Run: `cargo bench --bench engine`.

use std::collections::VecDeque;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use bloodsim::engine::{Engine, site_keys};
use bloodsim::metrics::TotalsRecorder;
use bloodsim::monte_carlo::{Aggregate, BATCH};
use bloodsim::network::Role;
use bloodsim::random::{ProcessKey, Scale, Stream, Thinning, period_scales, stochastic_round};
use bloodsim::record::{Both, NullRecorder};
use bloodsim::scenario::{self, Scenario};

/// korea-baseline, or the scenario `BLOODSIM_BENCH_SCENARIO` names (to compare versions of
/// the engine on one file).
fn korea() -> Scenario {
    let bundled = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/korea-baseline.toml"
    );
    let path = std::env::var("BLOODSIM_BENCH_SCENARIO").unwrap_or_else(|_| bundled.into());
    match scenario::load(std::path::Path::new(&path)) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// A lot of donations on its way through a lab: (release period, donations, units).
type Lot = (u32, u32, [u32; 4]);

/// Makes exactly the random draws the engine makes in one replication, with none of its
/// bookkeeping (stock, orders, shipments): donation counts, lab discards and their rounding,
/// patient requests and their sizes, on the same streams in the same order. Returns the
/// random words each stream used, which must equal the engine's: the proof that the same
/// numbers were drawn. Follows the engine where labs never queue (capacity not binding)
/// and every collection site of a lab has the same transport time, as in korea-baseline.
fn draws_only(s: &Scenario, seed: u64, replication: u64, labs: &mut [VecDeque<Lot>]) -> Vec<u128> {
    let keys: Vec<ProcessKey> = site_keys(s, seed, replication).collect();
    let mut streams: Vec<Stream> = keys.iter().map(|k| k.stream(0)).collect();
    let mut words = vec![0u128; keys.len()];
    let (products, groups) = (s.products.len(), s.groups.count());
    let mut carry = vec![0.0f64; s.sites.len() * products * groups];
    let discards: Vec<Thinning> = s
        .sites
        .iter()
        .map(|site| match &site.role {
            Role::Lab(l) => Thinning::new(l.discard_fraction),
            _ => Thinning::new(0.0),
        })
        .collect();
    let mut scales: Vec<Scale> = Vec::new();
    labs.iter_mut().for_each(VecDeque::clear);
    for t in 0..s.calendar.periods {
        // Each process draws period t from its own stream t, as the engine does.
        for ((rng, key), w) in streams.iter_mut().zip(&keys).zip(&mut words) {
            *w += rng.get_word_pos();
            *rng = key.stream(t);
        }
        let day = s.calendar.day_of(t);
        let weekday = s.calendar.weekday(day);
        let day = day as usize;
        // Lots released this period, in the order they reached their lab.
        for (lab, lots) in labs.iter_mut().enumerate() {
            while lots.front().is_some_and(|lot| lot.0 == t) {
                let Some((_, donations, units)) = lots.pop_front() else {
                    break;
                };
                let rng = &mut streams[lab];
                let failed = discards[lab].sample(rng, donations);
                for u in units.into_iter().take(products).filter(|&u| u > 0) {
                    stochastic_round(rng, f64::from(u) * f64::from(failed) / f64::from(donations));
                }
            }
        }
        for (site, spec) in s.sites.iter().enumerate() {
            let Role::Collection(c) = &spec.role else {
                continue;
            };
            let factor = c.day_factor[day];
            if factor <= 0.0 {
                continue;
            }
            let processes = c.donations.iter().map(|d| (&d.shock, d.weekday[weekday]));
            period_scales(&mut scales, &mut streams[site], factor, processes);
            let Role::Lab(lab) = &s.sites[c.lab].role else {
                continue;
            };
            for g in 0..groups {
                let (mut donations, mut expected) = (0u32, [0.0f64; 4]);
                for (d, scale) in c.donations.iter().zip(&scales) {
                    let n = d.per_group[g].sample(&mut streams[site], scale);
                    donations += n;
                    for (e, &y) in expected.iter_mut().zip(&d.yields) {
                        *e += f64::from(n) * y;
                    }
                }
                if donations == 0 {
                    continue;
                }
                let mut units = [0u32; 4];
                for p in 0..products {
                    let k = (site * products + p) * groups + g;
                    let total = carry[k] + expected[p];
                    units[p] = total as u32;
                    carry[k] = total - f64::from(units[p]);
                }
                labs[c.lab].push_back((t + c.to_lab + lab.processing, donations, units));
            }
        }
        for (h, spec) in s.sites.iter().enumerate() {
            let Role::Hospital(hosp) = &spec.role else {
                continue;
            };
            let factor = hosp.day_factor[day];
            let processes = hosp
                .demand
                .iter()
                .map(|d| (&d.shock, d.weekday[weekday] * factor));
            period_scales(&mut scales, &mut streams[h], 1.0, processes);
            for p in 0..products {
                for g in 0..groups {
                    for (k, d) in hosp.demand.iter().enumerate() {
                        if d.product != p {
                            continue;
                        }
                        let rng = &mut streams[h];
                        let n = d.per_group[g].sample(rng, &scales[k]);
                        let sizes = if d.units.is_fixed() { 1.min(n) } else { n };
                        for _ in 0..sizes {
                            d.units.sample(rng);
                        }
                    }
                }
            }
        }
    }
    streams
        .iter()
        .zip(words)
        .map(|(r, w)| w + r.get_word_pos())
        .collect()
}

fn replication(c: &mut Criterion) {
    let s = korea();
    let cells = (s.cells().len() as u64) * u64::from(s.calendar.periods);
    let mut group = c.benchmark_group("korea-baseline replication");
    group.throughput(Throughput::Elements(cells));
    group.sample_size(30);
    let mut engine = Engine::new(&s);
    let mut rep = 0u64;
    group.bench_function("engine only", |b| {
        b.iter(|| {
            rep += 1;
            engine.run(1, rep, &mut NullRecorder);
        })
    });
    // The draws alone: checked against the engine's use of every stream first.
    let mut lots = vec![VecDeque::new(); s.sites.len()];
    for r in 0..3 {
        engine.run(1, r, &mut NullRecorder);
        assert_eq!(
            draws_only(&s, 1, r, &mut lots),
            engine.words_drawn(),
            "the draws-only pass must draw exactly what the engine draws"
        );
    }
    group.bench_function("random draws only", |b| {
        b.iter(|| {
            rep += 1;
            draws_only(&s, 1, rep, &mut lots)
        })
    });
    // What the runner does per replication: the recorders' cost is the difference.
    let mut totals = TotalsRecorder::new(&s);
    group.bench_function("engine + replication totals", |b| {
        b.iter(|| {
            rep += 1;
            engine.run(1, rep, &mut totals);
            totals.finish()
        })
    });
    let mut aggregate = Aggregate::new(&s);
    // A pilot batch sets the histograms' layout, as in a run.
    for _ in 0..BATCH {
        rep += 1;
        engine.run(1, rep, &mut aggregate.recorder());
    }
    let binning = Aggregate::pilot_binning([&aggregate]).expect("a pilot ran");
    aggregate.set_binning(Arc::new(binning));
    group.bench_function("engine + totals + per-period aggregate", |b| {
        b.iter(|| {
            rep += 1;
            let mut periods = aggregate.recorder();
            engine.run(1, rep, &mut Both(&mut totals, &mut periods));
            totals.finish()
        })
    });
    aggregate.flush();
    group.finish();
}

criterion_group! {
    name = benches;
    // Criterion's own charts need system fonts; the numbers are what matter here.
    config = Criterion::default().without_plots();
    targets = replication
}
criterion_main!(benches);
