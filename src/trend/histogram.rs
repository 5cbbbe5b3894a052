//! A lock-free latency histogram with fixed log-scale buckets: recording is one
//! atomic add; percentiles come from bucket counts (a bucket spans ×1.25, reported at
//! its geometric middle: within ±12 %, from 0.05 ms to about a minute), and counts of
//! several histograms add up exactly.
//!
//! Must not: allocate on record.

use std::sync::atomic::{AtomicU64, Ordering};

pub const BUCKETS: usize = 64;
/// The upper bound of bucket 0, in milliseconds.
const FIRST_MS: f64 = 0.05;
/// Each bucket's upper bound is this many times the previous one's.
const RATIO: f64 = 1.25;

/// The bucket a value in milliseconds falls into.
pub fn bucket_of(ms: f64) -> usize {
    if ms.is_nan() || ms <= FIRST_MS {
        return 0; // also negative values
    }
    let i = ((ms / FIRST_MS).ln() / RATIO.ln()).ceil();
    (i as usize).min(BUCKETS - 1)
}

/// The upper bound of a bucket, in milliseconds.
pub fn bucket_value(i: usize) -> f64 {
    FIRST_MS * RATIO.powi(i as i32)
}

/// The value a bucket stands for: its geometric middle (half its bound for bucket 0).
pub fn bucket_mid(i: usize) -> f64 {
    if i == 0 {
        FIRST_MS / 2.0
    } else {
        bucket_value(i) / RATIO.sqrt()
    }
}

pub struct Histogram {
    counts: [AtomicU64; BUCKETS],
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Histogram {
    pub fn record(&self, ms: f64) {
        self.counts[bucket_of(ms)].fetch_add(1, Ordering::Relaxed);
    }

    /// The running totals per bucket.
    pub fn totals(&self) -> [u64; BUCKETS] {
        std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed))
    }
}

/// Sparse bucket counts: `(bucket, count)` for the non-empty buckets, ascending.
pub type Sparse = Vec<(u8, u32)>;

/// What was recorded between two `totals()` readings, sparse.
pub fn delta(now: &[u64; BUCKETS], before: &[u64; BUCKETS]) -> Sparse {
    (0..BUCKETS)
        .filter_map(|i| {
            let d = now[i].saturating_sub(before[i]);
            (d > 0).then(|| (i as u8, u32::try_from(d).unwrap_or(u32::MAX)))
        })
        .collect()
}

/// Adds sparse counts into dense ones.
pub fn add_into(dense: &mut [u64; BUCKETS], sparse: &Sparse) {
    for &(i, n) in sparse {
        if let Some(slot) = dense.get_mut(i as usize) {
            *slot += u64::from(n);
        }
    }
}

/// The value below which `q` (0..=1) of the counted values fall; `None` when empty.
pub fn quantile(dense: &[u64; BUCKETS], q: f64) -> Option<f64> {
    let total: u64 = dense.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (i, &n) in dense.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(bucket_mid(i));
        }
    }
    Some(bucket_mid(BUCKETS - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_with_bounded_error() {
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(-3.0), 0);
        assert_eq!(bucket_of(f64::NAN), 0);
        assert_eq!(bucket_of(1e9), BUCKETS - 1);
        for v in [0.3, 1.0, 2.5, 17.0, 140.0, 5_000.0] {
            let b = bucket_value(bucket_of(v));
            assert!(b >= v && b < v * RATIO * 1.0001, "{v} -> {b}");
        }
    }

    #[test]
    fn quantiles_of_merged_counts() {
        let (a, b) = (Histogram::default(), Histogram::default());
        for _ in 0..98 {
            a.record(1.0);
        }
        b.record(100.0);
        b.record(100.0);
        let zero = [0u64; BUCKETS];
        let mut merged = [0u64; BUCKETS];
        add_into(&mut merged, &delta(&a.totals(), &zero));
        add_into(&mut merged, &delta(&b.totals(), &zero));
        let p50 = quantile(&merged, 0.5).unwrap();
        let p99 = quantile(&merged, 0.99).unwrap();
        assert!((0.88..1.12).contains(&p50), "{p50}");
        assert!((88.0..112.0).contains(&p99), "{p99}");
        assert_eq!(quantile(&zero, 0.5), None);
    }
}
