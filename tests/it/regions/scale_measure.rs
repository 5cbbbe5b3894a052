//! Measurements of the relay at scale (ignored by default: they print figures and want
//! a release build; `scripts/bench.sh` runs them):
//!
//! ```text
//! cargo test --release --test it -- --ignored --nocapture --test-threads=1 regions::scale_measure::
//! ```
//!
//! Three regions as processes on loopback with delaying proxies (iad–nrt 80 ms one
//! way); `lhr` stays down unless needed, so it does not compete for the two cores.
//!
//! - `catch_up_rate_of_a_flushed_region`: 20,000 then 100,000 sessions homed in `iad`
//!   (seeded through the store's commit script while `nrt` is cut off), `nrt`'s Redis
//!   flushed, its links back: time until `nrt`'s digest of `iad` equals `iad`'s, then
//!   checked byte for byte; sessions/s.
//! - `idle_check_cost_at_100000_sessions`: 100,000 sessions homed in `iad`, `nrt`
//!   caught up and idle. Bytes on the wire of one summary exchange (what an idle check
//!   sends and receives), home CPU (instance + Redis, from /proc) per summary over
//!   1,000 of them; the same for the bucket digests (the next step when a summary
//!   differs); and the checks `nrt` ran meanwhile, all `equal`.
//! - `relay_latency_under_load`: switches in `iad` at 200, 1,000 and 2,000/s, open
//!   loop over 256 sessions, for 10 s each; watchers in `lhr` on 16 of them: receipt −
//!   commit (`updated_at`) − 40 ms, p50/p99.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::support::redis::{now_ms, percentile, poll};
use crate::support::regions::{Setup, World, SECRET};
use crate::support::relay::{digest, metric, same_bytes, seed};
use crate::support::server::iso_ms;
use crate::support::ws::WsEvent;

/// CPU time (ms) a process used so far.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .expect("fields")
        .split_whitespace()
        .collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks * 10.0
}

/// One internal GET exchange over a fresh connection: (bytes sent, bytes received).
fn exchange(port: u16, path: &str) -> (usize, usize) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/msgpack\r\n\
         x-synckairos-secret: {SECRET}\r\nconnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("read");
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{path}: {:?}",
        String::from_utf8_lossy(&got[..got.len().min(200)])
    );
    (req.len(), got.len())
}

