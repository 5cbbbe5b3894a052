//! One WebSocket connection: admission (`ws_auth`), then a reader task (frames in,
//! client messages handled) and a writer loop (the mailbox out, protocol pings,
//! liveness). `read_frame` is not cancel-safe, so it runs alone in its task and is
//! never raced in `select!`; its obligated replies (pong, close echo) reach the socket
//! through the writer. Every frame counts against `ws.frames_per_second` (control,
//! binary and continuation frames too); an unmasked client frame closes with 1002.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fastwebsockets::upgrade::UpgradeFut;
use fastwebsockets::{Frame, OpCode, Payload, WebSocketError, WebSocketRead, WebSocketWrite};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::sync::mpsc;

use super::conns::ConnGuard;
use super::ctx::Ctx;
use super::ws_auth::{self, Peer};
use super::ws_mask::{is_unmasked, MaskCheck};
use super::ws_msg::handle_text;
use super::ws_rate::{FrameRate, MessageRate, RateVerdict};
use crate::clock::{now_ms, now_us};
use crate::domain::SessionId;
use crate::mailbox::{Mailbox, Queued};
use crate::metrics;
use crate::protocol::{self, close};

type Io = TokioIo<Upgraded>;
type Rx = WebSocketRead<MaskCheck<ReadHalf<Io>>>;

/// What the reader tells the writer about the peer: when it was last heard from, and
/// when the protocol ping now outstanding was sent (µs, 0 when none: its pong gives
/// the round-trip time).
struct Liveness {
    last_seen: AtomicI64,
    ping_sent_us: AtomicI64,
}
/// A frame the reader owes the peer (pong, close echo), sent by the writer.
type Owed = (OpCode, Vec<u8>);

/// What the upgrade learned about a new socket.
pub struct Opening {
    pub session: Result<SessionId, &'static str>,
    /// A token from the URL or the upgrade's headers.
    pub token: Option<String>,
    /// The client address (rate limits).
    pub client: String,
    /// The connection's slot under the caps, held for the socket's life.
    pub conn: Arc<ConnGuard>,
}

pub async fn run(ctx: Arc<Ctx>, fut: UpgradeFut, opening: Opening) {
    let ws = match fut.await {
        Ok(ws) => ws,
        Err(e) => {
            tracing::debug!(error = %crate::cause::chain(&e), "websocket upgrade failed");
            return;
        }
    };
    let _slot = opening.conn;
    let (mut rx, mut tx) = ws.split(|io| {
        let (r, w) = tokio::io::split(io);
        (MaskCheck::new(r), w)
    });
    // fastwebsockets refuses a frame whose length is >= its limit; a message of
    // exactly `max_message_bytes` is allowed (as when it arrives in fragments).
    rx.set_max_message_size(ctx.cfg.ws.max_message_bytes.saturating_add(1));
    // Pings are answered here (so that they are counted like every other frame).
    rx.set_auto_pong(false);
    let session_id = match opening.session {
        Ok(id) => id,
        Err(reason) => {
            let _ = tx
                .write_frame(Frame::close(close::POLICY, reason.as_bytes()))
                .await;
            return;
        }
    };
    let peer = match ws_auth::admit(&ctx, &mut rx, opening.token, &session_id, opening.client).await
    {
        Ok(p) => p,
        Err((code, reason)) => {
            let _ = tx.write_frame(Frame::close(code, reason.as_bytes())).await;
            return;
        }
    };
    let mailbox = Arc::new(Mailbox::new(ctx.cfg.ws.queue_capacity));
    mailbox.push(protocol::connected(&session_id, now_ms()));
    let mut sub = ctx.hub.subscribe(&session_id, mailbox.clone());
    // CONNECTED (queued first) goes out only once updates are flowing here.
    sub.ready(Duration::from_secs(2)).await;
    if ctx.draining.is_cancelled() {
        mailbox.close(close::GOING_AWAY, "Server shutting down");
    }
    metrics::ws_connections(1.0);
    let liveness = Arc::new(Liveness {
        last_seen: AtomicI64::new(now_ms()),
        ping_sent_us: AtomicI64::new(0),
    });
    let (owed_tx, owed_rx) = mpsc::channel::<Owed>(8);
    let reader = tokio::spawn(read_loop(
        ctx.clone(),
        rx,
        session_id,
        peer,
        mailbox.clone(),
        owed_tx,
        liveness.clone(),
    ));
    write_loop(&ctx, tx, &mailbox, owed_rx, &liveness).await;
    reader.abort();
    metrics::ws_connections(-1.0);
}

