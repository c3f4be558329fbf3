//! Random streams and the count and size distributions the model draws from.
//!
//! Every random process (a collection site's donations, a hospital's demand, a lab's
//! discards) has its own stream per period, keyed by the seed, the process's name, the
//! replication and the period ([`ProcessKey`]). The generator is xoshiro256++ (Blackman and
//! Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47(4), 2021; it
//! passes BigCrush and PractRand), a named, portable algorithm, so a seed reproduces on any
//! machine and any thread count. Each stream's state is four SplitMix64 outputs (Steele,
//! Lea and Flood, OOPSLA 2014), the seeding xoshiro's authors recommend, from two
//! independent 64-bit hashes of (seed, name, replication) each mixed with the period: two
//! process-periods share a state only if both 64-bit hashes collide.
//!
//! Keying by name (not position) and by period gives common random numbers: two variants
//! of a scenario that share a site see the same draws for it, in every period their rates
//! agree. Why not ChaCha8 with a stream per period, as before: re-keying it costs a
//! four-block refill per process and period (about 55 ns, against 7 ns for this seeding),
//! the largest single cost of a small network's period.

use std::convert::Infallible;

use rand::{Rng, RngExt, SeedableRng, TryRng};
use rand_distr::{Binomial, Distribution, Gamma};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

/// The generator of one process in one period, counting the 64-bit words it has drawn (the
/// draws-only benchmark proves it draws what the engine draws by these counts).
#[derive(Debug, Clone)]
pub struct Stream {
    rng: Xoshiro256PlusPlus,
    words: u64,
}

impl Stream {
    /// 64-bit words drawn so far.
    pub fn words(&self) -> u64 {
        self.words
    }
}

impl TryRng for Stream {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.words += 1;
        self.rng.try_next_u32()
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.words += 1;
        self.rng.try_next_u64()
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        self.words += dest.len().div_ceil(8) as u64;
        self.rng.try_fill_bytes(dest)
    }
}

/// The key of one named random process (a site's donations, a lab's testing, a hospital's
/// demand, an event) in one replication: two independent 64-bit hashes of the seed, the
/// process's name and the replication.
///
/// Its draws in period `t` come from its stream for `t`, from the stream's start. So what
/// a period draws never depends on how many words earlier periods used: two variants that
/// differ in one place, or for a while, draw the same numbers everywhere else and line up
/// again once the difference ends (common random numbers that survive a change). It also
/// makes a replication's randomness at a period boundary a function of (key, period) alone,
/// so a paused replication resumes from its state and keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessKey([u64; 2]);

impl ProcessKey {
    pub fn new(seed: u64, process: &str, replication: u64) -> ProcessKey {
        let name = fnv1a(process.as_bytes());
        // Each hash chains the three inputs through SplitMix64's mixer, with its own salt.
        let chain = |salt: u64| {
            let h = splitmix64(seed ^ salt);
            let h = splitmix64(h ^ name);
            splitmix64(h ^ replication)
        };
        ProcessKey([chain(0x626c_6f6f_6473_696d), chain(0x6a09_e667_f3bc_c908)])
    }

    /// The process's stream for one period, from its start: each half of the state is two
    /// SplitMix64 outputs from one hash mixed with the period.
    #[inline]
    pub fn stream(&self, period: u32) -> Stream {
        let t = splitmix64(u64::from(period));
        let mut seed = [0u8; 32];
        let (first, second) = seed.split_at_mut(16);
        SplitMix64::seed_from_u64(self.0[0] ^ t).fill_bytes(first);
        SplitMix64::seed_from_u64(self.0[1] ^ t.rotate_left(32)).fill_bytes(second);
        Stream {
            // An all-zero state (probability 2^-256) is replaced by a fixed one.
            rng: Xoshiro256PlusPlus::from_seed(seed),
            words: 0,
        }
    }
}

/// A stream of one named process for the unit tests of samplers.
#[cfg(test)]
pub(crate) fn stream(seed: u64, process: &str, replication: u64) -> Stream {
    ProcessKey::new(seed, process, replication).stream(0)
}

