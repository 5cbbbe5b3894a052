//! The WebSocket endpoint `/ws?sessionId=<id>[&token=<jwt>]`: the upgrade handshake
//! and the parameter checks. As in v2 the handshake always completes; a missing or
//! malformed `sessionId` then closes with 1008 and a reason, a token problem with
//! 4401/4403 (`ws_auth`). New upgrades are refused (503) while the instance drains,
//! and (429) past the per-address connection cap behind a proxy.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::auth;
use super::conns::ConnGuard;
use super::ctx::Ctx;
use super::http::{self, Resp};
use super::ws_conn::{self, Opening};
use crate::domain::uuid::is_loose_uuid;
use crate::domain::SessionId;
use crate::error::ApiError;

/// The `sessionId` query parameter, or the 1008 close reason.
pub fn session_param(query: Option<&str>) -> Result<SessionId, &'static str> {
    let value = query
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == "sessionId")
        .map(|(_, v)| v);
    match value {
        None | Some("") => Err("Missing sessionId parameter"),
        Some(v) if is_loose_uuid(v) => Ok(SessionId::from(v)),
        Some(_) => Err("Invalid sessionId format"),
    }
}

pub fn upgrade(
    ctx: &Arc<Ctx>,
    mut req: Request<Incoming>,
    client: &str,
    conn: Arc<ConnGuard>,
) -> Resp {
    if !fastwebsockets::upgrade::is_upgrade_request(&req) {
        return http::error(&ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "UPGRADE_REQUIRED",
            "This endpoint only accepts WebSocket upgrades",
        ));
    }
    if ctx.draining.is_cancelled() {
        return http::error(&ApiError::unavailable("Server shutting down", 1));
    }
    if let Err(e) = conn.hold_client(client) {
        return http::error(&e);
    }
    let session = session_param(req.uri().query());
    let token = auth::query_token(req.uri().query())
        .or_else(|| auth::bearer(req.headers()))
        .map(str::to_owned);
    let (resp, fut) = match fastwebsockets::upgrade::upgrade(&mut req) {
        Ok(pair) => pair,
        Err(e) => {
            return http::error(&ApiError::new(
                StatusCode::BAD_REQUEST,
                "BAD_WEBSOCKET_HANDSHAKE",
                e.to_string(),
            ))
        }
    };
    let opening = Opening {
        session,
        token,
        client: client.to_owned(),
        conn,
    };
    ctx.ws_tasks.spawn(ws_conn::run(ctx.clone(), fut, opening));
    let (parts, _) = resp.into_parts();
    Response::from_parts(parts, Full::new(Bytes::new()))
}

#[cfg(test)]
mod tests {
    use super::session_param;

    #[test]
    fn session_param_rules() {
        let id = "223e4567-e89b-12d3-a456-426614174001";
        assert_eq!(
            session_param(Some(&format!("sessionId={id}"))),
            Ok(id.into())
        );
        assert_eq!(
            session_param(Some(&format!("x=1&sessionId={id}"))),
            Ok(id.into())
        );
        assert_eq!(session_param(None), Err("Missing sessionId parameter"));
        assert_eq!(
            session_param(Some("sessionId=")),
            Err("Missing sessionId parameter")
        );
        assert_eq!(
            session_param(Some("sessionId=abc")),
            Err("Invalid sessionId format")
        );
    }
}
