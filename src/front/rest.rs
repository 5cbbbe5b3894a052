//! The session routes (CONTRACT.md §2.3): create, read, the five operations, delete.
//! Each validates its input, calls the service, and answers in the contract's shape
//! with the *stored* version (v2 returned the pre-increment one). In a multi-region
//! deployment a write for a session homed elsewhere is sent to its home and the home's
//! answer returned; reads are answered from this region's copy.

use std::sync::Arc;

use hyper::StatusCode;
use serde_json::Value;

use super::handler::Call;
use super::http::{self, Resp};
use super::router::SessionOp;
use super::routing::FromPeers;
use super::{limits, routing, validate, Ctx};
use crate::domain::Op;
use crate::error::ApiError;
use crate::metrics;
use crate::ratelimit::Bucket;
use crate::service::ServiceError;
use crate::view::{SessionView, SwitchView};

pub async fn create(ctx: &Ctx, body: &Value, call: &Call) -> Result<Resp, ApiError> {
    let req = validate::create_session(body).map_err(ApiError::validation)?;
    let home = validate::home_region(body, &ctx.cfg).map_err(ApiError::validation)?;
    if let Some(home) = home.filter(|h| *h != ctx.cfg.region) {
        return routing::forward(ctx, &home, call).await;
    }
    let s = ctx.sessions.create(req, call.origin(ctx)).await?;
    metrics::session_created();
    Ok(http::data(StatusCode::CREATED, SessionView::from(&s)))
}

pub async fn get(ctx: &Ctx, id: &str, call: &Call) -> Result<Resp, ApiError> {
    validate::session_id_param(id).map_err(ApiError::validation)?;
    let s = match ctx.sessions.read(id).await {
        Ok(s) => s,
        Err(ServiceError::NotFound(_)) if !call.forwarded() => {
            Arc::new(routing::from_peers(ctx, id).await.found(id)?)
        }
        Err(e) => return Err(e.into()),
    };
    // A replica may lag behind what fan-out already delivered here: never answer older.
    let s = match ctx.hub.latest(id) {
        Some(c) if c.stamp() > s.stamp() => c,
        _ => s,
    };
    let mut resp = http::data(StatusCode::OK, SessionView::from(&*s));
    routing::mark_if_stale(ctx, &s, &mut resp).await;
    Ok(resp)
}

pub async fn delete(ctx: &Ctx, id: &str, call: &Call) -> Result<Resp, ApiError> {
    validate::session_id_param(id).map_err(ApiError::validation)?;
    if ctx.region.is_some() {
        // Only the home deletes; a region holding a copy forwards, and one that does
        // not know the session asks its peers first (never deletes on a guess).
        let home = match ctx.sessions.get(id).await {
            Ok(s) => Some(s.home_region.clone()),
            Err(ServiceError::NotFound(_)) if call.forwarded() => None,
            Err(ServiceError::NotFound(_)) => match routing::from_peers(ctx, id).await {
                FromPeers::Found(s) => Some(s.home_region),
                FromPeers::Absent => None,
                FromPeers::Unknown => return Err(FromPeers::undecidable()),
            },
            Err(e) => return Err(e.into()),
        };
        if let Some(home) = home.filter(|h| *h != ctx.cfg.region) {
            return routing::forward(ctx, &home, call).await;
        }
    }
    if ctx.sessions.delete(id, call.origin(ctx)).await? {
        metrics::session_deleted();
    }
    Ok(http::empty(StatusCode::NO_CONTENT))
}

pub async fn operation(
    ctx: &Arc<Ctx>,
    id: &str,
    op: SessionOp,
    body: &Value,
    rate_headers: &mut Vec<(&'static str, String)>,
    call: &Call,
) -> Result<Resp, ApiError> {
    validate::session_id_param(id).map_err(ApiError::validation)?;
    let op = match op {
        SessionOp::Start => Op::Start,
        SessionOp::Pause => Op::Pause,
        SessionOp::Resume => Op::Resume,
        SessionOp::Complete => Op::Complete,
        SessionOp::Switch => {
            let (next, current) = validate::switch_body(body).map_err(ApiError::validation)?;
            // The switch limiter, after param and body validation (v2 order). Counted
            // at every hop: the home's count covers all regions' switches, an edge's
            // only its own, so an edge is never stricter than the home.
            limits::apply(ctx, Bucket::Switch, id, rate_headers).await?;
            Op::Switch { next, current }
        }
    };
    let started = std::time::Instant::now();
    let result = ctx.sessions.apply(id, &op, call.origin(ctx)).await;
    if matches!(op, Op::Switch { .. }) {
        metrics::switch_duration(started.elapsed().as_secs_f64() * 1000.0);
    }
    let out = match result {
        Ok(out) => out,
        Err(ServiceError::RemoteHome(home)) => return routing::forward(ctx, &home, call).await,
        Err(ServiceError::NotFound(_)) if ctx.region.is_some() && !call.forwarded() => {
            let s = routing::from_peers(ctx, id).await.found(id)?;
            return if s.home_region != ctx.cfg.region {
                routing::forward(ctx, &s.home_region, call).await
            } else {
                Err(ApiError::not_found(id))
            };
        }
        Err(e) => return Err(e.into()),
    };
    Ok(match op {
        Op::Switch { .. } => http::data(
            StatusCode::OK,
            SwitchView::new(&out.session, out.expired_participant_id.as_deref()),
        ),
        _ => http::data(StatusCode::OK, SessionView::from(&out.session)),
    })
}
