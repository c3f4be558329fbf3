//! Integer histograms of non-negative counts, with a layout fixed before the run, so that
//! their memory does not depend on the number of replications and partial histograms
//! (threads, later shards) merge by adding counts.
//!
//! Values below [`EXACT_BELOW`] get a bucket each; above, buckets keep 10 significant bits
//! (relative width 1/512, under 0.2%). Each histogram (a *window*) has a core of one bin
//! per bucket, set from a pilot sample of values with a margin, and [`TAIL_BINS`] bins on
//! each side whose widths double away from the core (1, 2, 4, ... buckets; the last is
//! open). A quantile that falls in the core, or in a tail bin of one bucket, is the same as
//! from an unbounded histogram; one in a wider tail bin is that bin's floor, and is flagged.
//!
//! Why not windows that widen to every value seen: they span the sample range, which keeps
//! widening as replications accumulate (korea-baseline: +16% of the aggregate's memory from
//! 1,000 to 10,000 replications). The quantiles reported (P5 to P95) settle instead, so a
//! core set from a pilot holds them, in fixed memory.

/// Values below this are stored exactly.
pub const EXACT_BELOW: u64 = 1024;
const SUB_BUCKETS: u64 = 512;
/// log2(EXACT_BELOW).
const EXACT_BITS: u64 = 10;
/// Bins on each side of a window's core: 1, 2-3, 4-7, 8-15, 16-31 and 32 or more buckets
/// away from it.
pub const TAIL_BINS: u32 = 6;

/// Bucket index of a value.
pub fn bucket(value: u64) -> u32 {
    if value < EXACT_BELOW {
        return value as u32;
    }
    let exponent = 63 - u64::from(value.leading_zeros()); // >= EXACT_BITS
    let mantissa = value >> (exponent - (EXACT_BITS - 1)); // in [SUB_BUCKETS, 2 SUB_BUCKETS)
    (EXACT_BELOW + (exponent - EXACT_BITS) * SUB_BUCKETS + (mantissa - SUB_BUCKETS)) as u32
}

/// Smallest value in a bucket.
pub fn bucket_floor(bucket: u32) -> u64 {
    let b = u64::from(bucket);
    if b < EXACT_BELOW {
        return b;
    }
    let exponent = (b - EXACT_BELOW) / SUB_BUCKETS + EXACT_BITS;
    let mantissa = (b - EXACT_BELOW) % SUB_BUCKETS + SUB_BUCKETS;
    mantissa << (exponent - (EXACT_BITS - 1))
}

/// floor(log2(d)) for d >= 1.
fn log2(d: u32) -> u32 {
    31 - d.leading_zeros()
}

/// The bins of one histogram: where they start in the shared counts, its core (first and
/// last bucket) and how many tail bins lie below the core (fewer than [`TAIL_BINS`] when
/// the core starts near zero; always [`TAIL_BINS`] above).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    start: usize,
    low: u32,
    high: u32,
    below: u32,
}

impl Window {
    fn len(&self) -> usize {
        (self.below + (self.high - self.low + 1) + TAIL_BINS) as usize
    }

    /// Bin of bucket `b`, counted from the window's first bin.
    #[inline]
    fn bin(&self, b: u32) -> usize {
        let core = self.high - self.low + 1;
        let j = if b < self.low {
            let k = log2(self.low - b).min(self.below - 1);
            self.below - 1 - k
        } else if b <= self.high {
            self.below + (b - self.low)
        } else {
            self.below + core + log2(b - self.high).min(TAIL_BINS - 1)
        };
        j as usize
    }

    /// First and last bucket of bin `j` (the last is `u32::MAX` for the open top bin).
    fn buckets(&self, j: u32) -> (u32, u32) {
        let core = self.high - self.low + 1;
        if j < self.below {
            let k = self.below - 1 - j;
            let far = if k == TAIL_BINS - 1 {
                self.low
            } else {
                ((1u32 << (k + 1)) - 1).min(self.low)
            };
            (self.low - far, self.low - (1 << k))
        } else if j < self.below + core {
            let b = self.low + (j - self.below);
            (b, b)
        } else {
            let k = j - self.below - core;
            let last = if k == TAIL_BINS - 1 {
                u32::MAX
            } else {
                self.high.saturating_add((1 << (k + 1)) - 1)
            };
            (self.high.saturating_add(1 << k), last)
        }
    }
}

