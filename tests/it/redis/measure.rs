//! Measurements for the Redis store (ignored by default; they print figures rather
//! than guard behaviour, and want a release build):
//!
//! ```text
//! cargo test --release --test it -- --ignored --nocapture --test-threads=1 redis::measure::
//! ```
//!
//! - `memory_per_idle_session`: 10,000 idle 2-participant sessions created through the
//!   API of one instance; `INFO memory` `used_memory` before/after, per session (goal
//!   ≤ 300 bytes, issue 15), plus `MEMORY USAGE` and `STRLEN` of one session key.
//! - `deadline_lateness_with_three_instances`: 200 sessions with staggered
//!   1000–2990 ms budgets, created/started/watched on different instances; lateness =
//!   client receipt of `TIME_EXPIRED` − its `expiredAt` (same machine, same clock),
//!   p50/p99/max (goal p99 ≤ 10 ms), and the count of deadlines fired over all
//!   instances (must equal the number of sessions).

use std::sync::Arc;
use std::time::Duration;

use crate::support::redis::{metric, now_ms, percentile, Cluster};
use crate::support::server::{session_body, uuid};
use crate::support::ws::WsClient;
use tokio::sync::Semaphore;

fn used_memory(c: &Cluster) -> i64 {
    c.redis
        .cli(&["INFO", "memory"])
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --release --ignored --nocapture"]
async fn memory_per_idle_session() {
    const N: usize = 10_000;
    let c = Cluster::start(
        1,
        &[
            ("SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE", "0"),
            ("SYNCKAIROS_QUOTAS__CREATES_PER_MINUTE", "0"),
            ("SYNCKAIROS_QUOTAS__LIVE_SESSIONS", "0"),
        ],
    );
    // Warm up (scripts loaded, sequence key, connections) before the baseline.
    c.create(0, &[300_000, 300_000]).await;
    let before = used_memory(&c);
    let gate = Arc::new(Semaphore::new(32));
    let mut tasks = Vec::new();
    let mut last = String::new();
    for _ in 0..N {
        let id = uuid();
        last.clone_from(&id);
        let http = c.nodes[0].http.clone();
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            http.post_json("/v1/sessions", &session_body(&id, &[300_000, 300_000]))
                .await
                .expect(201);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let after = used_memory(&c);
    let keys = c.redis.cli(&["DBSIZE"]);
    let key = format!("s:{last}");
    let usage = c.redis.cli(&["MEMORY", "USAGE", &key, "SAMPLES", "0"]);
    let strlen = c.redis.cli(&["STRLEN", &key]);
    let per = (after - before) as f64 / N as f64;
    eprintln!(
        "MEASURE memory: {N} idle 2-participant sessions: used_memory {before} -> {after} \
         = {per:.1} bytes/session (goal <= 300); DBSIZE {keys}; \
         MEMORY USAGE of one key {usage} bytes; encoded value {strlen} bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --release --ignored --nocapture"]
async fn deadline_lateness_with_three_instances() {
    const N: usize = 200;
    let c = Arc::new(Cluster::start(
        3,
        &[("SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE", "0")],
    ));
    let mut ids = Vec::new();
    for k in 0..N {
        let id = uuid();
        let budget = 1000 + (k as u64 * 2000) / N as u64;
        c.nodes[k % 3]
            .http
            .post_json("/v1/sessions", &session_body(&id, &[budget, 600_000]))
            .await
            .expect(201);
        ids.push(id);
    }
    // One watcher per session, on an instance other than the creator and the starter;
    // each records the moment its TIME_EXPIRED arrives.
    let mut watchers = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        let (mut ws, _) = WsClient::connect_ready(&c.node((k + 2) % 3).ws_url(id)).await;
        watchers.push(tokio::spawn(async move {
            let (m, _) = ws
                .next_of_type("TIME_EXPIRED", Duration::from_secs(10))
                .await;
            let received = now_ms();
            let at = m["expiredAt"].as_i64().expect("expiredAt");
            let sent = m["timestamp"].as_i64().expect("timestamp");
            (received - at, sent - at)
        }));
    }
    let gate = Arc::new(Semaphore::new(8));
    let mut starts = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        let (c, id, gate) = (c.clone(), id.clone(), gate.clone());
        starts.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            c.op((k + 1) % 3, &id, "start").await.expect(200);
        }));
    }
    for s in starts {
        s.await.unwrap();
    }
    let mut received = Vec::new();
    let mut pushed = Vec::new();
    for w in watchers {
        let (r, s) = w.await.expect("a TIME_EXPIRED per session");
        received.push(r);
        pushed.push(s);
    }
    received.sort_unstable();
    pushed.sort_unstable();
    let mut fired = 0.0;
    for n in &c.nodes {
        fired += metric(n, "synckairos_deadlines_fired_total").await;
    }
    eprintln!(
        "MEASURE lateness over {N} deadlines, 3 instances: receipt - expiredAt p50 {} ms, \
         p99 {} ms, max {} ms (goal p99 <= 10); instance push - expiredAt p50 {} ms, \
         p99 {} ms; deadlines fired over all instances: {fired}",
        percentile(&received, 50.0),
        percentile(&received, 99.0),
        received.last().unwrap(),
        percentile(&pushed, 50.0),
        percentile(&pushed, 99.0),
    );
    assert_eq!(fired, N as f64, "each deadline fired exactly once");
}
