//! The v2 WebSocket protocol (CONTRACT.md §3): `CONNECTED` first; no state pushed on
//! connect; one `STATE_UPDATE` per REST write (create, start, switch, pause, resume,
//! complete) with the stored version, in order; `RECONNECT` → `STATE_SYNC` or `ERROR`;
//! `PING` → `PONG` (plus NTP-style fields when the PING carries a timestamp); DELETE →
//! `SESSION_DELETED` then close 1000; the 1008 closes for a missing or malformed
//! `sessionId`; upgrade refusals.

use std::time::Duration;

use crate::support::server::{check_session_shape, uuid, TestServer};
use crate::support::ws::{UpgradeError, WsClient, WAIT};
use serde_json::{json, Value};

const QUIET: Duration = Duration::from_millis(300);

/// The next message must be a `STATE_UPDATE` of `id` at `version`; returns its state.
#[track_caller]
fn assert_update(m: &Value, id: &str, version: u64) -> Value {
    assert_eq!(m["type"], "STATE_UPDATE", "{m}");
    assert_eq!(m["sessionId"], id);
    assert!(m["timestamp"].is_i64(), "{m}");
    let st = m["state"].clone();
    assert_eq!(st["version"], version, "{m}");
    check_session_shape(&st);
    st
}

#[tokio::test]
async fn connected_first_and_no_state_pushed_on_connect() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000, 60_000]).await;
    s.op_ok(&id, "start").await;
    let before = synckairos::clock::now_ms();
    let (mut ws, hello) = WsClient::connect_ready(&s.ws_url(&id)).await;
    assert_eq!(hello["sessionId"], id.as_str());
    let ts = hello["timestamp"].as_i64().expect("epoch ms timestamp");
    assert!(ts >= before && ts <= synckairos::clock::now_ms());
    assert_eq!(
        hello.as_object().unwrap().len(),
        3,
        "type, sessionId, timestamp: {hello}"
    );
    ws.expect_silence(QUIET).await;
}

#[tokio::test]
async fn each_rest_write_is_pushed_once_with_the_stored_version() {
    let s = TestServer::start().await;
    let id = uuid();
    // Subscribing before the session exists is allowed; the create is pushed.
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let (mut ws2, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let created = s
        .http
        .post_json(
            "/v1/sessions",
            &crate::support::server::session_body(&id, &[60_000, 60_000]),
        )
        .await
        .expect(201)
        .data();
    let st = assert_update(&ws.next_json(WAIT).await, &id, 1);
    assert_eq!(st, created);
    assert_update(&ws2.next_json(WAIT).await, &id, 1);
    let mut version = 1;
    for op in ["start", "switch", "pause", "resume", "switch", "complete"] {
        let resp = s.op_ok(&id, op).await;
        version += 1;
        assert_eq!(resp["version"], version, "{op}");
        let st = assert_update(&ws.next_json(WAIT).await, &id, version);
        assert_update(&ws2.next_json(WAIT).await, &id, version);
        assert_eq!(
            st,
            s.state(&id).await,
            "{op}: pushed state is the stored state"
        );
        if op == "switch" {
            assert_eq!(st["participants"], resp["participants"]);
        } else {
            assert_eq!(st, resp, "{op}");
        }
    }
    // Exactly once: nothing more.
    ws.expect_silence(QUIET).await;
    ws2.expect_silence(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn rapid_writes_arrive_in_version_order_without_duplicates() {
    let s = TestServer::start_with(|c| c.rate_limit.switch_per_second = 0).await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    s.op_ok(&id, "start").await;
    for _ in 0..30 {
        s.op_ok(&id, "switch").await;
    }
    let last = 32;
    let mut seen = Vec::new();
    while seen.last() != Some(&last) {
        let m = ws.next_json(WAIT).await;
        assert_eq!(m["type"], "STATE_UPDATE", "{m}");
        seen.push(m["state"]["version"].as_u64().unwrap());
    }
    // A client that keeps up may still see a newer snapshot replace an unsent older
    // one (mailbox coalescing); it never sees one twice or out of order.
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    ws.expect_silence(QUIET).await;
}

#[tokio::test]
async fn reconnect_gives_state_sync_or_error() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000, 60_000]).await;
    s.op_ok(&id, "start").await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    ws.send_json(&json!({"type": "RECONNECT"})).await;
    let m = ws.next_json(WAIT).await;
    assert_eq!(m["type"], "STATE_SYNC", "{m}");
    assert_eq!(m["sessionId"], id.as_str());
    assert!(m["timestamp"].is_i64());
    assert_eq!(m["state"], s.state(&id).await);
    assert_eq!(m["state"]["version"], 2);
    // Extra fields (e.g. a future `lastKnownVersion`) are ignored.
    ws.send_json(&json!({"type": "RECONNECT", "lastKnownVersion": 1}))
        .await;
    assert_eq!(ws.next_json(WAIT).await["type"], "STATE_SYNC");

    let missing = uuid();
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&missing)).await;
    ws.send_json(&json!({"type": "RECONNECT"})).await;
    let m = ws.next_json(WAIT).await;
    assert_eq!(m["type"], "ERROR");
    assert_eq!(m["code"], "SESSION_NOT_FOUND");
    assert_eq!(m["message"], format!("Session {missing} not found"));
    // The socket stays open.
    ws.ping_pong().await;
}

