//! NTP-style estimation of the offset between our monotonic clock and another clock
//! (the region's Redis, a peer region's authoritative time) from request/answer
//! exchanges. Pure arithmetic on microseconds: no clock reads, no IO.
//!
//! An exchange sent when our clock read `t0` and answered when it read `t3`, in which
//! the other clock read `remote` (± `remote_error`), proves that the offset
//! θ = other − ours lies in `[remote − remote_error − t3, remote + remote_error − t0]`:
//! an interval as wide as the round trip plus the other side's own uncertainty. The
//! estimate intersects the kept intervals (each widened by `drift_ppm` per µs of age,
//! since the two clocks may run at slightly different rates): its midpoint is the
//! offset, its half-width the error bound. Low-round-trip exchanges dominate; several
//! together can be tighter than the best one alone. When an older interval
//! contradicts newer ones (a clock stepped), the older ones are dropped.
//!
//! The same algorithm as the JS client's `ClockSync` (clients/js/src/clock.ts).

/// One request/answer exchange; every value in µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// Our clock when the request left.
    pub t0: i64,
    /// Our clock when the answer arrived.
    pub t3: i64,
    /// The other clock, read while the request was being served.
    pub remote: i64,
    /// The other side's own uncertainty about `remote` (its resolution included).
    pub remote_error: i64,
}

/// The offset of the other clock at a given instant of ours; every value in µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// other clock − our clock.
    pub offset: i64,
    /// The true offset was within `offset ± bound` at `at`.
    pub bound: i64,
    /// Our clock when the estimate was made.
    pub at: i64,
    /// Lowest round trip among the kept exchanges.
    pub round_trip: i64,
    /// Exchanges accepted so far.
    pub samples: u64,
    /// Widening per µs of age, in parts per million.
    pub drift_ppm: u32,
}

impl Estimate {
    /// The bound at our clock's `now`: widened by the drift since the estimate.
    pub fn bound_at(&self, now: i64) -> i64 {
        self.bound + widening(now - self.at, self.drift_ppm)
    }
}

fn widening(age: i64, drift_ppm: u32) -> i64 {
    // Rounded up: a bound never understates.
    (age.max(0) * drift_ppm as i64 + 999_999) / 1_000_000
}

