//! Hostile HTTP clients (issue 2 "Done means": the server keeps serving everyone
//! else): a request line that is not HTTP, a 1 MB header, a broken chunked body, and
//! slow or idle connections that never finish their headers (closed after
//! `server.header_read_timeout_ms`).

use std::time::{Duration, Instant};

use crate::support::http::{raw, raw_status};
use crate::support::server::{session_body, uuid, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn still_serving(s: &TestServer) {
    // A fresh client: with a short header timeout the server closes idle keep-alive
    // connections, and a pooled one could race that close.
    let http = crate::support::http::Client::new(s.addr());
    http.get("/health").await.expect(200);
    http.post_json("/v1/sessions", &session_body(&uuid(), &[60_000]))
        .await
        .expect(201);
}

#[tokio::test]
async fn a_malformed_request_line_gets_400_and_the_server_keeps_serving() {
    let s = TestServer::start().await;
    let resp = raw(
        s.addr(),
        b"THIS IS NOT HTTP\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    // hyper answers 400 (or just closes); never a hang, never a crash.
    if !resp.is_empty() {
        assert_eq!(raw_status(&resp), Some(400), "{resp}");
    }
    let huge_header = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1_000_000)
    );
    let resp = raw(s.addr(), huge_header.as_bytes(), Duration::from_secs(2)).await;
    if !resp.is_empty() {
        assert_eq!(
            raw_status(&resp),
            Some(431),
            "{}",
            &resp[..resp.len().min(200)]
        );
    }
    s.http.get("/health").await.expect(200);
}

#[tokio::test]
async fn a_broken_chunked_body_is_refused_and_others_are_served() {
    let s = TestServer::start().await;
    let req = b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n";
    let resp = raw(s.addr(), req, Duration::from_secs(2)).await;
    // A clear 400 (or hyper closing the connection), never a hang or a 5xx.
    if let Some(code) = raw_status(&resp) {
        assert_eq!(code, 400, "{resp}");
    }
    still_serving(&s).await;
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_do_not_block_others() {
    let s = TestServer::start_with(|c| c.server.header_read_timeout_ms = 300).await;
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut c = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
        c.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(c);
    }
    still_serving(&s).await;
    // The server gives up on them after the header timeout.
    let started = Instant::now();
    for c in slow.iter_mut() {
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), c.read_to_end(&mut buf))
            .await
            .expect("closed by the server");
        if !buf.is_empty() {
            let text = String::from_utf8_lossy(&buf);
            assert_eq!(raw_status(&text), Some(408), "{text}");
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    still_serving(&s).await;
}