/// The layout of every histogram of a run: a window per (period, series), back to back in
/// one array of counts, in that order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Binning {
    windows: Vec<Window>,
    bins: usize,
}

impl Binning {
    /// Windows whose cores cover the pilot's bucket ranges (`(min, max)`; `min > max` when
    /// there was no value), widened by half the range plus four buckets on each side.
    pub fn around(ranges: &[(u32, u32)]) -> Binning {
        let mut bins = 0;
        let windows = ranges
            .iter()
            .map(|&(min, max)| {
                let (min, max) = if min > max { (0, 0) } else { (min, max) };
                let margin = (max - min) / 2 + 4;
                let low = min.saturating_sub(margin);
                let high = max.saturating_add(margin).min(u32::MAX - 1);
                let below = if low == 0 {
                    0
                } else {
                    (log2(low) + 1).min(TAIL_BINS)
                };
                let w = Window {
                    start: bins,
                    low,
                    high,
                    below,
                };
                bins += w.len();
                w
            })
            .collect();
        Binning { windows, bins }
    }

    /// Bins in all windows together.
    pub fn bins(&self) -> usize {
        self.bins
    }

    pub fn windows(&self) -> usize {
        self.windows.len()
    }

    /// Where in the shared counts bucket `b` of window `w` is counted.
    #[inline]
    pub fn bin(&self, w: usize, b: u32) -> usize {
        let window = &self.windows[w];
        window.start + window.bin(b)
    }

    /// Window `w`'s histogram, out of the shared `counts`.
    pub fn histogram<'a>(&self, w: usize, counts: &'a Counts) -> Histogram<'a> {
        let window = self.windows[w];
        let bins = window.start..window.start + window.len();
        let carries = &counts.carries;
        let from = carries.partition_point(|&c| c < bins.start);
        let to = carries.partition_point(|&c| c < bins.end);
        Histogram {
            window,
            low: &counts.low[bins],
            carries: &carries[from..to],
        }
    }
}

/// The counts of every bin of a run's histograms: 16 bits each (half the memory of 32 bits),
/// with each wrap past 65,535 noted as a carry, so that every count is exact whatever the
/// number of replications while the memory is fixed (a carry is one per 65,536 values).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    low: Vec<u16>,
    /// Bins that wrapped, once per wrap; sorted (after [`Counts::settle`]).
    carries: Vec<usize>,
}

impl Counts {
    pub fn new(bins: usize) -> Counts {
        Counts {
            low: vec![0; bins],
            carries: Vec::new(),
        }
    }

    #[inline]
    pub fn add_one(&mut self, bin: usize) {
        let c = self.low[bin].wrapping_add(1);
        self.low[bin] = c;
        if c == 0 {
            self.carries.push(bin);
        }
    }

    /// Adds every count of `other` (the same layout).
    /// In parallel by blocks of bins (a national run has some fifty million).
    pub fn merge(&mut self, other: &Counts) {
        use rayon::prelude::*;
        const BLOCK: usize = 1 << 16;
        assert_eq!(self.low.len(), other.low.len(), "counts of one layout");
        let wraps: Vec<Vec<usize>> = self
            .low
            .par_chunks_mut(BLOCK)
            .zip(other.low.par_chunks(BLOCK))
            .enumerate()
            .map(|(k, (mine, theirs))| {
                let mut wrapped = Vec::new();
                for (j, (a, &b)) in mine.iter_mut().zip(theirs).enumerate() {
                    let (sum, wrap) = a.overflowing_add(b);
                    *a = sum;
                    if wrap {
                        wrapped.push(k * BLOCK + j);
                    }
                }
                wrapped
            })
            .collect();
        self.carries.extend(wraps.into_iter().flatten());
        self.carries.extend_from_slice(&other.carries);
        self.settle();
    }

    /// Sorts the carries, for reading and comparing.
    pub fn settle(&mut self) {
        self.carries.sort_unstable();
    }
}

/// A percentile read from a histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantile {
    pub value: u64,
    /// Whether the bin held a single bucket (see the module documentation).
    pub exact: bool,
}

/// One window's counts, read-only.
#[derive(Debug, Clone, Copy)]
pub struct Histogram<'a> {
    window: Window,
    /// Counts modulo 65,536, by bin.
    low: &'a [u16],
    /// Absolute bins of this window that wrapped, sorted, once per wrap.
    carries: &'a [usize],
}

