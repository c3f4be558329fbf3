//! Integer histograms of non-negative counts, mergeable exactly in any order.
//!
//! Values below [`EXACT_BELOW`] get a bucket each; above, buckets keep 10 significant bits
//! (relative width 1/512, under 0.2%). Counts are integers, so merging partial histograms
//! from any number of threads or shards gives the same histogram, and the same quantiles.

/// Values below this are stored exactly.
pub const EXACT_BELOW: u64 = 1024;
const SUB_BUCKETS: u64 = 512;
/// log2(EXACT_BELOW).
const EXACT_BITS: u64 = 10;

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

/// Bucket counts over a window starting at bucket `first`: one histogram, read-only.
#[derive(Debug, Clone, Copy)]
pub struct Counts<'a> {
    first: u32,
    counts: &'a [u32],
}

impl<'a> Counts<'a> {
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// The `q` quantile (0 < q <= 1) as the floor of the bucket holding the k-th smallest
    /// value, k = ceil(q n) (the inverse of the empirical CDF). `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let n = self.total();
        if n == 0 {
            return None;
        }
        let k = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= k {
                return Some(bucket_floor(self.first + i as u32));
            }
        }
        None
    }

    /// The counts without leading and trailing empty buckets, and the first bucket of that
    /// range: equal for equal distributions whatever the window.
    pub fn trimmed(&self) -> (u32, &'a [u32]) {
        let start = self.counts.iter().position(|&c| c > 0).unwrap_or(0);
        let end = self
            .counts
            .iter()
            .rposition(|&c| c > 0)
            .map_or(start, |e| e + 1);
        (self.first + start as u32, &self.counts[start..end])
    }
}

/// Many histograms (one period's series) stored back to back in one array, in series
/// order, so that adding a batch of values to each in turn walks memory forwards.
///
/// When a window must grow, the whole block is rebuilt once, with a margin of 1/16 of the
/// window's width (at least 2 buckets) on the side that grew, so that later extremes
/// rarely force another rebuild.
#[derive(Debug, Clone, Default)]
pub struct HistogramBlock {
    /// First bucket of each window.
    first: Vec<u32>,
    /// Start of each window in `counts`; one more entry than windows.
    start: Vec<usize>,
    counts: Vec<u32>,
}

impl HistogramBlock {
    pub fn new(windows: usize) -> HistogramBlock {
        HistogramBlock {
            first: vec![0; windows],
            start: vec![0; windows + 1],
            counts: Vec::new(),
        }
    }

