//! Prometheus metrics: every metric name in one place (`names.rs`), the helpers that
//! record them (`record.rs`), and here the recorder and the text exposition for
//! `/metrics`. Every series carries a `region` label.
//!
//! The v2 series keep their names and labels (CONTRACT.md §2.3.7); new ones follow
//! the same `synckairos_` prefix. Must not: be read on a hot path (recording is cheap
//! and lock-free per series; rendering happens only on scrape).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

mod names;
mod record;

pub use names::*;
pub use record::*;

use names::{Kind, HELP, ZEROED, ZEROED_LABELLED};

const HTTP_BUCKETS: &[f64] = &[
    0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
];
const SWITCH_BUCKETS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 25.0, 50.0];
const RELAY_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 150.0, 250.0, 500.0, 1000.0,
];
const LATENESS_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 500.0, 1000.0];
const LAG_BUCKETS: &[f64] = &[
    1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 150.0, 250.0, 500.0, 1000.0,
];
const RTT_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 150.0, 250.0, 500.0, 1000.0, 2500.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once; later calls (more servers in one test
/// process) reuse it, and the first region label wins.
pub fn install(region: &str) -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .add_global_label("region", region)
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), HTTP_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(SWITCH_DURATION.into()), SWITCH_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(DEADLINE_LATENESS.into()),
                        LATENESS_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(RELAY_LATENCY.into()), RELAY_BUCKETS)
                })
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(WS_RTT.into()), RTT_BUCKETS))
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(FORWARD_DURATION.into()), RELAY_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(LAG_CREDITED.into()), LAG_BUCKETS)
                });
            match builder.and_then(|b| b.install_recorder()) {
                Ok(h) => {
                    describe();
                    h
                }
                // Another recorder is installed (a test harness): keep a private one
                // so /metrics still renders.
                Err(_) => PrometheusBuilder::new()
                    .add_global_label("region", region)
                    .build_recorder()
                    .handle(),
            }
        })
        .clone()
}

/// Gives every metric its `# HELP` line and registers the zeroed counters.
fn describe() {
    for &(name, kind, help) in HELP {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
    for name in ZEROED {
        counter!(*name).absolute(0);
    }
    gauge!(CLOCK_REFUSING).set(0.0);
    gauge!(FENCED).set(0.0);
    for &(name, label, values) in ZEROED_LABELLED {
        for v in values {
            counter!(name, label => *v).absolute(0);
        }
    }
}

/// Prometheus text for `/metrics`.
pub fn render(handle: &PrometheusHandle) -> String {
    if let Some(rss) = resident_memory_bytes() {
        gauge!(RESIDENT_MEMORY).set(rss as f64);
    }
    handle.render()
}

/// Drains histogram samples so memory stays flat between scrapes.
pub async fn upkeep(handle: PrometheusHandle, stop: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = every.tick() => handle.run_upkeep(),
            _ = stop.cancelled() => return,
        }
    }
}

fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
