//! `null-server --raw`: the cheapest HTTP/1.1 endpoint we can write, for proving
//! the harness's own capacity. No state and no routing beyond method and path:
//! every request gets a canned response at once (`POST /v1/sessions` → 201,
//! `DELETE` → 204, anything else → 200 `{"data":{"version":1}}`). Requests read
//! together are answered with one write. No WebSocket.

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 22\r\n\r\n{\"data\":{\"version\":1}}";
const CREATED: &[u8] =
    b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 22\r\n\r\n{\"data\":{\"version\":1}}";
const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";
const HEALTH: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}";

pub async fn serve(listener: TcpListener) -> Result<()> {
    loop {
        let (s, _) = listener.accept().await?;
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let _ = conn(s).await;
        });
    }
}

async fn conn(mut s: TcpStream) -> Result<()> {
    let mut buf = Vec::with_capacity(8192);
    let mut out = Vec::with_capacity(8192);
    loop {
        if s.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
        let mut at = 0;
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            let httparse::Status::Complete(n) = req.parse(&buf[at..])? else {
                break;
            };
            let len: usize = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() - at < n + len {
                break;
            }
            out.extend_from_slice(match (req.method, req.path) {
                (Some("POST"), Some("/v1/sessions")) => CREATED,
                (Some("DELETE"), _) => NO_CONTENT,
                (_, Some("/health" | "/ready")) => HEALTH,
                _ => OK,
            });
            at += n + len;
        }
        buf.drain(..at);
        if !out.is_empty() {
            s.write_all(&out).await?;
            out.clear();
        }
    }
}