/// FNV-1a: a fixed, documented hash, so stream keys never change between Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's first output from state `z`: a strong 64-bit mixer.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Poisson draw; zero for a non-positive (or NaN) mean.
///
/// Exact in law, with no per-draw setup beyond one `exp` or a square root and a logarithm:
/// inversion by sequential search below mean 10, Hörmann's PTRS transformed rejection
/// above (as numpy does). rand_distr's sampler rebuilds its tables on every new mean and
/// uses mean + 1 uniforms below 12, which dominated the engine's time.
pub fn poisson(rng: &mut Stream, mean: f64) -> u32 {
    if mean >= 10.0 {
        poisson_ptrs(rng, mean, mean.sqrt(), mean.ln())
    } else if mean > 0.0 {
        poisson_inversion(rng, mean)
    } else {
        0
    }
}

fn poisson_inversion(rng: &mut Stream, mean: f64) -> u32 {
    let u: f64 = rng.random();
    // P(0) = exp(-mean) >= 1 - mean: most draws of a rare event end here, without `exp`.
    if u <= 1.0 - mean {
        return 0;
    }
    let mut p = (-mean).exp();
    let mut cdf = p;
    let mut k = 0u32;
    // `p > 0` stops the search if rounding leaves the summed CDF just below `u`.
    while u > cdf && p > 0.0 {
        k += 1;
        p *= mean / f64::from(k);
        cdf += p;
    }
    k
}

/// W. Hörmann (1993), "The transformed rejection method for generating Poisson random
/// variables", Insurance: Mathematics and Economics 12(1), 39-45; for mean >= 10, given
/// its square root and logarithm.
fn poisson_ptrs(rng: &mut Stream, mean: f64, slam: f64, loglam: f64) -> u32 {
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng.random::<f64>() - 0.5;
        let v: f64 = rng.random();
        let us = 0.5 - u.abs();
        let x = (2.0 * a / us + b) * u + mean + 0.43;
        // Rejecting k < 0 first is equivalent: the quick acceptance never sees it for
        // mean >= 10.
        if x < 0.0 {
            continue;
        }
        // floor(x) for x >= 0, without a libm call.
        let k = (x as u64) as f64;
        if us >= 0.07 && v <= vr {
            return clamp_u32(k);
        }
        if us < 0.013 && v > us {
            continue;
        }
        // ln(v) + ln(1/alpha) - ln(a/us^2 + b), with one logarithm.
        let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
        if (v * inv_alpha / (a / (us * us) + b)).ln() <= -mean + k * loglam - ln_factorial_f(k) {
            return clamp_u32(k);
        }
    }
}

/// Binomial draw; `n` when `p >= 1`, zero when `p <= 0`. Inversion when the expected count
/// of the rarer outcome is small (the lab-discard case), rand_distr's BTPE otherwise.
pub fn binomial(rng: &mut Stream, n: u32, p: f64) -> u32 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    if f64::from(n) * p < 10.0 {
        return binomial_inversion(rng, n, p, (1.0 - p).ln());
    }
    match Binomial::new(u64::from(n), p) {
        Ok(d) => d.sample(rng) as u32,
        Err(_) => 0,
    }
}

/// Keeping each of `n` items independently with probability `p` (a binomial draw), with
/// the constants of a fixed `p` computed once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thinning {
    p: f64,
    ln_q: f64,
}

impl Thinning {
    pub fn new(p: f64) -> Thinning {
        Thinning {
            p,
            ln_q: (1.0 - p).ln(),
        }
    }

    /// How many of `n` items are kept.
    #[inline]
    pub fn sample(&self, rng: &mut Stream, n: u32) -> u32 {
        let p = self.p;
        if p > 0.0 && p <= 0.5 && f64::from(n) * p < 10.0 {
            binomial_inversion(rng, n, p, self.ln_q)
        } else {
            binomial(rng, n, p)
        }
    }
}

/// Sequential search from zero (Kachitvichyanukul and Schmeiser's BINV), for n p < 10.
fn binomial_inversion(rng: &mut Stream, n: u32, p: f64, ln_q: f64) -> u32 {
    let q = 1.0 - p;
    let s = p / q;
    let a = f64::from(n + 1) * s;
    let mut r = (f64::from(n) * ln_q).exp();
    let mut u: f64 = rng.random();
    let mut x = 0u32;
    while u > r && x < n {
        u -= r;
        x += 1;
        r *= a / f64::from(x) - s;
    }
    x
}

fn clamp_u32(x: f64) -> u32 {
    if x >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        x as u32
    }
}

/// How many events (donations, patient requests) of one group happen in a period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CountDistribution {
    Poisson,
    /// The mean itself, stochastically rounded.
    Fixed,
}

