//! Upkeep of the indexes in this region's Redis (`store::index`): once per Redis
//! dataset, entries for sessions stored before the index existed (one instance does
//! it, `SCAN` in pages); then, all the time, one bucket per second of the index of the
//! sessions homed here loses the entries of sessions that expired. Followers drop
//! their copies' entries when reconciliation finds them gone at the home.
//!
//! Must not: change any session.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::context::RelayContext;
use crate::store::{index, keys};

const BUILDING_MS: u64 = 30_000;

pub async fn run(r: Arc<RelayContext>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut bucket = (crate::clock::now_us() as u32) % keys::INDEX_BUCKETS;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        if let Err(e) = build_if_needed(&r, &stop).await {
            tracing::warn!(error = %crate::cause::chain(&e), "index: building failed; will retry");
        }
        let home = &r.cluster.region;
        let swept = async {
            let listed = index::entries(&r.conn, home, &[bucket]).await?;
            let ids: Vec<_> = listed
                .into_iter()
                .flat_map(|(_, es)| es.into_iter().map(|(id, _)| id))
                .collect();
            index::prune(&r.conn, home, bucket, &ids).await
        };
        match swept.await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(
                bucket,
                pruned = n,
                "index: entries of expired sessions pruned"
            ),
            Err(e) => tracing::debug!(error = %crate::cause::chain(&e), "index: sweep failed"),
        }
        bucket = (bucket + 1) % keys::INDEX_BUCKETS;
    }
}

/// Builds the index entries of stored sessions once per dataset (marker `ixb`).
async fn build_if_needed(r: &RelayContext, stop: &CancellationToken) -> redis::RedisResult<()> {
    let mut c = r.conn.clone();
    let claimed: Option<String> = redis::cmd("SET")
        .arg(keys::INDEX_BUILT)
        .arg("building")
        .arg("NX")
        .arg("PX")
        .arg(BUILDING_MS)
        .query_async(&mut c)
        .await?;
    if claimed.is_none() {
        return Ok(());
    }
    let (mut cursor, mut filled) = (0u64, 0usize);
    loop {
        if stop.is_cancelled() {
            return Ok(());
        }
        let (next, n) = index::fill_page(&r.conn, cursor).await?;
        filled += n;
        let _: () = redis::cmd("PEXPIRE")
            .arg(keys::INDEX_BUILT)
            .arg(BUILDING_MS)
            .query_async(&mut c)
            .await?;
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let _: () = redis::cmd("SET")
        .arg(keys::INDEX_BUILT)
        .arg("built")
        .query_async(&mut c)
        .await?;
    if filled > 0 {
        tracing::info!(
            sessions = filled,
            "index: entries built for stored sessions"
        );
    }
    Ok(())
}
