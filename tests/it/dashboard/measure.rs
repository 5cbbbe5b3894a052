//! What the dashboard costs (`#[ignore]`d; `scripts/bench.sh` runs it):
//! - memory and CPU of keeping 15 minutes of history on one instance, with every
//!   series busy in every interval (the worst case for the sparse intervals);
//! - a page refresh (`GET /dashboard/data`) against three regions: latency, bytes,
//!   and the CPU time of the serving instance.
//!
//! `cargo test --release --test it -- --ignored --nocapture dashboard::measure::`

use std::time::{Duration, Instant};

use synckairos::trend::history::History;
use synckairos::trend::series::{Measure, Series};

use crate::support::regions::{Setup, World, REGIONS};

#[test]
#[ignore = "measurement; scripts/bench.sh runs it"]
fn history_of_fifteen_minutes_is_small_and_cheap() {
    let series = Series::default();
    // 5 s intervals for 15 minutes; 3 other regions' forward and relay series.
    let mut h = History::new(5_000, 900_000);
    h.sample(0, series.totals(), Vec::new());
    let mut spent = Duration::ZERO;
    for i in 1..=180i64 {
        // Busy: every series gets values spread over ~25 buckets.
        for k in 0..2_000u32 {
            let ms = 0.2 * 1.1f64.powi((k % 40) as i32);
            series.record(Measure::Switch, None, ms);
            series.record(Measure::ClientRtt, None, ms);
            series.record(Measure::DeadlineLateness, None, ms);
            for r in ["lhr", "nrt", "syd"] {
                series.record(Measure::Forward, Some(r), ms * 40.0);
                series.record(Measure::RelayLag, Some(r), ms * 20.0);
            }
            series.request(k % 500 == 0);
        }
        let gauges = vec![
            ("connections".to_owned(), 9_000.0),
            ("watched_sessions".to_owned(), 4_000.0),
        ];
        let started = Instant::now();
        h.sample(i * 5_000, series.totals(), gauges);
        spent += started.elapsed();
    }
    let bytes = h.heap_bytes();
    let encoded = rmp_serde::to_vec(&h.intervals()).expect("encodes").len();
    println!(
        "history: 180 intervals x 9 busy series: heap ~{:.1} KiB, encoded {:.1} KiB; \
         sampling {:.1} us per interval (every 5 s)",
        bytes as f64 / 1024.0,
        encoded as f64 / 1024.0,
        spent.as_secs_f64() * 1e6 / 180.0
    );
    assert!(bytes < 2 * 1024 * 1024, "{bytes} bytes");
}

fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks * 1000.0 / 100.0 // USER_HZ
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; scripts/bench.sh runs it"]
async fn a_page_refresh_against_three_regions() {
    let w = World::start_with(Setup {
        env: vec![("SYNCKAIROS_DASHBOARD__INTERVAL_MS", "500")],
        ..Setup::default()
    })
    .await;
    let mut ids = Vec::new();
    for home in REGIONS {
        let (id, _) = w.create(home, None).await;
        w.op(home, &id, "start").await.expect(200);
        ids.push(id);
    }
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        for via in REGIONS {
            for id in &ids {
                w.op(via, id, "switch").await.expect(200);
            }
        }
    }
    let serving = w.node("iad");
    let pid = serving.proc.pid().expect("running");
    let n = 50;
    let cpu_before = cpu_ms(pid);
    let mut took = Vec::with_capacity(n);
    let (mut bytes, mut intervals) = (0, 0);
    for _ in 0..n {
        let started = Instant::now();
        let r = w.http("iad").get("/dashboard/data").await.expect(200);
        took.push(started.elapsed().as_secs_f64() * 1000.0);
        bytes = r.body.len();
        intervals = r.json()["regions"][0]["requests"]["t"]
            .as_array()
            .map_or(0, Vec::len);
    }
    let cpu = (cpu_ms(pid) - cpu_before) / n as f64;
    took.sort_by(f64::total_cmp);
    println!(
        "page refresh against 3 regions (iad serving, links 40/80/120 ms): p50 {:.1} ms, \
         p99 {:.1} ms, {:.1} KiB of JSON, ~{cpu:.2} ms CPU of the serving instance each \
         ({intervals} intervals of history)",
        took[n / 2],
        took[n * 99 / 100],
        bytes as f64 / 1024.0,
    );
    w.assert_healthy();
}
