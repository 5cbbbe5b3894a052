//! The command extension over WebSocket (CONTRACT.md §9 "client-driven mutations";
//! additive, so v2 clients are unaffected): `START`/`SWITCH`/`PAUSE`/`RESUME`/
//! `COMPLETE` on the socket's session → `ACK` with the stored version and the echoed
//! `requestId`, plus the usual `STATE_UPDATE` to every watcher; refusals → `ERROR` with
//! the REST error code, message and `requestId`; the switch rate limit applies.

use std::time::Duration;

use crate::support::server::{pid, uuid, TestServer};
use crate::support::ws::{WsClient, WAIT};
use serde_json::{json, Value};

/// Sends `cmd` and returns the `ACK` or `ERROR` reply (state updates are skipped).
async fn command(ws: &mut WsClient, cmd: Value) -> Value {
    ws.send_json(&cmd).await;
    loop {
        let m = ws.next_json(WAIT).await;
        match m["type"].as_str() {
            Some("ACK") | Some("ERROR") => return m,
            Some("STATE_UPDATE") => continue,
            _ => panic!("unexpected reply {m}"),
        }
    }
}

#[tokio::test]
async fn commands_are_acked_with_the_stored_version() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let (mut watcher, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let steps = [
        ("START", "start"),
        ("SWITCH", "switch"),
        ("PAUSE", "pause"),
        ("RESUME", "resume"),
        ("SWITCH", "switch"),
        ("COMPLETE", "complete"),
    ];
    for (i, (kind, op)) in steps.iter().enumerate() {
        let version = i as u64 + 2;
        let req = format!("r{i}");
        let ack = command(&mut ws, json!({"type": kind, "requestId": req})).await;
        assert_eq!(ack["type"], "ACK", "{ack}");
        assert_eq!(ack["requestId"], req.as_str());
        assert_eq!(ack["op"], *op);
        assert_eq!(ack["version"], version);
        let m = watcher.next_json(WAIT).await;
        assert_eq!(m["type"], "STATE_UPDATE");
        assert_eq!(m["state"]["version"], version);
    }
    let st = s.state(&id).await;
    assert_eq!(st["status"], "completed");
    assert_eq!(st["version"], 7);
}

#[tokio::test]
async fn the_sender_gets_the_update_too_and_ids_may_be_any_json() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    ws.send_json(&json!({"type": "START", "requestId": 17}))
        .await;
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(ws.next_json(WAIT).await);
    }
    let ack = got.iter().find(|m| m["type"] == "ACK").expect("ACK");
    assert_eq!(ack["requestId"], 17);
    let up = got
        .iter()
        .find(|m| m["type"] == "STATE_UPDATE")
        .expect("update");
    assert_eq!(up["state"]["version"], 2);
    // Without a request id the ACK still comes.
    let ack = command(&mut ws, json!({"type": "SWITCH"})).await;
    assert_eq!(ack["type"], "ACK");
    assert_eq!(ack["version"], 3);
}

#[tokio::test]
async fn switch_to_a_named_participant_over_the_socket() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[600_000, 600_000, 600_000]).await;
    s.op_ok(&id, "start").await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let ack = command(
        &mut ws,
        json!({"type": "SWITCH", "requestId": "a", "next_participant_id": pid(2)}),
    )
    .await;
    assert_eq!(ack["type"], "ACK", "{ack}");
    assert_eq!(s.state(&id).await["active_participant_id"], pid(2).as_str());
    let ack = command(
        &mut ws,
        json!({"type": "SWITCH", "requestId": "b", "nextParticipantId": pid(1)}),
    )
    .await;
    assert_eq!(ack["type"], "ACK", "{ack}");
    assert_eq!(s.state(&id).await["active_participant_id"], pid(1).as_str());
}

#[tokio::test]
async fn refusals_are_errors_with_code_message_and_request_id() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let e = command(&mut ws, json!({"type": "SWITCH", "requestId": "r1"})).await;
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["code"], "INVALID_STATE_TRANSITION");
    assert_eq!(
        e["message"],
        format!("Session {id} not running (current status: pending)")
    );
    assert_eq!(e["requestId"], "r1");
    let e = command(&mut ws, json!({"type": "PAUSE", "requestId": "r2"})).await;
    assert_eq!(e["code"], "INVALID_STATE_TRANSITION");
    assert_eq!(e["requestId"], "r2");

    s.op_ok(&id, "start").await;
    let unknown = "323e4567-e89b-12d3-a456-426614174999";
    let e = command(
        &mut ws,
        json!({"type": "SWITCH", "requestId": "r3", "next_participant_id": unknown}),
    )
    .await;
    assert_eq!(e["code"], "VALIDATION_ERROR");
    assert_eq!(
        e["message"],
        format!("Participant {unknown} not found in session")
    );
    let e = command(
        &mut ws,
        json!({"type": "SWITCH", "requestId": "r4", "next_participant_id": "nope"}),
    )
    .await;
    assert_eq!(e["code"], "VALIDATION_ERROR");
    assert_eq!(e["requestId"], "r4");
    // Only while the named participant is active (extension `current_participant_id`).
    let e = command(
        &mut ws,
        json!({"type": "SWITCH", "requestId": "r5", "current_participant_id": pid(1)}),
    )
    .await;
    assert_eq!(e["code"], "CONFLICT", "{e}");
    let ack = command(
        &mut ws,
        json!({"type": "SWITCH", "requestId": "r6", "current_participant_id": pid(0)}),
    )
    .await;
    assert_eq!(ack["type"], "ACK", "{ack}");
    // Nothing was changed by the refusals.
    assert_eq!(s.state(&id).await["version"], 3);

    // A socket watching a session that does not exist.
    let missing = uuid();
    let (mut ghost, _) = WsClient::connect_ready(&s.ws_url(&missing)).await;
    let e = command(&mut ghost, json!({"type": "START", "requestId": "x"})).await;
    assert_eq!(e["code"], "SESSION_NOT_FOUND");
    assert_eq!(e["message"], format!("Session {missing} not found"));
    assert_eq!(e["requestId"], "x");
    ghost.ping_pong().await;
}

#[tokio::test]
async fn the_switch_rate_limit_applies_to_socket_commands() {
    let s = TestServer::start_with(|c| c.rate_limit.switch_per_second = 1).await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    s.op_ok(&id, "start").await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let ack = command(&mut ws, json!({"type": "SWITCH", "requestId": 1})).await;
    assert_eq!(ack["type"], "ACK");
    let e = command(&mut ws, json!({"type": "SWITCH", "requestId": 2})).await;
    assert_eq!(e["code"], "RATE_LIMIT_EXCEEDED", "{e}");
    assert_eq!(e["requestId"], 2);
    // The REST switch shares the same per-session budget.
    assert_eq!(s.op(&id, "switch").await.status, 429);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ack = command(&mut ws, json!({"type": "SWITCH", "requestId": 3})).await;
    assert_eq!(ack["type"], "ACK", "{ack}");
}

#[tokio::test]
async fn rest_switch_with_current_participant_guard() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    s.op_ok(&id, "start").await;
    let path = format!("/v1/sessions/{id}/switch");
    let r = s
        .http
        .post_json(&path, &json!({"current_participant_id": pid(1)}))
        .await
        .expect(409);
    let e = &r.json()["error"];
    assert_eq!(e["code"], "CONFLICT");
    assert_eq!(e["details"]["expected_participant_id"], pid(1).as_str());
    assert_eq!(e["details"]["active_participant_id"], pid(0).as_str());
    s.http
        .post_json(&path, &json!({"current_participant_id": pid(0)}))
        .await
        .expect(200);
}
