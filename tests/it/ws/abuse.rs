//! Misbehaving WebSocket clients (CONTRACT.md §3.2, §3.3; issue 2 "Done means"):
//! invalid JSON, unknown types and binary frames are ignored; a message over
//! `ws.max_message_bytes` closes 1009 (also when assembled from many continuation
//! frames); invalid UTF-8 closes 1007; broken fragmentation closes 1002; a flood of
//! messages is refused then closed 1008; and after each abuse a bystander on the same
//! session still gets its updates.

use std::time::Duration;

use crate::support::server::{uuid, TestServer};
use crate::support::ws::{WsClient, WAIT};
use fastwebsockets::OpCode;
use serde_json::json;

const QUIET: Duration = Duration::from_millis(300);

/// A session with an abuser and a bystander connected to it.
async fn setup(s: &TestServer) -> (String, WsClient, WsClient) {
    let (id, _) = s.create(&[600_000, 600_000]).await;
    let (abuser, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let (bystander, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    (id, abuser, bystander)
}

/// The server keeps serving: the bystander gets the next update and answers PING,
/// and a new client can connect.
async fn still_serving(s: &TestServer, id: &str, bystander: &mut WsClient) {
    let before = s.state(id).await["version"].as_u64().unwrap();
    s.op_ok(id, "complete").await;
    let m = bystander.next_json(WAIT).await;
    assert_eq!(m["type"], "STATE_UPDATE", "{m}");
    assert_eq!(m["state"]["version"], before + 1);
    bystander.ping_pong().await;
    let (mut fresh, _) = WsClient::connect_ready(&s.ws_url(&uuid())).await;
    fresh.ping_pong().await;
    s.http.get("/health").await.expect(200);
}

#[tokio::test]
async fn junk_messages_are_ignored_and_the_socket_stays_open() {
    let s = TestServer::start().await;
    let (id, mut ws, mut bystander) = setup(&s).await;
    for junk in [
        "not json",
        "{",
        "[]",
        "42",
        "null",
        r#"{"no_type": true}"#,
        r#"{"type": 5}"#,
        r#"{"type": "NOPE"}"#,
        r#"{"type": "ping"}"#,
        r#"{"type": "SUBSCRIBE_PARTICIPANT", "participantId": "x"}"#,
        "",
    ] {
        ws.send_text(junk).await;
    }
    ws.send_binary(&[0, 1, 2, 255]).await;
    ws.send_binary(b"{\"type\":\"PING\"}").await;
    ws.expect_silence(QUIET).await;
    ws.ping_pong().await;
    still_serving(&s, &id, &mut bystander).await;
    // The abuser is still subscribed and got the update too.
    assert_eq!(ws.next_json(WAIT).await["type"], "STATE_UPDATE");
}

#[tokio::test]
async fn a_message_over_the_limit_closes_1009() {
    let s = TestServer::start_with(|c| c.ws.max_message_bytes = 1024).await;
    let (id, ws, mut bystander) = setup(&s).await;
    // Just under the limit is fine (padding inside valid JSON).
    let ok = format!(r#"{{"type":"PING","pad":"{}"}}"#, "x".repeat(900));
    let mut ws = ws;
    ws.send_text(&ok).await;
    assert_eq!(ws.next_json(WAIT).await["type"], "PONG");
    let big = format!(r#"{{"type":"PING","pad":"{}"}}"#, "x".repeat(4096));
    ws.send_text(&big).await;
    assert_eq!(
        ws.expect_close(WAIT).await,
        (1009, "Message too big".to_owned())
    );
    still_serving(&s, &id, &mut bystander).await;
}

#[tokio::test]
async fn a_message_assembled_from_many_small_fragments_over_the_limit_closes_1009() {
    let s = TestServer::start_with(|c| c.ws.max_message_bytes = 1024).await;
    let (id, mut ws, mut bystander) = setup(&s).await;
    // A fragmented message under the limit is reassembled and handled.
    ws.send_frame(false, OpCode::Text, br#"{"type":"#.to_vec())
        .await
        .unwrap();
    ws.send_frame(false, OpCode::Continuation, br#""PI"#.to_vec())
        .await
        .unwrap();
    ws.send_frame(true, OpCode::Continuation, br#"NG"}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(ws.next_json(WAIT).await["type"], "PONG");
    // 100-byte fragments, never finished, until the server objects.
    ws.send_frame(false, OpCode::Text, b"{\"type\":\"PING\",\"p\":\"".to_vec())
        .await
        .unwrap();
    for _ in 0..40 {
        if ws
            .send_frame(false, OpCode::Continuation, vec![b'x'; 100])
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(
        ws.expect_close(WAIT).await,
        (1009, "Message too big".to_owned())
    );
    still_serving(&s, &id, &mut bystander).await;
}

#[tokio::test]
async fn invalid_utf8_closes_1007() {
    let s = TestServer::start().await;
    let (id, ws, mut bystander) = setup(&s).await;
    ws.send_frame(true, OpCode::Text, vec![b'{', 0xff, 0xfe, b'}'])
        .await
        .unwrap();
    let mut ws = ws;
    assert_eq!(ws.expect_close(WAIT).await.0, 1007);
    // Also when the bad bytes arrive in a fragmented message.
    let (mut frag, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    frag.send_frame(false, OpCode::Text, b"{\"type\":".to_vec())
        .await
        .unwrap();
    frag.send_frame(true, OpCode::Continuation, vec![0xc3, 0x28])
        .await
        .unwrap();
    assert_eq!(
        frag.expect_close(WAIT).await,
        (1007, "Invalid UTF-8".to_owned())
    );
    still_serving(&s, &id, &mut bystander).await;
}

#[tokio::test]
async fn broken_fragmentation_closes_1002() {
    let s = TestServer::start().await;
    let (id, ws, mut bystander) = setup(&s).await;
    // A continuation with no message started.
    ws.send_frame(true, OpCode::Continuation, b"x".to_vec())
        .await
        .unwrap();
    let mut ws = ws;
    assert_eq!(ws.expect_close(WAIT).await.0, 1002);
    // A new text message in the middle of a fragmented one.
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    ws.send_frame(false, OpCode::Text, b"{".to_vec())
        .await
        .unwrap();
    ws.send_frame(true, OpCode::Text, b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(ws.expect_close(WAIT).await.0, 1002);
    // A fragmented control frame is a protocol error too.
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    ws.send_frame(false, OpCode::Ping, b"x".to_vec())
        .await
        .unwrap();
    assert_eq!(ws.expect_close(WAIT).await.0, 1002);
    still_serving(&s, &id, &mut bystander).await;
}

#[tokio::test]
async fn a_message_flood_is_refused_then_closed_1008() {
    let s = TestServer::start_with(|c| c.ws.messages_per_second = 5).await;
    let (id, mut ws, mut bystander) = setup(&s).await;
    for _ in 0..8 {
        ws.send_json(&json!({"type": "PING"})).await;
    }
    let mut pongs = 0;
    let mut errors = Vec::new();
    let end = tokio::time::Instant::now() + QUIET;
    while let Some(ev) = ws.next_event(end - tokio::time::Instant::now()).await {
        if let crate::support::ws::WsEvent::Text(t) = ev {
            let m: serde_json::Value = serde_json::from_str(&t).unwrap();
            match m["type"].as_str() {
                Some("PONG") => pongs += 1,
                Some("ERROR") => errors.push(m),
                _ => panic!("{m}"),
            }
        }
    }
    assert_eq!(pongs, 5, "the limit lets 5 per second through");
    assert_eq!(errors.len(), 1, "one ERROR per window: {errors:?}");
    assert_eq!(errors[0]["code"], "RATE_LIMIT_EXCEEDED");
    // Far beyond the limit (10x) within one second: closed as abuse.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for _ in 0..60 {
        if ws
            .send_frame(true, OpCode::Text, br#"{"type":"PING"}"#.to_vec())
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(
        ws.expect_close(WAIT).await,
        (1008, "Message rate limit exceeded".to_owned())
    );
    still_serving(&s, &id, &mut bystander).await;
}

#[tokio::test]
async fn the_server_keeps_serving_after_a_client_vanishes_mid_frame() {
    let s = TestServer::start().await;
    let (id, _ws, mut bystander) = setup(&s).await;
    // A client that sends the start of a fragmented message and disappears.
    {
        let ws = WsClient::connect(&s.ws_url(&id)).await;
        ws.send_frame(false, OpCode::Text, b"{\"type\"".to_vec())
            .await
            .unwrap();
        drop(ws);
    }
    assert!(s.eventually(WAIT, |s| s.ws_connections() == 2).await);
    still_serving(&s, &id, &mut bystander).await;
}

#[tokio::test]
async fn a_1mb_binary_frame_closes_1009() {
    let s = TestServer::start().await;
    let (id, ws, mut bystander) = setup(&s).await;
    let mut ws = ws;
    let _ = ws
        .send_frame(true, OpCode::Binary, vec![7u8; 1 << 20])
        .await;
    let ended = ws.expect_ended(WAIT).await;
    assert_eq!(ended, Some((Some(1009), "Message too big".to_owned())));
    still_serving(&s, &id, &mut bystander).await;
}

#[tokio::test]
async fn a_message_of_exactly_the_limit_is_accepted() {
    let s = TestServer::start_with(|c| c.ws.max_message_bytes = 1024).await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&uuid())).await;
    let head = r#"{"type":"PING","pad":""#;
    let pad = "x".repeat(1024 - head.len() - 2);
    let exact = format!("{head}{pad}\"}}");
    assert_eq!(exact.len(), 1024);
    ws.send_text(&exact).await;
    assert_eq!(ws.next_json(WAIT).await["type"], "PONG");
    // The same size in fragments.
    let (a, b) = exact.split_at(500);
    ws.send_frame(false, OpCode::Text, a.as_bytes().to_vec())
        .await
        .unwrap();
    ws.send_frame(true, OpCode::Continuation, b.as_bytes().to_vec())
        .await
        .unwrap();
    assert_eq!(ws.next_json(WAIT).await["type"], "PONG");
    // One byte more is refused.
    ws.send_text(&format!("{head}{pad}x\"}}")).await;
    assert_eq!(ws.expect_close(WAIT).await.0, 1009);
}

#[tokio::test]
async fn control_frames_between_fragments_are_fine() {
    let s = TestServer::start().await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&uuid())).await;
    ws.send_frame(false, OpCode::Text, br#"{"type":"#.to_vec())
        .await
        .unwrap();
    ws.send_frame(true, OpCode::Ping, b"mid".to_vec())
        .await
        .unwrap();
    ws.send_frame(true, OpCode::Continuation, br#""PING"}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(ws.next_json(WAIT).await["type"], "PONG");
}

#[tokio::test]
async fn a_bad_close_frame_gets_1002() {
    let s = TestServer::start().await;
    let (id, ws, mut bystander) = setup(&s).await;
    // 999 is not a valid close code.
    ws.send_frame(true, OpCode::Close, 999u16.to_be_bytes().to_vec())
        .await
        .unwrap();
    let mut ws = ws;
    assert_eq!(ws.expect_close(WAIT).await.0, 1002);
    // A one-byte close payload is malformed.
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    ws.send_frame(true, OpCode::Close, vec![3]).await.unwrap();
    assert_eq!(ws.expect_ended(WAIT).await.map(|c| c.0), Some(Some(1002)));
    still_serving(&s, &id, &mut bystander).await;
}
