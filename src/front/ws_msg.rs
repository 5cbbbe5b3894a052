//! What a connection does with a client's text message: `PING` → `PONG` (with NTP-style
//! times when the client sent its own), `RECONNECT` → `STATE_SYNC` or `ERROR`, the
//! command extension (`SWITCH`, `START`, … → `ACK` or `ERROR`), anything else ignored
//! as v2 did. Plus the per-connection message rate limit.

use std::sync::Arc;

use crate::clock::now_ms;
use crate::domain::{lifetime, Millis, Op};
use crate::error::ApiError;
use crate::mailbox::Mailbox;
use crate::metrics;
use crate::protocol::{self, ClientMessage};

use super::routing::FromPeers;
use super::{ws_command, Ctx};

/// Messages beyond `ABUSE_FACTOR` × the limit in one second close the connection.
const ABUSE_FACTOR: u32 = 10;

pub enum Verdict {
    Allow,
    /// Over the limit: drop the message; `first` for the first drop in this second.
    Refuse {
        first: bool,
    },
    Abuse,
}

/// Fixed one-second window per connection.
pub struct MessageRate {
    limit: u32,
    window_start: Millis,
    count: u32,
}

impl MessageRate {
    pub fn new(limit: u32) -> Self {
        MessageRate {
            limit,
            window_start: 0,
            count: 0,
        }
    }

    pub fn check(&mut self, now: Millis) -> Verdict {
        if self.limit == 0 {
            return Verdict::Allow;
        }
        if now - self.window_start >= 1000 {
            self.window_start = now;
            self.count = 0;
        }
        self.count += 1;
        if self.count <= self.limit {
            Verdict::Allow
        } else if self.count > self.limit.saturating_mul(ABUSE_FACTOR) {
            Verdict::Abuse
        } else {
            Verdict::Refuse {
                first: self.count == self.limit + 1,
            }
        }
    }
}

pub async fn handle_text(
    ctx: &Arc<Ctx>,
    session_id: &str,
    mailbox: &Mailbox,
    text: &[u8],
    received: Millis,
) {
    let Some(msg) = protocol::decode(text) else {
        metrics::ws_message_in("invalid");
        tracing::debug!(
            session = session_id,
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
            reconnect(ctx, session_id, mailbox).await;
        }
        ClientMessage::Start(c) => ws_command::run(ctx, session_id, mailbox, Op::Start, c).await,
        ClientMessage::Pause(c) => ws_command::run(ctx, session_id, mailbox, Op::Pause, c).await,
        ClientMessage::Resume(c) => ws_command::run(ctx, session_id, mailbox, Op::Resume, c).await,
        ClientMessage::Complete(c) => {
            ws_command::run(ctx, session_id, mailbox, Op::Complete, c).await
        }
        ClientMessage::Switch(c) => {
            let op = Op::Switch {
                next: c.next_participant_id.clone(),
                current: c.current_participant_id.clone(),
            };
            ws_command::run(ctx, session_id, mailbox, op, c).await
        }
        ClientMessage::Unknown => {
            metrics::ws_message_in("unknown");
            tracing::debug!(
                session = session_id,
                "ignoring an unknown websocket message type"
            );
        }
    }
}

/// `STATE_SYNC` with the newest state known here: never older than a state this
/// connection was already sent (the hub's copy is used when storage lags behind).
async fn reconnect(ctx: &Ctx, session_id: &str, mailbox: &Mailbox) {
    let stored = match ctx.sessions.store().read(session_id).await {
        Ok(None) => match super::routing::from_peers(ctx, session_id).await {
            FromPeers::Found(s) => Ok(Some(Arc::new(*s))),
            FromPeers::Absent => Ok(None),
            FromPeers::Unknown => {
                let e = FromPeers::undecidable();
                mailbox.push(protocol::error(e.code, &e.message, None));
                return;
            }
        },
        other => other,
    };
    // A copy past its lifetime is a session storage has already forgotten (TTL).
    let ttl_ms = ctx.cfg.sessions.ttl_secs.saturating_mul(1000);
    let cached = ctx
        .hub
        .latest(session_id)
        .filter(|c| lifetime::keep_until(c, ttl_ms) > now_ms());
    let newest = match stored {
        // Storage (or a peer) is authoritative about existence; the hub's copy only
        // wins when it is newer (a replica or copy lagging behind fan-out).
        Ok(Some(s)) => Some(match cached {
            Some(c) if c.stamp() > s.stamp() => c,
            _ => s,
        }),
        Ok(None) => None,
        Err(e) => match cached {
            Some(c) if c.stamp() >= mailbox.last_state() => Some(c),
            _ => {
                let err = ApiError::from(e);
                mailbox.push(protocol::error(err.code, &err.message, None));
                return;
            }
        },
    };
    match newest {
        Some(s) => {
            mailbox.push_sync(s.stamp(), protocol::state("STATE_SYNC", &s, now_ms()));
        }
        None => {
            mailbox.push(protocol::error(
                "SESSION_NOT_FOUND",
                &format!("Session {session_id} not found"),
                None,
            ));
        }
    }
}
