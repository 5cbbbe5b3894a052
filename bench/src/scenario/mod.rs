//! Scenarios, one per file, plus what they share: live counters behind the
//! progress bar, target setup, and CPU accounting for the harness and servers.

pub mod deadline;
pub mod fanout;
mod fanout_watch;
pub mod idle;
pub mod load;
pub mod regions;
pub mod switch;

use crate::progress;
use crate::target::Target;
use indicatif::ProgressBar;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Live counters per target, read by the progress ticker.
pub struct Live {
    pub labels: Vec<String>,
    pub ok: Vec<AtomicU64>,
    pub errors: AtomicU64,
}

impl Live {
    pub fn new(targets: &[Target]) -> Arc<Live> {
        Arc::new(Live {
            labels: targets.iter().map(|t| t.label.clone()).collect(),
            ok: targets.iter().map(|_| AtomicU64::new(0)).collect(),
            errors: AtomicU64::new(0),
        })
    }

    pub fn ok(&self, i: usize) {
        self.ok[i].fetch_add(1, Relaxed);
    }

    pub fn err(&self) {
        self.errors.fetch_add(1, Relaxed);
    }

    pub fn total_ok(&self) -> u64 {
        self.ok.iter().map(|c| c.load(Relaxed)).sum()
    }
}

/// Shows a timed bar for `secs` with the per-target rate, until the handle is aborted.
pub fn ticker(
    secs: f64,
    what: &str,
    live: Arc<Live>,
    unit: &'static str,
) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let pb = progress::timed(secs, what);
    let pb2 = pb.clone();
    let h = tokio::spawn(async move {
        let mut last: Vec<u64> = live.ok.iter().map(|c| c.load(Relaxed)).collect();
        let mut at = Instant::now();
        let mut iv = tokio::time::interval(Duration::from_millis(100));
        let mut n = 0u64;
        loop {
            iv.tick().await;
            n += 1;
            pb2.set_position(n);
            if n % 5 != 0 {
                continue;
            }
            let dt = at.elapsed().as_secs_f64().max(1e-3);
            at = Instant::now();
            let mut msg = String::new();
            for (i, c) in live.ok.iter().enumerate() {
                let v = c.load(Relaxed);
                msg.push_str(&format!(
                    "{} {:.0} {unit}/s  ",
                    live.labels[i],
                    (v - last[i]) as f64 / dt
                ));
                last[i] = v;
            }
            msg.push_str(&format!("errors {}", live.errors.load(Relaxed)));
            pb2.set_message(msg);
        }
    });
    (pb, h)
}

/// CPU seconds of the harness and of each server with a known PID, at one instant.
pub struct CpuMark {
    harness: f64,
    servers: Vec<Option<f64>>,
    at: Instant,
}

impl CpuMark {
    pub fn take(pids: &[Option<u32>]) -> CpuMark {
        CpuMark {
            harness: crate::sysinfo::self_cpu_secs(),
            servers: pids
                .iter()
                .map(|p| p.and_then(|p| crate::sysinfo::cpu_secs(p).ok()))
                .collect(),
            at: Instant::now(),
        }
    }

    /// (harness CPU s, per-server CPU s, wall s) since `self`.
    pub fn since(&self, pids: &[Option<u32>]) -> (f64, Vec<Option<f64>>, f64) {
        let now = CpuMark::take(pids);
        let servers = now
            .servers
            .iter()
            .zip(&self.servers)
            .map(|(a, b)| Some(a.as_ref()? - b.as_ref()?))
            .collect();
        (
            now.harness - self.harness,
            servers,
            self.at.elapsed().as_secs_f64(),
        )
    }
}

/// Parses and health-checks the base (and compare) targets.
pub async fn targets(common: &crate::cli::Common) -> anyhow::Result<Vec<Target>> {
    let mut ts = Target::parse_pair(&common.url, common.compare.as_deref()).await?;
    for (t, token) in ts.iter_mut().zip([&common.token, &common.compare_token]) {
        t.bearer.clone_from(token);
    }
    for t in &ts {
        crate::api::wait_healthy(t, Duration::from_secs(10)).await?;
    }
    Ok(ts)
}
