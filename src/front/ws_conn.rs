//! One WebSocket connection: admission (`ws_auth`), then a reader task (frames in,
//! client messages handled) and a writer loop (the mailbox out, protocol pings,
//! liveness; every write goes through the connection's `Outlet`, which the mailbox
//! also writes to directly while the writer is idle). `read_frame` is not cancel-safe, so it runs alone in its task and is
//! never raced in `select!`; its obligated replies (pong, close echo) reach the socket
//! through the writer. Every frame counts against `ws.frames_per_second` (control,
//! binary and continuation frames too); an unmasked client frame closes with 1002.
//! Protocol pings carry their send time, so their pongs measure the link (`Link`);
//! a few extra pings right after connecting measure it early (they do not count for
//! liveness). After a close it initiates, the connection keeps reading (and ignores
//! what it reads) until the client's close or `CLOSE_LINGER`, so that data the client
//! sent meanwhile (a pong, a message) does not make the kernel reset the connection
//! before the client has read the close frame.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fastwebsockets::upgrade::UpgradeFut;
use fastwebsockets::{Frame, OpCode, WebSocketError};

use super::conns::ConnGuard;
use super::ctx::Ctx;
use super::ws_auth::{self, Peer};
use super::ws_link::Link;
use super::ws_mask::is_unmasked;
use super::ws_msg::handle_text;
use super::ws_out::{self, Outlet, Rx};
use super::ws_owed::{EndOnDrop, Owed};
use super::ws_rate::{FrameRate, MessageRate, RateVerdict};
use crate::clock::{mono_us, now_ms};
use crate::domain::SessionId;
use crate::mailbox::{Mailbox, Queued};
use crate::metrics;
use crate::protocol::{self, close};
use crate::wsframe::{close_payload, Control, Framed};

/// Measurement pings after connecting (ms), before the regular ones.
const EARLY_PINGS_MS: [u64; 3] = [100, 400, 700];
/// How long a close this side sent waits for the client's.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

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
    let Some((mut rx, outlet)) = ws_out::open(ws.into_inner().into_inner()) else {
        return;
    };
    let write_timeout = Duration::from_millis(ctx.cfg.ws.write_timeout_ms);
    // fastwebsockets refuses a frame whose length is >= its limit; a message of
    // exactly `max_message_bytes` is allowed (as when it arrives in fragments).
    rx.set_max_message_size(ctx.cfg.ws.max_message_bytes.saturating_add(1));
    // Pings are answered here (so that they are counted like every other frame).
    rx.set_auto_pong(false);
    let refuse = |code: u16, reason: &str| {
        let frame = Framed::close(code, reason);
        let outlet = outlet.clone();
        async move {
            let _ = outlet.write_all(frame.bytes(), write_timeout).await;
        }
    };
    let session_id = match opening.session {
        Ok(id) => id,
        Err(reason) => return refuse(close::POLICY, reason).await,
    };
    // Boxed (as `handle_text` below): a future is as large as its largest state, and
    // an idle socket must not carry the admission's or a command's for its whole life.
    let admitted = Box::pin(ws_auth::admit(
        &ctx,
        &mut rx,
        opening.token,
        &session_id,
        opening.client,
    ))
    .await;
    let peer = match admitted {
        Ok(p) => p,
        Err((code, reason)) => return refuse(code, &reason).await,
    };
    let mailbox = Arc::new(Mailbox::new(ctx.cfg.ws.queue_capacity, outlet.clone()));
    let link = Arc::new(Link::default());
    if let Some(known) = ctx.gateway.delivered(&session_id) {
        link.set_home(&known.home_region);
    } else {
        // The home from this region's copy, meanwhile (PONGs then use its timebase).
        let (ctx, link, id) = (ctx.clone(), link.clone(), session_id.clone());
        tokio::spawn(async move {
            if let Some(home) = ctx.gateway.home_here(&id).await {
                link.set_home(&home);
            }
        });
    }
    let connected_at = ctx.gateway.time().stamp_ms(link.home().as_ref());
    mailbox.push(protocol::connected(&session_id, connected_at));
    let mut sub = ctx.hub.subscribe(&session_id, mailbox.clone());
    // CONNECTED (queued first) goes out only once updates are flowing here.
    sub.ready(Duration::from_secs(2)).await;
    if ctx.draining.is_cancelled() {
        mailbox.close(close::GOING_AWAY, "Server shutting down");
    }
    metrics::ws_connections(1.0);
    let last_seen = Arc::new(AtomicI64::new(now_ms()));
    let owed = Arc::new(Owed::default());
    let mut reader = tokio::spawn(read_loop(
        ctx.clone(),
        rx,
        Reader {
            session_id,
            peer,
            mailbox: mailbox.clone(),
            link: link.clone(),
        },
        owed.clone(),
        last_seen.clone(),
    ));
    write_loop(&ctx, &outlet, &mailbox, &owed, &last_seen, &link).await;
    if link.closing() {
        let _ = tokio::time::timeout(CLOSE_LINGER, &mut reader).await;
    }
    reader.abort();
    metrics::ws_connections(-1.0);
}

