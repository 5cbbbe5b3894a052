//! WebSocket frame abuse: every frame counts against `ws.frames_per_second` (the
//! issue's 398,000 empty continuation frames in 5 s never closed the socket; pings and
//! binary frames likewise), beyond it the socket closes 1008; an unmasked client frame
//! closes 1002 (RFC 6455 §5.1); WebSocket commands are counted against the general
//! limiter like REST requests. A bystander keeps being served.

use std::time::Duration;

use fastwebsockets::OpCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::abuse::{bystander, Rss, BYSTANDER_P99_MS};
use crate::support::server::{uuid, TestServer};
use crate::support::ws::{WsClient, WAIT};

/// `synckairos_websocket_abuse_closes_total{reason}` of the server.
async fn abuse_closes(s: &TestServer, reason: &str) -> f64 {
    let m = s.http.get("/metrics").await.expect(200).text();
    m.lines()
        .find(|l| {
            l.starts_with("synckairos_websocket_abuse_closes_total")
                && l.contains(&format!("reason=\"{reason}\""))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The flooding socket ended: closed with 1008, or reset (frames still in flight when
/// the server closed make the kernel reset the connection, which can drop the close
/// frame); either way the server counted a frame-rate close.
async fn ended_for_frame_rate(s: &TestServer, ws: &mut WsClient) {
    if let Some((code, reason)) = ws.expect_ended(WAIT).await {
        assert_eq!(code, Some(1008), "{reason}");
        assert!(reason.contains("Frame rate"), "{reason}");
    }
    assert_eq!(abuse_closes(s, "frame_rate").await, 1.0);
}

async fn flood(op: OpCode, frames: usize, name: &'static str) {
    let s = TestServer::start().await;
    let rss = Rss::start(name);
    let mut ws = WsClient::connect(&s.ws_url(&uuid())).await;
    assert_eq!(ws.next_json(WAIT).await["type"], "CONNECTED");
    let sender = async {
        if op == OpCode::Continuation {
            // A message that never ends, then empty continuation frames.
            let _ = ws.send_frame(false, OpCode::Text, b"{".to_vec()).await;
        }
        for _ in 0..frames {
            if ws.send_frame(false, op, Vec::new()).await.is_err() {
                break;
            }
        }
    };
    let (_, l) = tokio::join!(sender, bystander(&s, 50));
    ended_for_frame_rate(&s, &mut ws).await;
    rss.report();
    assert!(l.p99 < BYSTANDER_P99_MS, "{l:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_continuation_frames_are_counted() {
    flood(OpCode::Continuation, 5_000, "continuation flood").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_are_counted() {
    // A ping is a control frame: fin must be set; `send_frame(false, …)` is refused by
    // the server as a protocol error, so send proper pings here.
    let s = TestServer::start().await;
    let mut ws = WsClient::connect(&s.ws_url(&uuid())).await;
    assert_eq!(ws.next_json(WAIT).await["type"], "CONNECTED");
    for _ in 0..2_000 {
        if ws.send_frame(true, OpCode::Ping, Vec::new()).await.is_err() {
            break;
        }
    }
    ended_for_frame_rate(&s, &mut ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frames_are_counted() {
    let s = TestServer::start().await;
    let mut ws = WsClient::connect(&s.ws_url(&uuid())).await;
    assert_eq!(ws.next_json(WAIT).await["type"], "CONNECTED");
    for _ in 0..2_000 {
        if ws.send_frame(true, OpCode::Binary, vec![0]).await.is_err() {
            break;
        }
    }
    ended_for_frame_rate(&s, &mut ws).await;
}

/// A raw WebSocket handshake on `stream`; returns once the 101 head is read.
async fn handshake(stream: &mut TcpStream, session: &str) {
    let req = format!(
        "GET /ws?sessionId={session} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut b).await.expect("head");
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
}

/// The close code of the first close frame the server sends (skipping text frames).
async fn close_code(stream: &mut TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    let mut i = 0;
    while i + 2 <= buf.len() {
        let op = buf[i] & 0x0f;
        let mut len = (buf[i + 1] & 0x7f) as usize;
        let mut at = i + 2;
        if len == 126 {
            len = u16::from_be_bytes([buf[at], buf[at + 1]]) as usize;
            at += 2;
        }
        if op == 0x8 && at + 2 <= buf.len() {
            return Some(u16::from_be_bytes([buf[at], buf[at + 1]]));
        }
        i = at + len;
    }
    None
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_1002() {
    let s = TestServer::start().await;
    let rss = Rss::start("unmasked frames");
    let mut stream = TcpStream::connect(s.addr()).await.expect("connect");
    handshake(&mut stream, &uuid()).await;
    // An unmasked text frame `{"type":"PING"}`.
    let payload = br#"{"type":"PING"}"#;
    let mut frame = vec![0x81, payload.len() as u8];
    frame.extend_from_slice(payload);
    stream.write_all(&frame).await.expect("write");
    assert_eq!(close_code(&mut stream).await, Some(1002));
    // A masked one is served as usual.
    let mut ok = TcpStream::connect(s.addr()).await.expect("connect");
    handshake(&mut ok, &uuid()).await;
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    ok.write_all(&frame).await.expect("write");
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(WAIT, ok.read(&mut buf))
        .await
        .expect("answer")
        .expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("CONNECTED") || n > 0);
    rss.report();
}

#[tokio::test]
async fn websocket_commands_count_against_the_general_limiter() {
    let s = TestServer::start_with(|c| c.rate_limit.general_per_minute = 10).await;
    let (id, _) = s.create(&[60_000, 60_000]).await; // 1 of 10
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let mut codes = Vec::new();
    for i in 0..12 {
        ws.send_json(&serde_json::json!({"type": "PAUSE", "requestId": i}))
            .await;
        let m = loop {
            let m = ws.next_json(WAIT).await;
            if m["type"] == "ACK" || m["type"] == "ERROR" {
                break m;
            }
        };
        codes.push(m["code"].as_str().unwrap_or("ACK").to_owned());
    }
    let limited = codes.iter().filter(|c| *c == "RATE_LIMIT_EXCEEDED").count();
    assert_eq!(limited, 3, "{codes:?}");
    // REST from the same address is limited by the same count.
    s.http.get(&format!("/v1/sessions/{id}")).await.expect(429);
}
