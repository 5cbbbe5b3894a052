//! `RECONNECT` snapshots (CONTRACT.md §3.2, §3.4): `STATE_SYNC` carries the current
//! stored state, including after the session was deleted and created again under the
//! same id while this instance still had watchers of the old one (a connection whose
//! writes are stuck keeps the session's topic alive across the delete).

use crate::support::server::{session_body, TestServer};
use crate::support::ws::{WsClient, WAIT};
use serde_json::json;

#[tokio::test]
async fn state_sync_matches_the_stored_state_after_many_updates() {
    let s = TestServer::start_with(|c| c.rate_limit.switch_per_second = 0).await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    s.op_ok(&id, "start").await;
    for _ in 0..10 {
        s.op_ok(&id, "switch").await;
    }
    let (mut late, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    late.send_json(&json!({"type": "RECONNECT"})).await;
    let m = late.next_of_type("STATE_SYNC", WAIT).await.0;
    assert_eq!(m["state"], s.state(&id).await);
    assert_eq!(m["state"]["version"], 12);
    ws.send_json(&json!({"type": "RECONNECT"})).await;
    let m = ws.next_of_type("STATE_SYNC", WAIT).await.0;
    assert_eq!(m["state"]["version"], 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_sync_after_delete_and_recreate_is_the_new_session() {
    let s = TestServer::start_with(|c| {
        c.ws.write_timeout_ms = 30_000;
        c.rate_limit.switch_per_second = 0;
    })
    .await;
    let (id, _) = s.create(&[600_000; 600]).await;
    s.op_ok(&id, "start").await;
    // A watcher that never reads: once its socket buffers are full its connection
    // cannot finish closing, so it stays subscribed through the delete.
    let _stuck = WsClient::connect_stuck(&s.ws_url(&id)).await;
    let mut pushed = 0;
    while pushed < 8 << 20 {
        pushed += s.op(&id, "switch").await.expect(200).body.len();
    }
    let old_version = s.state(&id).await["version"].as_u64().unwrap();
    s.http
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
    s.http
        .post_json("/v1/sessions", &session_body(&id, &[60_000, 60_000]))
        .await
        .expect(201);
    let (mut fresh, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    fresh.send_json(&json!({"type": "RECONNECT"})).await;
    let m = fresh.next_of_type("STATE_SYNC", WAIT).await.0;
    assert_eq!(
        m["state"]["version"], 1,
        "STATE_SYNC must be the new session, not the deleted one (v{old_version})"
    );
    assert_eq!(m["state"]["participants"].as_array().unwrap().len(), 2);
    assert_eq!(m["state"], s.state(&id).await);
    // And the recreated session's updates reach the new watcher.
    s.op_ok(&id, "start").await;
    let m = fresh.next_of_type("STATE_UPDATE", WAIT).await.0;
    assert_eq!(m["state"]["version"], 2);
}

#[tokio::test]
async fn a_session_past_its_ttl_is_gone_for_rest_and_reconnect() {
    let s = TestServer::start_with(|c| c.sessions.ttl_secs = 1).await;
    let id = crate::support::server::uuid();
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    s.http
        .post_json("/v1/sessions", &session_body(&id, &[60_000]))
        .await
        .expect(201);
    assert_eq!(ws.next_json(WAIT).await["type"], "STATE_UPDATE");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    s.http.get(&format!("/v1/sessions/{id}")).await.expect(404);
    assert_eq!(s.op(&id, "start").await.status, 404);
    ws.send_json(&json!({"type": "RECONNECT"})).await;
    let m = ws.next_json(WAIT).await;
    assert_eq!(m["type"], "ERROR", "an expired session is not served: {m}");
    assert_eq!(m["code"], "SESSION_NOT_FOUND");
}