/// A count process with a baseline mean per period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Count {
    pub distribution: CountDistribution,
    /// Mean per period before the period's multipliers.
    pub mean: f64,
    sqrt_mean: f64,
    ln_mean: f64,
}

/// A multiplier on baseline means (weekday, season, events, the period's shock) with its
/// square root and logarithm, computed once per period and process and shared by every
/// group's draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    factor: f64,
    sqrt: f64,
    ln: f64,
}

impl Scale {
    pub fn new(factor: f64) -> Scale {
        Scale {
            factor,
            sqrt: factor.sqrt(),
            ln: factor.ln(),
        }
    }
}

impl Count {
    pub fn new(distribution: CountDistribution, mean: f64) -> Count {
        Count {
            distribution,
            mean,
            sqrt_mean: mean.sqrt(),
            ln_mean: mean.ln(),
        }
    }

    /// Draw with the baseline mean scaled by `scale`.
    #[inline]
    pub fn sample(&self, rng: &mut Stream, scale: &Scale) -> u32 {
        let mean = self.mean * scale.factor;
        match self.distribution {
            CountDistribution::Poisson if mean >= 10.0 => poisson_ptrs(
                rng,
                mean,
                self.sqrt_mean * scale.sqrt,
                self.ln_mean + scale.ln,
            ),
            CountDistribution::Poisson => poisson(rng, mean),
            CountDistribution::Fixed => stochastic_round(rng, mean),
        }
    }
}

/// The multiplier a period's counts share across blood groups: 1, or for a negative-binomial
/// process a Gamma(shape, 1/shape) draw (mean 1), so that a period's turnout (weather, a
/// campaign, a busy night in the emergency department) moves every group together. Given
/// the shock, groups are independent Poisson counts: the period's total over groups is
/// negative binomial with this shape, and a day's total (independent periods, shape
/// dispersion x period fraction each) is negative binomial with the daily dispersion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shock {
    gamma: Option<Gamma<f64>>,
    shape: f64,
}

impl Shock {
    pub const NONE: Shock = Shock {
        gamma: None,
        shape: 1.0,
    };

    /// A Gamma(shape, 1/shape) shock; `shape` > 0 (none if it is not).
    pub fn gamma(shape: f64) -> Shock {
        match Gamma::new(shape, 1.0 / shape) {
            Ok(g) => Shock {
                gamma: Some(g),
                shape,
            },
            Err(_) => Shock::NONE,
        }
    }

    /// This period's multiplier (no draw when there is no shock).
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        self.gamma.map_or(1.0, |g| g.sample(rng))
    }
}

/// The period's scales of one site's count processes, in process order, into `scales`:
/// each the site's `factor` times the process's weekday multiplier and its shock (drawn
/// from the site's stream in that order).
///
/// `scales` holds the site's scales of its last period: a process whose multiplier is
/// unchanged (no shock, the same weekday and season) keeps its square root and logarithm,
/// the same values recomputed, without two libm calls per process and period.
pub fn period_scales<'a>(
    scales: &mut Vec<Scale>,
    rng: &mut Stream,
    factor: f64,
    processes: impl IntoIterator<Item = (&'a Shock, f64)>,
) {
    let mut count = 0;
    for (k, (shock, weekday)) in processes.into_iter().enumerate() {
        let f = factor * weekday * shock.sample(rng);
        match scales.get_mut(k) {
            // Bits, not `==`: -0.0 equals 0.0 but has another square root.
            Some(s) if s.factor.to_bits() == f.to_bits() => {}
            Some(s) => *s = Scale::new(f),
            None => scales.push(Scale::new(f)),
        }
        count = k + 1;
    }
    scales.truncate(count);
}

/// floor(x) plus one with probability frac(x): unbiased integer rounding.
pub fn stochastic_round(rng: &mut Stream, x: f64) -> u32 {
    if x <= 0.0 {
        return 0;
    }
    let whole = clamp_u32(x);
    // `x - whole` is frac(x) for x < 2^32; a cast, not libm's `floor` (a call without SSE4.1).
    let extra = u32::from(rng.random::<f64>() < x - f64::from(whole));
    whole.saturating_add(extra)
}

/// Distribution of units per patient request, tabulated once so a draw is one uniform and a
/// binary search.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeTable {
    /// Smallest size in the table (1 unless fixed).
    first: u32,
    /// `cdf[i]` = P(size <= first + i); the last entry is 1.
    cdf: Vec<f64>,
    mean: f64,
}

