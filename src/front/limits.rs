//! Counting a request against one of the contract's two rate limiters (§6.1) and, on
//! refusal, the 429 error with v2's message and `Retry-After`.
//!
//! A limiter that cannot count (its Redis is unreachable) fails *closed*: the request
//! gets 503 with `Retry-After: 1` and `synckairos_rate_limiter_unavailable_total`
//! counts it. A limit that cannot be checked is not waived; with one Redis per region
//! the store is unreachable too, so nothing that would have succeeded is refused.
//!
//! Must not: decide which routes are limited (the handler and the routes do).

use hyper::StatusCode;

use super::ctx::Ctx;
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
