//! Who is on a WebSocket: with auth on, the token from `?token=` or the upgrade's
//! `Authorization: Bearer` header, or else the connection's first message
//! `{"type":"AUTH","token":"<jwt>"}` within `ws.auth_timeout_ms` (so browsers need not
//! put tokens in URLs). A bad or missing token closes with 4401, a token that does not
//! cover the session with 4403, before the socket is subscribed to anything. Then the
//! identity every command and `RECONNECT` of the socket acts with.
//!
//! Must not: decide what an actor may do (the gateway applies `domain::access`).

use std::time::Duration;

use fastwebsockets::{OpCode, WebSocketRead};
use serde::Deserialize;
use tokio::io::AsyncRead;

use super::ctx::Ctx;
use crate::auth::AuthError;
use crate::domain::{Actor, SessionId};
use crate::gateway::caller::Caller;
use crate::gateway::error::GatewayError;
use crate::metrics;
use crate::protocol::close;

/// Who is on a socket: the caller its commands act as, and the client address its
/// messages count against (the general rate limiter, as REST requests do).
pub struct Peer {
    pub caller: Caller,
    pub client: String,
}

/// A refusal: the close code and its reason.
pub type Refusal = (u16, String);

#[derive(Deserialize)]
struct AuthMessage {
    #[serde(rename = "type")]
    kind: String,
    token: String,
}

fn unauthorized(e: &AuthError) -> Refusal {
    metrics::auth_refused(e.reason());
    (close::UNAUTHORIZED, e.to_string())
}

/// The token of the first message (waiting at most `ws.auth_timeout_ms`).
async fn first_message_token<S: AsyncRead + Unpin>(
    ctx: &Ctx,
    rx: &mut WebSocketRead<S>,
) -> Result<String, Refusal> {
    let missing = || unauthorized(&AuthError::Missing);
    let wait = Duration::from_millis(ctx.cfg.ws.auth_timeout_ms);
    let read = async {
        // A few control frames before it are allowed.
        for _ in 0..16 {
            let mut ignore = |_| async { Ok::<(), std::io::Error>(()) };
            let frame = rx.read_frame(&mut ignore).await.map_err(|_| missing())?;
            match frame.opcode {
                OpCode::Ping | OpCode::Pong => continue,
                OpCode::Text if frame.fin => {
                    let m: AuthMessage =
                        serde_json::from_slice(&frame.payload).map_err(|_| missing())?;
                    return if m.kind == "AUTH" {
                        Ok(m.token)
                    } else {
                        Err(missing())
                    };
                }
                _ => return Err(missing()),
            }
        }
        Err(missing())
    };
    // Cancelling the read on timeout is fine: the connection is closed right after.
    tokio::time::timeout(wait, read)
        .await
        .unwrap_or_else(|_| Err(missing()))
}

/// The identity of a new socket for `session_id`, or why it must close.
pub async fn admit<S: AsyncRead + Unpin>(
    ctx: &Ctx,
    rx: &mut WebSocketRead<S>,
    token: Option<String>,
    session_id: &SessionId,
    client: String,
) -> Result<Peer, Refusal> {
    let token = match token {
        Some(t) => Some(t),
        None if ctx.auth.is_on() => Some(first_message_token(ctx, rx).await?),
        None => None,
    };
    let actor: Option<Actor> = ctx
        .auth
        .actor(token.as_deref())
        .map_err(|e| unauthorized(&e))?;
    let caller = Caller::socket(ctx.gateway.region(), actor);
    let forbidden = |e: GatewayError| (close::FORBIDDEN, crate::error::ApiError::from(e).message);
    ctx.gateway
        .may_watch(session_id, &caller)
        .map_err(forbidden)?;
    // A tenant-limited token watches only existing sessions of its tenant.
    if caller
        .actor()
        .is_some_and(|a| a.tenant.is_some() && a.session.is_none())
    {
        ctx.gateway
            .read(session_id, &caller)
            .await
            .map_err(forbidden)?;
    }
    Ok(Peer { caller, client })
}