/// Sizes beyond this many units are not tabulated; a distribution needing more is rejected.
pub const MAX_REQUEST_UNITS: u32 = 2000;

impl SizeTable {
    pub fn fixed(units: u32) -> SizeTable {
        SizeTable {
            first: units,
            cdf: vec![1.0],
            mean: f64::from(units),
        }
    }

    /// Tabulates a probability mass function over sizes 1..; `pmf(k)` for k >= 1. The tail
    /// beyond the point where the CDF reaches 1 - 1e-12 is folded into the last size.
    pub fn from_pmf(pmf: impl Fn(u32) -> f64) -> Option<SizeTable> {
        let mut cdf = Vec::new();
        let mut acc = 0.0;
        let mut mean = 0.0;
        for k in 1..=MAX_REQUEST_UNITS {
            let p = pmf(k);
            acc += p;
            mean += p * f64::from(k);
            cdf.push(acc);
            if acc >= 1.0 - 1e-12 {
                let last = cdf.len() - 1;
                cdf[last] = 1.0;
                return Some(SizeTable {
                    first: 1,
                    cdf,
                    mean: mean + (1.0 - acc) * f64::from(k),
                });
            }
        }
        None
    }

    /// 1 + Poisson(mean - 1).
    pub fn shifted_poisson(mean: f64) -> Option<SizeTable> {
        let lambda = mean - 1.0;
        if lambda <= 0.0 {
            return Some(SizeTable::fixed(1));
        }
        Self::from_pmf(|k| poisson_pmf(lambda, k - 1))
    }

    /// 1 + NB with mean (mean - 1) and the given shape.
    pub fn shifted_negative_binomial(mean: f64, shape: f64) -> Option<SizeTable> {
        let m = mean - 1.0;
        if m <= 0.0 {
            return Some(SizeTable::fixed(1));
        }
        let p = shape / (shape + m);
        Self::from_pmf(|k| nb_pmf(shape, p, k - 1))
    }

    /// max(1, round(G)), G ~ Gamma with the given mean and coefficient of variation.
    pub fn rounded_gamma(mean: f64, cv: f64) -> Option<SizeTable> {
        let shape = 1.0 / (cv * cv);
        let scale = mean / shape;
        let cdf = |x: f64| {
            if x <= 0.0 {
                0.0
            } else {
                regularized_gamma_p(shape, x / scale)
            }
        };
        Self::from_pmf(|k| {
            if k == 1 {
                cdf(1.5)
            } else {
                cdf(f64::from(k) + 0.5) - cdf(f64::from(k) - 0.5)
            }
        })
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The largest size the table can draw.
    pub fn max(&self) -> u32 {
        self.first + self.cdf.len() as u32 - 1
    }

    pub fn is_fixed(&self) -> bool {
        self.cdf.len() == 1
    }

    pub fn sample(&self, rng: &mut Stream) -> u32 {
        if self.cdf.len() == 1 {
            return self.first;
        }
        let u: f64 = rng.random();
        let i = self
            .cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1);
        self.first + i as u32
    }
}

fn ln_factorial(k: u32) -> f64 {
    ln_factorial_f(f64::from(k))
}

/// ln(k!) for a whole number k >= 0: a table below 20, Stirling's series above (relative
/// error below 1e-15 there, one logarithm instead of Lanczos's sum of eight quotients).
fn ln_factorial_f(k: f64) -> f64 {
    const TABLE: [f64; 20] = [
        0.0,
        0.0,
        std::f64::consts::LN_2,
        1.791759469228055,
        3.1780538303479458,
        4.787491742782046,
        6.579251212010101,
        8.525161361065415,
        10.60460290274525,
        12.801827480081469,
        15.104412573075516,
        17.502307845873887,
        19.987214495661885,
        22.552163853123425,
        25.19122118273868,
        27.89927138384089,
        30.671860106080672,
        33.50507345013689,
        36.39544520803305,
        39.339884187199495,
    ];
    if k < 20.0 {
        return TABLE[k as usize];
    }
    if k < TABULATED as f64 {
        return LN_FACTORIAL[k as usize];
    }
    stirling_ln_factorial(k)
}

/// ln(k!) tabulated below this, from the same series: PTRS's slow path needs it for most
/// draws of a mean >= 10, and the series costs a logarithm.
const TABULATED: usize = 1024;

