//! Commands sent over a WebSocket (extension): `START`, `SWITCH`, `PAUSE`, `RESUME`,
//! `COMPLETE` with an optional `requestId`, answered with `ACK` (the stored version)
//! or `ERROR` (the REST error's code and message). The gateway sends a command for a
//! session homed in another region there (never `fly-replay`). Each command carries
//! what the connection measured of its transit (arrival, one-way delay of the link)
//! for lag compensation.
//!
//! Must not: know where a session lives.

use hyper::StatusCode;

use super::ctx::Ctx;
use super::limits;
use super::ws_auth::Peer;
use crate::domain::uuid::is_strict_uuid;
use crate::domain::{Op, SessionId};
use crate::error::ApiError;
use crate::gateway::transit::Measured;
use crate::mailbox::Mailbox;
use crate::metrics;
use crate::protocol::{self, Command};
use crate::ratelimit::Bucket;

fn check_ids(op: &Op) -> Result<(), ApiError> {
    let Op::Switch { next, current } = op else {
        return Ok(());
    };
    for (name, id) in [
        ("next_participant_id", next),
        ("current_participant_id", current),
    ] {
        if id.as_deref().is_some_and(|v| !is_strict_uuid(v)) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                format!("Invalid {name} format (expected a UUID)"),
            ));
        }
    }
    Ok(())
}

pub async fn run(
    ctx: &Ctx,
    session_id: &SessionId,
    peer: &Peer,
    mailbox: &Mailbox,
    op: Op,
    c: Command,
    measured: Measured,
) {
    metrics::ws_message_in(op.name());
    let result = execute(ctx, session_id, peer, &op, measured).await;
    metrics::ws_command(result.as_ref().is_err_and(|e| e.status.is_server_error()));
    let frame = match result {
        Ok(version) => protocol::ack(op.name(), version, c.request_id.as_ref()),
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!(
                    session = %session_id,
                    code = %e.code,
                    cause = %e.cause_chain(),
                    "websocket command failed"
                );
            }
            protocol::error(&e.code, &e.message, c.request_id.as_ref())
        }
    };
    mailbox.push(frame);
}

/// Counts a socket's command or `RECONNECT` against the general limiter of its client
/// address, as a REST request is.
pub async fn count_general(ctx: &Ctx, peer: &Peer) -> Result<(), ApiError> {
    limits::check(ctx, Bucket::General, &peer.client)
        .await
        .map(|_| ())
        .map_err(|(e, _)| e)
}

async fn execute(
    ctx: &Ctx,
    session_id: &SessionId,
    peer: &Peer,
    op: &Op,
    measured: Measured,
) -> Result<u64, ApiError> {
    check_ids(op)?;
    count_general(ctx, peer).await?;
    if matches!(op, Op::Switch { .. }) {
        limits::check(ctx, Bucket::Switch, session_id)
            .await
            .map_err(|(e, _)| e)?;
    }
    let out = ctx
        .gateway
        .apply_measured(session_id, op, &peer.caller, measured)
        .await?;
    Ok(out.session.version)
}
