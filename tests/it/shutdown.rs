//! Ordered shutdown (CONTRACT.md §3.3, ARCHITECTURE "upgraded WebSockets escape
//! hyper's graceful shutdown"): every open socket gets close 1001 "Server shutting
//! down"; a request in flight completes; `/ready` answers 503 while draining (checked
//! through the real handler: the listener closes at once, so no new HTTP connection
//! can observe it); new connections are refused; the server task finishes within the
//! grace period even when a request never completes.

use std::time::{Duration, Instant};

use crate::support::server::{session_body, uuid, TestServer};
use crate::support::ws::{WsClient, WsOptions, WAIT};
use bytes::Bytes;
use http_body_util::BodyExt;

#[tokio::test]
async fn every_socket_gets_1001_and_shutdown_finishes() {
    let mut s = TestServer::start().await;
    let (a, _) = s.create(&[60_000]).await;
    let b = uuid();
    let mut clients = Vec::new();
    for id in [&a, &a, &b] {
        clients.push(WsClient::connect_ready(&s.ws_url(id)).await.0);
    }
    // A client that never reads still gets its close written.
    let lazy = WsClient::connect_with(
        &s.ws_url(&a),
        WsOptions {
            read: false,
            ..Default::default()
        },
    )
    .await
    .expect("connect");
    clients.push(lazy);
    assert!(s.eventually(WAIT, |s| s.ws_connections() == 4).await);
    let started = Instant::now();
    s.shutdown().await;
    let took = started.elapsed();
    println!("shutdown with 4 sockets took {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    for c in clients.iter_mut() {
        c.start_reading();
        let (code, reason) = c.expect_close(WAIT).await;
        assert_eq!((code, reason.as_str()), (1001, "Server shutting down"));
    }
    // The port is closed now.
    assert!(tokio::net::TcpStream::connect(s.addr()).await.is_err());
}

#[tokio::test]
async fn an_in_flight_request_completes_and_ready_is_503_while_draining() {
    let mut s = TestServer::start().await;
    let ctx = s.server().ctx().clone();
    let ready = synckairos::front::ops::ready(&ctx).await;
    assert_eq!(ready.status(), 200);
    let (_ws, _) = WsClient::connect_ready(&s.ws_url(&uuid())).await;

    // A create whose body is still arriving when the shutdown starts.
    let id = uuid();
    let body = session_body(&id, &[60_000]).to_string();
    let (first, rest) = body.split_at(10);
    let (tx, pending) = s.http.post_streaming("/v1/sessions");
    tx.send(Bytes::from(first.to_owned())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.trigger_shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let draining = synckairos::front::ops::ready(&ctx).await;
    assert_eq!(draining.status(), 503);
    let body = draining.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["status"], "not_ready");
    assert!(body["error"].is_string(), "{body}");
    // New connections are refused (or, if one slipped in, told to go away).
    let fresh = crate::support::http::Client::new(s.addr());
    match fresh
        .try_send(hyper::Method::GET, "/ready", &[], Default::default())
        .await
    {
        Err(_) => {}
        Ok(r) => assert_eq!(r.status, 503, "{}", r.text()),
    }

    tx.send(Bytes::from(rest.to_owned())).await.unwrap();
    drop(tx);
    let r = pending
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.data()["session_id"], id.as_str());
    let started = Instant::now();
    s.wait().await;
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_stuck_request_does_not_hold_shutdown_past_the_grace() {
    let mut s = TestServer::start_with(|c| c.server.shutdown_grace_ms = 400).await;
    let (tx, pending) = s.http.post_streaming("/v1/sessions");
    tx.send(Bytes::from_static(b"{\"session_id\":"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    s.shutdown().await;
    let took = started.elapsed();
    println!("shutdown with a stuck request took {took:?} (grace 400 ms)");
    assert!(
        took >= Duration::from_millis(350),
        "waited for the grace: {took:?}"
    );
    assert!(took < Duration::from_millis(1500), "{took:?}");
    drop(tx);
    let _ = pending.await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_does_not_hold_shutdown() {
    let mut s = TestServer::start().await;
    // The pooled client keeps its connection open after this.
    s.http.get("/health").await.expect(200);
    let started = Instant::now();
    s.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn other_servers_are_unaffected() {
    let mut a = TestServer::start().await;
    let b = TestServer::start().await;
    let (id, _) = b.create(&[60_000]).await;
    let (mut ws, _) = WsClient::connect_ready(&b.ws_url(&id)).await;
    a.shutdown().await;
    b.http.get("/ready").await.expect(200);
    ws.ping_pong().await;
}