/// Seeds `n` sessions in iad while nrt is cut off, flushes nrt and times its catch-up.
async fn flushed_catch_up(w: &World, n: usize) -> Duration {
    w.partition("nrt");
    let ids = seed(&w.region("iad").redis.url(), "iad", n, 128).await;
    let (mut iad, mut nrt) = (w.redis("iad").await, w.redis("nrt").await);
    let () = redis::cmd("FLUSHALL")
        .query_async(&mut nrt)
        .await
        .expect("flush");
    let want = digest(&mut iad, "iad").await;
    w.heal("nrt");
    let healed = Instant::now();
    let done = poll(Duration::from_secs(120), || {
        let (mut nrt, want) = (nrt.clone(), want);
        async move { (digest(&mut nrt, "iad").await == want).then_some(()) }
    })
    .await;
    let took = healed.elapsed();
    assert!(done.is_some(), "nrt not caught up after {took:?}");
    same_bytes(&mut iad, &mut nrt, &ids)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --release --ignored --nocapture"]
async fn catch_up_rate_of_a_flushed_region() {
    for n in [20_000usize, 100_000] {
        let w = World::start_with(Setup {
            deferred: vec!["lhr"],
            ..Setup::default()
        })
        .await;
        let took = flushed_catch_up(&w, n).await;
        let catchup_ms = metric(
            w.http("nrt"),
            "synckairos_relay_last_check_duration_ms",
            &[("home", "iad")],
        )
        .await;
        eprintln!(
            "MEASURE catch-up of a flushed region: {n} sessions homed in iad byte-identical in nrt {took:.2?} after its links came back = {:.0} sessions/s (nrt's catch-up itself: {catchup_ms:.0} ms; link iad–nrt 80 ms one way; goal >= 10000/s)",
            n as f64 / took.as_secs_f64()
        );
        w.assert_healthy();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --release --ignored --nocapture"]
async fn idle_check_cost_at_100000_sessions() {
    let w = World::start_with(Setup {
        deferred: vec!["lhr"],
        ..Setup::default()
    })
    .await;
    flushed_catch_up(&w, 100_000).await;
    let nrt = w.http("nrt").clone();
    let checks = |result: &'static str| {
        let nrt = nrt.clone();
        async move {
            metric(
                &nrt,
                "synckairos_relay_checks_total",
                &[("home", "iad"), ("result", result)],
            )
            .await
        }
    };
    let equal_before = checks("equal").await;
    let other_before = checks("repaired").await + checks("clean").await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let equal = checks("equal").await - equal_before;
    let other = checks("repaired").await + checks("clean").await - other_before;
    let idle_ms = metric(
        w.http("nrt"),
        "synckairos_relay_last_check_duration_ms",
        &[("home", "iad")],
    )
    .await;
    eprintln!("MEASURE idle checks by nrt over 10 s at 100000 sessions: {equal} equal, {other} compared bucket by bucket; last check took {idle_ms:.1} ms (one 160 ms round trip included)");
    assert!(equal >= 2.0 && other == 0.0);

    let iad = w.region("iad");
    let port = iad.internal[0];
    let instance = iad
        .running_instances()
        .next()
        .expect("iad instance")
        .pid()
        .expect("pid");
    let redis = iad.redis.pid().expect("redis pid");
    for (what, path) in [
        ("summary (an idle check)", "/internal/sync/summary"),
        (
            "bucket digests (a check that differs, next step)",
            "/internal/sync/buckets",
        ),
    ] {
        let (sent, received) = exchange(port, path);
        let n = 1_000;
        let before = (cpu_ms(instance), cpu_ms(redis));
        let t = Instant::now();
        for _ in 0..n {
            exchange(port, path);
        }
        let wall = t.elapsed();
        let cpu = (cpu_ms(instance) - before.0, cpu_ms(redis) - before.1);
        eprintln!(
            "MEASURE {what} at 100000 sessions: {} bytes on the wire ({sent} sent, {received} received); home CPU per request {:.3} ms (instance {:.3} + Redis {:.3}; {n} requests in {wall:.2?}) (goal for an idle check: <= 50 ms, <= 64 KB)",
            sent + received,
            (cpu.0 + cpu.1) / n as f64,
            cpu.0 / n as f64,
            cpu.1 / n as f64,
        );
    }
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --release --ignored --nocapture"]
async fn relay_latency_under_load() {
    let w = World::start().await;
    let mut ids = Vec::new();
    for _ in 0..256 {
        let (id, _) = w.create("iad", None).await;
        w.op("iad", &id, "start").await.expect(200);
        ids.push(id);
    }
    w.converge(&ids, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for rate in [200u64, 1_000, 2_000] {
        let mut watchers = Vec::new();
        for id in ids.iter().take(16) {
            watchers.push(w.node("lhr").watch(id).await);
        }
        let stop_at = Instant::now() + Duration::from_secs(10);
        let recorders: Vec<_> = watchers
            .into_iter()
            .map(|mut ws| {
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    while Instant::now() < stop_at + Duration::from_secs(1) {
                        let Some(WsEvent::Text(t)) =
                            ws.next_event(Duration::from_millis(500)).await
                        else {
                            continue;
                        };
                        let at = now_ms();
                        let m: serde_json::Value = serde_json::from_str(&t).expect("json");
                        if m["type"] == "STATE_UPDATE" {
                            lat.push(at - iso_ms(&m["state"]["updated_at"]) - 40);
                        }
                    }
                    lat
                })
            })
            .collect();
        let http = w.http("iad").clone();
        let every = Duration::from_micros(1_000_000 / rate);
        let mut next = tokio::time::Instant::now();
        let (mut k, mut sent) = (0usize, 0u64);
        let mut inflight = tokio::task::JoinSet::new();
        while Instant::now() < stop_at {
            next += every;
            tokio::time::sleep_until(next).await;
            let (http, path) = (
                http.clone(),
                format!("/v1/sessions/{}/switch", ids[k % ids.len()]),
            );
            k += 1;
            sent += 1;
            inflight.spawn(async move {
                http.try_send(hyper::Method::POST, &path, &[], Default::default())
                    .await
                    .map(|r| r.status)
            });
        }
        let mut ok = 0;
        while let Some(r) = inflight.join_next().await {
            if matches!(r, Ok(Ok(200))) {
                ok += 1;
            }
        }
        let mut lat: Vec<i64> = Vec::new();
        for r in recorders {
            lat.extend(r.await.expect("recorder"));
        }
        lat.sort_unstable();
        eprintln!(
            "MEASURE relay iad→lhr under {rate} switches/s at iad ({sent} sent, {ok} committed, 10 s): lhr receipt − commit − 40 ms over {} updates: p50 {} ms, p99 {} ms, max {} ms (goal p99 < 5)",
            lat.len(),
            percentile(&lat, 50.0),
            percentile(&lat, 99.0),
            lat.last().copied().unwrap_or(0)
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    w.assert_healthy();
}
