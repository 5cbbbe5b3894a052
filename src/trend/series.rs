//! The series the dashboard shows, recorded from the same places as the Prometheus
//! metrics (`crate::metrics` calls in here): client round-trip time, switch latency,
//! deadline lateness, forwarded-write latency per home region, relay lag per home
//! region, plus request and 5xx counts. One process-wide registry, like the metrics
//! recorder.
//!
//! Must not: grow without bound (labelled series are capped) or block a recorder
//! beyond a read lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use serde::{Deserialize, Serialize};

use super::histogram::{Histogram, BUCKETS};

/// What a latency series measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Measure {
    /// WebSocket protocol ping → pong, per client connection.
    ClientRtt,
    /// A switch request, in to answered.
    Switch,
    /// A deadline's event applied after its instant.
    DeadlineLateness,
    /// A write sent to its home region, per home.
    Forward,
    /// A commit at a home applied here, per home.
    RelayLag,
}

impl Measure {
    pub fn name(self) -> &'static str {
        match self {
            Measure::ClientRtt => "client_rtt_ms",
            Measure::Switch => "switch_ms",
            Measure::DeadlineLateness => "deadline_lateness_ms",
            Measure::Forward => "forward_ms",
            Measure::RelayLag => "relay_lag_ms",
        }
    }
}

/// A series: its kind and, for per-region kinds, the region.
pub type Key = (Measure, String);

/// At most this many labelled series (regions × kinds); later labels are dropped.
const MAX_LABELLED: usize = 64;

#[derive(Default)]
pub struct Series {
    plain: [Histogram; 3],
    labelled: RwLock<HashMap<Key, Arc<Histogram>>>,
    requests: AtomicU64,
    errors: AtomicU64,
}

/// Running totals of every series at one moment.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub latencies: Vec<(Key, [u64; BUCKETS])>,
    pub requests: u64,
    pub errors: u64,
}

static GLOBAL: OnceLock<Series> = OnceLock::new();

/// The process-wide series.
pub fn global() -> &'static Series {
    GLOBAL.get_or_init(Series::default)
}

impl Series {
    pub fn record(&self, kind: Measure, label: Option<&str>, ms: f64) {
        let plain = match kind {
            Measure::ClientRtt => Some(0),
            Measure::Switch => Some(1),
            Measure::DeadlineLateness => Some(2),
            Measure::Forward | Measure::RelayLag => None,
        };
        if let Some(i) = plain {
            self.plain[i].record(ms);
            return;
        }
        let key = (kind, label.unwrap_or("").to_owned());
        if let Some(h) = self.read().get(&key) {
            h.record(ms);
            return;
        }
        let mut map = self.labelled.write().unwrap_or_else(|e| e.into_inner());
        if map.len() < MAX_LABELLED || map.contains_key(&key) {
            map.entry(key).or_default().record(ms);
        }
    }

    /// One request answered; `server_error` for a 5xx or a failed command.
    pub fn request(&self, server_error: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if server_error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Key, Arc<Histogram>>> {
        self.labelled.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn totals(&self) -> Totals {
        let mut latencies: Vec<(Key, [u64; BUCKETS])> = [
            Measure::ClientRtt,
            Measure::Switch,
            Measure::DeadlineLateness,
        ]
        .into_iter()
        .zip(&self.plain)
        .map(|(k, h)| ((k, String::new()), h.totals()))
        .collect();
        latencies.extend(self.read().iter().map(|(k, h)| (k.clone(), h.totals())));
        latencies.sort_by(|a, b| a.0.cmp(&b.0));
        Totals {
            latencies,
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_series_are_kept_apart_and_capped() {
        let s = Series::default();
        s.record(Measure::Switch, None, 2.0);
        s.record(Measure::Forward, Some("iad"), 80.0);
        s.record(Measure::Forward, Some("nrt"), 160.0);
        for i in 0..200 {
            s.record(Measure::RelayLag, Some(&format!("r{i}")), 1.0);
        }
        s.request(false);
        s.request(true);
        let t = s.totals();
        assert_eq!(t.latencies.len(), 3 + MAX_LABELLED);
        assert_eq!((t.requests, t.errors), (2, 1));
        let fwd: Vec<_> = t
            .latencies
            .iter()
            .filter(|((k, _), _)| *k == Measure::Forward)
            .map(|((_, l), c)| (l.clone(), c.iter().sum::<u64>()))
            .collect();
        assert_eq!(fwd, vec![("iad".into(), 1), ("nrt".into(), 1)]);
    }
}