#[derive(Clone, Copy, Debug)]
pub struct EstimatorConfig {
    /// Exchanges kept (the widest are evicted first).
    pub max_samples: usize,
    /// Exchanges older than this (µs) are dropped.
    pub max_age: i64,
    /// Assumed worst rate difference between the two clocks.
    pub drift_ppm: u32,
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        EstimatorConfig {
            max_samples: 16,
            max_age: 300_000_000,
            drift_ppm: 50,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Interval {
    lo: i64,
    hi: i64,
    at: i64,
    round_trip: i64,
}

#[derive(Debug)]
pub struct Estimator {
    cfg: EstimatorConfig,
    kept: Vec<Interval>,
    accepted: u64,
}

impl Estimator {
    pub fn new(cfg: EstimatorConfig) -> Self {
        Estimator {
            cfg,
            kept: Vec::new(),
            accepted: 0,
        }
    }

    /// Adds an exchange; `false` (ignored) when it is impossible (answer before request,
    /// a negative error).
    pub fn add(&mut self, x: Exchange) -> bool {
        if x.t3 < x.t0 || x.remote_error < 0 {
            return false;
        }
        self.kept.push(Interval {
            lo: x.remote - x.remote_error - x.t3,
            hi: x.remote + x.remote_error - x.t0,
            at: x.t3,
            round_trip: x.t3 - x.t0,
        });
        self.accepted += 1;
        self.prune(x.t3);
        true
    }

    /// The estimate at our clock's `now`, `None` before the first exchange (or when all
    /// are too old).
    pub fn estimate(&mut self, now: i64) -> Option<Estimate> {
        self.prune(now);
        if self.kept.is_empty() {
            return None;
        }
        let (lo, hi) = self.intersect(now);
        Some(Estimate {
            offset: lo + (hi - lo) / 2,
            bound: (hi - lo + 1) / 2,
            at: now,
            round_trip: self.kept.iter().map(|k| k.round_trip).min().unwrap_or(0),
            samples: self.accepted,
            drift_ppm: self.cfg.drift_ppm,
        })
    }

    fn widen(&self, k: &Interval, now: i64) -> (i64, i64) {
        let w = widening(now - k.at, self.cfg.drift_ppm);
        (k.lo - w, k.hi + w)
    }

    /// Intersection of the kept intervals at `now`, newest first; an older interval that
    /// would empty it contradicts newer evidence and is dropped with all older ones.
    fn intersect(&mut self, now: i64) -> (i64, i64) {
        self.kept.sort_by_key(|k| std::cmp::Reverse(k.at));
        let mut acc = self.widen(&self.kept[0], now);
        let mut keep = 1;
        while keep < self.kept.len() {
            let (lo, hi) = self.widen(&self.kept[keep], now);
            let (lo, hi) = (acc.0.max(lo), acc.1.min(hi));
            if lo > hi {
                break;
            }
            acc = (lo, hi);
            keep += 1;
        }
        self.kept.truncate(keep);
        acc
    }

    fn prune(&mut self, now: i64) {
        let max_age = self.cfg.max_age;
        self.kept.retain(|k| now - k.at <= max_age);
        while self.kept.len() > self.cfg.max_samples.max(1) {
            let widest = self
                .kept
                .iter()
                .enumerate()
                .max_by_key(|(_, k)| {
                    let (lo, hi) = self.widen(k, now);
                    hi - lo
                })
                .map_or(0, |(i, _)| i);
            self.kept.swap_remove(widest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(t0: i64, t3: i64, remote: i64) -> Exchange {
        Exchange {
            t0,
            t3,
            remote,
            remote_error: 0,
        }
    }

    #[test]
    fn one_exchange_gives_half_the_round_trip() {
        let mut e = Estimator::new(EstimatorConfig::default());
        // Other clock 5 s ahead; 200 µs round trip, answered in the middle.
        assert!(e.add(x(1_000, 1_200, 5_001_100)));
        let est = e.estimate(1_200).unwrap();
        assert_eq!(est.offset, 5_000_000);
        assert_eq!(est.bound, 100);
        assert_eq!(est.round_trip, 200);
    }

    #[test]
    fn the_remote_error_widens_the_interval() {
        let mut e = Estimator::new(EstimatorConfig::default());
        e.add(Exchange {
            t0: 0,
            t3: 100,
            remote: 50,
            remote_error: 30,
        });
        assert_eq!(e.estimate(100).unwrap().bound, 80);
    }

    #[test]
    fn tight_exchanges_dominate_and_intersections_narrow() {
        let mut e = Estimator::new(EstimatorConfig::default());
        e.add(x(0, 10_000, 5_000)); // wide: offset in [-5000, 5000]
        e.add(x(20_000, 20_100, 20_020)); // tight: [-80, 20]
        e.add(x(30_000, 30_100, 30_080)); // tight: [-20, 80]
        let est = e.estimate(30_100).unwrap();
        assert!(est.bound <= 23, "{est:?}");
        assert!(est.offset.abs() <= 23, "{est:?}");
    }

    #[test]
    fn bounds_widen_with_age() {
        let mut e = Estimator::new(EstimatorConfig::default());
        e.add(x(0, 100, 50));
        let est = e.estimate(100).unwrap();
        // 50 ppm over 10 s = 500 µs.
        assert_eq!(est.bound_at(10_000_100), est.bound + 500);
    }

    #[test]
    fn a_stepped_clock_drops_the_older_evidence() {
        let mut e = Estimator::new(EstimatorConfig::default());
        e.add(x(0, 100, 50));
        e.add(x(1_000, 1_100, 1_050 + 2_000_000));
        let est = e.estimate(1_100).unwrap();
        assert!((est.offset - 2_000_000).abs() <= 50, "{est:?}");
    }

    #[test]
    fn impossible_exchanges_are_ignored_and_old_ones_expire() {
        let mut e = Estimator::new(EstimatorConfig {
            max_age: 1_000,
            ..EstimatorConfig::default()
        });
        assert!(!e.add(x(100, 50, 0)));
        assert!(e.estimate(0).is_none());
        e.add(x(0, 10, 5));
        assert!(e.estimate(500).is_some());
        assert!(e.estimate(2_000).is_none());
    }

    #[test]
    fn the_widest_are_evicted_beyond_the_cap() {
        let mut e = Estimator::new(EstimatorConfig {
            max_samples: 2,
            ..EstimatorConfig::default()
        });
        e.add(x(0, 100, 50));
        e.add(x(200, 10_200, 5_200));
        e.add(x(20_000, 20_100, 20_050));
        let est = e.estimate(20_100).unwrap();
        assert_eq!(est.round_trip, 100);
        assert!(est.bound <= 50);
    }
}
