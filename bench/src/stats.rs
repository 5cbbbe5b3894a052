//! Statistics: µs-resolution HDR latency recording, error counting by kind, and
//! the serialisable summaries (percentiles, spectrum, per-second timeline) that
//! reports are built from.

use anyhow::Error;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Highest latency a histogram keeps (larger values saturate): 5 minutes in µs.
const MAX_US: u64 = 300_000_000;

/// A fresh µs histogram, 3 significant digits.
pub fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds")
}

/// Latencies and error counts gathered by one worker (merged at the end).
pub struct Recorder {
    pub hist: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            hist: new_hist(),
            errors: BTreeMap::new(),
        }
    }
}

impl Recorder {
    /// Records one latency in µs (0 is recorded as 1 µs; too large saturates).
    pub fn record_us(&mut self, us: u64) {
        self.hist.saturating_record(us.max(1));
    }

    /// Counts one error of the given kind.
    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_insert(0) += 1;
    }

    /// Folds another recorder into this one.
    pub fn merge(&mut self, other: &Recorder) {
        self.hist.add(&other.hist).expect("same histogram bounds");
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_insert(0) += v;
        }
    }

    pub fn ok(&self) -> u64 {
        self.hist.len()
    }
}

/// Error kind for an HTTP status that is not a success: `409 CONFLICT`, `429 …`.
pub fn status_kind(status: u16, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Env {
        error: Code,
    }
    #[derive(Deserialize)]
    struct Code {
        code: String,
    }
    match serde_json::from_slice::<Env>(body) {
        Ok(e) => format!("{status} {}", e.error.code),
        Err(_) => format!("{status}"),
    }
}

/// Error kind for a transport failure: `timeout`, `connect`, `io`.
pub fn io_kind(e: &Error) -> String {
    if e.downcast_ref::<crate::http::Timeout>().is_some() {
        "timeout".into()
    } else if format!("{e:#}").contains("connecting") {
        "connect".into()
    } else {
        "io".into()
    }
}

/// Percentile summary of one latency series, in µs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_us: f64,
    pub min_us: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

/// One named latency series of a target (e.g. "switch", "fan-out (commit→ws)").
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub summary: LatencySummary,
    /// (percentile 0..100, latency µs) points for the percentile plot.
    pub spectrum: Vec<(f64, u64)>,
}

impl Series {
    /// Summarises a histogram (empty histograms give zeros and no spectrum).
    pub fn from_hist(name: &str, h: &Histogram<u64>) -> Series {
        if h.is_empty() {
            return Series {
                name: name.into(),
                summary: LatencySummary::default(),
                spectrum: vec![],
            };
        }
        let summary = LatencySummary {
            count: h.len(),
            mean_us: h.mean(),
            min_us: h.min(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        };
        let mut spectrum: Vec<(f64, u64)> = h
            .iter_quantiles(2)
            .map(|v| (v.quantile_iterated_to() * 100.0, v.value_iterated_to()))
            .collect();
        if spectrum.len() > 400 {
            let step = spectrum.len() / 400 + 1;
            let last = *spectrum.last().expect("non-empty");
            spectrum = spectrum.into_iter().step_by(step).collect();
            spectrum.push(last);
        }
        Series {
            name: name.into(),
            summary,
            spectrum,
        }
    }
}

/// Requests completed and worst latency during one second of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub second: u32,
    pub count: u64,
    pub max_us: u64,
}

/// Per-second counters shared by the workers of one target (lock-free).
pub struct Timeline {
    counts: Vec<std::sync::atomic::AtomicU64>,
    maxes: Vec<std::sync::atomic::AtomicU64>,
}

impl Timeline {
    pub fn new(seconds: usize) -> Self {
        let mk = || {
            (0..seconds + 2)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect()
        };
        Timeline {
            counts: mk(),
            maxes: mk(),
        }
    }

    /// Counts one completion `at_s` seconds into the run with latency `us`.
    pub fn record(&self, at_s: usize, us: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        if let (Some(c), Some(m)) = (self.counts.get(at_s), self.maxes.get(at_s)) {
            c.fetch_add(1, Relaxed);
            m.fetch_max(us, Relaxed);
        }
    }

    /// The seconds that saw at least one completion.
    pub fn points(&self) -> Vec<TimelinePoint> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut v: Vec<TimelinePoint> = self
            .counts
            .iter()
            .zip(&self.maxes)
            .enumerate()
            .map(|(i, (c, m))| TimelinePoint {
                second: i as u32,
                count: c.load(Relaxed),
                max_us: m.load(Relaxed),
            })
            .collect();
        while v.last().is_some_and(|p| p.count == 0) {
            v.pop();
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_merge() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for i in 1..=1000 {
            a.record_us(i);
        }
        b.record_us(1_000_000);
        b.error("409 CONFLICT");
        a.merge(&b);
        let s = Series::from_hist("x", &a.hist);
        assert_eq!(s.summary.count, 1001);
        assert!((495..=505).contains(&s.summary.p50_us));
        assert!(s.summary.max_us >= 999_000);
        assert_eq!(a.errors["409 CONFLICT"], 1);
        assert!(!s.spectrum.is_empty() && s.spectrum.len() <= 402);
    }

    #[test]
    fn error_kinds() {
        let body = br#"{"error":{"code":"CONFLICT","message":"x"}}"#;
        assert_eq!(status_kind(409, body), "409 CONFLICT");
        assert_eq!(status_kind(502, b"<html>"), "502");
    }
}
