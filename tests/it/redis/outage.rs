//! Redis outages with three instances (AOF on, so the data outlives the restart):
//! while Redis is down `/ready` is 503, every Redis-backed request fails fast (< 3 s)
//! with 503 `SERVICE_UNAVAILABLE` in the error envelope plus `Retry-After`, `/health`
//! stays 200, WebSocket clients stay connected (PING/PONG, RECONNECT from the cached
//! state), and no instance crashes. After `restart()` the same instance processes
//! serve again, watchers that stayed connected (and one that connected during the
//! outage) receive updates again. Under load, a kill and restart of Redis yields only
//! 200/409/503, no acknowledged switch is lost, and the service recovers by itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::http::{Client, Response};
use crate::support::procs::Redis;
use crate::support::redis::{next_state, poll, version_of, Cluster};
use crate::support::server::uuid;
use crate::support::ws::WAIT;
use serde_json::{json, Value};

const AOF: &[&str] = &["--appendonly", "yes", "--appendfsync", "always"];

/// A response and how long it took.
async fn timed(f: impl std::future::Future<Output = Response>) -> (Response, Duration) {
    let t = Instant::now();
    let r = f.await;
    (r, t.elapsed())
}

/// Polls until every instance serves GET of `id` with 200; returns how long it took.
async fn recovered(c: &Cluster, id: &str) -> Duration {
    let t = Instant::now();
    for i in 0..c.nodes.len() {
        let ok = poll(Duration::from_secs(10), || async {
            (c.get(i, id).await.status == 200).then_some(())
        })
        .await;
        assert!(ok.is_some(), "instance {i} did not recover");
    }
    t.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_fast_with_503_and_recovers_without_restarting_instances() {
    let mut c = Cluster::on(Redis::start_with(AOF), 3, &[]);
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    let mut ws = [c.node(1).watch(&id).await, c.node(2).watch(&id).await];
    c.op(0, &id, "start").await.expect(200);
    for w in ws.iter_mut() {
        assert_eq!(version_of(&next_state(w, WAIT).await.0), 2);
    }

    c.redis.stop(true);
    for (i, n) in c.nodes.iter().enumerate() {
        // Every Redis-backed route at once, each timed.
        let create = crate::support::server::session_body(&uuid(), &[1000]);
        let session = format!("/v1/sessions/{id}");
        let (ready, get, switch, post, delete) = tokio::join!(
            timed(n.http.get("/ready")),
            timed(n.http.get(&session)),
            timed(c.op(i, &id, "switch")),
            timed(n.http.post_json("/v1/sessions", &create)),
            timed(n.http.delete(&session)),
        );
        assert_eq!(ready.0.status, 503, "instance {i}: {}", ready.0.text());
        assert_eq!(ready.0.json()["status"], "not_ready");
        for (r, took) in [ready, get, switch, post, delete].iter().skip(1) {
            assert!(*took < Duration::from_secs(3), "instance {i}: {took:?}");
            assert_eq!(r.status, 503, "instance {i}: {}", r.text());
            assert_eq!(r.error_code(), "SERVICE_UNAVAILABLE");
            assert!(!r.error_message().is_empty());
            let retry: u64 = r
                .header("retry-after")
                .expect("Retry-After")
                .parse()
                .unwrap();
            assert!(retry >= 1);
        }
        n.http.get("/health").await.expect(200);
    }
    // WebSockets stay up: PING/PONG, and RECONNECT answers from the cached state.
    for w in ws.iter_mut() {
        w.ping_pong().await;
        w.send_json(&json!({"type": "RECONNECT"})).await;
        let m = w.next_json(WAIT).await;
        assert_eq!(m["type"], "STATE_SYNC", "{m}");
        assert_eq!(version_of(&m), 2);
    }
    // A client connecting during the outage is told CONNECTED and kept.
    let later = uuid();
    let (mut during, _) =
        crate::support::ws::WsClient::connect_ready(&c.node(2).ws_url(&later)).await;
    c.assert_healthy();

    c.redis.restart();
    let took = recovered(&c, &id).await;
    eprintln!("all instances serve again {took:?} after the restart");
    assert_eq!(c.get(0, &id).await.expect(200).data()["version"], 2);
    c.nodes[0].http.get("/ready").await.expect(200);

    // Watchers that stayed connected receive updates again.
    c.op(0, &id, "switch").await.expect(200);
    for w in ws.iter_mut() {
        let (m, _) = next_state(w, Duration::from_secs(5)).await;
        assert_eq!(m["type"], "STATE_UPDATE");
        assert_eq!(version_of(&m), 3);
    }
    // And so does the one that connected during the outage.
    c.nodes[1]
        .http
        .post_json(
            "/v1/sessions",
            &crate::support::server::session_body(&later, &[1000]),
        )
        .await
        .expect(201);
    let (m, _) = next_state(&mut during, Duration::from_secs(5)).await;
    assert_eq!(
        (m["type"].clone(), version_of(&m)),
        (json!("STATE_UPDATE"), 1)
    );
    c.assert_healthy();
}

/// One load worker: switches through `clients[via]` and reads through the next one
/// until `stop`; returns `(status, latency)` per switch.
async fn worker(
    clients: Vec<Client>,
    via: usize,
    id: String,
    stop: Arc<AtomicBool>,
) -> Vec<(u16, Duration)> {
    let mut seen = Vec::new();
    let switch = format!("/v1/sessions/{id}/switch");
    let get = format!("/v1/sessions/{id}");
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let r = clients[via].post_empty(&switch).await;
        seen.push((r.status, t.elapsed()));
        if r.status != 200 {
            let body: Value = r.json();
            assert!(body["error"]["code"].is_string(), "{body}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let g = clients[(via + 1) % clients.len()].get(&get).await;
        assert!(g.status == 200 || g.status == 503, "GET {}", g.status);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_under_load_recovers_on_its_own() {
    let mut c = Cluster::on(
        Redis::start_with(AOF),
        3,
        &[("SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND", "0")],
    );
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    c.op(0, &id, "start").await.expect(200);
    let clients: Vec<Client> = c.nodes.iter().map(|n| n.http.clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..6)
        .map(|k| tokio::spawn(worker(clients.clone(), k % 3, id.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Kill and restart Redis under the instances' feet (no instance is restarted).
    c.redis.stop(true);
    tokio::time::sleep(Duration::from_millis(600)).await;
    c.redis.restart();
    let took = recovered(&c, &id).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Relaxed);
    let mut results = Vec::new();
    for t in tasks {
        results.extend(t.await.expect("worker"));
    }
    let acked = results.iter().filter(|(s, _)| *s == 200).count() as u64;
    let unavailable = results.iter().filter(|(s, _)| *s == 503).count() as u64;
    for (s, lat) in &results {
        assert!([200, 409, 503].contains(s), "status {s}");
        assert!(*lat < Duration::from_secs(3), "a request took {lat:?}");
    }
    assert!(unavailable > 0, "the outage was noticed");
    let stored = c.get(0, &id).await.expect(200).data();
    let v = stored["version"].as_u64().unwrap();
    let cycles: u64 = stored["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["cycle_count"].as_u64().unwrap())
        .sum();
    eprintln!(
        "{} switches: {acked} acknowledged, {unavailable} 503; stored version {v}; \
         all instances serving {took:?} after the restart",
        results.len()
    );
    // No acknowledged switch was lost; only a request cut off mid-reply (503 to the
    // client, yet committed and fsynced by Redis) may add to it: at most one per worker.
    assert!(
        v >= 2 + acked,
        "lost acknowledged switches: {v} < 2 + {acked}"
    );
    assert!(
        v <= 2 + acked + 6,
        "more commits than attempts in flight at the kill"
    );
    assert_eq!(
        cycles,
        v - 2,
        "cycle_count sum matches the committed switches"
    );
    c.assert_healthy();
}

/// Sends `sig` (e.g. `-STOP`) to process `pid`.
fn signal(pid: &str, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, pid])
        .status()
        .expect("kill");
    assert!(ok.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_times_out_into_503_and_service_resumes_when_it_thaws() {
    let c = Cluster::start(3, &[]);
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    let mut w = c.node(2).watch(&id).await;
    let info = c.redis.cli(&["INFO", "server"]);
    let pid = info
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .expect("process_id")
        .trim()
        .to_owned();
    // SIGSTOP: connections stay open but nothing answers (a hung or partitioned Redis).
    signal(&pid, "-STOP");
    let (a, b, d, ready) = tokio::join!(
        timed(c.get(0, &id)),
        timed(c.get(1, &id)),
        timed(c.op(2, &id, "start")),
        timed(c.nodes[1].http.get("/ready")),
    );
    signal(&pid, "-CONT");
    for (r, took) in [a, b, d] {
        assert_eq!(r.status, 503, "{}", r.text());
        assert_eq!(r.error_code(), "SERVICE_UNAVAILABLE");
        assert!(r.header("retry-after").is_some());
        assert!(took < Duration::from_secs(3), "answered after {took:?}");
    }
    assert_eq!(ready.0.status, 503);
    assert!(
        ready.1 < Duration::from_secs(3),
        "/ready answered after {:?}",
        ready.1
    );
    c.assert_healthy();
    // Thawed: the same connections serve again and the watcher gets updates.
    recovered(&c, &id).await;
    c.op(1, &id, "start").await.expect(200);
    let (m, _) = next_state(&mut w, Duration::from_secs(5)).await;
    assert_eq!(version_of(&m), 2);
}
