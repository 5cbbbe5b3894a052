//! The session routes (CONTRACT.md §2.3): create, read, the five operations, delete.
//! Each validates its input, calls the gateway (which decides where the session
//! lives and applies the caller's access rules), and answers in the contract's shape
//! with the *stored* version (v2 returned the pre-increment one). Creates count
//! against the client's quotas.
//!
//! Must not: know where a session lives (the gateway does).

use hyper::header::HeaderValue;
use hyper::StatusCode;
use serde_json::Value;

use super::ctx::Ctx;
use super::http::{self, Resp, STALE_HEADER};
use super::limits::{self, RateHeaders};
use super::routes::SessionOp;
use super::validate;
use super::validate_timing;
use crate::domain::Op;
use crate::error::ApiError;
use crate::gateway::caller::Caller;
use crate::gateway::error::GatewayError;
use crate::gateway::transit::Measured;
use crate::metrics;
use crate::ratelimit::Bucket;
use crate::view::{SessionView, SwitchView};

/// Who asks: the caller for the gateway and the client quotas count against.
pub struct Asker<'a> {
    pub caller: Caller,
    pub client: &'a str,
}

/// A gateway error as a response: `fly-replay` when the gateway chose it.
pub fn failed(e: GatewayError) -> Result<Resp, ApiError> {
    match e {
        GatewayError::Replay { home } => Ok(http::fly_replay(&home)),
        e => Err(e.into()),
    }
}

pub async fn create(ctx: &Ctx, body: &Value, who: &Asker<'_>) -> Result<Resp, ApiError> {
    let req = validate_timing::create_session(body).map_err(ApiError::validation)?;
    let home = validate::home_region(body, &ctx.cfg).map_err(ApiError::validation)?;
    let id = req.session_id.clone();
    limits::admit_create(ctx, who.client, &id).await?;
    match ctx.gateway.create(req, home.as_ref(), &who.caller).await {
        Ok(s) => Ok(http::data(StatusCode::CREATED, SessionView::from(&*s))),
        Err(e) => {
            limits::release_live(ctx, who.client, &id).await;
            let resp = failed(e);
            if let Err(e) = &resp {
                if e.code == "QUOTA_EXCEEDED" {
                    metrics::quota_refused("max_participants_x_thresholds");
                }
            }
            resp
        }
    }
}

pub async fn get(ctx: &Ctx, id: &str, who: &Asker<'_>) -> Result<Resp, ApiError> {
    let id = validate::session_id_param(id).map_err(ApiError::validation)?;
    let read = ctx.gateway.read(&id, &who.caller).await?;
    let mut resp = http::data(StatusCode::OK, SessionView::from(&*read.session));
    if read.stale {
        resp.headers_mut()
            .insert(STALE_HEADER, HeaderValue::from_static("home-unreachable"));
    }
    Ok(resp)
}

pub async fn delete(ctx: &Ctx, id: &str, who: &Asker<'_>) -> Result<Resp, ApiError> {
    let id = validate::session_id_param(id).map_err(ApiError::validation)?;
    match ctx.gateway.delete(&id, &who.caller).await {
        Ok(existed) => {
            if existed {
                limits::release_live(ctx, who.client, &id).await;
            }
            Ok(http::empty(StatusCode::NO_CONTENT))
        }
        Err(e) => failed(e),
    }
}

pub async fn operation(
    ctx: &Ctx,
    id: &str,
    op: SessionOp,
    body: &Value,
    who: &Asker<'_>,
    rate: &mut RateHeaders,
) -> Result<Resp, ApiError> {
    let id = validate::session_id_param(id).map_err(ApiError::validation)?;
    let op = match op {
        SessionOp::Start => Op::Start,
        SessionOp::Pause => Op::Pause,
        SessionOp::Resume => Op::Resume,
        SessionOp::Complete => Op::Complete,
        SessionOp::Switch => {
            let (next, current) = validate::switch_body(body).map_err(ApiError::validation)?;
            // The switch limiter, after param and body validation (v2 order). Counted
            // in every region a switch passes: the home's count covers all regions'
            // switches, an edge's only its own, so an edge is never stricter.
            limits::count(ctx, Bucket::Switch, &id, rate).await?;
            Op::Switch { next, current }
        }
    };
    let started = std::time::Instant::now();
    // Lag compensation: a REST move's transit is measured from its arrival here (the
    // client's own leg is not known without a persistent connection).
    let measured = Measured::arrived(crate::clock::mono_us_of(started), 0);
    let result = ctx
        .gateway
        .apply_measured(&id, &op, &who.caller, measured)
        .await;
    if matches!(op, Op::Switch { .. }) {
        metrics::switch_duration(started.elapsed().as_secs_f64() * 1000.0);
    }
    let out = match result {
        Ok(out) => out,
        Err(e) => return failed(e),
    };
    Ok(match op {
        Op::Switch { .. } => http::data(
            StatusCode::OK,
            SwitchView::new(&out.session, out.expired_participant_id.as_deref()),
        ),
        _ => http::data(StatusCode::OK, SessionView::from(&*out.session)),
    })
}
