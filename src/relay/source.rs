//! The home side of the relay: streams this region's relay log to a following region
//! from the position it asks for (`since`), heartbeats with the current head when idle,
//! and says when the log no longer reaches back that far. Also pages a digest of the
//! sessions homed here for reconciliation.

use std::time::Duration;

use bytes::Bytes;
use redis::streams::{StreamRangeReply, StreamReadReply};
use redis::Value;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::frame::{encode, Frame};
use crate::domain::{RegionId, SessionId};
use crate::store::{decode_state, keys};

fn seq_of(id: &str) -> Option<u64> {
    id.split('-').next()?.parse().ok()
}

async fn head(conn: &mut redis::aio::MultiplexedConnection) -> redis::RedisResult<u64> {
    let v: Option<u64> = redis::cmd("GET")
        .arg(keys::SEQUENCE)
        .query_async(conn)
        .await?;
    Ok(v.unwrap_or(0))
}

/// Feeds relay frames for `since` into `tx` until the receiver goes away or `stop`
/// (the instance draining: the follower reconnects to another instance).
pub async fn stream(
    redis_url: String,
    since: u64,
    heartbeat: Duration,
    tx: mpsc::Sender<Bytes>,
    stop: CancellationToken,
) {
    tokio::select! {
        r = stream_inner(redis_url, since, heartbeat, &tx) => {
            if let Err(e) = r {
                tracing::warn!(error = %crate::cause::chain(&e), "relay stream ended");
            }
        }
        _ = stop.cancelled() => {}
    }
}

async fn stream_inner(
    redis_url: String,
    since: u64,
    heartbeat: Duration,
    tx: &mpsc::Sender<Bytes>,
) -> redis::RedisResult<()> {
    // A connection of its own: XREAD BLOCK must not stall shared commands.
    let client = redis::Client::open(crate::store::redis::connection_info(&redis_url)?)?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(heartbeat + Duration::from_secs(5)));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let head_now = head(&mut conn).await?;
    let mut last = if since == 0 { head_now } else { since };
    let first: StreamRangeReply = redis::cmd("XRANGE")
        .arg(keys::RELAY_LOG)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut conn)
        .await?;
    let log_start = first.ids.first().and_then(|e| seq_of(&e.id));
    let gap = match log_start {
        Some(start) => since != 0 && since + 1 < start,
        None => since != 0 && since < head_now,
    };
    let opening = if gap {
        Frame::Gap {
            log_start: log_start.unwrap_or(head_now + 1),
            head: head_now,
        }
    } else {
        Frame::Heartbeat { head: head_now }
    };
    if tx.send(encode(&opening)).await.is_err() {
        return Ok(());
    }
    loop {
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(512)
            .arg("BLOCK")
            .arg(heartbeat.as_millis() as u64)
            .arg("STREAMS")
            .arg(keys::RELAY_LOG)
            .arg(format!("{last}-0"))
            .query_async(&mut conn)
            .await?;
        let entries = reply.map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect::<Vec<_>>());
        let frames: Vec<Bytes> = match entries {
            Some(ids) if !ids.is_empty() => ids
                .into_iter()
                .filter_map(|e| {
                    let seq = seq_of(&e.id)?;
                    last = last.max(seq);
                    // The entry holds the envelope exactly as the commit published it.
                    match e.map.get("e") {
                        Some(Value::BulkString(envelope)) => Some(encode(&Frame::Envelope {
                            seq,
                            payload: Bytes::copy_from_slice(envelope),
                        })),
                        _ => None,
                    }
                })
                .collect(),
            _ => vec![encode(&Frame::Heartbeat {
                head: head(&mut conn).await?,
            })],
        };
        for f in frames {
            if tx.send(f).await.is_err() {
                return Ok(());
            }
        }
    }
}

/// One page of the digest: `(session id, version, created_at)` of sessions homed here
/// (`created_at` tells a re-created session from the one it replaced).
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct DigestPage {
    /// `"0"` when this was the last page.
    pub cursor: String,
    pub items: Vec<(SessionId, u64, i64)>,
}

pub async fn digest_page(
    conn: &mut redis::aio::ConnectionManager,
    home: &RegionId,
    cursor: &str,
) -> redis::RedisResult<DigestPage> {
    let (next, keys_found): (String, Vec<String>) = redis::cmd("SCAN")
        .arg(cursor)
        .arg("MATCH")
        .arg("s:*")
        .arg("COUNT")
        .arg(500)
        .query_async(conn)
        .await?;
    let mut items = Vec::new();
    if !keys_found.is_empty() {
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&keys_found)
            .query_async(conn)
            .await?;
        for (key, value) in keys_found.iter().zip(values) {
            let id = SessionId::from(key.trim_start_matches("s:"));
            if let Some(s) = value.and_then(|v| decode_state(&id, &v).ok()) {
                if s.home_region == *home {
                    items.push((s.session_id, s.version, s.created_at));
                }
            }
        }
    }
    Ok(DigestPage {
        cursor: next,
        items,
    })
}
