//! Counting a request against one of the contract's two rate limiters (§6.1) and, on
//! refusal, the 429 error with v2's message and `Retry-After`; and the per-client
//! quotas (creates per minute, live sessions), refused with 429 `QUOTA_EXCEEDED`
//! naming the limit.
//!
//! A limiter that cannot count (its Redis is unreachable) fails *closed*: the request
//! gets 503 with `Retry-After: 1` and `synckairos_rate_limiter_unavailable_total`
//! counts it. A limit that cannot be checked is not waived; with one Redis per region
//! the store is unreachable too, so nothing that would have succeeded is refused.
//!
//! Must not: decide which routes are limited (the handler and the routes do).

use hyper::StatusCode;

use super::ctx::Ctx;
use crate::clock::now_ms;
use crate::domain::quota::QuotaExceeded;
use crate::domain::SessionId;
use crate::error::ApiError;
use crate::metrics;
use crate::ratelimit::{Bucket, Decision};

/// Rate-limit headers collected for a response (`(name, value)`).
pub type RateHeaders = Vec<(&'static str, String)>;

/// Counts one hit on `key` in `bucket`. `Ok(None)` when that limiter is disabled;
/// `Ok(Some(decision))` when allowed (its headers go on the response); on refusal the
/// error and, for a 429, the decision.
pub async fn check(
    ctx: &Ctx,
    bucket: Bucket,
    key: &str,
) -> Result<Option<Decision>, (ApiError, Option<Decision>)> {
    let limit = match bucket {
        Bucket::General => ctx.cfg.rate_limit.general_per_minute,
        Bucket::Switch => ctx.cfg.rate_limit.switch_per_second,
        Bucket::Create => ctx.cfg.quotas.creates_per_minute,
    };
    if limit == 0 {
        return Ok(None);
    }
    let d = ctx.limiter.hit(bucket, key, limit).await.map_err(|e| {
        metrics::rate_limiter_unavailable();
        let e = ApiError::unavailable("Rate limiter unavailable, please retry", 1).caused_by(e);
        (e, None)
    })?;
    if d.allowed {
        return Ok(Some(d));
    }
    metrics::rate_limited(bucket.name());
    let message = match bucket {
        Bucket::General => "Too many requests, please try again later",
        Bucket::Switch => "Too many cycle switches for this session, please slow down",
        Bucket::Create => {
            return Err((
                quota_error(QuotaExceeded {
                    limit: "creates_per_minute",
                    max: limit.into(),
                    requested: u64::from(limit) + 1,
                    retry_after: Some(d.reset_secs.max(1)),
                }),
                Some(d),
            ))
        }
    };
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMIT_EXCEEDED",
        message,
    );
    e.retry_after = Some(d.reset_secs.max(1));
    Err((e, Some(d)))
}

/// Counts one hit and records the limiter's headers for the response. The switch
/// limiter runs last on its route and its headers replace the general limiter's (v2).
pub async fn count(
    ctx: &Ctx,
    bucket: Bucket,
    key: &str,
    headers: &mut RateHeaders,
) -> Result<(), ApiError> {
    let (result, decision) = match check(ctx, bucket, key).await {
        Ok(d) => (Ok(()), d),
        Err((e, d)) => (Err(e), d),
    };
    if let Some(d) = decision {
        if bucket == Bucket::Switch {
            headers.clear();
        }
        headers.extend(d.headers());
    }
    result
}

/// A quota refusal, counted in `synckairos_quota_refused_total`.
pub fn quota_error(q: QuotaExceeded) -> ApiError {
    metrics::quota_refused(q.limit);
    ApiError::quota(&q)
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    metrics::rate_limiter_unavailable();
    ApiError::unavailable("Quota counter unavailable, please retry", 1).caused_by(e)
}

/// Counts a create of `session_id` by `client` against its live-session quota (a slot
/// `release_live` gives back if the create fails). Creates per minute are counted
/// before the body is read (`Bucket::Create`).
pub async fn admit_create(ctx: &Ctx, client: &str, session_id: &SessionId) -> Result<(), ApiError> {
    let max = u64::from(ctx.cfg.quotas.live_sessions);
    if max == 0 {
        return Ok(());
    }
    let now = now_ms();
    let until = now.saturating_add((ctx.cfg.sessions.ttl_secs.saturating_mul(1000)) as i64);
    let a = ctx
        .live
        .admit(client, session_id, now, until, max)
        .await
        .map_err(unavailable)?;
    if a.admitted {
        return Ok(());
    }
    Err(quota_error(QuotaExceeded {
        limit: "live_sessions",
        max,
        requested: a.live + 1,
        retry_after: Some(60),
    }))
}

/// Stops counting a session against `client` (deleted, or its create failed).
pub async fn release_live(ctx: &Ctx, client: &str, session_id: &SessionId) {
    if ctx.cfg.quotas.live_sessions == 0 {
        return;
    }
    if let Err(e) = ctx.live.release(client, session_id).await {
        tracing::debug!(error = %crate::cause::chain(&e), "could not release a live-session slot");
    }
}