static LN_FACTORIAL: std::sync::LazyLock<[f64; TABULATED]> =
    std::sync::LazyLock::new(|| std::array::from_fn(|k| stirling_ln_factorial(k as f64)));

/// ln(k!) by Stirling's series, for k >= 20.
fn stirling_ln_factorial(k: f64) -> f64 {
    let n = k + 1.0;
    let r = 1.0 / n;
    let r2 = r * r;
    // ln Gamma(n) = (n - 1/2) ln n - n + ln(2 pi)/2 + 1/(12n) - 1/(360n^3) + 1/(1260n^5).
    (n - 0.5) * n.ln() - n
        + 0.918_938_533_204_672_8
        + r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 / 1260.0))
}

pub(crate) fn poisson_pmf(lambda: f64, k: u32) -> f64 {
    (f64::from(k) * lambda.ln() - lambda - ln_factorial(k)).exp()
}

fn nb_pmf(shape: f64, p: f64, k: u32) -> f64 {
    let kf = f64::from(k);
    (ln_gamma(kf + shape) - ln_gamma(shape) - ln_factorial(k)
        + shape * p.ln()
        + kf * (1.0 - p).ln())
    .exp()
}

/// Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = G
        .iter()
        .enumerate()
        .skip(1)
        .fold(G[0], |acc, (i, &g)| acc + g / (x + i as f64));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Regularized lower incomplete gamma P(a, x), by series or continued fraction.
