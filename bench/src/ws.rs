//! WebSocket client side of the v2 protocol: connect to `/ws?sessionId=…`, read
//! text frames (pings are answered by fastwebsockets), send `PING`, and decode
//! just the fields of server messages that the scenarios measure.

use crate::target::Target;
use anyhow::{bail, Context, Result};
use bytes::Bytes;
use fastwebsockets::{handshake, FragmentCollector, Frame, OpCode, Payload};
use http_body_util::Empty;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::future::Future;
use tokio::net::TcpStream;

/// A client WebSocket (fragments reassembled).
pub type Ws = FragmentCollector<TokioIo<Upgraded>>;

struct SpawnExecutor;

impl<F> hyper::rt::Executor<F> for SpawnExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        tokio::spawn(fut);
    }
}

/// Opens `ws://<target>/ws?sessionId=<id>`.
pub async fn connect(target: &Target, session_id: &str) -> Result<Ws> {
    let stream = TcpStream::connect(target.addr)
        .await
        .with_context(|| format!("ws connect to {}", target.url))?;
    stream.set_nodelay(true)?;
    let req = hyper::Request::builder()
        .method("GET")
        .uri(format!("/ws?sessionId={session_id}"))
        .header("Host", &target.authority)
        .header("Upgrade", "websocket")
        .header("Connection", "upgrade")
        .header("Sec-WebSocket-Key", handshake::generate_key())
        .header("Sec-WebSocket-Version", "13")
        .body(Empty::<Bytes>::new())?;
    let (mut ws, _) = handshake::client(&SpawnExecutor, req, stream)
        .await
        .with_context(|| format!("ws handshake with {}", target.url))?;
    ws.set_max_message_size(4 << 20);
    Ok(FragmentCollector::new(ws))
}

/// The next text message, or `None` when the server closed the socket.
pub async fn next_text(ws: &mut Ws) -> Result<Option<Vec<u8>>> {
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Text | OpCode::Binary => return Ok(Some(frame.payload.to_vec())),
            OpCode::Close => return Ok(None),
            _ => continue,
        }
    }
}

/// Sends one text message.
pub async fn send_text(ws: &mut Ws, text: &str) -> Result<()> {
    ws.write_frame(Frame::text(Payload::Borrowed(text.as_bytes())))
        .await?;
    Ok(())
}

/// Reads until `CONNECTED` arrives (the first message of the protocol).
pub async fn expect_connected(ws: &mut Ws) -> Result<()> {
    match next_text(ws).await? {
        Some(m) if ServerMsg::parse(&m)?.kind == "CONNECTED" => Ok(()),
        Some(m) => bail!("expected CONNECTED, got {}", String::from_utf8_lossy(&m)),
        None => bail!("socket closed before CONNECTED"),
    }
}

/// The fields of a server message that the harness uses; the rest is skipped.
#[derive(Deserialize, Debug)]
pub struct ServerMsg<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: &'a str,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default, borrow)]
    pub state: Option<StateLite<'a>>,
    #[serde(default, rename = "expiredAt")]
    pub expired_at: Option<i64>,
    #[serde(default, rename = "participantId", borrow)]
    pub participant_id: Option<&'a str>,
}

/// The part of `state` that fan-out and convergence need.
#[derive(Deserialize, Debug)]
pub struct StateLite<'a> {
    pub version: u64,
    #[serde(default, borrow)]
    pub updated_at: Option<&'a str>,
}

impl<'a> ServerMsg<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .with_context(|| format!("bad server message: {}", String::from_utf8_lossy(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_state_update_and_expiry() {
        let m = br#"{"type":"STATE_UPDATE","sessionId":"x","timestamp":5,"state":{"session_id":"x","version":7,"participants":[{"a":1}],"updated_at":"2025-01-01T00:00:00.123Z"}}"#;
        let s = ServerMsg::parse(m).unwrap();
        assert_eq!(s.kind, "STATE_UPDATE");
        assert_eq!(s.state.as_ref().unwrap().version, 7);
        let e = br#"{"type":"TIME_EXPIRED","sessionId":"x","timestamp":9,"participantId":"p","expiredAt":8,"action":"continue","version":3}"#;
        let s = ServerMsg::parse(e).unwrap();
        assert_eq!((s.expired_at, s.participant_id), (Some(8), Some("p")));
    }
}
