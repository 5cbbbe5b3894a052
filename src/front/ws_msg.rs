//! What a connection does with a client's text message: `PING` → `PONG` (with NTP-style
//! times when the client sent its own), `RECONNECT` → `STATE_SYNC` or `ERROR`, the
//! command extension (`SWITCH`, `START`, … → `ACK` or `ERROR`), anything else ignored
//! as v2 did.
//!
//! Must not: know where a session lives (the gateway does) or touch the socket (the
//! connection sends what lands in the mailbox).

use crate::clock::now_ms;
use crate::domain::{Millis, Op, SessionId};
use crate::error::ApiError;
use crate::mailbox::Mailbox;
use crate::metrics;
use crate::protocol::{self, ClientMessage};

use super::ctx::Ctx;
use super::ws_auth::Peer;
use super::ws_command;

pub async fn handle_text(
    ctx: &Ctx,
    session_id: &SessionId,
    peer: &Peer,
    mailbox: &Mailbox,
    text: &[u8],
    received: Millis,
) {
    let Some(msg) = protocol::decode(text) else {
        metrics::ws_message_in("invalid");
        tracing::debug!(
            session = %session_id,
            "ignoring a non-JSON or untyped websocket message"
        );
        return;
    };
    match msg {
        ClientMessage::Ping { timestamp } => {
            metrics::ws_message_in("PING");
            mailbox.push(protocol::pong(timestamp.as_ref(), received, now_ms()));
        }
        ClientMessage::Reconnect => {
            metrics::ws_message_in("RECONNECT");
            reconnect(ctx, session_id, peer, mailbox).await;
        }
        ClientMessage::Start(c) => {
            ws_command::run(ctx, session_id, peer, mailbox, Op::Start, c).await
        }
        ClientMessage::Pause(c) => {
            ws_command::run(ctx, session_id, peer, mailbox, Op::Pause, c).await
        }
        ClientMessage::Resume(c) => {
            ws_command::run(ctx, session_id, peer, mailbox, Op::Resume, c).await
        }
        ClientMessage::Complete(c) => {
            ws_command::run(ctx, session_id, peer, mailbox, Op::Complete, c).await
        }
        ClientMessage::Switch(c) => {
            let op = Op::Switch {
                next: c.next_participant_id.clone().map(Into::into),
                current: c.current_participant_id.clone().map(Into::into),
            };
            ws_command::run(ctx, session_id, peer, mailbox, op, c).await
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
async fn reconnect(ctx: &Ctx, session_id: &SessionId, peer: &Peer, mailbox: &Mailbox) {
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
    mailbox.push_sync(
        newest.stamp(),
        protocol::state("STATE_SYNC", &newest, now_ms()),
    );
}
