//! Multi-region routing for the fronts: send a call to a session's home region, find
//! the home of a session this region has not seen yet (asking peers, and keeping the
//! copy they return), and mark reads of a copy whose home is silent as stale.

use hyper::header::HeaderValue;
use hyper::Method;

use super::handler::Call;
use super::http::Resp;
use super::Ctx;
use crate::domain::Session;
use crate::error::ApiError;
use crate::region::forward::{self, Outgoing};
use crate::region::STALE_HEADER;

/// Sends `call` to `home` and returns its answer unchanged.
pub async fn forward(ctx: &Ctx, home: &str, call: &Call) -> Result<Resp, ApiError> {
    let Some(r) = &ctx.region else {
        return Err(ApiError::internal());
    };
    if call.forwarded() {
        // Never a second hop: the sender believed this region is the home.
        return Err(ApiError::unavailable(
            format!("Misdirected request: this region is not the home of the session ({home})"),
            1,
        ));
    }
    forward::to_home(
        &r.cluster,
        home,
        Outgoing {
            method: call.method.clone(),
            path_and_query: &call.path_and_query,
            content_type: call.content_type.as_ref(),
            body: call.body.clone(),
            origin: &ctx.cfg.region,
            replayable: true,
        },
    )
    .await
}

/// Sends a WebSocket-borne command (never fly-replayed) to `home`.
pub async fn forward_command(
    ctx: &Ctx,
    home: &str,
    path: &str,
    body: Vec<u8>,
) -> Result<Resp, ApiError> {
    let Some(r) = &ctx.region else {
        return Err(ApiError::internal());
    };
    let json = HeaderValue::from_static("application/json");
    forward::to_home(
        &r.cluster,
        home,
        Outgoing {
            method: Method::POST,
            path_and_query: path,
            content_type: Some(&json),
            body: body.into(),
            origin: &ctx.cfg.region,
            replayable: false,
        },
    )
    .await
}

/// A session this region does not have, from the peers that do (kept locally so the
/// next read is local). `None` when single-region or nobody has it.
pub async fn from_peers(ctx: &Ctx, session_id: &str) -> Option<Session> {
    let r = ctx.region.as_ref()?;
    let (s, raw) = r.cluster.locate(session_id).await?;
    if let Err(e) = r
        .applier
        .store_copy(&s.home_region, session_id, &raw, None)
        .await
    {
        tracing::debug!(error = %e, "could not keep the copy found at a peer");
    }
    Some(s)
}

/// Marks `resp` stale when `s` is a copy whose home region is currently silent.
pub async fn mark_if_stale(ctx: &Ctx, s: &Session, resp: &mut Resp) {
    let Some(r) = &ctx.region else { return };
    if s.home_region != ctx.cfg.region && !r.cluster.health.is_up(&s.home_region).await {
        resp.headers_mut()
            .insert(STALE_HEADER, HeaderValue::from_static("home-unreachable"));
    }
}
