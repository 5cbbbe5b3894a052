//! The home side of reconciliation: answers a following region's requests about the
//! sessions homed here from this region's index of them (`store::index`): the summary
//! (constant size), bucket digests, the entries of some buckets, and stored states in
//! pages bounded in bytes, read with one pipelined round trip and one `MGET`. Index
//! entries whose session is gone (expired) are pruned when a page finds them.
//!
//! Must not: read other homes' sessions (their copies here are not this region's to
//! vouch for) or scan the keyspace.

use redis::aio::ConnectionManager;
use redis::RedisResult;
use serde_bytes::ByteBuf;

use super::source::fingerprint_at;
use crate::domain::{RegionId, SessionId};
use crate::region::sync_wire::{BucketDigests, Entries, StatesPage, StatesRequest, Summary};
use crate::store::{index, keys};

/// A states page holds at least one state and stops growing past this many bytes.
pub const PAGE_BYTES: usize = 1024 * 1024;

pub async fn summary(conn: &ConnectionManager, region: &RegionId) -> RedisResult<Summary> {
    let s = index::home_summary(conn, region).await?;
    let fingerprint = match s.seq {
        0 => 0,
        seq => fingerprint_at(&mut conn.clone(), seq).await?.unwrap_or(0),
    };
    Ok(Summary {
        seq: s.seq,
        fingerprint,
        total: s.total,
        count: s.count,
    })
}

pub async fn buckets(conn: &ConnectionManager, region: &RegionId) -> RedisResult<BucketDigests> {
    Ok(BucketDigests {
        digests: index::bucket_digests(conn, region)
            .await?
            .into_iter()
            .collect(),
    })
}

pub async fn entries(
    conn: &ConnectionManager,
    region: &RegionId,
    buckets: &[u32],
) -> RedisResult<Entries> {
    let buckets: Vec<u32> = buckets
        .iter()
        .copied()
        .filter(|b| *b < keys::INDEX_BUCKETS)
        .collect();
    let found = index::entries(conn, region, &buckets).await?;
    Ok(Entries {
        entries: found
            .into_iter()
            .flat_map(|(_, es)| es)
            .map(|(id, e)| (id, e.version, e.created_at, e.content, e.epoch))
            .collect(),
    })
}

pub async fn states(
    conn: &ConnectionManager,
    region: &RegionId,
    req: &StatesRequest,
) -> RedisResult<StatesPage> {
    let mut page = StatesPage::default();
    let mut bytes = 0usize;
    let full = |bytes: usize, page: &StatesPage| bytes >= PAGE_BYTES && !page.states.is_empty();
    if !req.ids.is_empty() {
        let values = index::states(conn, &req.ids).await?;
        for (id, value) in req.ids.iter().zip(values) {
            if full(bytes, &page) {
                break;
            }
            bytes += id.len() + value.as_ref().map_or(0, Vec::len);
            page.states.push((id.clone(), value.map(ByteBuf::from)));
            page.ids_done += 1;
        }
    }
    let buckets: Vec<u32> = req
        .buckets
        .iter()
        .copied()
        .filter(|b| *b < keys::INDEX_BUCKETS)
        .collect();
    if buckets.is_empty() || full(bytes, &page) {
        return Ok(page);
    }
    let listed = index::entries(conn, region, &buckets).await?;
    let ids: Vec<SessionId> = listed
        .iter()
        .flat_map(|(_, es)| es.iter().map(|(id, _)| id.clone()))
        .collect();
    let mut values = index::states(conn, &ids).await?.into_iter();
    for (bucket, es) in listed {
        if full(bytes, &page) {
            break;
        }
        let mut gone = Vec::new();
        for (id, _) in es {
            let value = values.next().flatten();
            if value.is_none() {
                gone.push(id.clone());
            }
            bytes += id.len() + value.as_ref().map_or(0, Vec::len);
            page.states.push((id, value.map(ByteBuf::from)));
        }
        index::prune(conn, region, bucket, &gone).await?;
        page.buckets_done.push(bucket);
    }
    Ok(page)
}
