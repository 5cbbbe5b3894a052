//! Applying the two rate limiters of the contract (§6.1) to a request: counts the hit,
//! and on refusal builds the 429 error with v2's message and `Retry-After`.

use hyper::StatusCode;

use super::Ctx;
use crate::error::ApiError;
use crate::metrics;
use crate::ratelimit::{Bucket, Decision};

/// Counts one hit on `key` in `bucket`. `Ok(None)` when that limiter is disabled or
/// unreachable (fail open);
/// `Ok(Some(decision))` when allowed (its headers go on the response).
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
    let d = ctx.limiter.hit(bucket, key, limit).await.map_err(|_| {
        (
            ApiError::unavailable("Rate limiter unavailable, please retry", 1),
            None,
        )
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
pub async fn apply(
    ctx: &Ctx,
    bucket: Bucket,
    key: &str,
    headers: &mut Vec<(&'static str, String)>,
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