async fn write_loop(
    ctx: &Ctx,
    mut tx: WebSocketWrite<WriteHalf<Io>>,
    mailbox: &Mailbox,
    mut owed: mpsc::Receiver<Owed>,
    liveness: &Liveness,
) {
    let write_timeout = Duration::from_millis(ctx.cfg.ws.write_timeout_ms);
    let ping_every = Duration::from_millis(ctx.cfg.ws.ping_interval_ms);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut pinged_at: Option<i64> = None;
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            biased;
            frame = owed.recv() => {
                // The reader ended (peer closed or broke the protocol).
                let Some((op, payload)) = frame else { return };
                let is_close = op == OpCode::Close;
                let f = Frame::new(true, op, None, Payload::Owned(payload));
                if send(&mut tx, f, write_timeout).await.is_err() || is_close {
                    return;
                }
            }
            _ = mailbox.next_batch(&mut batch) => {
                for out in batch.drain(..) {
                    let sent = match &out {
                        Queued::State { frame, .. } | Queued::Message(frame) => {
                            send(&mut tx, Frame::text(Payload::Borrowed(frame)), write_timeout).await.map(|()| false)
                        }
                        Queued::Close(code, reason) => {
                            if *code == close::TRY_AGAIN_LATER {
                                metrics::ws_slow_consumer_closed();
                            }
                            send(&mut tx, Frame::close(*code, reason.as_bytes()), write_timeout).await.map(|()| true)
                        }
                    };
                    if sent != Ok(false) {
                        return;
                    }
                }
            }
            _ = ping.tick() => {
                if pinged_at.is_some_and(|t| liveness.last_seen.load(Ordering::Relaxed) < t) {
                    tracing::debug!("websocket peer missed a ping; dropping it");
                    return;
                }
                let now = now_ms();
                pinged_at = Some(now);
                liveness.ping_sent_us.store(now_us(), Ordering::Relaxed);
                if send(&mut tx, Frame::new(true, OpCode::Ping, None, Payload::Borrowed(&[])), write_timeout).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes one frame; a write stuck longer than the timeout means a peer that does not
/// read, and the connection is dropped.
async fn send(
    tx: &mut WebSocketWrite<WriteHalf<Io>>,
    frame: Frame<'_>,
    timeout: Duration,
) -> Result<(), ()> {
    match tokio::time::timeout(timeout, tx.write_frame(frame)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(()),
        Err(_) => {
            metrics::ws_slow_consumer_closed();
            Err(())
        }
    }
}

async fn read_loop(
    ctx: Arc<Ctx>,
    mut rx: Rx,
    session_id: SessionId,
    peer: Peer,
    mailbox: Arc<Mailbox>,
    owed: mpsc::Sender<Owed>,
    liveness: Arc<Liveness>,
) {
    let max = ctx.cfg.ws.max_message_bytes;
    let mut rate = MessageRate::new(ctx.cfg.ws.messages_per_second);
    let mut frames = FrameRate::new(ctx.cfg.ws.frames_per_second);
    // A fragmented text message being reassembled (None when not in one).
    let mut partial: Option<Vec<u8>> = None;
    loop {
        let owed_tx = owed.clone();
        let mut obligated = move |f: Frame<'_>| {
            let item = (f.opcode, f.payload.to_vec());
            let tx = owed_tx.clone();
            async move {
                tx.send(item)
                    .await
                    .map_err(|_| WebSocketError::ConnectionClosed)
            }
        };
        let frame = match rx.read_frame(&mut obligated).await {
            Ok(f) => f,
            Err(e) => {
                if let Some((code, reason)) = close_for(&e) {
                    let _ = owed.send(close_frame(code, reason)).await;
                }
                return;
            }
        };
        liveness.last_seen.store(now_ms(), Ordering::Relaxed);
        let received = now_ms();
        if !frames.allow(received) {
            metrics::ws_abuse_closed("frame_rate");
            let _ = owed
                .send(close_frame(close::POLICY, "Frame rate limit exceeded"))
                .await;
            return;
        }
        let text = match (frame.opcode, frame.fin) {
            (OpCode::Close, _) => return,
            (OpCode::Ping, _) => {
                if owed
                    .send((OpCode::Pong, frame.payload.to_vec()))
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
            (OpCode::Text, true) if partial.is_none() => frame.payload.to_vec(),
            (OpCode::Text, false) if partial.is_none() => {
                partial = Some(frame.payload.to_vec());
                continue;
            }
            (OpCode::Continuation, fin) if partial.is_some() => {
                let buf = partial.as_mut().map_or(0, |b| {
                    b.extend_from_slice(&frame.payload);
                    b.len()
                });
                if buf > max {
                    let _ = owed
                        .send(close_frame(close::TOO_BIG, "Message too big"))
                        .await;
                    return;
                }
                if !fin {
                    continue;
                }
                partial.take().unwrap_or_default()
            }
            (OpCode::Text | OpCode::Continuation, _) => {
                let _ = owed
                    .send(close_frame(close::PROTOCOL_ERROR, "Invalid fragmentation"))
                    .await;
                return;
            }
            (OpCode::Pong, _) => {
                let sent = liveness.ping_sent_us.swap(0, Ordering::Relaxed);
                if sent > 0 {
                    metrics::ws_rtt((now_us() - sent).max(0) as f64 / 1000.0);
                }
                continue;
            }
            // Binary messages carry nothing for us.
            _ => continue,
        };
        if std::str::from_utf8(&text).is_err() {
            let _ = owed
                .send(close_frame(close::INVALID_DATA, "Invalid UTF-8"))
                .await;
            return;
        }
        match rate.check(received) {
            RateVerdict::Allow => {}
            RateVerdict::Refuse { first } => {
                if first {
                    mailbox.push(protocol::error(
                        "RATE_LIMIT_EXCEEDED",
                        "Too many messages, slow down",
                        None,
                    ));
                }
                continue;
            }
            RateVerdict::Abuse => {
                metrics::ws_abuse_closed("message_rate");
                let _ = owed
                    .send(close_frame(close::POLICY, "Message rate limit exceeded"))
                    .await;
                return;
            }
        }
        handle_text(&ctx, &session_id, &peer, &mailbox, &text, received).await;
    }
}

fn close_for(e: &WebSocketError) -> Option<(u16, &'static str)> {
    match e {
        WebSocketError::IoError(io) if is_unmasked(io) => {
            metrics::ws_abuse_closed("unmasked");
            Some((close::PROTOCOL_ERROR, "Unmasked frame"))
        }
        WebSocketError::FrameTooLarge => Some((close::TOO_BIG, "Message too big")),
        WebSocketError::InvalidUTF8 => Some((close::INVALID_DATA, "Invalid UTF-8")),
        WebSocketError::UnexpectedEOF
        | WebSocketError::ConnectionClosed
        | WebSocketError::IoError(_) => None,
        WebSocketError::SendError(_) => None,
        _ => Some((close::PROTOCOL_ERROR, "Protocol error")),
    }
}

fn close_frame(code: u16, reason: &str) -> Owed {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    (OpCode::Close, payload)
}
