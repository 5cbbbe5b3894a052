//! Fuzzing the real front on stable Rust: generated raw HTTP requests, JSON bodies on
//! every session route and raw WebSocket frame sequences, thrown at an in-process
//! server (port 0) from many loopback source addresses at once. Properties: no panic
//! anywhere in the process (a panic hook counts them, server tasks included), every
//! answer a documented status with the error envelope, every WebSocket close a
//! documented code, no hang, and memory that stays bounded (RSS before/after).
//!
//! The default run tries a bounded number of inputs per suite; `long_run` (ignored;
//! `scripts/bench.sh` runs it in release) tries over 1,000,000 across the suites and
//! prints the counts. `SYNCKAIROS_FUZZ_CASES` overrides the per-suite count.

mod gen;
mod http;
mod json;
mod run;
mod ws;

use std::time::Instant;

use run::Report;

/// Inputs per suite in the default run.
const DEFAULT_CASES: usize = 1_500;

fn cases(default: usize) -> usize {
    std::env::var("SYNCKAIROS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_http_requests() {
    http::suite(cases(DEFAULT_CASES), 1).await.check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies() {
    json::suite(cases(DEFAULT_CASES), 2).await.check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_frame_sequences() {
    ws::suite(cases(DEFAULT_CASES / 3), 3).await.check();
}

/// Over 1,000,000 generated inputs across the suites (release build: `scripts/bench.sh`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long fuzz run; scripts/bench.sh runs it with --release"]
async fn long_run() {
    let started = Instant::now();
    let reports: Vec<Report> = vec![
        http::suite(cases(420_000), 11).await,
        json::suite(cases(420_000), 12).await,
        ws::suite(cases(180_000), 13).await,
    ];
    let total: usize = reports.iter().map(|r| r.inputs).sum();
    let panics: usize = reports.iter().map(|r| r.panics).sum();
    eprintln!(
        "FUZZ TOTAL: {total} generated inputs in {:.1} s, {panics} panics",
        started.elapsed().as_secs_f64()
    );
    for r in reports {
        r.check();
    }
}