    pub fn view(&self, i: usize) -> Counts<'_> {
        Counts {
            first: self.first[i],
            counts: &self.counts[self.start[i]..self.start[i + 1]],
        }
    }

    fn covers(&self, i: usize, low: u32, high: u32) -> bool {
        let len = self.start[i + 1] - self.start[i];
        low > high || (len > 0 && low >= self.first[i] && ((high - self.first[i]) as usize) < len)
    }

    /// Makes window `i` cover buckets `ranges[i]` (`(low, high)`; `low > high` for
    /// nothing), rebuilding the block once if any window must grow.
    pub fn cover(&mut self, ranges: &[(u32, u32)]) {
        if ranges
            .iter()
            .enumerate()
            .all(|(i, &(low, high))| self.covers(i, low, high))
        {
            return;
        }
        let n = self.first.len();
        let mut first = Vec::with_capacity(n);
        let mut start = Vec::with_capacity(n + 1);
        let mut total = 0usize;
        for (i, &(low, high)) in ranges.iter().enumerate() {
            let len = self.start[i + 1] - self.start[i];
            let (mut a, mut b) = if len > 0 {
                (self.first[i], self.first[i] + len as u32 - 1)
            } else {
                (low, high)
            };
            if low <= high && !self.covers(i, low, high) {
                let margin = ((high.max(b) - low.min(a)) / 16).max(2);
                if low < a {
                    a = low.saturating_sub(margin);
                }
                if high > b || len == 0 {
                    b = high.max(b).saturating_add(margin);
                }
            }
            let width = if len == 0 && low > high {
                0
            } else {
                (b - a) as usize + 1
            };
            first.push(a);
            start.push(total);
            total += width;
        }
        start.push(total);
        // Grow in place (windows only widen, so each moves right): from the last window to
        // the first, move its counts to their new place and zero the rest of it. No second
        // copy of the block is allocated.
        self.counts.reserve_exact(total - self.counts.len());
        self.counts.resize(total, 0);
        for i in (0..n).rev() {
            let (from, len) = (self.start[i], self.start[i + 1] - self.start[i]);
            let at = start[i] + (self.first[i].saturating_sub(first[i])) as usize;
            let at = if len == 0 { start[i] } else { at };
            self.counts.copy_within(from..from + len, at);
            self.counts[start[i]..at].fill(0);
            self.counts[at + len..start[i + 1]].fill(0);
        }
        (self.first, self.start) = (first, start);
    }

    /// Counts one value in bucket `b` of window `i` (which must cover it).
    #[inline]
    pub fn add(&mut self, i: usize, b: u32, count: u32) {
        self.counts[self.start[i] + (b - self.first[i]) as usize] += count;
    }

    /// Adds every count of `other` (same number of windows).
    pub fn merge(&mut self, other: &HistogramBlock) {
        let ranges: Vec<(u32, u32)> = (0..other.first.len())
            .map(|i| {
                let (first, counts) = other.view(i).trimmed();
                if counts.is_empty() {
                    (1, 0)
                } else {
                    (first, first + counts.len() as u32 - 1)
                }
            })
            .collect();
        self.cover(&ranges);
        for i in 0..other.first.len() {
            let (first, counts) = other.view(i).trimmed();
            for (k, &c) in counts.iter().enumerate() {
                if c > 0 {
                    self.add(i, first + k as u32, c);
                }
            }
        }
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

    /// One window holding `values`, added one at a time.
    fn single(values: impl IntoIterator<Item = u64>) -> HistogramBlock {
        let mut block = HistogramBlock::new(1);
        for v in values {
            block.cover(&[(bucket(v), bucket(v))]);
            block.add(0, bucket(v), 1);
        }
        block
    }

    /// The q quantile as defined: the floor of the bucket of the k-th smallest value.
    fn order_statistic(values: &[u64], q: f64) -> Option<u64> {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let k = ((q * sorted.len() as f64).ceil() as usize).max(1);
        sorted.get(k - 1).map(|&v| bucket_floor(bucket(v)))
    }

    /// Quantiles of 1..=100 stored exactly are the order statistics of the inverse CDF.
    #[test]
    fn quantiles_of_a_known_sample() {
        let h = single((1..=100u64).rev());
        assert_eq!(h.view(0).quantile(0.05), Some(5));
        assert_eq!(h.view(0).quantile(0.5), Some(50));
        assert_eq!(h.view(0).quantile(0.95), Some(95));
        assert_eq!(h.view(0).quantile(1.0), Some(100));
        assert_eq!(HistogramBlock::new(1).view(0).quantile(0.5), None);
    }

    /// Median of a uniform sample on 0..=255 within its binomial standard error.
    #[test]
    fn quantiles_agree_with_a_known_distribution() {
        let mut rng = crate::random::stream(5, "hist", 0);
        use rand::RngExt;
        let n = 20_000;
        let h = single((0..n).map(|_| rng.random_range(0..256u64)));
        // P(X <= m) for the sample median m is 0.5 +- 4 * sqrt(0.25 / n) ~ 0.014 -> +- 4 values.
        let m = h.view(0).quantile(0.5).unwrap() as f64;
        assert!((m - 127.5).abs() <= 0.014 * 256.0 + 1.0, "median {m}");
    }

    /// A block of windows grown in batches and merged holds the same distributions as
    /// the values themselves (order statistics), and as the block filled in one go.
    #[test]
    fn blocks_match_plain_histograms() {
        let series = 5;
        let value =
            |i: usize, r: usize| ((i * 397 + r * 7919) % (300 + 500 * i)) as u64 + 40 * i as u64;
        let fill = |reps: std::ops::Range<usize>| {
            let mut block = HistogramBlock::new(series);
            for batch in reps.collect::<Vec<_>>().chunks(7) {
                let ranges: Vec<(u32, u32)> = (0..series)
                    .map(|i| {
                        let bs = batch.iter().map(|&r| bucket(value(i, r)));
                        (bs.clone().min().unwrap(), bs.max().unwrap())
                    })
                    .collect();
                block.cover(&ranges);
                for i in 0..series {
                    for &r in batch {
                        block.add(i, bucket(value(i, r)), 1);
                    }
                }
            }
            block
        };
        let mut merged = fill(0..40);
        merged.merge(&fill(40..100));
        let whole = fill(0..100);
        for i in 0..series {
            let values: Vec<u64> = (0..100).map(|r| value(i, r)).collect();
            assert_eq!(
                whole.view(i).trimmed(),
                merged.view(i).trimmed(),
                "series {i}"
            );
            assert_eq!(merged.view(i).total(), 100);
            for q in [0.05, 0.25, 0.5, 0.75, 0.95] {
                assert_eq!(merged.view(i).quantile(q), order_statistic(&values, q));
            }
        }
    }

    #[test]
    fn merging_in_any_order_gives_the_same_histogram() {
        let values: Vec<u64> = (0..500).map(|i| (i * 7919) % 3000).collect();
        let whole = single(values.iter().copied());
        let a = single(values[..200].iter().copied());
        let b = single(values[200..].iter().copied());
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab.view(0).trimmed(), whole.view(0).trimmed());
        assert_eq!(ba.view(0).trimmed(), whole.view(0).trimmed());
    }
}
