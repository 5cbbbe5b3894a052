//! A WebSocket test client: the HTTP/1.1 upgrade done by hand on hyper
//! (`client::conn::http1::handshake` + `upgrade::on`), then fastwebsockets in the
//! client role. A reader task turns incoming frames into `WsEvent`s (answering
//! protocol pings unless told not to); the test sends text, JSON or raw frames
//! (fragmented, binary, oversize, invalid UTF-8) and awaits messages, closes or
//! silence with timeouts.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket, WebSocketRead, WebSocketWrite};
use http_body_util::Empty;
use hyper::header::{CONNECTION, HOST, UPGRADE};
use hyper::upgrade::Upgraded;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, oneshot, Mutex};

type Io = TokioIo<Upgraded>;
type Writer = WebSocketWrite<WriteHalf<Io>>;

/// Default wait for an expected message.
pub const WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq)]
pub enum WsEvent {
    Text(String),
    Binary(Vec<u8>),
    Ping,
    Pong,
    /// A close frame from the server: code (if any) and reason.
    Close(Option<u16>, String),
    /// The connection ended (EOF, reset or a protocol error) with this description.
    Ended(String),
}

#[derive(Clone, Debug)]
pub struct WsOptions {
    /// Answer the server's protocol pings (standard clients do).
    pub auto_pong: bool,
    /// Start reading at once; `false` models a client that never reads (until
    /// `start_reading`).
    pub read: bool,
    /// `SO_RCVBUF` for the client socket (small = a slow consumer fills up fast).
    pub recv_buffer: Option<u32>,
}

impl Default for WsOptions {
    fn default() -> Self {
        WsOptions {
            auto_pong: true,
            read: true,
            recv_buffer: None,
        }
    }
}

pub struct WsClient {
    writer: Arc<Mutex<Writer>>,
    events: mpsc::UnboundedReceiver<WsEvent>,
    start: Option<oneshot::Sender<()>>,
    reader: tokio::task::JoinHandle<()>,
}

/// Dropping a client drops its TCP connection at once (no close frame): a vanished peer.
impl Drop for WsClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Why an upgrade did not produce a socket.
pub enum UpgradeError {
    /// The server answered with this status (and body) instead of 101.
    Status(u16, String),
    Io(String),
}

/// What an `expect` on a failed upgrade shows.
impl std::fmt::Debug for UpgradeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpgradeError::Status(code, body) => write!(f, "status {code}: {body}"),
            UpgradeError::Io(e) => write!(f, "io: {e}"),
        }
    }
}

fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("ws://").expect("ws:// url");
    match rest.find('/') {
        Some(i) => (rest[..i].to_owned(), rest[i..].to_owned()),
        None => (rest.to_owned(), "/".to_owned()),
    }
}

impl WsClient {
    /// Connects with default options; panics if the upgrade fails.
    pub async fn connect(url: &str) -> WsClient {
        Self::connect_with(url, WsOptions::default())
            .await
            .unwrap_or_else(|e| panic!("websocket connect to {url} failed: {e:?}"))
    }

    /// Connects and waits for `CONNECTED`, which it returns alongside the client.
    pub async fn connect_ready(url: &str) -> (WsClient, Value) {
        let mut c = Self::connect(url).await;
        let hello = c.next_json(WAIT).await;
        assert_eq!(hello["type"], "CONNECTED", "first message: {hello}");
        (c, hello)
    }

    /// A client that does not read (until `start_reading`), with a 4 KB receive
    /// buffer: the server's writes to it block soon.
    pub async fn connect_stuck(url: &str) -> WsClient {
        let opts = WsOptions {
            read: false,
            recv_buffer: Some(4096),
            ..Default::default()
        };
        Self::connect_with(url, opts).await.expect("connect")
    }

