//! Raw WebSocket frame sequences (any opcode, reserved bits, unmasked, fragmented,
//! bogus lengths, invalid UTF-8, JSON commands) on fresh connections, each ended by a
//! proper close: the server's text messages are JSON with a `type`, and it closes with
//! a documented code (or echoes the client's own close), never hangs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::gen::{ws_case, RawFrame, WsCase};
use super::run::{connect, run, server, Report};

/// Close codes the server sends (README, `protocol::close`).
pub const DOCUMENTED: &[u16] = &[1000, 1001, 1002, 1007, 1008, 1009, 1011, 1013, 4401, 4403];

/// Parses the server's frames; the close code (if any) and a property violation.
fn server_frames(buf: &[u8]) -> Result<Option<u16>, String> {
    let mut i = 0;
    while i + 2 <= buf.len() {
        let op = buf[i] & 0x0f;
        if buf[i + 1] & 0x80 != 0 {
            return Err("the server masked a frame".into());
        }
        let mut len = (buf[i + 1] & 0x7f) as usize;
        let mut at = i + 2;
        if len == 126 {
            if at + 2 > buf.len() {
                break;
            }
            len = u16::from_be_bytes([buf[at], buf[at + 1]]) as usize;
            at += 2;
        } else if len == 127 {
            if at + 8 > buf.len() {
                break;
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[at..at + 8]);
            len = u64::from_be_bytes(b) as usize;
            at += 8;
        }
        if at + len > buf.len() {
            break;
        }
        let payload = &buf[at..at + len];
        match op {
            0x1 => {
                let v: serde_json::Value = serde_json::from_slice(payload).map_err(|_| {
                    format!(
                        "text frame not JSON: {:?}",
                        String::from_utf8_lossy(payload)
                    )
                })?;
                if !v["type"].is_string() {
                    return Err(format!("message without a type: {v}"));
                }
            }
            0x8 => {
                return Ok(if payload.len() >= 2 {
                    Some(u16::from_be_bytes([payload[0], payload[1]]))
                } else {
                    Some(1005)
                });
            }
            _ => {}
        }
        i = at + len;
    }
    Ok(None)
}

pub async fn suite(n: usize, seed: u8) -> Report {
    let s = server().await;
    let addr = s.addr();
    let counter = Arc::new(AtomicU32::new(0));
    let report = run("websocket", n, seed, 48, ws_case, move |case: WsCase| {
        let i = counter.fetch_add(1, Ordering::Relaxed);
        async move {
            let mut c = connect(addr, i)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let req = format!(
                "GET /ws?{} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                case.query
            );
            let _ = c.write_all(req.as_bytes()).await;
            let mut bytes = Vec::new();
            let key = i.to_be_bytes();
            for f in &case.frames {
                bytes.extend(f.encode(key));
            }
            // A proper close at the end: a connection still open answers it.
            bytes.extend(
                RawFrame {
                    fin: true,
                    rsv: 0,
                    opcode: 8,
                    masked: true,
                    claimed: None,
                    payload: super::gen::Bytes(1000u16.to_be_bytes().to_vec()),
                }
                .encode(key),
            );
            let _ = c.write_all(&bytes).await;
            let mut answer = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut answer));
            if read.await.is_err() {
                return Err("no close within 5 s".into());
            }
            let text = String::from_utf8_lossy(&answer);
            let Some(head_end) = text.find("\r\n\r\n") else {
                return super::http::check_answer(&answer).map(|s| format!("http {s}"));
            };
            if !text.starts_with("HTTP/1.1 101") {
                return super::http::check_answer(&answer).map(|s| format!("http {s}"));
            }
            let frames = &answer[head_end + 4..];
            let echo: Vec<u16> = case
                .frames
                .iter()
                .filter(|f| f.opcode == 8 && f.payload.0.len() >= 2)
                .map(|f| u16::from_be_bytes([f.payload.0[0], f.payload.0[1]]))
                .collect();
            match server_frames(frames)? {
                Some(code)
                    if DOCUMENTED.contains(&code) || echo.contains(&code) || code == 1005 =>
                {
                    Ok(format!("close {code}"))
                }
                Some(code) => Err(format!("undocumented close code {code}")),
                None => Ok("ended".into()),
            }
        }
    })
    .await;
    s.http.get("/health").await.expect(200);
    report
}
