//! Interleaving for `--compare`: time is cut into fixed slices that go to the
//! targets in turn (A, B, A, B…), so both servers see the same machine noise.
//! With one target every slice belongs to it.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct Slices {
    pub start: Instant,
    pub slice: Duration,
    pub targets: usize,
}

impl Slices {
    pub fn new(start: Instant, slice: Duration, targets: usize) -> Self {
        Slices {
            start,
            slice: slice.max(Duration::from_millis(10)),
            targets: targets.max(1),
        }
    }

    /// The target that owns instant `t` (instants before the start belong to target 0).
    pub fn target_at(&self, t: Instant) -> usize {
        let since = t.saturating_duration_since(self.start);
        ((since.as_nanos() / self.slice.as_nanos()) % self.targets as u128) as usize
    }

    /// Seconds each target owned within the first `total` of the run.
    pub fn owned_secs(&self, total: Duration) -> Vec<f64> {
        let mut out = vec![0.0; self.targets];
        let full = total.as_nanos() / self.slice.as_nanos();
        for i in 0..full {
            out[(i % self.targets as u128) as usize] += self.slice.as_secs_f64();
        }
        let rest = total.as_nanos() - full * self.slice.as_nanos();
        out[(full % self.targets as u128) as usize] += rest as f64 / 1e9;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternates_and_accounts() {
        let t0 = Instant::now();
        let s = Slices::new(t0, Duration::from_millis(100), 2);
        assert_eq!(s.target_at(t0), 0);
        assert_eq!(s.target_at(t0 + Duration::from_millis(150)), 1);
        assert_eq!(s.target_at(t0 + Duration::from_millis(250)), 0);
        let o = s.owned_secs(Duration::from_millis(1050));
        assert!((o[0] - 0.55).abs() < 1e-9 && (o[1] - 0.5).abs() < 1e-9);
        let one = Slices::new(t0, Duration::from_millis(100), 1);
        assert_eq!(one.target_at(t0 + Duration::from_millis(150)), 0);
    }
}
