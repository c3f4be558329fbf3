//! The random draws of one replication without the engine's bookkeeping: the floor the
//! engine's speed is measured against (`benches/engine.rs` includes this file), checked
//! here, under `cargo test`, to draw exactly the words the engine draws.

use std::collections::VecDeque;

use bloodsim::engine::site_keys;
use bloodsim::network::Role;
use bloodsim::random::{ProcessKey, Scale, Stream, Thinning, period_scales, stochastic_round};
use bloodsim::scenario::Scenario;

/// A lot of donations on its way through a lab: (release period, donations, units).
type Lot = (u32, u32, [u32; 4]);

/// Makes exactly the random draws the engine makes in one replication, with none of its
/// bookkeeping (stock, orders, shipments): donation counts, lab discards and their rounding,
/// patient requests and their sizes, on the same streams in the same order. Returns the
/// random words each stream used, which must equal the engine's: the proof that the same
/// numbers were drawn. Follows the engine where labs never queue (capacity not binding)
/// and every collection site of a lab has the same transport time, as in korea-baseline.
pub fn draws_only(
    s: &Scenario,
    seed: u64,
    replication: u64,
    labs: &mut [VecDeque<Lot>],
) -> Vec<u64> {
    let keys: Vec<ProcessKey> = site_keys(s, seed, replication).collect();
    let mut streams: Vec<Stream> = keys.iter().map(|k| k.stream(0)).collect();
    let mut words = vec![0u64; keys.len()];
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
    // Per site, as the engine keeps them (a site's unchanged multipliers are not recomputed).
    let mut scales: Vec<Vec<Scale>> = vec![Vec::new(); s.sites.len()];
    labs.iter_mut().for_each(VecDeque::clear);
    for t in 0..s.calendar.periods {
        // Each process draws period t from its own stream for t.
        for ((rng, w), key) in streams.iter_mut().zip(&mut words).zip(&keys) {
            *w += rng.words();
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
            period_scales(&mut scales[site], &mut streams[site], factor, processes);
            let Role::Lab(lab) = &s.sites[c.lab].role else {
                continue;
            };
            for g in 0..groups {
                let (mut donations, mut expected) = (0u32, [0.0f64; 4]);
                for (d, scale) in c.donations.iter().zip(&scales[site]) {
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
            period_scales(&mut scales[h], &mut streams[h], 1.0, processes);
            for p in 0..products {
                for g in 0..groups {
                    for (k, d) in hosp.demand.iter().enumerate() {
                        if d.product != p {
                            continue;
                        }
                        let rng = &mut streams[h];
                        let n = d.per_group[g].sample(rng, &scales[h][k]);
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
        .map(|(r, w)| w + r.words())
        .collect()
}

/// The scenarios the check holds for: no responses, events or collection management (they
/// change rates, which the draws-only pass does not follow).
pub fn without_responses(mut s: Scenario) -> Scenario {
    s.collection_management = None;
    s.responses.clear();
    s.events.clear();
    s
}
