//! The session routes (CONTRACT.md §2.3): create, read, the five operations, delete.
//! Each validates its input, calls the service, and answers in the contract's shape
//! with the *stored* version (v2 returned the pre-increment one).

use std::sync::Arc;

use hyper::StatusCode;
use serde_json::Value;

use super::http::{self, Resp};
use super::router::SessionOp;
use super::Ctx;
use super::{limits, validate};
use crate::domain::Op;
use crate::error::ApiError;
use crate::metrics;
use crate::ratelimit::Bucket;
use crate::view::{SessionView, SwitchView};

pub async fn create(ctx: &Ctx, body: &Value) -> Result<Resp, ApiError> {
    let req = validate::create_session(body).map_err(ApiError::validation)?;
    let s = ctx.sessions.create(req).await?;
    metrics::session_created();
    Ok(http::data(StatusCode::CREATED, SessionView::from(&s)))
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<Resp, ApiError> {
    validate::session_id_param(id).map_err(ApiError::validation)?;
    let s = ctx.sessions.read(id).await?;
    Ok(http::data(StatusCode::OK, SessionView::from(&*s)))
}

pub async fn delete(ctx: &Ctx, id: &str) -> Result<Resp, ApiError> {
    validate::session_id_param(id).map_err(ApiError::validation)?;
    if ctx.sessions.delete(id).await? {
        metrics::session_deleted();
    }
    Ok(http::empty(StatusCode::NO_CONTENT))
}

/// The switch limiter, after param and body validation (v2 order). Its headers win
/// over the general limiter's on this route.
async fn switch_limit(
    ctx: &Ctx,
    id: &str,
    headers: &mut Vec<(&'static str, String)>,
) -> Result<(), ApiError> {
    let (result, decision) = match limits::check(ctx, Bucket::Switch, id).await {
        Ok(d) => (Ok(()), d),
        Err((e, d)) => (Err(e), d),
    };
    if let Some(d) = decision {
        headers.clear();
        headers.extend(d.headers());
    }
    result
}

pub async fn operation(
    ctx: &Arc<Ctx>,
    id: &str,
    op: SessionOp,
    body: &Value,
    rate_headers: &mut Vec<(&'static str, String)>,
) -> Result<Resp, ApiError> {
    validate::session_id_param(id).map_err(ApiError::validation)?;
    let op = match op {
        SessionOp::Start => Op::Start,
        SessionOp::Pause => Op::Pause,
        SessionOp::Resume => Op::Resume,
        SessionOp::Complete => Op::Complete,
        SessionOp::Switch => {
            let (next, current) = validate::switch_body(body).map_err(ApiError::validation)?;
            switch_limit(ctx, id, rate_headers).await?;
            Op::Switch { next, current }
        }
    };
    let started = std::time::Instant::now();
    let result = ctx.sessions.apply(id, &op).await;
    if matches!(op, Op::Switch { .. }) {
        metrics::switch_duration(started.elapsed().as_secs_f64() * 1000.0);
    }
    let out = result?;
    Ok(match op {
        Op::Switch { .. } => http::data(
            StatusCode::OK,
            SwitchView::new(&out.session, out.expired_participant_id.as_deref()),
        ),
        _ => http::data(StatusCode::OK, SessionView::from(&out.session)),
    })
}
