//! The last minutes of the series, as aligned intervals: every `interval_ms` the
//! sampler hands in the running totals and the gauges of the moment; the history
//! keeps what changed since the previous sample (sparse bucket counts) in a ring of
//! fixed length. Memory is bounded by intervals × series × non-empty buckets.
//!
//! Must not: read the clock (the sampler passes the interval's start) or do IO.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::histogram::{delta, Sparse, BUCKETS};
use super::series::{Key, Totals};
use crate::domain::Millis;

/// What happened in one interval on one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Start of the interval (a multiple of the interval length, epoch ms).
    pub start_ms: Millis,
    pub latencies: Vec<(Key, Sparse)>,
    pub requests: u64,
    pub errors: u64,
    /// Values at the end of the interval (connections, watched sessions, …).
    pub gauges: Vec<(String, f64)>,
}

/// One instance's figures, as its region's peers ask for them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub region: String,
    pub instance: String,
    pub interval_ms: u64,
    pub intervals: Vec<Interval>,
}

pub struct History {
    interval_ms: u64,
    keep: usize,
    last: Option<Totals>,
    ring: VecDeque<Interval>,
}

impl History {
    /// Keeps `keep_ms` of history in intervals of `interval_ms`.
    pub fn new(interval_ms: u64, keep_ms: u64) -> Self {
        let interval_ms = interval_ms.max(100);
        let keep = (keep_ms / interval_ms).max(1) as usize;
        History {
            interval_ms,
            keep,
            last: None,
            ring: VecDeque::with_capacity(keep),
        }
    }

    pub fn interval_ms(&self) -> u64 {
        self.interval_ms
    }

    /// The start of the interval containing `t`.
    pub fn align(&self, t: Millis) -> Millis {
        t - t.rem_euclid(self.interval_ms as Millis)
    }

    /// Records the interval starting at `start_ms` that ends with `now` totals. The
    /// first call only sets the baseline.
    pub fn sample(&mut self, start_ms: Millis, now: Totals, gauges: Vec<(String, f64)>) {
        let Some(before) = self.last.replace(now.clone()) else {
            return;
        };
        let zero = [0u64; BUCKETS];
        let latencies = now
            .latencies
            .iter()
            .filter_map(|(key, totals)| {
                let prev = before
                    .latencies
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or(&zero, |(_, t)| t);
                let d = delta(totals, prev);
                (!d.is_empty()).then(|| (key.clone(), d))
            })
            .collect();
        if self.ring.len() == self.keep {
            self.ring.pop_front();
        }
        self.ring.push_back(Interval {
            start_ms,
            latencies,
            requests: now.requests.saturating_sub(before.requests),
            errors: now.errors.saturating_sub(before.errors),
            gauges,
        });
    }

    pub fn intervals(&self) -> Vec<Interval> {
        self.ring.iter().cloned().collect()
    }

    /// An estimate of the heap bytes held (for the dashboard's cost figure).
    pub fn heap_bytes(&self) -> usize {
        self.ring
            .iter()
            .map(|i| {
                std::mem::size_of::<Interval>()
                    + i.latencies
                        .iter()
                        .map(|((_, l), s)| 48 + l.len() + s.len() * 8)
                        .sum::<usize>()
                    + i.gauges.iter().map(|(n, _)| 32 + n.len()).sum::<usize>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::series::{Measure, Series};

    #[test]
    fn keeps_deltas_of_aligned_intervals_in_a_bounded_ring() {
        let s = Series::default();
        let mut h = History::new(1_000, 3_000);
        assert_eq!(h.align(12_345), 12_000);
        h.sample(0, s.totals(), vec![]);
        for i in 1..=5 {
            s.record(Measure::Switch, None, 2.0);
            s.request(i == 5);
            h.sample(
                i * 1_000,
                s.totals(),
                vec![("connections".into(), i as f64)],
            );
        }
        let iv = h.intervals();
        assert_eq!(iv.len(), 3);
        assert_eq!(iv[0].start_ms, 3_000);
        let last = iv.last().unwrap();
        assert_eq!((last.requests, last.errors), (1, 1));
        assert_eq!(last.latencies.len(), 1, "only the series that moved");
        assert_eq!(last.latencies[0].1.iter().map(|(_, n)| *n).sum::<u32>(), 1);
        assert!(h.heap_bytes() > 0);
    }
}
