//! Commands sent over a WebSocket (extension): `START`, `SWITCH`, `PAUSE`, `RESUME`,
//! `COMPLETE` with an optional `requestId`, answered with `ACK` (the stored version)
//! or `ERROR` (the REST error's code and message). A command for a session homed in
//! another region always goes there by internal forwarding (never `fly-replay`).

use http_body_util::BodyExt;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::{limits, routing, Ctx};
use crate::domain::uuid::is_strict_uuid;
use crate::domain::Op;
use crate::error::ApiError;
use crate::mailbox::Mailbox;
use crate::metrics;
use crate::protocol::{self, Command};
use crate::ratelimit::Bucket;
use crate::service::ServiceError;

type Failure = (String, String);

fn failure(e: ApiError) -> Failure {
    (e.code.to_owned(), e.message)
}

fn check_ids(c: &Command) -> Result<(), ApiError> {
    for (name, id) in [
        ("next_participant_id", &c.next_participant_id),
        ("current_participant_id", &c.current_participant_id),
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

pub async fn run(ctx: &Ctx, session_id: &str, mailbox: &Mailbox, op: Op, c: Command) {
    metrics::ws_message_in(op.name());
    let frame = match execute(ctx, session_id, &op).await {
        Ok(version) => protocol::ack(op.name(), version, c.request_id.as_ref()),
        Err((code, message)) => protocol::error(&code, &message, c.request_id.as_ref()),
    };
    mailbox.push(frame);
}

async fn execute(ctx: &Ctx, session_id: &str, op: &Op) -> Result<u64, Failure> {
    let c = match op {
        Op::Switch { next, current } => Command {
            next_participant_id: next.clone(),
            current_participant_id: current.clone(),
            ..Command::default()
        },
        _ => Command::default(),
    };
    check_ids(&c).map_err(failure)?;
    if matches!(op, Op::Switch { .. }) {
        limits::check(ctx, Bucket::Switch, session_id)
            .await
            .map_err(|(e, _)| failure(e))?;
    }
    match ctx.sessions.apply(session_id, op, &ctx.cfg.region).await {
        Ok(out) => Ok(out.session.version),
        Err(ServiceError::RemoteHome(home)) => remote(ctx, &home, session_id, op).await,
        Err(ServiceError::NotFound(_)) if ctx.region.is_some() => {
            let s = routing::from_peers(ctx, session_id)
                .await
                .found(session_id)
                .map_err(failure)?;
            if s.home_region != ctx.cfg.region {
                remote(ctx, &s.home_region, session_id, op).await
            } else {
                Err(failure(ApiError::not_found(session_id)))
            }
        }
        Err(e) => Err(failure(e.into())),
    }
}

/// Runs the command at the session's home as the equivalent REST call.
async fn remote(ctx: &Ctx, home: &str, session_id: &str, op: &Op) -> Result<u64, Failure> {
    let path = format!("/v1/sessions/{session_id}/{}", op.name());
    let body = match op {
        Op::Switch { next, current } => {
            let mut b = json!({});
            if let Some(n) = next {
                b["next_participant_id"] = json!(n);
            }
            if let Some(c) = current {
                b["current_participant_id"] = json!(c);
            }
            b
        }
        _ => json!({}),
    };
    let resp = routing::forward_command(ctx, home, &path, body.to_string().into_bytes())
        .await
        .map_err(failure)?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(v["data"]["version"].as_u64().unwrap_or(0));
    }
    let text = |k: &str| v["error"][k].as_str().unwrap_or("").to_owned();
    Err((text("code"), text("message")))
}
