//! Running a fuzz suite: a fresh in-process server configured for fuzzing, inputs
//! generated from a seed by proptest strategies, executed by concurrent workers, each
//! outcome tallied; panics counted by a process-wide hook.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Instant;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config as PtConfig, RngAlgorithm, TestRng, TestRunner};

use crate::support::abuse::rss_bytes;
use crate::support::server::TestServer;

static PANICS: AtomicUsize = AtomicUsize::new(0);
static HOOK: Once = Once::new();

/// Counts every panic of the process (server tasks included), then reports it as usual.
fn count_panics() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// A server for fuzzing: limits that would stop the fuzzer are off, lifetimes short
/// (what it creates is forgotten quickly), the live-session quota on (memory bounded).
pub async fn server() -> TestServer {
    count_panics();
    TestServer::start_with(|c| {
        c.rate_limit.general_per_minute = 0;
        c.rate_limit.switch_per_second = 0;
        c.quotas.creates_per_minute = 0;
        c.quotas.live_sessions = 2_000;
        c.sessions.ttl_secs = 5;
        c.server.max_connections_per_address = 0;
        c.server.body_read_timeout_ms = 2_000;
        c.ws.max_message_bytes = 4_096;
    })
    .await
}

/// What a suite saw.
pub struct Report {
    pub name: &'static str,
    pub inputs: usize,
    pub panics: usize,
    /// Outcome (status, close code, …) → count.
    pub outcomes: BTreeMap<String, usize>,
    /// Inputs whose answer broke a property, with the input.
    pub failures: Vec<String>,
    pub rss_before_mb: f64,
    pub rss_after_mb: f64,
    pub seconds: f64,
}

impl Report {
    pub fn check(&self) {
        assert_eq!(self.panics, 0, "{}: panics", self.name);
        assert!(
            self.failures.is_empty(),
            "{}: {} failures, first: {:?}",
            self.name,
            self.failures.len(),
            self.failures.iter().take(5).collect::<Vec<_>>()
        );
        assert!(
            self.rss_after_mb < self.rss_before_mb + 400.0,
            "{}: memory grew from {:.0} to {:.0} MB",
            self.name,
            self.rss_before_mb,
            self.rss_after_mb
        );
    }
}

/// Generates `n` inputs from the strategy `strategy()` makes (seeded) and runs `exec` on each with
/// `workers` concurrent workers. `exec` returns the outcome label, or `Err(why)`
/// when the answer breaks a property.
pub async fn run<S, F, Fut>(
    name: &'static str,
    n: usize,
    seed: u8,
    workers: usize,
    strategy: fn() -> S,
    exec: F,
) -> Report
where
    S: Strategy + 'static,
    S::Value: std::fmt::Debug + Send + 'static,
    F: Fn(S::Value) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<String, String>> + Send,
{
    let started = Instant::now();
    let before = rss_bytes();
    let panics_before = PANICS.load(Ordering::SeqCst);
    let (tx, rx) = tokio::sync::mpsc::channel::<S::Value>(workers * 4);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let outcomes = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let exec = Arc::new(exec);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (rx, exec, outcomes, failures) =
            (rx.clone(), exec.clone(), outcomes.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(input) = rx.lock().await.recv().await else {
                    return;
                };
                let shown = format!("{input:?}");
                let label = match exec(input).await {
                    Ok(label) => label,
                    Err(why) => {
                        let mut f = failures.lock().unwrap_or_else(|e| e.into_inner());
                        if f.len() < 100 {
                            let shown: String = shown.chars().take(600).collect();
                            f.push(format!("{why} ← {shown}"));
                        }
                        "FAILED".to_owned()
                    }
                };
                *outcomes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(label)
                    .or_default() += 1;
            }
        }));
    }
    let producer = tokio::task::spawn_blocking(move || {
        let mut seed_bytes = [0u8; 32];
        seed_bytes[0] = seed;
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
        let mut runner = TestRunner::new_with_rng(PtConfig::default(), rng);
        // Built here: boxed strategies are not `Send`.
        let strategy = strategy();
        for _ in 0..n {
            let Ok(tree) = strategy.new_tree(&mut runner) else {
                continue;
            };
            if tx.blocking_send(tree.current()).is_err() {
                return;
            }
        }
    });
    producer.await.expect("producer");
    for t in tasks {
        t.await.expect("worker");
    }
    let outcomes = Arc::try_unwrap(outcomes).unwrap().into_inner().unwrap();
    let failures = Arc::try_unwrap(failures).unwrap().into_inner().unwrap();
    let mb = |b: u64| b as f64 / 1_048_576.0;
    let report = Report {
        name,
        inputs: outcomes.values().sum(),
        panics: PANICS.load(Ordering::SeqCst) - panics_before,
        outcomes,
        failures,
        rss_before_mb: mb(before),
        rss_after_mb: mb(rss_bytes()),
        seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!(
        "FUZZ {}: {} inputs in {:.1} s, {} panics, {} failures, RSS {:.1} → {:.1} MB, outcomes {:?}",
        report.name,
        report.inputs,
        report.seconds,
        report.panics,
        report.failures.len(),
        report.rss_before_mb,
        report.rss_after_mb,
        report.outcomes
    );
    report
}

/// A loopback source address (127.0.0.2–127.0.0.251), so that many short connections
/// do not run out of ephemeral ports on one address.
pub fn source(i: u32) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 2 + (i % 250) as u8], 0))
}

/// Connects from `source(i)`.
pub async fn connect(to: std::net::SocketAddr, i: u32) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(source(i))?;
    socket.connect(to).await
}
