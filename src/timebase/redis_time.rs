//! Sampling the region's authoritative clock: Redis `TIME` on a connection of its own
//! (so that a sample does not queue behind other commands), a burst at start-up, then
//! one sample per interval; every sample and every failure re-evaluates the refusal
//! policy.
//!
//! Must not: interpret the samples (`TimeBase` does).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;

use super::estimate::Exchange;
use super::TimeBase;
use crate::clock::mono_us;

/// Exchanges at start-up (and after a failure), this far apart.
const BURST: usize = 5;
const BURST_GAP: Duration = Duration::from_millis(5);

/// One `TIME` exchange, added to `tb`.
pub async fn sample(conn: &mut ConnectionManager, tb: &TimeBase) -> redis::RedisResult<()> {
    let t0 = mono_us();
    let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(conn).await?;
    let t3 = mono_us();
    tb.add_sample(Exchange {
        t0,
        t3,
        remote: secs * 1_000_000 + micros,
        // Redis truncates to whole microseconds.
        remote_error: 1,
    });
    Ok(())
}

async fn burst(conn: &mut ConnectionManager, tb: &TimeBase) -> redis::RedisResult<()> {
    for i in 0..BURST {
        if i > 0 {
            tokio::time::sleep(BURST_GAP).await;
        }
        sample(conn, tb).await?;
    }
    Ok(())
}

/// The start-up burst, within `limit` (the instance starts anyway; it refuses to act
/// until a sample arrives).
pub async fn first(conn: &mut ConnectionManager, tb: &TimeBase, limit: Duration) {
    match tokio::time::timeout(limit, burst(conn, tb)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %crate::cause::chain(&e), "cannot read the region's clock (Redis TIME) yet")
        }
        Err(_) => tracing::warn!("the region's clock (Redis TIME) did not answer at start-up"),
    }
    let _ = tb.evaluate();
}

/// Samples every `every` until `stop`.
pub async fn run(
    mut conn: ConnectionManager,
    tb: Arc<TimeBase>,
    every: Duration,
    stop: CancellationToken,
) {
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        let result = if failing {
            burst(&mut conn, &tb).await
        } else {
            sample(&mut conn, &tb).await
        };
        match result {
            Ok(()) => failing = false,
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %crate::cause::chain(&e), "cannot read the region's clock (Redis TIME)");
                }
                failing = true;
            }
        }
        let _ = tb.evaluate();
    }
}
