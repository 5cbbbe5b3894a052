//! WebSockets with auth on: the token on the URL (`?token=`) or in the first message
//! (`{"type":"AUTH","token":…}`); none in time, or a bad one, closes 4401; one that does
//! not cover the session closes 4403, before anything is subscribed; commands act as
//! the token's role (a watcher's `SWITCH` is an `ERROR` `FORBIDDEN`, a participant's on
//! its turn an `ACK`).

use serde_json::json;

use crate::support::auth::{self, Authed};
use crate::support::server::{pid, session_body, uuid, TestServer};
use crate::support::ws::{WsClient, WAIT};

async fn setup() -> (TestServer, String, String) {
    let s = TestServer::start_with(|c| {
        auth::on(c);
        c.ws.auth_timeout_ms = 300;
    })
    .await;
    let svc = auth::service("backend", None);
    let id = uuid();
    let a = Authed {
        http: &s.http,
        token: &svc,
    };
    a.post("/v1/sessions", &session_body(&id, &[600_000, 600_000]))
        .await
        .expect(201);
    a.op(&id, "start").await.expect(200);
    (s, id, svc)
}

#[tokio::test]
async fn a_socket_without_a_good_token_closes_4401() {
    let (s, id, _) = setup().await;
    // No token and no AUTH message in time.
    let mut ws = WsClient::connect(&s.ws_url(&id)).await;
    assert_eq!(ws.expect_close(WAIT).await.0, 4401);
    // A bad token on the URL.
    let mut ws = WsClient::connect(&format!("{}&token=abc.def.ghi", s.ws_url(&id))).await;
    let (code, reason) = ws.expect_close(WAIT).await;
    assert_eq!(code, 4401, "{reason}");
    // A first message that is not AUTH.
    let mut ws = WsClient::connect(&s.ws_url(&id)).await;
    ws.send_text(r#"{"type":"PING"}"#).await;
    assert_eq!(ws.expect_close(WAIT).await.0, 4401);
    // An AUTH message with an expired token.
    let mut c = auth::claims("watcher", "w");
    c.exp -= 7200;
    let mut ws = WsClient::connect(&s.ws_url(&id)).await;
    ws.send_json(&json!({"type": "AUTH", "token": auth::sign("k1", &c)}))
        .await;
    assert_eq!(ws.expect_close(WAIT).await.0, 4401);
}

#[tokio::test]
async fn a_token_for_another_session_closes_4403() {
    let (s, id, _) = setup().await;
    let other = auth::watcher("w", &uuid());
    let mut ws = WsClient::connect(&format!("{}&token={other}", s.ws_url(&id))).await;
    assert_eq!(ws.expect_close(WAIT).await.0, 4403);
    let foreign = auth::service("globex", Some("globex"));
    let mut ws = WsClient::connect(&format!("{}&token={foreign}", s.ws_url(&id))).await;
    assert_eq!(ws.expect_close(WAIT).await.0, 4403);
}

#[tokio::test]
async fn commands_act_as_the_sockets_token() {
    let (s, id, svc) = setup().await;
    // A watcher by first message: subscribed, reads, may not switch.
    let mut watcher = WsClient::connect(&s.ws_url(&id)).await;
    watcher
        .send_json(&json!({"type": "AUTH", "token": auth::watcher("w", &id)}))
        .await;
    assert_eq!(watcher.next_json(WAIT).await["type"], "CONNECTED");
    watcher.send_json(&json!({"type": "RECONNECT"})).await;
    assert_eq!(
        watcher.next_of_type("STATE_SYNC", WAIT).await.0["type"],
        "STATE_SYNC"
    );
    watcher
        .send_json(&json!({"type": "SWITCH", "requestId": 1}))
        .await;
    let (e, _) = watcher.next_of_type("ERROR", WAIT).await;
    assert_eq!(e["code"], "FORBIDDEN", "{e}");
    // The players by URL token: only the active one's SWITCH is acknowledged.
    let p1 = auth::participant("bob", &id, &pid(1));
    let (mut bob, _) = WsClient::connect_ready(&format!("{}&token={p1}", s.ws_url(&id))).await;
    bob.send_json(&json!({"type": "SWITCH", "requestId": "b"}))
        .await;
    let (e, _) = bob.next_of_type("ERROR", WAIT).await;
    assert_eq!(e["code"], "FORBIDDEN", "{e}");
    let p0 = auth::participant("alice", &id, &pid(0));
    let (mut alice, _) = WsClient::connect_ready(&format!("{}&token={p0}", s.ws_url(&id))).await;
    alice
        .send_json(&json!({"type": "SWITCH", "requestId": "a"}))
        .await;
    let (ack, _) = alice.next_of_type("ACK", WAIT).await;
    assert_eq!(ack["requestId"], "a", "{ack}");
    // Everyone subscribed sees the update.
    let (u, _) = watcher.next_of_type("STATE_UPDATE", WAIT).await;
    assert_eq!(u["state"]["active_participant_id"], pid(1));
    // A service token may do anything over the socket too.
    let (mut backend, _) = WsClient::connect_ready(&format!("{}&token={svc}", s.ws_url(&id))).await;
    backend
        .send_json(&json!({"type": "PAUSE", "requestId": 9}))
        .await;
    assert_eq!(backend.next_of_type("ACK", WAIT).await.0["op"], "pause");
}