#[tokio::test]
async fn ping_gets_pong_with_server_time() {
    let s = TestServer::start().await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&uuid())).await;
    let before = synckairos::clock::now_ms();
    ws.send_json(&json!({"type": "PING"})).await;
    let m = ws.next_json(WAIT).await;
    assert_eq!(m["type"], "PONG");
    let ts = m["timestamp"].as_i64().unwrap();
    assert!(ts >= before && ts <= synckairos::clock::now_ms());
    assert_eq!(
        m.as_object().unwrap().len(),
        2,
        "type + timestamp only: {m}"
    );

    // Extra fields are ignored; a client timestamp gets the NTP-style fields.
    let client_ts = 1_730_196_000_123i64;
    ws.send_json(&json!({"type": "PING", "timestamp": client_ts, "extra": [1]}))
        .await;
    let m = ws.next_json(WAIT).await;
    assert_eq!(m["type"], "PONG");
    assert_eq!(m["client_timestamp"], client_ts);
    let recv = m["server_receive_timestamp"].as_i64().expect("receive ts");
    let send = m["server_send_timestamp"].as_i64().expect("send ts");
    assert!(recv <= send && send <= synckairos::clock::now_ms(), "{m}");
    assert_eq!(m["timestamp"], send);
}

#[tokio::test]
async fn delete_pushes_session_deleted_then_closes_1000() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000]).await;
    let (other, _) = s.create(&[60_000]).await;
    let (mut a, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let (mut b, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let (mut bystander, _) = WsClient::connect_ready(&s.ws_url(&other)).await;
    s.http
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
    for ws in [&mut a, &mut b] {
        let m = ws.next_json(WAIT).await;
        assert_eq!(m["type"], "SESSION_DELETED", "{m}");
        assert_eq!(m["sessionId"], id.as_str());
        assert!(m["timestamp"].is_i64());
        assert_eq!(
            ws.expect_close(WAIT).await,
            (1000, "Session deleted".to_owned())
        );
    }
    // Others are untouched.
    bystander.ping_pong().await;
    s.op_ok(&other, "start").await;
    assert_eq!(bystander.next_json(WAIT).await["type"], "STATE_UPDATE");
    // Deleting a session nobody created still tells its watchers (v2 publishes always).
    let ghost = uuid();
    let (mut g, _) = WsClient::connect_ready(&s.ws_url(&ghost)).await;
    s.http
        .delete(&format!("/v1/sessions/{ghost}"))
        .await
        .expect(204);
    assert_eq!(g.next_json(WAIT).await["type"], "SESSION_DELETED");
    assert_eq!(g.expect_close(WAIT).await.0, 1000);
}

#[tokio::test]
async fn bad_session_id_closes_1008_after_the_handshake() {
    let s = TestServer::start().await;
    let cases = [
        ("/ws", "Missing sessionId parameter"),
        ("/ws?sessionId=", "Missing sessionId parameter"),
        ("/ws?other=1", "Missing sessionId parameter"),
        ("/ws?sessionId=abc", "Invalid sessionId format"),
        (
            "/ws?sessionId=223e4567-e89b-12d3-a456-42661417400g",
            "Invalid sessionId format",
        ),
    ];
    for (path, reason) in cases {
        let mut ws = WsClient::connect(&s.ws_url_raw(path)).await;
        assert_eq!(
            ws.expect_close(WAIT).await,
            (1008, reason.to_owned()),
            "{path}"
        );
    }
    // The WebSocket check is looser than REST: any 8-4-4-4-12 hex id is accepted.
    let loose = "223e4567-e89b-02d3-c456-426614174001";
    let (_ws, hello) = WsClient::connect_ready(&s.ws_url(loose)).await;
    assert_eq!(hello["sessionId"], loose);
    s.http.get("/health").await.expect(200);
}

#[tokio::test]
async fn upgrade_refusals() {
    let s = TestServer::start().await;
    // Another path is not a WebSocket endpoint.
    match WsClient::connect_with(&s.ws_url_raw("/socket?sessionId=x"), Default::default()).await {
        Err(UpgradeError::Status(code, _)) => assert!(code == 404 || code == 400, "{code}"),
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    // A plain GET on /ws is told to upgrade.
    let r = s.http.get(&format!("/ws?sessionId={}", uuid())).await;
    assert_eq!(r.status, 426, "{}", r.text());
    assert_eq!(r.error_code(), "UPGRADE_REQUIRED");
}

#[tokio::test]
async fn a_client_close_is_echoed() {
    let s = TestServer::start().await;
    let id = uuid();
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    assert!(s.eventually(WAIT, |s| s.ws_connections() == 1).await);
    ws.close(1000, "bye").await;
    let (code, _) = ws.expect_close(WAIT).await;
    assert_eq!(code, 1000);
    assert!(s.eventually(WAIT, |s| s.ws_connections() == 0).await);
}

#[tokio::test]
async fn protocol_ping_frames_are_answered_with_pong_frames() {
    let s = TestServer::start().await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&uuid())).await;
    ws.send_frame(true, fastwebsockets::OpCode::Ping, b"hi".to_vec())
        .await
        .unwrap();
    loop {
        match ws.next_event(WAIT).await {
            Some(crate::support::ws::WsEvent::Pong) => break,
            Some(crate::support::ws::WsEvent::Ping) => continue,
            other => panic!("expected a pong frame, got {other:?}"),
        }
    }
    // No application message is produced by it.
    ws.expect_silence(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_watchers_each_get_every_update_once() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    let mut watchers = Vec::new();
    for _ in 0..100 {
        watchers.push(WsClient::connect_ready(&s.ws_url(&id)).await.0);
    }
    assert!(s.eventually(WAIT, |s| s.ws_connections() == 100).await);
    let mut version = 1;
    for op in ["start", "switch", "switch", "pause"] {
        s.op_ok(&id, op).await;
        version += 1;
        for w in watchers.iter_mut() {
            let m = w.next_json(WAIT).await;
            assert_update(&m, &id, version);
        }
    }
    for w in watchers.iter_mut() {
        w.expect_silence(Duration::from_millis(5)).await;
    }
}
