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

/// Counts over a window of buckets that grows as values arrive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    first: u32,
    counts: Vec<u32>,
}

impl Histogram {
    #[inline]
    pub fn add(&mut self, value: u64) {
        let b = bucket(value);
        self.cover(b, b);
        self.counts[(b - self.first) as usize] += 1;
    }

    /// Adds several values, growing the window at most once per 64.
    pub fn add_all(&mut self, values: &[u32]) {
        for chunk in values.chunks(64) {
            let mut buckets = [0u32; 64];
            let buckets = &mut buckets[..chunk.len()];
            let (mut low, mut high) = (u32::MAX, 0);
            for (b, &v) in buckets.iter_mut().zip(chunk) {
                *b = bucket(u64::from(v));
                low = low.min(*b);
                high = high.max(*b);
            }
            self.cover(low, high);
            for &b in buckets.iter() {
                self.counts[(b - self.first) as usize] += 1;
            }
        }
    }

    /// Grows the window to include buckets `low..=high`.
    #[inline]
    fn cover(&mut self, low: u32, high: u32) {
        if self.counts.is_empty() {
            self.first = low;
            self.counts.resize((high - low) as usize + 1, 0);
            return;
        }
        if low < self.first {
            let grow = (self.first - low) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.first = low;
        }
        if (high - self.first) as usize >= self.counts.len() {
            self.counts.resize((high - self.first) as usize + 1, 0);
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (i, &c) in other.counts.iter().enumerate() {
            if c > 0 {
                let value = bucket_floor(other.first + i as u32);
                self.add(value);
                let b = (bucket(value) - self.first) as usize;
                self.counts[b] += c - 1;
            }
        }
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

    /// Quantiles of 1..=100 stored exactly are the order statistics of the inverse CDF.
    #[test]
    fn quantiles_of_a_known_sample() {
        let mut h = Histogram::default();
        for v in (1..=100u64).rev() {
            h.add(v);
        }
        assert_eq!(h.quantile(0.05), Some(5));
        assert_eq!(h.quantile(0.5), Some(50));
        assert_eq!(h.quantile(0.95), Some(95));
        assert_eq!(h.quantile(1.0), Some(100));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    /// Median of a uniform sample on 0..=255 within its binomial standard error.
    #[test]
    fn quantiles_agree_with_a_known_distribution() {
        let mut h = Histogram::default();
        let mut rng = crate::random::stream(5, "hist", 0);
        use rand::RngExt;
        let n = 20_000;
        for _ in 0..n {
            h.add(rng.random_range(0..256u64));
        }
        // P(X <= m) for the sample median m is 0.5 +- 4 * sqrt(0.25 / n) ~ 0.014 -> +- 4 values.
        let m = h.quantile(0.5).unwrap() as f64;
        assert!((m - 127.5).abs() <= 0.014 * 256.0 + 1.0, "median {m}");
    }

    #[test]
    fn merging_in_any_order_gives_the_same_histogram() {
        let values: Vec<u64> = (0..500).map(|i| (i * 7919) % 3000).collect();
        let mut whole = Histogram::default();
        values.iter().for_each(|&v| whole.add(v));
        let (mut a, mut b) = (Histogram::default(), Histogram::default());
        values[..200].iter().for_each(|&v| a.add(v));
        values[200..].iter().for_each(|&v| b.add(v));
        let mut ab = a.clone();
        ab.merge(&b);
        // Adding a batch at once is the same as adding one by one.
        let mut batched = Histogram::default();
        let small: Vec<u32> = values.iter().map(|&v| v as u32).collect();
        batched.add_all(&small[..250]);
        batched.add_all(&small[250..]);
        assert_eq!(batched, whole);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, whole);
        assert_eq!(ba, whole);
    }
}
