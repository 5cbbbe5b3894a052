//! Multi-region measurements (ignored by default: they print figures rather than
//! guard behaviour, and want a release build):
//!
//! ```text
//! cargo test --release --test it -- --ignored --nocapture --test-threads=1 regions::measure::
//! ```
//!
//! Three regions as processes on loopback with delaying proxies (`support::regions`:
//! iad–lhr 40 ms, iad–nrt 80 ms, lhr–nrt 120 ms one way). Same machine, same clock.
//!
//! - `relay_latency_iad_to_lhr`: 200 switches committed in `iad` (sent there, one at a
//!   time); a WebSocket watcher in `lhr` receives each `STATE_UPDATE`. Relay latency
//!   minus the 40 ms link = receipt in lhr − commit time (`updated_at`, ms) − 40, and
//!   (µs) receipt in lhr − receipt by a watcher in iad − 40; p50/p99/max.
//! - `remote_switch_overhead`: 200 pairs of switches of an `iad` session, one sent to
//!   `iad`, one to `lhr` (forwarded to iad: one 80 ms round trip). Extra cost of the
//!   remote switch = its latency − (the iad switch's latency + 80 ms), per pair;
//!   p50/p99 (goal < 2 ms).
//! - `convergence_after_heal`: `lhr` partitioned for 2, 5, 8 and 10 s while sessions homed
//!   in all three regions take ~10 writes/s; time from the heal until the three Redis
//!   servers hold byte-identical sessions (polled every ~10 ms).

use std::time::{Duration, Instant};

use crate::support::redis::{now_ms, percentile};
use crate::support::regions::World;
use crate::support::server::iso_ms;
use serde_json::Value;
use tokio::sync::watch;

const N: usize = 200;

fn summary(name: &str, unit: &str, mut v: Vec<i64>) {
    v.sort_unstable();
    eprintln!(
        "{name}: n={} p50={} p99={} max={} min={} ({unit})",
        v.len(),
        percentile(&v, 50.0),
        percentile(&v, 99.0),
        v.last().copied().unwrap_or(0),
        v.first().copied().unwrap_or(0),
    );
}

/// Reads `STATE_UPDATE`s until `last`, recording (version, receipt instant, receipt
/// epoch ms, commit epoch ms) and announcing each version on `seen`.
async fn record(
    mut ws: crate::support::ws::WsClient,
    last: u64,
    seen: watch::Sender<u64>,
) -> Vec<(u64, Instant, i64, i64)> {
    let mut out = Vec::new();
    loop {
        let m: Value = ws.next_json(Duration::from_secs(10)).await;
        if m["type"] != "STATE_UPDATE" {
            continue;
        }
        let (at, at_ms) = (Instant::now(), now_ms());
        let v = m["state"]["version"].as_u64().expect("version");
        out.push((v, at, at_ms, iso_ms(&m["state"]["updated_at"])));
        seen.send_replace(v);
        if v >= last {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --release --ignored --nocapture"]
async fn relay_latency_iad_to_lhr() {
    let w = World::start().await;
    let (id, _) = w.create("iad", None).await;
    w.op("iad", &id, "start").await.expect(200);
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let last = 2 + N as u64;
    let (lhr_tx, mut lhr_rx) = watch::channel(0);
    let (iad_tx, _) = watch::channel(0);
    let lhr = tokio::spawn(record(w.node("lhr").watch(&id).await, last, lhr_tx));
    let iad = tokio::spawn(record(w.node("iad").watch(&id).await, last, iad_tx));
    for v in 3..=last {
        w.op("iad", &id, "switch").await.expect(200);
        lhr_rx
            .wait_for(|seen| *seen >= v)
            .await
            .expect("lhr recorder");
    }
    let (lhr, iad) = (lhr.await.expect("lhr"), iad.await.expect("iad"));
    let by_commit: Vec<i64> = lhr.iter().map(|(_, _, at, c)| at - c - 40).collect();
    let by_iad: Vec<i64> = lhr
        .iter()
        .filter_map(|(v, at, _, _)| {
            let (_, home_at, _, _) = iad.iter().find(|(hv, ..)| hv == v)?;
            Some(at.duration_since(*home_at).as_micros() as i64 - 40_000)
        })
        .collect();
    assert_eq!(lhr.len(), N, "lhr saw every version once");
    summary(
        "relay iad→lhr: lhr receipt − commit (updated_at) − 40 ms",
        "ms",
        by_commit,
    );
    summary(
        "relay iad→lhr: lhr receipt − iad watcher receipt − 40 ms",
        "µs",
        by_iad,
    );
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --release --ignored --nocapture"]
async fn remote_switch_overhead() {
    let w = World::start().await;
    let (id, _) = w.create("iad", None).await;
    w.op("iad", &id, "start").await.expect(200);
    let timed = |via: &'static str| {
        let w = &w;
        let id = id.clone();
        async move {
            let t = Instant::now();
            w.op(via, &id, "switch").await.expect(200);
            t.elapsed().as_micros() as i64
        }
    };
    for _ in 0..20 {
        timed("iad").await;
        timed("lhr").await;
    }
    let (mut local, mut remote, mut extra) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..N {
        let l = timed("iad").await;
        let r = timed("lhr").await;
        local.push(l);
        remote.push(r);
        extra.push(r - l - 80_000);
    }
    summary("switch sent to iad (home)", "µs", local.clone());
    summary(
        "switch sent to lhr (forwarded to iad)",
        "µs",
        remote.clone(),
    );
    summary(
        "remote switch extra cost: lhr − (iad + 80 ms RTT), per pair",
        "µs",
        extra,
    );
    local.sort_unstable();
    remote.sort_unstable();
    eprintln!(
        "remote switch extra cost by percentiles: p50 {} µs, p99 {} µs",
        percentile(&remote, 50.0) - percentile(&local, 50.0) - 80_000,
        percentile(&remote, 99.0) - percentile(&local, 99.0) - 80_000
    );
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --release --ignored --nocapture"]
async fn convergence_after_heal() {
    let w = World::start().await;
    let mut ids = Vec::new();
    for home in ["iad", "lhr", "nrt"] {
        let (id, _) = w.create(home, None).await;
        w.op(home, &id, "start").await.expect(200);
        ids.push((home, id));
    }
    let all: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    for secs in [2u64, 5, 8, 10] {
        w.converge(&all, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        w.partition("lhr");
        let end = Instant::now() + Duration::from_secs(secs);
        let mut writes = 0;
        while Instant::now() < end {
            for (home, id) in &ids {
                w.op(home, id, "switch").await.expect(200);
                writes += 1;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        w.heal("lhr");
        let took = w.converge(&all, Duration::from_secs(15)).await;
        eprintln!("partition of lhr for {secs} s ({writes} writes): byte-identical {took:?} after the heal");
    }
    w.assert_healthy();
}
