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
use crate::region::{Lookup, STALE_HEADER};

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

/// What the peers said about a session this region does not have.
pub enum FromPeers {
    Found(Box<Session>),
    Absent,
    /// Some region could not be asked: existence cannot be decided (503).
    Unknown,
}

impl FromPeers {
    /// The answer for a caller that needs the session: 404 or 503 when not found.
    pub fn found(self, session_id: &str) -> Result<Session, ApiError> {
        match self {
            FromPeers::Found(s) => Ok(*s),
            FromPeers::Absent => Err(ApiError::not_found(session_id)),
            FromPeers::Unknown => Err(Self::undecidable()),
        }
    }

    /// 503: whether the session exists cannot be decided while regions are unreachable.
    pub fn undecidable() -> ApiError {
        ApiError::unavailable(
            "Some regions are unreachable; this session cannot be looked up now",
            2,
        )
    }
}

/// A session this region does not have, from its peers (the copy is kept locally so
/// the next read is local). Single-region: always absent.
pub async fn from_peers(ctx: &Ctx, session_id: &str) -> FromPeers {
    let Some(r) = ctx.region.as_ref() else {
        return FromPeers::Absent;
    };
    match r.cluster.lookup(session_id).await {
        Lookup::Found(s, raw) => {
            if let Err(e) = r.applier.store_copy(&s.home_region, session_id, &raw).await {
                tracing::debug!(error = %e, "could not keep the copy found at a peer");
            }
            FromPeers::Found(s)
        }
        Lookup::Absent => FromPeers::Absent,
        Lookup::Unknown => FromPeers::Unknown,
    }
}

/// Marks `resp` stale when `s` is a copy whose home region is currently silent.
pub async fn mark_if_stale(ctx: &Ctx, s: &Session, resp: &mut Resp) {
    let Some(r) = &ctx.region else { return };
    if s.home_region != ctx.cfg.region && !r.cluster.health.is_up(&s.home_region).await {
        resp.headers_mut()
            .insert(STALE_HEADER, HeaderValue::from_static("home-unreachable"));
    }
}