    pub async fn connect_with(url: &str, opts: WsOptions) -> Result<WsClient, UpgradeError> {
        let (host, path) = split_url(url);
        let addr: std::net::SocketAddr = host.parse().expect("ip:port host");
        let socket = TcpSocket::new_v4().map_err(|e| UpgradeError::Io(e.to_string()))?;
        if let Some(n) = opts.recv_buffer {
            socket
                .set_recv_buffer_size(n)
                .map_err(|e| UpgradeError::Io(e.to_string()))?;
        }
        let stream = socket
            .connect(addr)
            .await
            .map_err(|e| UpgradeError::Io(e.to_string()))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| UpgradeError::Io(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let req = Request::builder()
            .method("GET")
            .uri(&path)
            .header(HOST, &host)
            .header(UPGRADE, "websocket")
            .header(CONNECTION, "upgrade")
            .header(
                "sec-websocket-key",
                fastwebsockets::handshake::generate_key(),
            )
            .header("sec-websocket-version", "13")
            .body(Empty::<Bytes>::new())
            .expect("request");
        let mut resp = tokio::time::timeout(WAIT, sender.send_request(req))
            .await
            .map_err(|_| UpgradeError::Io("handshake timed out".into()))?
            .map_err(|e| UpgradeError::Io(e.to_string()))?;
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            use http_body_util::BodyExt;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
                .unwrap_or_default();
            return Err(UpgradeError::Status(status, body));
        }
        let upgraded = hyper::upgrade::on(&mut resp)
            .await
            .map_err(|e| UpgradeError::Io(e.to_string()))?;
        let ws = WebSocket::after_handshake(TokioIo::new(upgraded), Role::Client);
        let (mut rx, tx) = ws.split(tokio::io::split);
        rx.set_auto_pong(opts.auto_pong);
        let writer = Arc::new(Mutex::new(tx));
        let (events_tx, events) = mpsc::unbounded_channel();
        let (start_tx, start_rx) = oneshot::channel();
        let start = if opts.read {
            let _ = start_tx.send(());
            None
        } else {
            Some(start_tx)
        };
        let reader = tokio::spawn(read_loop(rx, writer.clone(), events_tx, start_rx));
        Ok(WsClient {
            writer,
            events,
            start,
            reader,
        })
    }

    /// Lets a client created with `read: false` start reading.
    pub fn start_reading(&mut self) {
        if let Some(s) = self.start.take() {
            let _ = s.send(());
        }
    }

    /// Writes one frame as given (the client role masks it). `Err` once the
    /// connection is gone.
    pub async fn send_frame(&self, fin: bool, op: OpCode, payload: Vec<u8>) -> Result<(), String> {
        let mut w = self.writer.lock().await;
        let f = Frame::new(fin, op, None, Payload::Owned(payload));
        tokio::time::timeout(WAIT, w.write_frame(f))
            .await
            .map_err(|_| "write timed out".to_owned())?
            .map_err(|e| e.to_string())
    }

    pub async fn send_text(&self, text: &str) {
        self.send_frame(true, OpCode::Text, text.as_bytes().to_vec())
            .await
            .expect("send text");
    }

    pub async fn send_json(&self, v: &Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_binary(&self, data: &[u8]) {
        self.send_frame(true, OpCode::Binary, data.to_vec())
            .await
            .expect("send binary");
    }

    /// Sends a close frame.
    pub async fn close(&self, code: u16, reason: &str) {
        let mut w = self.writer.lock().await;
        let _ = w.write_frame(Frame::close(code, reason.as_bytes())).await;
    }

    /// The next event within `limit`, or `None`.
    pub async fn next_event(&mut self, limit: Duration) -> Option<WsEvent> {
        tokio::time::timeout(limit, self.events.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next text message as JSON, skipping ping and pong frames; panics on anything
    /// else (the server only sends JSON text), a close, the end of the connection or the
    /// timeout.
    pub async fn next_json(&mut self, limit: Duration) -> Value {
        let end = tokio::time::Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(WsEvent::Text(t)) => {
                    return serde_json::from_str(&t)
                        .unwrap_or_else(|e| panic!("server sent non-JSON text ({e}): {t}"))
                }
                Some(WsEvent::Ping | WsEvent::Pong) => continue,
                Some(other) => panic!("expected a message, got {other:?}"),
                None => panic!("no message within {limit:?}"),
            }
        }
    }

    /// The next message of type `kind`, and the messages of other types received
    /// before it, in order.
    pub async fn next_of_type(&mut self, kind: &str, limit: Duration) -> (Value, Vec<Value>) {
        let end = tokio::time::Instant::now() + limit;
        let mut skipped = Vec::new();
        loop {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                panic!("no {kind} within {limit:?}; saw {skipped:?}");
            }
            let m = self.next_json(left).await;
            if m["type"] == kind {
                return (m, skipped);
            }
            skipped.push(m);
        }
    }

