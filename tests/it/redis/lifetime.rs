//! Session lifetime in Redis (CONTRACT.md §1.9 as this project refines it: a session
//! is forgotten a TTL after its last write, but never while its clock can still run
//! down), with `SYNCKAIROS_SESSIONS__TTL_SECS=1` and three instances: an idle pending
//! session is 404 everywhere after ~1 s; a running session stays readable past its
//! TTL until its deadline + TTL; DELETE is immediate on every instance, idempotent,
//! and watchers on the other instances get `SESSION_DELETED` then close 1000. After an
//! expiry, `RECONNECT` must say `SESSION_NOT_FOUND` and a re-created id must reach the
//! watchers still connected (both ignored for now: they expose bugs).

use std::time::{Duration, Instant};

use crate::support::redis::{now_ms, poll, Cluster};
use crate::support::server::iso_ms;
use crate::support::ws::WAIT;

const TTL: &[(&str, &str)] = &[("SYNCKAIROS_SESSIONS__TTL_SECS", "1")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_expire_after_the_ttl_running_clocks_do_not() {
    let c = Cluster::start(3, TTL);
    let (idle, created) = c.create(0, &[60_000, 60_000]).await;
    let created_at = iso_ms(&created["created_at"]);
    // Budget 1.5 s: the clock runs out at start + 1.5 s, so the session must stay
    // until start + 2.5 s although its last client write is older than the TTL.
    let (running, _) = c.create(1, &[1500, 60_000]).await;
    let started = c.op(1, &running, "start").await.expect(200).data();
    let keep = iso_ms(&started["cycle_started_at"]) + 1500 + 1000;

    // The idle one: present at first, gone on every instance by ~1.5 s.
    c.get(2, &idle).await.expect(200);
    let gone = poll(Duration::from_millis(2000), || async {
        (c.get(0, &idle).await.status == 404).then(now_ms)
    })
    .await
    .expect("an idle session vanishes after its TTL");
    let age = gone - created_at;
    assert!((950..=1500).contains(&age), "gone {age} ms after creation");
    for i in 0..3 {
        let r = c.get(i, &idle).await.expect(404);
        assert_eq!(r.error_code(), "SESSION_NOT_FOUND");
        c.op(i, &idle, "start").await.expect(404);
    }

    // The running one: readable on every instance until deadline + TTL (with 150 ms
    // of slack for the poll), then forgotten.
    let (mut n, mut last_ok) = (0, 0);
    while now_ms() < keep - 150 {
        let r = c.get(n % 3, &running).await;
        assert_eq!(r.status, 200, "vanished {} ms early", keep - now_ms());
        last_ok = now_ms();
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Still there 1.5 s after its last client write (the start), i.e. past its TTL.
    assert!(
        last_ok >= keep - 500,
        "last seen {} ms before keep",
        keep - last_ok
    );
    let gone = poll(Duration::from_millis(2000), || async {
        (c.get(2, &running).await.status == 404).then(now_ms)
    })
    .await
    .expect("the session vanishes once its clock ran out and the TTL passed");
    assert!(
        gone - keep < 800,
        "gone {} ms after deadline + TTL",
        gone - keep
    );
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_is_immediate_everywhere_and_closes_watchers_on_other_instances() {
    let c = Cluster::start(3, TTL);
    let (id, _) = c.create(0, &[60_000, 60_000]).await;
    c.op(0, &id, "start").await.expect(200);
    let mut ws = [
        c.node(1).watch(&id).await,
        c.node(1).watch(&id).await,
        c.node(2).watch(&id).await,
    ];
    let t = Instant::now();
    c.nodes[0]
        .http
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
    for i in 0..3 {
        c.get(i, &id).await.expect(404);
    }
    for w in ws.iter_mut() {
        let (m, skipped) = w.next_of_type("SESSION_DELETED", WAIT).await;
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(m["sessionId"], id.as_str());
        assert!(m["timestamp"].is_i64());
        let (code, reason) = w.expect_close(WAIT).await;
        assert_eq!((code, reason.as_str()), (1000, "Session deleted"));
    }
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // Idempotent, on any instance.
    for i in 0..3 {
        c.nodes[i]
            .http
            .delete(&format!("/v1/sessions/{id}"))
            .await
            .expect(204);
    }
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_after_the_ttl_ran_out_reports_the_session_missing() {
    let c = Cluster::start(3, TTL);
    let id = crate::support::server::uuid();
    // The watcher subscribes first, so its instance delivers (and caches) version 1.
    let mut w = c.node(1).watch(&id).await;
    c.nodes[0]
        .http
        .post_json(
            "/v1/sessions",
            &crate::support::server::session_body(&id, &[60_000]),
        )
        .await
        .expect(201);
    let m = w.next_json(WAIT).await;
    assert_eq!(
        (m["type"].as_str(), m["state"]["version"].as_u64()),
        (Some("STATE_UPDATE"), Some(1))
    );
    let gone = poll(Duration::from_secs(3), || async {
        (c.get(1, &id).await.status == 404).then_some(())
    })
    .await;
    assert!(gone.is_some(), "the idle session expires");
    // GET says 404 on this very instance; RECONNECT must agree (CONTRACT.md §3.2).
    w.send_json(&serde_json::json!({"type": "RECONNECT"})).await;
    let m = w.next_json(WAIT).await;
    assert_eq!(m["type"], "ERROR", "got {m}");
    assert_eq!(m["code"], "SESSION_NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_sees_a_session_re_created_after_its_ttl_ran_out() {
    let c = Cluster::start(2, TTL);
    let id = crate::support::server::uuid();
    let body = crate::support::server::session_body(&id, &[60_000, 60_000]);
    let mut w = c.node(1).watch(&id).await;
    c.nodes[0]
        .http
        .post_json("/v1/sessions", &body)
        .await
        .expect(201);
    c.op(0, &id, "complete").await.expect(200);
    for v in 1..=2 {
        let m = w.next_json(WAIT).await;
        assert_eq!(m["state"]["version"], v);
    }
    let gone = poll(Duration::from_secs(3), || async {
        (c.get(0, &id).await.status == 404).then_some(())
    })
    .await;
    assert!(gone.is_some(), "the completed session expires");
    // Same id again: the watcher (still subscribed) must get the create broadcast.
    c.nodes[0]
        .http
        .post_json("/v1/sessions", &body)
        .await
        .expect(201);
    let m = w.next_json(WAIT).await;
    assert_eq!(m["type"], "STATE_UPDATE");
    assert_eq!(m["state"]["version"], 1);
    assert_eq!(m["state"]["status"], "pending");
}