async fn write_loop(
    ctx: &Ctx,
    outlet: &Outlet,
    mailbox: &Mailbox,
    owed: &Owed,
    last_seen: &AtomicI64,
    link: &Link,
) {
    let write_timeout = Duration::from_millis(ctx.cfg.ws.write_timeout_ms);
    let ping_every = Duration::from_millis(ctx.cfg.ws.ping_interval_ms);
    let start = tokio::time::Instant::now();
    let mut ping = tokio::time::interval_at(start + ping_every, ping_every);
    let mut pinged_at: Option<i64> = None;
    let mut early = EARLY_PINGS_MS
        .iter()
        .map(|ms| start + Duration::from_millis(*ms));
    let mut next_early = early.next();
    let mut batch = Vec::new();
    // What was queued before (`CONNECTED`) goes first; direct writes may follow it.
    mailbox.open();
    let send = |frame: Framed| async move {
        let _writing = mailbox.claim();
        outlet.write_all(frame.bytes(), write_timeout).await.is_ok()
    };
    loop {
        tokio::select! {
            biased;
            frame = owed.next() => {
                // The reader ended (peer closed or broke the protocol).
                let Some((op, payload)) = frame else { return };
                let (kind, is_close) = match op {
                    OpCode::Close => (Control::Close, true),
                    _ => (Control::Pong, false),
                };
                if !send(Framed::control(kind, &payload)).await || is_close {
                    return;
                }
            }
            _writing = mailbox.next_batch(&mut batch) => {
                for out in batch.drain(..) {
                    let (bytes, last) = match out {
                        Queued::State { frame, .. } | Queued::Message(frame) => {
                            (frame.bytes().clone(), false)
                        }
                        Queued::Rest(rest) => (rest, false),
                        Queued::Close(code, reason) => {
                            if code == close::TRY_AGAIN_LATER {
                                metrics::ws_slow_consumer_closed();
                            }
                            link.close_sent();
                            (Framed::close(code, reason).bytes().clone(), true)
                        }
                    };
                    if outlet.write_all(&bytes, write_timeout).await.is_err() || last {
                        return;
                    }
                }
            }
            _ = ping.tick() => {
                if pinged_at.is_some_and(|t| last_seen.load(Ordering::Relaxed) < t) {
                    tracing::debug!("websocket peer missed a ping; dropping it");
                    return;
                }
                pinged_at = Some(now_ms());
                if !send(measuring_ping()).await {
                    return;
                }
            }
            _ = sleep_until(next_early) => {
                next_early = early.next();
                if !send(measuring_ping()).await {
                    return;
                }
            }
        }
    }
}

/// A protocol ping carrying its send time (the pong echoes it: `Link::on_pong`).
fn measuring_ping() -> Framed {
    Framed::control(Control::Ping, &Link::ping_payload())
}

/// Resolves at `at`, never when `None`.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// What the reader serves: the session, the admitted client, its queue and its link.
struct Reader {
    session_id: SessionId,
    peer: Peer,
    mailbox: Arc<Mailbox>,
    link: Arc<Link>,
}

async fn read_loop(
    ctx: Arc<Ctx>,
    mut rx: Rx,
    r: Reader,
    owed: Arc<Owed>,
    last_seen: Arc<AtomicI64>,
) {
    let _end = EndOnDrop(&owed);
    let Reader {
        session_id,
        peer,
        mailbox,
        link,
    } = r;
    let max = ctx.cfg.ws.max_message_bytes;
    let mut rate = MessageRate::new(ctx.cfg.ws.messages_per_second);
    let mut frames = FrameRate::new(ctx.cfg.ws.frames_per_second);
    // A fragmented text message being reassembled (None when not in one).
    let mut partial: Option<Vec<u8>> = None;
    loop {
        let mut obligated = |f: Frame<'_>| {
            owed.frame(f.opcode, f.payload.to_vec());
            std::future::ready(Ok::<(), WebSocketError>(()))
        };
        let frame = match rx.read_frame(&mut obligated).await {
            Ok(f) => f,
            Err(e) => {
                if let Some((code, reason)) = close_for(&e) {
                    owed.close(close_payload(code, reason));
                }
                return;
            }
        };
        let now = now_ms();
        last_seen.store(now, Ordering::Relaxed);
        let received = mono_us();
        if !frames.allow(now) {
            metrics::ws_abuse_closed("frame_rate");
            owed.close(close_payload(close::POLICY, "Frame rate limit exceeded"));
            return;
        }
        let text = match (frame.opcode, frame.fin) {
            (OpCode::Close, _) => return,
            (OpCode::Ping, _) => {
                owed.pong(frame.payload.to_vec());
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
                    owed.close(close_payload(close::TOO_BIG, "Message too big"));
                    return;
                }
                if !fin {
                    continue;
                }
                partial.take().unwrap_or_default()
            }
            (OpCode::Text | OpCode::Continuation, _) => {
                owed.close(close_payload(
                    close::PROTOCOL_ERROR,
                    "Invalid fragmentation",
                ));
                return;
            }
            (OpCode::Pong, _) => {
                if let Some(rtt_us) = link.on_pong(&frame.payload) {
                    metrics::ws_rtt(rtt_us as f64 / 1000.0);
                }
                continue;
            }
            // Binary messages carry nothing for us.
            _ => continue,
        };
        if std::str::from_utf8(&text).is_err() {
            owed.close(close_payload(close::INVALID_DATA, "Invalid UTF-8"));
            return;
        }
        if link.closing() {
            continue; // a close was sent: only the client's close matters now
        }
        match rate.check(now) {
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
                owed.close(close_payload(close::POLICY, "Message rate limit exceeded"));
                return;
            }
        }
        Box::pin(handle_text(
            &ctx,
            &session_id,
            &peer,
            &mailbox,
            &link,
            &text,
            received,
        ))
        .await;
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