impl Histogram<'_> {
    /// Counts by bin.
    fn counts(&self) -> impl Iterator<Item = u64> + '_ {
        let mut carries = self.carries.iter().peekable();
        self.low.iter().enumerate().map(move |(j, &c)| {
            let mut count = u64::from(c);
            while carries
                .next_if(|&&bin| bin == self.window.start + j)
                .is_some()
            {
                count += 1 << 16;
            }
            count
        })
    }

    pub fn total(&self) -> u64 {
        let wraps = self.carries.len() as u64;
        self.low.iter().map(|&c| u64::from(c)).sum::<u64>() + (wraps << 16)
    }

    /// The `q` quantile (0 < q <= 1) as the floor of the bucket holding the k-th smallest
    /// value, k = ceil(q n) (the inverse of the empirical CDF); in a tail bin wider than
    /// a bucket, the bin's floor, not exact. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Quantile> {
        self.quantiles([q])[0]
    }

    /// Several quantiles (ascending) in one walk over the bins.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [Option<Quantile>; N] {
        let mut out = [None; N];
        let n = self.total();
        if n == 0 {
            return out;
        }
        let ranks = qs.map(|q| ((q * n as f64).ceil() as u64).clamp(1, n));
        debug_assert!(ranks.is_sorted(), "quantiles in ascending order");
        let (mut next, mut seen) = (0, 0u64);
        for (j, c) in self.counts().enumerate() {
            seen += c;
            while next < N && ranks[next] <= seen {
                let (first, last) = self.window.buckets(j as u32);
                out[next] = Some(Quantile {
                    value: bucket_floor(first),
                    exact: first == last,
                });
                next += 1;
            }
            if next == N {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_below_1024_and_relative_above() {
        for v in 0..EXACT_BELOW {
            assert_eq!(bucket_floor(bucket(v)), v);
        }
        for v in [1024u64, 1025, 5000, 12_345, 1 << 20, u64::from(u32::MAX)] {
            let floor = bucket_floor(bucket(v));
            assert!(
                floor <= v && (v - floor) as f64 / v as f64 <= 1.0 / 512.0,
                "{v} -> {floor}"
            );
            assert_eq!(bucket(floor), bucket(v));
        }
        // Buckets are ordered like values.
        assert!((0..5000u64).all(|v| bucket(v) <= bucket(v + 1)));
    }

    /// Every bucket falls in exactly the bin whose bucket range holds it, bins follow the
    /// order of buckets, and each bin's range is exactly the buckets mapped to it: the
    /// bins partition all buckets, for cores near zero, mid-range and wide.
    #[test]
    fn bins_partition_the_buckets_in_order() {
        for (min, max) in [(0, 0), (1, 1), (3, 9), (40, 41), (100, 400), (5000, 5003)] {
            let binning = Binning::around(&[(min, max)]);
            let w = binning.windows[0];
            assert_eq!(binning.bins(), w.len());
            let top = w.high + (1 << TAIL_BINS) + 50;
            let mut previous = 0;
            let mut seen = vec![(u32::MAX, 0u32); w.len()];
            for b in 0..=top {
                let j = w.bin(b);
                assert!(j < w.len() && j >= previous, "({min},{max}) bucket {b}");
                previous = j;
                let (first, last) = w.buckets(j as u32);
                assert!(first <= b && b <= last, "bucket {b} not in bin {j}");
                seen[j] = (seen[j].0.min(b), seen[j].1.max(b));
            }
            for (j, &(first, last)) in seen.iter().enumerate() {
                let (f, l) = w.buckets(j as u32);
                let top_bin = j == w.len() - 1;
                assert_eq!(first, f, "({min},{max}) bin {j}");
                assert!(l == last || (top_bin && l == u32::MAX), "bin {j}");
            }
            // The pilot's range and a margin are in the core.
            assert!(w.low <= min.saturating_sub(2) && w.high >= max + 2);
        }
    }

    /// A window with a core around the pilot and `values` counted in it.
    fn filled(pilot: (u32, u32), values: impl IntoIterator<Item = u64>) -> (Binning, Counts) {
        let binning = Binning::around(&[pilot]);
        let mut counts = Counts::new(binning.bins());
        for v in values {
            counts.add_one(binning.bin(0, bucket(v)));
        }
        counts.settle();
        (binning, counts)
    }

    /// The q quantile as defined: the floor of the bucket of the k-th smallest value.
    fn order_statistic(values: &[u64], q: f64) -> u64 {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let k = ((q * sorted.len() as f64).ceil() as usize).max(1);
        bucket_floor(bucket(sorted[k - 1]))
    }

    /// Quantiles of 1..=100 inside the core are the order statistics of the inverse CDF.
    #[test]
    fn quantiles_of_a_known_sample() {
        let (binning, counts) = filled((1, 100), (1..=100u64).rev());
        let h = binning.histogram(0, &counts);
        let exact = |value| Some(Quantile { value, exact: true });
        assert_eq!(h.quantile(0.05), exact(5));
        assert_eq!(h.quantile(0.5), exact(50));
        assert_eq!(h.quantile(0.95), exact(95));
        assert_eq!(h.quantile(1.0), exact(100));
        assert_eq!(
            binning
                .histogram(0, &Counts::new(binning.bins()))
                .quantile(0.5),
            None
        );
    }

    /// Median of a uniform sample on 0..=255 within its binomial standard error.
    #[test]
    fn quantiles_agree_with_a_known_distribution() {
        let mut rng = crate::random::stream(5, "hist", 0);
        use rand::RngExt;
        let n = 20_000;
        let (binning, counts) = filled((0, 255), (0..n).map(|_| rng.random_range(0..256u64)));
        // P(X <= m) for the sample median m is 0.5 +- 4 * sqrt(0.25 / n) ~ 0.014 -> +- 4 values.
        let m = binning.histogram(0, &counts).quantile(0.5).unwrap();
        assert!(m.exact);
        assert!(
            (m.value as f64 - 127.5).abs() <= 0.014 * 256.0 + 1.0,
            "median {m:?}"
        );
    }

    /// A pilot that missed where the values went: every quantile is still the floor of a
    /// bin holding the true order statistic, exact when that bin is one bucket, flagged
    /// otherwise; large values (log buckets) included.
    #[test]
    fn quantiles_outside_the_pilot_are_floors_of_their_bins() {
        for (pilot, spread, offset) in [
            ((50, 60), 400u64, 0u64),
            ((0, 0), 90, 3),
            ((1500, 1510), 9000, 200),
        ] {
            let values: Vec<u64> = (0..997u64).map(|i| offset + (i * 7919) % spread).collect();
            let (binning, counts) = filled(pilot, values.iter().copied());
            let h = binning.histogram(0, &counts);
            let mut inexact = 0;
            for q in [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0] {
                let truth = order_statistic(&values, q);
                let got = h.quantile(q).unwrap();
                let (first, last) =
                    binning.windows[0].buckets(binning.windows[0].bin(bucket(truth)) as u32);
                assert_eq!(got.value, bucket_floor(first), "q {q}");
                assert_eq!(got.exact, first == last);
                if got.exact {
                    assert_eq!(got.value, truth);
                }
                inexact += usize::from(!got.exact);
            }
            assert!(inexact > 0, "the case must reach the wide tail bins");
        }
    }

    /// Counts stay exact past 16 bits, added one by one or merged, in either order: a bin
    /// holding 200,000 values (three wraps) among others.
    #[test]
    fn counts_carry_past_16_bits() {
        let binning = Binning::around(&[(0, 10), (5, 5)]);
        let fill = |values: std::ops::Range<u64>| {
            let mut c = Counts::new(binning.bins());
            for v in values {
                // Window 0: 7 most of the time; window 1: spread.
                c.add_one(binning.bin(0, bucket(if v % 10 == 0 { v % 11 } else { 7 })));
                c.add_one(binning.bin(1, bucket(v % 9)));
            }
            c.settle();
            c
        };
        let whole = fill(0..200_000);
        let (mut ab, b) = (fill(0..70_000), fill(70_000..200_000));
        let mut ba = b.clone();
        ba.merge(&ab);
        ab.merge(&b);
        assert_eq!(ab, whole);
        assert_eq!(ba, whole);
        let h = binning.histogram(0, &whole);
        assert_eq!(h.total(), 200_000);
        assert_eq!(h.quantile(0.5).map(|q| q.value), Some(7));
        // 180,000 sevens: ranks 18,001..=198,000 of the sorted values (18,000 are below).
        let below = (0..200_000u64)
            .filter(|v| v % 10 == 0 && v % 11 < 7)
            .count() as f64;
        assert_eq!(
            h.quantile((below + 1.0) / 200_000.0).map(|q| q.value),
            Some(7)
        );
        assert_eq!(binning.histogram(1, &whole).total(), 200_000);
    }
}
