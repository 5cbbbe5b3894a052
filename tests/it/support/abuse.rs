//! What the abuse tests measure while an abuse runs: this process's resident memory
//! (the in-process server's), and a bystander's switch latency (it must keep being
//! served within the goals), each printed for the record.
//!
//! Must not: hold tests.

use std::time::{Duration, Instant};

use super::server::TestServer;

/// Resident memory of this process (the in-process server and the test), in bytes.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// RSS before and after an abuse, printed as `RSS <name>: before → after MB`.
pub struct Rss {
    name: &'static str,
    before: u64,
}

impl Rss {
    pub fn start(name: &'static str) -> Rss {
        Rss {
            name,
            before: rss_bytes(),
        }
    }

    /// Prints and returns (before, after) in MB.
    pub fn report(&self) -> (f64, f64) {
        let mb = |b: u64| b as f64 / 1_048_576.0;
        let (b, a) = (mb(self.before), mb(rss_bytes()));
        eprintln!("RSS {}: {b:.1} MB before, {a:.1} MB after", self.name);
        (b, a)
    }
}

/// Latency percentiles (ms) of a bystander's switches (printed in full).
#[derive(Debug)]
#[allow(dead_code)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub n: usize,
}

/// A bystander on its own session switches `n` times (one at a time) and reports
/// its latency; every switch must succeed.
pub async fn bystander(s: &TestServer, n: usize) -> Latency {
    let http = super::http::Client::new(s.addr());
    let (id, _) = s.create(&[3_600_000, 3_600_000]).await;
    s.op_ok(&id, "start").await;
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        http.post_empty(&format!("/v1/sessions/{id}/switch"))
            .await
            .expect(200);
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        // Under the switch limiter (`rate_limit.switch_per_second`, 50).
        tokio::time::sleep(Duration::from_millis(21)).await;
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    let l = Latency {
        p50: at(0.5),
        p99: at(0.99),
        n,
    };
    eprintln!("bystander switch latency during the abuse: {l:?}");
    l
}

/// The bound a debug-build bystander is held to (the release goals are in
/// `bench/`): generous for a 2-core machine shared with the abuser.
pub const BYSTANDER_P99_MS: f64 = 200.0;