fn regularized_gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let ln_prefix = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        (sum.ln() + ln_prefix).exp().min(1.0)
    } else {
        // Lentz's continued fraction for Q(a, x).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (1.0 - (ln_prefix.exp() * h)).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_streams_depend_on_seed_process_replication_and_period() {
        let draw =
            |seed, name: &str, rep, t| ProcessKey::new(seed, name, rep).stream(t).random::<u64>();
        let base = draw(1, "demand/a", 0, 0);
        assert_eq!(base, draw(1, "demand/a", 0, 0));
        for other in [
            draw(2, "demand/a", 0, 0),
            draw(1, "demand/b", 0, 0),
            draw(1, "demand/a", 1, 0),
            draw(1, "demand/a", 0, 1),
        ] {
            assert_ne!(base, other);
        }
    }

    /// The first uniform of 200,000 streams whose keys or periods differ by one step, in
    /// that order: uniform over 100 bins (chi-square at 0.1%) and uncorrelated with the
    /// next (lag-1 correlation within 4 standard errors, 1/sqrt(n)). Tests the seeding: a
    /// weak mix of nearby periods, replications, names or seeds would show here.
    fn assert_independent(what: &str, first_uniform: impl Fn(u64) -> f64) {
        let n = 200_000u64;
        let u: Vec<f64> = (0..n).map(first_uniform).collect();
        let bins: Vec<u32> = u.iter().map(|&x| (x * 100.0) as u32).collect();
        assert_fits(&bins, |k| if k < 100 { 0.01 } else { 0.0 }, what);
        assert_uncorrelated(
            &format!("{what}, lag 1"),
            u.windows(2).map(|w| (w[0], w[1])),
        );
    }

    /// The correlation of uniform pairs within 4 standard errors of zero (1/sqrt(n)).
    fn assert_uncorrelated(what: &str, pairs: impl Iterator<Item = (f64, f64)>) {
        let (mut sum, mut n) = (0.0, 0u32);
        for (a, b) in pairs {
            sum += (a - 0.5) * (b - 0.5);
            n += 1;
        }
        let r = sum / (f64::from(n) / 12.0);
        let bound = 4.0 / f64::from(n).sqrt();
        assert!(r.abs() < bound, "{what}: correlation {r} beyond {bound}");
    }

    #[test]
    fn nearby_streams_are_independent() {
        let key = ProcessKey::new(1, "demand/General hospital", 0);
        assert_independent("periods", |t| key.stream(t as u32).random());
        assert_independent("replications", |r| {
            ProcessKey::new(1, "demand/General hospital", r)
                .stream(0)
                .random()
        });
        assert_independent("names", |i| {
            ProcessKey::new(1, &format!("demand/site {i}"), 0)
                .stream(0)
                .random()
        });
        assert_independent("seeds", |seed| {
            ProcessKey::new(seed, "demand/General hospital", 0)
                .stream(0)
                .random()
        });
        // Two processes in the same period: their draws are uncorrelated across periods.
        let other = ProcessKey::new(1, "donations/General hospital", 0);
        let pairs = (0..200_000).map(|t| (key.stream(t).random(), other.stream(t).random()));
        assert_uncorrelated("same period", pairs);
    }

    #[test]
    fn streams_depend_on_seed_process_and_replication() {
        let draw = |seed, name: &str, rep| stream(seed, name, rep).random::<u64>();
        assert_eq!(draw(1, "demand/a", 3), draw(1, "demand/a", 3));
        assert_ne!(draw(1, "demand/a", 3), draw(1, "demand/a", 4));
        assert_ne!(draw(1, "demand/a", 3), draw(1, "demand/b", 3));
        assert_ne!(draw(1, "demand/a", 3), draw(2, "demand/a", 3));
    }

    /// Pearson chi-square of `draws` against `pmf`, bins merged until each expects >= 5;
    /// fails above the 0.1% critical value (Wilson-Hilferty approximation, z = 3.09).
    fn assert_fits(draws: &[u32], pmf: impl Fn(u32) -> f64, what: &str) {
        let n = draws.len() as f64;
        let max = *draws.iter().max().unwrap();
        let mut counts = vec![0u64; max as usize + 2];
        for &d in draws {
            counts[d as usize] += 1;
        }
        let (mut stat, mut bins) = (0.0, 0usize);
        let (mut obs, mut exp, mut tail) = (0.0, 0.0, 1.0);
        for (k, &c) in counts.iter().enumerate() {
            let p = pmf(k as u32);
            tail -= p;
            obs += c as f64;
            exp += n * p;
            let last = k + 1 == counts.len();
            if (exp >= 5.0 && n * tail >= 5.0) || last {
                if last {
                    exp += n * tail.max(0.0);
                }
                stat += (obs - exp).powi(2) / exp;
                bins += 1;
                (obs, exp) = (0.0, 0.0);
            }
        }
        let df = (bins - 1) as f64;
        let h = 2.0 / (9.0 * df);
        let critical = df * (1.0 - h + 3.09 * h.sqrt()).powi(3);
        assert!(
            stat < critical,
            "{what}: chi2 {stat:.1} on {df} df > {critical:.1}"
        );
    }

    fn binomial_pmf(n: u32, p: f64, k: u32) -> f64 {
        if k > n {
            return 0.0;
        }
        (ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
            + f64::from(k) * p.ln()
            + f64::from(n - k) * (1.0 - p).ln())
        .exp()
    }

    /// Draws per tested rate: the speed issue's standard for any change of generator or
    /// sampler (a million draws against the exact pmf, fixed seed). At 0.1% per test a
    /// sampler off by a relative 1% in one bin's probability of 5% (a 0.05% shift) still
    /// passes, but off by 1% in a bin of 20% fails: chi2 adds (0.002 x 1e6)^2 / 2e5 = 20.
    const GOF_DRAWS: usize = 1_000_000;

    /// Every Poisson branch (the no-`exp` shortcut, inversion, PTRS's quick and slow
    /// acceptance) against the exact pmf, with a fixed seed: directly and through the
    /// scaled path (square root and logarithm from the `Scale`).
    #[test]
    fn poisson_draws_fit_the_exact_distribution() {
        for (i, mean) in [0.05, 0.7, 3.0, 9.99, 10.0, 27.5, 160.0, 3000.0]
            .into_iter()
            .enumerate()
        {
            let mut rng = stream(100 + i as u64, "poisson", 0);
            let draws: Vec<u32> = (0..GOF_DRAWS).map(|_| poisson(&mut rng, mean)).collect();
            assert_fits(
                &draws,
                |k| poisson_pmf(mean, k),
                &format!("Poisson({mean})"),
            );
            let count = Count::new(CountDistribution::Poisson, mean / 2.0);
            let draws: Vec<u32> = (0..GOF_DRAWS)
                .map(|_| count.sample(&mut rng, &Scale::new(2.0)))
                .collect();
            assert_fits(
                &draws,
                |k| poisson_pmf(mean, k),
                &format!("scaled Poisson({mean})"),
            );
        }
    }

    /// Inversion (small n p, and p > 1/2 by symmetry) and the BTPE fallback, exact pmf.
    #[test]
    fn binomial_draws_fit_the_exact_distribution() {
        for (i, (n, p)) in [(300u32, 0.02), (40, 0.1), (50, 0.7), (1000, 0.3), (5, 0.5)]
            .into_iter()
            .enumerate()
        {
            let mut rng = stream(200 + i as u64, "binomial", 0);
            let thinning = Thinning::new(p);
            let draws: Vec<u32> = (0..GOF_DRAWS)
                .map(|_| thinning.sample(&mut rng, n))
                .collect();
            assert_fits(&draws, |k| binomial_pmf(n, p, k), &format!("Bin({n}, {p})"));
        }
    }

    /// A group's count under a Gamma(shape, 1/shape) turnout shock (rand_distr's Gamma, then
    /// our Poisson) against the negative binomial pmf it must have.
    #[test]
    fn shocked_counts_fit_the_negative_binomial() {
        for (i, (mean, shape)) in [(0.4, 2.0), (6.0, 0.5), (40.0, 8.0)]
            .into_iter()
            .enumerate()
        {
            let mut rng = stream(300 + i as u64, "shock", 0);
            let shock = Shock::gamma(shape);
            let count = Count::new(CountDistribution::Poisson, mean);
            let draws: Vec<u32> = (0..GOF_DRAWS)
                .map(|_| {
                    let scale = Scale::new(shock.sample(&mut rng));
                    count.sample(&mut rng, &scale)
                })
                .collect();
            let p = shape / (shape + mean);
            assert_fits(
                &draws,
                |k| nb_pmf(shape, p, k),
                &format!("NB(mean {mean}, shape {shape})"),
            );
        }
    }

    /// Request sizes: each table's draws against the law it tabulates (1 + Poisson,
    /// 1 + negative binomial, rounded Gamma), over sizes from 1.
    #[test]
    fn size_draws_fit_their_distributions() {
        let gamma_cdf = |shape: f64, scale: f64, x: f64| regularized_gamma_p(shape, x / scale);
        let (mean, cv) = (10.0, 0.8);
        let (shape, scale) = (1.0 / (cv * cv), mean * cv * cv);
        let rounded_gamma = move |k: u32| {
            let upper = gamma_cdf(shape, scale, f64::from(k) + 0.5);
            if k == 1 {
                upper
            } else {
                upper - gamma_cdf(shape, scale, f64::from(k) - 0.5)
            }
        };
        let nb_p = 0.8 / (0.8 + 3.0);
        let check = |seed: u64, table: SizeTable, pmf: &dyn Fn(u32) -> f64, what: &str| {
            let mut rng = stream(seed, "sizes", 0);
            // Shifted to start at zero, as `assert_fits` counts.
            let draws: Vec<u32> = (0..GOF_DRAWS).map(|_| table.sample(&mut rng) - 1).collect();
            assert_fits(&draws, |k| pmf(k + 1), what);
        };
        check(
            400,
            SizeTable::shifted_poisson(3.0).unwrap(),
            &|k| poisson_pmf(2.0, k - 1),
            "1 + Poisson(2)",
        );
        check(
            401,
            SizeTable::shifted_negative_binomial(4.0, 0.8).unwrap(),
            &|k| nb_pmf(0.8, nb_p, k - 1),
            "1 + NB(mean 3, shape 0.8)",
        );
        check(
            402,
            SizeTable::rounded_gamma(mean, cv).unwrap(),
            &rounded_gamma,
            "rounded Gamma(mean 10, cv 0.8)",
        );
    }

    #[test]
    fn ln_factorial_table_and_series_match_lanczos() {
        for k in 0..200u32 {
            let lanczos = ln_gamma(f64::from(k) + 1.0);
            let ours = ln_factorial(k);
            assert!(
                (ours - lanczos).abs() <= 1e-12 * lanczos.max(1.0),
                "{k}: {ours} vs {lanczos}"
            );
        }
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        for (n, fact) in [(1u32, 1.0f64), (5, 24.0), (11, 3_628_800.0)] {
            assert!((ln_gamma(f64::from(n)) - fact.ln()).abs() < 1e-12);
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn incomplete_gamma_matches_exponential_cdf() {
        for x in [0.1, 1.0, 2.5, 10.0] {
            assert!((regularized_gamma_p(1.0, x) - (1.0 - (-x).exp())).abs() < 1e-12);
        }
    }

    #[test]
    fn size_tables_have_the_requested_mean() {
        let cases = [
            SizeTable::shifted_poisson(3.0).unwrap(),
            SizeTable::shifted_negative_binomial(4.0, 0.8).unwrap(),
            SizeTable::rounded_gamma(8.0, 0.5).unwrap(),
        ];
        for (table, mean) in cases.iter().zip([3.0, 4.0, 8.0]) {
            assert!(
                (table.mean() - mean).abs() < 0.02,
                "{} vs {mean}",
                table.mean()
            );
        }
        assert_eq!(SizeTable::fixed(4).mean(), 4.0);
    }

    /// Sample mean of 20,000 draws within 4 standard errors of the table mean.
    #[test]
    fn size_samples_agree_with_table() {
        let table = SizeTable::rounded_gamma(6.0, 0.8).unwrap();
        let mut rng = stream(7, "test", 0);
        let n = 20_000;
        let draws: Vec<f64> = (0..n).map(|_| f64::from(table.sample(&mut rng))).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let se = (var / n as f64).sqrt();
        assert!(
            (mean - table.mean()).abs() < 4.0 * se,
            "{mean} vs {}",
            table.mean()
        );
        assert!(draws.iter().all(|&d| d >= 1.0));
    }

    /// A Poisson count under a Gamma shock is negative binomial: mean and variance within 4
    /// standard errors (the variance's SE from the fourth moment estimate), over the total
    /// of two groups sharing the shock.
    #[test]
    fn shocked_groups_total_negative_binomial() {
        let (mean, shape) = (12.0, 3.0);
        let mut rng = stream(11, "nb", 0);
        let shock = Shock::gamma(shape);
        let groups = [0.3, 0.7].map(|s| Count::new(CountDistribution::Poisson, mean * s));
        let n = 40_000;
        let xs: Vec<f64> = (0..n)
            .map(|_| {
                let scale = Scale::new(shock.sample(&mut rng));
                f64::from(
                    groups
                        .iter()
                        .map(|c| c.sample(&mut rng, &scale))
                        .sum::<u32>(),
                )
            })
            .collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        let m4 = xs.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n as f64;
        let se_mean = (v / n as f64).sqrt();
        let se_var = ((m4 - v * v) / n as f64).sqrt();
        assert!((m - mean).abs() < 4.0 * se_mean, "{m} vs {mean}");
        let expected_var = mean + mean * mean / shape;
        assert!(
            (v - expected_var).abs() < 4.0 * se_var,
            "{v} vs {expected_var}"
        );
    }

    #[test]
    fn kept_scales_equal_recomputed_ones() {
        let bits = |s: &Scale| [s.factor, s.sqrt, s.ln].map(f64::to_bits);
        let (none, shocked) = (Shock::NONE, Shock::gamma(5.0));
        // Repeats (kept), changes, a zero of either sign (another square root), NaN, and a
        // process count that shrinks and grows.
        let periods: [&[f64]; 7] = [
            &[1.0, 1.2],
            &[1.0, 1.2],
            &[0.0, 1.2, 0.8],
            &[-0.0, 1.2, 0.8],
            &[f64::NAN, 1.2],
            &[f64::NAN, 1.2, 0.8],
            &[0.5],
        ];
        let (mut kept, mut kept_rng, mut fresh_rng) =
            (Vec::new(), stream(1, "scales", 0), stream(1, "scales", 0));
        for weekdays in periods {
            let processes = || {
                weekdays
                    .iter()
                    .enumerate()
                    .map(|(k, &w)| (if k == 1 { &shocked } else { &none }, w))
            };
            period_scales(&mut kept, &mut kept_rng, 0.9, processes());
            let mut fresh = Vec::new();
            period_scales(&mut fresh, &mut fresh_rng, 0.9, processes());
            assert_eq!(kept.len(), fresh.len());
            for (a, b) in kept.iter().zip(&fresh) {
                assert_eq!(bits(a), bits(b), "weekday multipliers {weekdays:?}");
            }
            assert_eq!(kept_rng.words(), fresh_rng.words());
        }
    }

    #[test]
    fn stochastic_round_is_unbiased() {
        let mut rng = stream(3, "round", 0);
        let n = 40_000;
        let total: u64 = (0..n)
            .map(|_| u64::from(stochastic_round(&mut rng, 2.3)))
            .sum();
        let mean = total as f64 / n as f64;
        // Bernoulli(0.3) part: SE = sqrt(0.21 / n).
        assert!((mean - 2.3).abs() < 4.0 * (0.21f64 / n as f64).sqrt());
    }
}
