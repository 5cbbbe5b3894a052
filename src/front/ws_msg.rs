//! What a connection does with a client's text message: `PING` → `PONG` (with NTP-style
//! times when the client sent its own), `RECONNECT` → `STATE_SYNC` or `ERROR`, the
//! command extension (`SWITCH`, `START`, … → `ACK` or `ERROR`), anything else ignored
//! as v2 did.
//!
//! Times: `PONG` and `STATE_SYNC` are stamped in the session's home timebase when this
//! instance knows the home and its clock (`timebase` says which region's clock the
//! stamps are, `timebase_error_ms` how uncertain this instance is of it), so that a
//! client anywhere computes the home's time; otherwise in this region's. Commands carry
//! what the connection measured of their transit (lag compensation).
//!
//! Must not: know where a session lives (the gateway does) or touch the socket (the
//! connection sends what lands in the mailbox).

use crate::clock::mono_us;
use crate::domain::{Op, SessionId};
use crate::error::ApiError;
use crate::gateway::transit::Measured;
use crate::mailbox::Mailbox;
use crate::metrics;
use crate::protocol::{self, ClientMessage, PongClock};

use super::ctx::Ctx;
use super::ws_auth::Peer;
use super::ws_command;
use super::ws_link::Link;

/// Handles one client message that arrived at `received` (monotonic µs).
pub async fn handle_text(
    ctx: &Ctx,
    session_id: &SessionId,
    peer: &Peer,
    mailbox: &Mailbox,
    link: &Link,
    text: &[u8],
    received: i64,
) {
    let Some(msg) = protocol::decode(text) else {
        metrics::ws_message_in("invalid");
        tracing::debug!(
            session = %session_id,
            "ignoring a non-JSON or untyped websocket message"
        );
        return;
    };
    let measured = Measured::arrived(received, link.one_way_us());
    match msg {
        ClientMessage::Ping { timestamp } => {
            metrics::ws_message_in("PING");
            if link.home().is_none() {
                if let Some(known) = ctx.gateway.delivered(session_id) {
                    link.set_home(&known.home_region);
                }
            }
            let sent = mono_us();
            let stamp = ctx.gateway.time().stamp(link.home().as_ref(), sent);
            let t2 = stamp.reading.us;
            let t1 = t2 - (sent - received);
            let clock = PongClock {
                timebase: &stamp.region,
                error_ms: stamp.reading.bound_ms(),
            };
            mailbox.push(protocol::pong(
                timestamp.as_ref(),
                t1.div_euclid(1000),
                t2.div_euclid(1000),
                Some(clock),
            ));
        }
        ClientMessage::Reconnect => {
            metrics::ws_message_in("RECONNECT");
            reconnect(ctx, session_id, peer, mailbox, link).await;
        }
        ClientMessage::Start(c) => {
            ws_command::run(ctx, session_id, peer, mailbox, Op::Start, c, measured).await
        }
        ClientMessage::Pause(c) => {
            ws_command::run(ctx, session_id, peer, mailbox, Op::Pause, c, measured).await
        }
        ClientMessage::Resume(c) => {
            ws_command::run(ctx, session_id, peer, mailbox, Op::Resume, c, measured).await
        }
        ClientMessage::Complete(c) => {
            ws_command::run(ctx, session_id, peer, mailbox, Op::Complete, c, measured).await
        }
        ClientMessage::Switch(c) => {
            let op = Op::Switch {
                next: c.next_participant_id.clone().map(Into::into),
                current: c.current_participant_id.clone().map(Into::into),
            };
            ws_command::run(ctx, session_id, peer, mailbox, op, c, measured).await
        }
        ClientMessage::Unknown => {
            metrics::ws_message_in("unknown");
            tracing::debug!(
                session = %session_id,
                "ignoring an unknown websocket message type"
            );
        }
    }
}

/// `STATE_SYNC` with the newest state known here (the gateway never answers older
/// than what fan-out delivered). While storage is unavailable, what was delivered here
/// still answers, as long as it is not older than what this connection was sent.
async fn reconnect(ctx: &Ctx, session_id: &SessionId, peer: &Peer, mailbox: &Mailbox, link: &Link) {
    // Counted like a REST read: each may ask every region about an unknown id. A
    // limiter that cannot count (its Redis is down) does not stop it: storage is down
    // too, peers are not asked then, and the answer comes from what was delivered here.
    if let Err(e) = ws_command::count_general(ctx, peer).await {
        if e.status == hyper::StatusCode::TOO_MANY_REQUESTS {
            mailbox.push(protocol::error(&e.code, &e.message, None));
            return;
        }
    }
    let newest = match ctx.gateway.read(session_id, &peer.caller).await {
        Ok(read) => read.session,
        Err(e) => {
            let fallback = e
                .is_storage_failure()
                .then(|| ctx.gateway.delivered(session_id))
                .flatten()
                .filter(|c| c.stamp() >= mailbox.last_state());
            match fallback {
                Some(c) => c,
                None => {
                    let err = ApiError::from(e);
                    mailbox.push(protocol::error(&err.code, &err.message, None));
                    return;
                }
            }
        }
    };
    link.set_home(&newest.home_region);
    let now = ctx.gateway.time().stamp_ms(Some(&newest.home_region));
    mailbox.push_sync(newest.stamp(), protocol::state("STATE_SYNC", &newest, now));
}
