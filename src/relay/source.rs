//! The home side of the relay stream: streams this region's relay log to a following
//! region after the position it asks for (`since`; 0: from its start), heartbeats with the current head
//! when idle, and says when that position is not in its log: trimmed (`Gap`) or not in
//! its history at all (`Reset`: its sequence went back, or the entry there is not the
//! one the follower applied). An entry it cannot frame (too large, malformed) is sent
//! as a `Skip`, never silently left out.
//!
//! Must not: decide what the follower does about any of it.

use std::time::Duration;

use bytes::Bytes;
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::frame::{encode, Frame, MAX_FRAME, SKIP_MALFORMED, SKIP_OVERSIZED};
use crate::store::envelope::Envelope;
use crate::store::keys;

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

/// The envelope bytes of a log entry, if it has them.
pub fn entry_bytes(e: &StreamId) -> Option<&[u8]> {
    match e.map.get("e") {
        Some(Value::BulkString(b)) => Some(b),
        _ => None,
    }
}

/// The fingerprint of the log entry at `seq` (`None`: no such entry).
pub async fn fingerprint_at(
    conn: &mut impl redis::aio::ConnectionLike,
    seq: u64,
) -> redis::RedisResult<Option<u64>> {
    let id = format!("{seq}-0");
    let found: StreamRangeReply = redis::cmd("XRANGE")
        .arg(keys::RELAY_LOG)
        .arg(&id)
        .arg(&id)
        .query_async(conn)
        .await?;
    Ok(found
        .ids
        .first()
        .map(|e| entry_bytes(e).map_or(1, Envelope::fingerprint)))
}

/// Feeds relay frames after `since` into `tx` until the receiver goes away or `stop`
/// (the instance draining: the follower reconnects to another instance).
pub async fn stream(
    redis_url: String,
    since: u64,
    fingerprint: u64,
    heartbeat: Duration,
    tx: mpsc::Sender<Bytes>,
    stop: CancellationToken,
) {
    tokio::select! {
        r = stream_inner(redis_url, since, fingerprint, heartbeat, &tx) => {
            if let Err(e) = r {
                tracing::warn!(error = %crate::cause::chain(&e), "relay stream ended");
            }
        }
        _ = stop.cancelled() => {}
    }
}

/// What to tell a follower asking for the entries after `since`.
async fn opening(
    conn: &mut redis::aio::MultiplexedConnection,
    since: u64,
    fingerprint: u64,
    head_now: u64,
) -> redis::RedisResult<Frame> {
    if since == 0 {
        return Ok(Frame::Heartbeat { head: head_now });
    }
    if since > head_now {
        return Ok(Frame::Reset { head: head_now });
    }
    if let Some(found) = fingerprint_at(conn, since).await? {
        return Ok(if fingerprint != 0 && found != fingerprint {
            Frame::Reset { head: head_now }
        } else {
            Frame::Heartbeat { head: head_now }
        });
    }
    let first: StreamRangeReply = redis::cmd("XRANGE")
        .arg(keys::RELAY_LOG)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    Ok(match first.ids.first().and_then(|e| seq_of(&e.id)) {
        // Every sequence number has its entry: one missing inside the log means the
        // follower's position is not from this log.
        Some(start) if since >= start => Frame::Reset { head: head_now },
        Some(start) => Frame::Gap {
            log_start: start,
            head: head_now,
        },
        None if since == head_now => Frame::Heartbeat { head: head_now },
        None => Frame::Gap {
            log_start: head_now + 1,
            head: head_now,
        },
    })
}

/// The frame carrying one log entry.
fn entry_frame(seq: u64, e: &StreamId) -> Frame {
    match entry_bytes(e) {
        None => Frame::Skip {
            seq,
            why: SKIP_MALFORMED,
        },
        Some(b) if b.len() + 9 > MAX_FRAME => Frame::Skip {
            seq,
            why: SKIP_OVERSIZED,
        },
        Some(b) => Frame::Envelope {
            seq,
            payload: Bytes::copy_from_slice(b),
        },
    }
}

async fn stream_inner(
    redis_url: String,
    since: u64,
    fingerprint: u64,
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
    let first = opening(&mut conn, since, fingerprint, head_now).await?;
    let go_on = matches!(first, Frame::Heartbeat { .. });
    if tx.send(encode(&first)).await.is_err() || !go_on {
        return Ok(());
    }
    // From 0: the whole log (a follower of a home that had no entries yet).
    let mut last = since;
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
                .iter()
                .filter_map(|e| {
                    let seq = seq_of(&e.id)?;
                    last = last.max(seq);
                    Some(encode(&entry_frame(seq, e)))
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
