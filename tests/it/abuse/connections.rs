//! Connection hygiene: a body that does not arrive within `server.body_read_timeout_ms`
//! gets 408 and its connection is closed (the 1,000 connections holding one
//! byte of a declared 1 MB body, scaled down); connections beyond
//! `server.max_connections_per_address` get 429 and beyond `server.max_connections`
//! 503 (`QUOTA_EXCEEDED` naming the limit), WebSockets included; closed connections
//! give their slot back.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::abuse::{bystander, Rss, BYSTANDER_P99_MS};
use crate::support::server::TestServer;
use crate::support::ws::WsClient;

/// Reads what the server sends until it closes (or `limit`).
async fn read_all(stream: &mut TcpStream, limit: Duration) -> String {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(limit, stream.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_are_cut_at_the_read_deadline() {
    let s = TestServer::start_with(|c| {
        c.server.body_read_timeout_ms = 500;
        c.rate_limit.general_per_minute = 0;
        // The slow bodies are creates: they count against it before their body is read.
        c.quotas.creates_per_minute = 0;
    })
    .await;
    let rss = Rss::start("300 slow bodies (1 byte of a declared 1 MB)");
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut c = TcpStream::connect(s.addr()).await.expect("connect");
        c.write_all(
            b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{",
        )
        .await
        .expect("write");
        slow.push(c);
    }
    let started = Instant::now();
    let l = bystander(&s, 100).await;
    let mut answers = Vec::new();
    for mut c in slow {
        answers.push(read_all(&mut c, Duration::from_secs(5)).await);
    }
    rss.report();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "{took:?}");
    for a in &answers {
        assert!(a.starts_with("HTTP/1.1 408"), "{a}");
        assert!(a.contains("REQUEST_TIMEOUT"), "{a}");
    }
    assert!(l.p99 < BYSTANDER_P99_MS, "{l:?}");
    assert!(
        s.server().ctx().conns.open() < 10,
        "slow connections were closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_caps_are_refused_with_the_limit() {
    let s = TestServer::start_with(|c| {
        c.server.max_connections_per_address = 20;
        c.server.max_connections = 1_000;
    })
    .await;
    let rss = Rss::start("connection flood from one address");
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(s.addr()).await.expect("connect"));
    }
    // Let the server accept all of them before the next one.
    let ok = s
        .eventually(Duration::from_secs(2), |s| {
            s.server().ctx().conns.open() == 20
        })
        .await;
    assert!(ok);
    let mut over = TcpStream::connect(s.addr()).await.expect("connect");
    let answer = read_all(&mut over, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("max_connections_per_address"), "{answer}");
    // Closing gives the slots back.
    held.truncate(10);
    let ok = s
        .eventually(Duration::from_secs(2), |s| {
            s.server().ctx().conns.open() == 10
        })
        .await;
    assert!(ok);
    // WebSockets hold their slot for their whole life.
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(WsClient::connect(&s.ws_url(&crate::support::server::uuid())).await);
    }
    let mut over = TcpStream::connect(s.addr()).await.expect("connect");
    let answer = read_all(&mut over, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    drop((held, sockets));
    rss.report();
    let ok = s
        .eventually(Duration::from_secs(2), |s| {
            s.server().ctx().conns.open() == 0
        })
        .await;
    assert!(ok);
    s.http.get("/health").await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_cap_answers_503() {
    let s = TestServer::start_with(|c| {
        c.server.max_connections_per_address = 0;
        c.server.max_connections = 5;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(TcpStream::connect(s.addr()).await.expect("connect"));
    }
    let ok = s
        .eventually(Duration::from_secs(2), |s| {
            s.server().ctx().conns.open() == 5
        })
        .await;
    assert!(ok);
    let mut over = TcpStream::connect(s.addr()).await.expect("connect");
    let answer = read_all(&mut over, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"limit\":\"max_connections\""), "{answer}");
    drop(held);
    let ok = s
        .eventually(Duration::from_secs(2), |s| {
            s.server().ctx().conns.open() == 0
        })
        .await;
    assert!(ok);
    crate::support::http::Client::new(s.addr())
        .get("/health")
        .await
        .expect(200);
}