    /// Sends `{"type":"PING"}` and expects a `PONG` (a liveness probe); other messages
    /// received meanwhile are returned.
    pub async fn ping_pong(&mut self) -> Vec<Value> {
        self.send_text(r#"{"type":"PING"}"#).await;
        self.next_of_type("PONG", WAIT).await.1
    }

    /// Expects a close frame within `limit` (text messages before it are skipped);
    /// returns its code and reason.
    pub async fn expect_close(&mut self, limit: Duration) -> (u16, String) {
        let end = tokio::time::Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(WsEvent::Close(code, reason)) => {
                    return (code.expect("close frame carries a code"), reason)
                }
                Some(WsEvent::Ended(e)) => panic!("connection ended without a close frame: {e}"),
                Some(_) => continue,
                None => panic!("no close within {limit:?}"),
            }
        }
    }

    /// Expects the connection to end within `limit`, by a close frame or without one
    /// (EOF/reset); returns the close frame if there was one.
    pub async fn expect_ended(&mut self, limit: Duration) -> Option<(Option<u16>, String)> {
        let end = tokio::time::Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(WsEvent::Close(code, reason)) => return Some((code, reason)),
                Some(WsEvent::Ended(_)) => return None,
                Some(_) => continue,
                None => panic!("connection still open after {limit:?}"),
            }
        }
    }

    /// Asserts that no text message (and no close) arrives within `limit`.
    pub async fn expect_silence(&mut self, limit: Duration) {
        let end = tokio::time::Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                None => return,
                Some(WsEvent::Ping | WsEvent::Pong) => continue,
                Some(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }
}

async fn read_loop(
    mut rx: WebSocketRead<ReadHalf<Io>>,
    writer: Arc<Mutex<Writer>>,
    events: mpsc::UnboundedSender<WsEvent>,
    start: oneshot::Receiver<()>,
) {
    if start.await.is_err() {
        return;
    }
    loop {
        let w = writer.clone();
        // Pong and close echo owed to the server go through the shared write half.
        let mut obligated = move |f: Frame<'_>| {
            let (op, payload) = (f.opcode, f.payload.to_vec());
            let w = w.clone();
            async move {
                let mut g = w.lock().await;
                let _ = g
                    .write_frame(Frame::new(true, op, None, Payload::Owned(payload)))
                    .await;
                Ok::<(), std::io::Error>(())
            }
        };
        let event = match rx.read_frame(&mut obligated).await {
            Ok(f) => match f.opcode {
                OpCode::Text => WsEvent::Text(String::from_utf8_lossy(&f.payload).into_owned()),
                OpCode::Binary | OpCode::Continuation => WsEvent::Binary(f.payload.to_vec()),
                OpCode::Ping => WsEvent::Ping,
                OpCode::Pong => WsEvent::Pong,
                OpCode::Close => {
                    let p = &f.payload;
                    let code = (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]));
                    let reason = String::from_utf8_lossy(p.get(2..).unwrap_or_default());
                    WsEvent::Close(code, reason.into_owned())
                }
            },
            Err(e) => {
                let _ = events.send(WsEvent::Ended(e.to_string()));
                return;
            }
        };
        if events.send(event).is_err() {
            return;
        }
    }
}
