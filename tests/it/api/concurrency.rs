//! Atomic compare-and-set on `version` under concurrent REST writes (CONTRACT.md
//! "Decisions": no lost updates; the loser gets 409 `CONFLICT` with
//! `details.expected_version`/`actual_version`): many simultaneous switches on one
//! session, and simultaneous pause/start requests of which exactly one may win.

use std::sync::Arc;

use crate::support::http::{Client, Response};
use crate::support::server::{iso_ms, TestServer};
use tokio::sync::Barrier;

/// Fires `n` identical `POST /v1/sessions/<id>/<op>` at once (released together),
/// from a separate runtime so that the server's worker threads only serve.
async fn burst(s: &TestServer, id: &str, op: &str, n: usize) -> Vec<Response> {
    let addr = s.addr();
    let path = format!("/v1/sessions/{id}/{op}");
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("client runtime");
        let out = rt.block_on(async move {
            // Its own client: pooled connections must not outlive this runtime.
            let http = Client::new(addr);
            let barrier = Arc::new(Barrier::new(n));
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let http = http.clone();
                    let path = path.clone();
                    let b = barrier.clone();
                    tokio::spawn(async move {
                        b.wait().await;
                        http.post_empty(&path).await
                    })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.expect("task"));
            }
            out
        });
        let _ = tx.send(out);
    });
    rx.await.expect("burst thread")
}

#[track_caller]
fn assert_conflict(r: &Response) {
    let e = &r.json()["error"];
    assert_eq!(e["code"], "CONFLICT", "{e}");
    assert_eq!(
        e["message"],
        "Concurrent modification detected, please retry"
    );
    let exp = e["details"]["expected_version"]
        .as_u64()
        .expect("expected_version");
    let act = e["details"]["actual_version"]
        .as_u64()
        .expect("actual_version");
    assert!(
        act > exp,
        "actual {act} should be newer than expected {exp}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_switches_lose_no_updates() {
    let s = TestServer::start_with(|c| c.rate_limit.switch_per_second = 0).await;
    // Many participants make each switch take long enough for writers to overlap.
    let (id, _) = s.create(&[600_000; 50]).await;
    let started = s.op_ok(&id, "start").await;
    assert_eq!(started["version"], 2);
    let mut ok = 0u64;
    let mut conflicts = 0u64;
    let mut versions = Vec::new();
    for _round in 0..3 {
        for r in burst(&s, &id, "switch", 24).await {
            match r.status {
                200 => {
                    ok += 1;
                    versions.push(r.data()["version"].as_u64().expect("version"));
                }
                409 => {
                    conflicts += 1;
                    assert_conflict(&r);
                }
                other => panic!("unexpected status {other}: {}", r.text()),
            }
        }
    }
    println!("concurrent switches: {ok} applied, {conflicts} conflicts");
    assert!(ok > 0);
    let fin = s.state(&id).await;
    assert_eq!(
        fin["version"].as_u64().unwrap(),
        2 + ok,
        "every 200 is a stored version"
    );
    // Each applied switch reported a distinct version: no two writers both "won".
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len() as u64, ok, "duplicate versions among 200s");
    let ps = fin["participants"].as_array().unwrap();
    let cycles: u64 = ps.iter().map(|p| p["cycle_count"].as_u64().unwrap()).sum();
    assert_eq!(
        cycles, ok,
        "sum of cycle_count == number of applied switches"
    );
    // No time was charged twice: total use fits in the wall time since the start.
    let used: u64 = ps.iter().map(|p| p["time_used_ms"].as_u64().unwrap()).sum();
    let wall = iso_ms(&fin["updated_at"]) - iso_ms(&fin["session_started_at"]);
    assert!(used as i64 <= wall, "used {used} ms > wall {wall} ms");
    // Exactly one participant is active, and it is the one named.
    let active: Vec<_> = ps.iter().filter(|p| p["is_active"] == true).collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["participant_id"], fin["active_participant_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pauses_apply_once() {
    let s = TestServer::start().await;
    for _ in 0..3 {
        let (id, _) = s.create(&[600_000, 600_000]).await;
        s.op_ok(&id, "start").await;
        let rs = burst(&s, &id, "pause", 12).await;
        let wins = rs.iter().filter(|r| r.status == 200).count();
        assert_eq!(wins, 1, "exactly one pause applies");
        for r in rs.iter().filter(|r| r.status != 200) {
            match r.status {
                409 => assert_conflict(r),
                400 => assert_eq!(r.error_code(), "INVALID_STATE_TRANSITION"),
                other => panic!("unexpected {other}: {}", r.text()),
            }
        }
        let st = s.state(&id).await;
        assert_eq!(st["version"], 3);
        assert_eq!(st["status"], "paused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_apply_once() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    let rs = burst(&s, &id, "start", 12).await;
    assert_eq!(rs.iter().filter(|r| r.status == 200).count(), 1);
    assert!(rs.iter().all(|r| [200, 400, 409].contains(&r.status)));
    assert_eq!(s.state(&id).await["version"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_id_store_one_session() {
    let s = TestServer::start().await;
    let id = crate::support::server::uuid();
    let body = crate::support::server::session_body(&id, &[60_000]);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let http = s.http.clone();
            let body = body.clone();
            tokio::spawn(async move { http.post_json("/v1/sessions", &body).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            201 => created += 1,
            409 => assert_eq!(r.error_code(), "SESSION_EXISTS"),
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(s.state(&id).await["version"], 1);
}
