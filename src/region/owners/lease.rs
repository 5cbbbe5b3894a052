//! The asking side of leases: every `lease_ms / 4`, ask every other region for a lease
//! (concurrently, each answer within half a lease); with a majority (counting this
//! region) hold the ownership lease until `asked + lease_ms` (`own:lease` in this
//! region's Redis, its expiry the lease's end), else let it run out (fenced).
//!
//! Must not: grant anything (`Owners::grant`) or take anything over.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio_util::sync::CancellationToken;

use super::{LeaseAsk, LeaseReply, Owners, LEASE_PATH};
use crate::domain::RegionId;
use crate::metrics;
use crate::region::wire;
use crate::store::keys;

pub async fn run(o: Arc<Owners>, stop: CancellationToken) {
    let mut was_leased = false;
    let mut ever = false;
    loop {
        let leased = round(&o).await;
        if leased != was_leased || !ever {
            metrics::fenced(!leased, was_leased && !leased);
            if ever {
                if leased {
                    tracing::info!(
                        "ownership lease regained: a majority of regions vouches for this region"
                    );
                } else {
                    tracing::warn!("fenced: no majority of regions vouches for this region; no commits until one does");
                }
            }
        }
        was_leased = leased;
        ever = true;
        tokio::select! {
            _ = tokio::time::sleep(o.every()) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// The position this region applied of each other region's log.
async fn applied(o: &Owners) -> Vec<(RegionId, u64)> {
    let others: Vec<RegionId> = o.cluster.others().cloned().collect();
    let names: Vec<String> = others.iter().map(|r| keys::relay_applied(r)).collect();
    let mut c = o.conn.clone();
    let seqs: Vec<Option<u64>> = redis::cmd("MGET")
        .arg(&names)
        .query_async(&mut c)
        .await
        .unwrap_or_default();
    others
        .into_iter()
        .zip(seqs.into_iter().chain(std::iter::repeat(None)))
        .map(|(r, s)| (r, s.unwrap_or(0)))
        .collect()
}

/// One round of asks; whether this region holds its lease afterwards.
async fn round(o: &Owners) -> bool {
    let asked = Instant::now();
    let lease = Duration::from_millis(o.lease_ms());
    let ask = LeaseAsk {
        from: o.cluster.region.clone(),
        applied: applied(o).await,
    };
    let body = wire::encode(&ask);
    let asks = o.cluster.others().map(|r| {
        let body = body.clone();
        async move {
            let reply = o
                .cluster
                .sync::<LeaseReply>(r, LEASE_PATH, Some(body), lease / 2)
                .await;
            (r.clone(), reply)
        }
    });
    // Answers as they come: a majority is enough, a silent peer does not hold the
    // lease back (it would otherwise cost every round its timeout).
    let mut pending: FuturesUnordered<_> = asks.collect();
    let mut replies = Vec::new();
    let mut granted = 1;
    while granted < o.majority() {
        let Some(reply) = pending.next().await else {
            break;
        };
        granted += usize::from(reply.1.as_ref().is_ok_and(|r| r.granted));
        replies.push(reply);
    }
    o.update(|v| {
        v.grants = replies
            .iter()
            .map(|(r, reply)| {
                let what = match reply {
                    Ok(r) if r.granted => "granted".to_owned(),
                    Ok(r) => format!(
                        "refused: {}{}",
                        r.why.as_deref().unwrap_or("?"),
                        r.taken
                            .as_deref()
                            .map(|t| format!(" (taken over by {t})"))
                            .unwrap_or_default()
                    ),
                    Err(e) => format!("unreachable: {e}"),
                };
                (r.to_string(), what)
            })
            .collect();
    });
    if granted < o.majority() {
        let left = lease_left(o).await;
        o.update(|v| {
            v.leased = left > 0;
            v.lease_left_ms = left;
        });
        return left > 0;
    }
    let until = asked + lease;
    let left = until.saturating_duration_since(Instant::now()).as_millis() as u64;
    if left == 0 {
        return false;
    }
    let mut c = o.conn.clone();
    let set: redis::RedisResult<()> = redis::cmd("SET")
        .arg(keys::OWNER_LEASE)
        .arg(o.cluster.region.as_str())
        .arg("PX")
        .arg(left)
        .query_async(&mut c)
        .await;
    let ok = set.is_ok();
    o.update(|v| {
        v.leased = ok;
        v.lease_left_ms = left;
    });
    ok
}

/// What remains of the lease in Redis (ms; 0 when none).
async fn lease_left(o: &Owners) -> u64 {
    let mut c = o.conn.clone();
    let ms: i64 = redis::cmd("PTTL")
        .arg(keys::OWNER_LEASE)
        .query_async(&mut c)
        .await
        .unwrap_or(-2);
    ms.max(0) as u64
}
