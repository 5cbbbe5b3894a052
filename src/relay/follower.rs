//! The receiving side of the relay, one follower per other region: whichever instance
//! holds the region's lease opens the home's relay stream from the last sequence
//! applied here, applies every envelope (newer versions only) to this region's Redis,
//! which republishes it to local WebSocket clients. A jump in the sequence, a gap the
//! log could not fill, or a fresh start triggers a full reconciliation; a silent link
//! is dropped after `link_timeout_ms` and reopened (catching up from the log).

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::Method;
use redis::Script;
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;

use super::frame::{Frame, Reader};
use super::{reconcile, Regional};
use crate::clock::now_ms;
use crate::metrics;
use crate::region::client::PeerRequest;
use crate::store::codec::{decode_envelope, decode_state};
use crate::store::keys;

enum End {
    /// Stream closed or failed; reconnect.
    Lost(String),
    /// The lease went to another instance.
    NotLeader,
    Stopped,
}

async fn hold_lease(r: &Regional, home: &str) -> bool {
    let lease_ms = r.cfg.link_timeout_ms.max(1_000) * 2;
    let mut conn = r.conn.clone();
    Script::new(include_str!("../store/lua/lease.lua"))
        .key(keys::relay_leader(home))
        .arg(&r.instance_id)
        .arg(lease_ms)
        .invoke_async::<i64>(&mut conn)
        .await
        .map(|held| held == 1)
        .unwrap_or(false)
}

async fn applied_seq(r: &Regional, home: &str) -> Result<u64, String> {
    let mut conn = r.conn.clone();
    let v: Option<u64> = redis::cmd("GET")
        .arg(keys::relay_applied(home))
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(v.unwrap_or(0))
}

/// Follows `home` until `stop`.
pub async fn follow(r: Arc<Regional>, home: String, stop: CancellationToken) {
    let mut checks = 0u32;
    let mut backoff = 50u64;
    while !stop.is_cancelled() {
        if !hold_lease(&r, &home).await {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(r.cfg.link_timeout_ms)) => {}
                _ = stop.cancelled() => return,
            }
            continue;
        }
        let since = match applied_seq(&r, &home).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(home, error = %e, "relay: local Redis unavailable");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let started = Instant::now();
        match run(&r, &home, since, &mut checks, &stop).await {
            End::Stopped => return,
            End::NotLeader => continue,
            End::Lost(why) => {
                tracing::debug!(home, %why, "relay link lost; reconnecting");
                // A link that carried frames for a while starts backing off afresh. The
                // ceiling stays low: a healed partition must be followed at once (a dead
                // home costs one attempt per link timeout anyway).
                if started.elapsed() > Duration::from_secs(1) {
                    backoff = 50;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(backoff)) => {}
                    _ = stop.cancelled() => return,
                }
                backoff = (backoff * 2).min(400);
            }
        }
    }
}

async fn run(
    r: &Arc<Regional>,
    home: &str,
    since: u64,
    checks: &mut u32,
    stop: &CancellationToken,
) -> End {
    let link_timeout = Duration::from_millis(r.cfg.link_timeout_ms);
    let path = format!("/internal/relay?since={since}");
    let resp = match r
        .cluster
        .client
        .open_region(
            &r.cluster,
            home,
            PeerRequest {
                method: Method::GET,
                path: &path,
                headers: None,
                body: Default::default(),
            },
            link_timeout,
        )
        .await
    {
        Ok(resp) if resp.status().is_success() => resp,
        Ok(resp) => return End::Lost(format!("relay answered {}", resp.status())),
        Err(e) => return End::Lost(e.to_string()),
    };
    let mut body = resp.into_body();
    let mut reader = Reader::default();
    let mut expected = since;
    let mut needs_full = since == 0;
    let mut last_lease = Instant::now();
    let mut last_check = Instant::now();
    loop {
        if needs_full {
            needs_full = false;
            let (r2, h2) = (r.clone(), home.to_owned());
            tokio::spawn(async move {
                if let Err(e) = reconcile::full_check(&r2, &h2).await {
                    tracing::warn!(home = %h2, error = %e, "reconciliation failed; will retry");
                }
            });
        }
        if last_lease.elapsed() > link_timeout / 2 {
            if !hold_lease(r, home).await {
                return End::NotLeader;
            }
            last_lease = Instant::now();
        }
        if last_check.elapsed() > Duration::from_millis(r.cfg.check_interval_ms) {
            last_check = Instant::now();
            *checks += 1;
            if *checks % r.cfg.full_check_every.max(1) == 0 {
                needs_full = true;
            }
        }
        let chunk = tokio::select! {
            c = timeout(link_timeout, body.frame()) => c,
            _ = stop.cancelled() => return End::Stopped,
        };
        let data = match chunk {
            Err(_) => return End::Lost("no frame within the link timeout".into()),
            Ok(None) => return End::Lost("stream ended".into()),
            Ok(Some(Err(e))) => return End::Lost(e.to_string()),
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(d) => d,
                Err(_) => continue,
            },
        };
        reader.push(&data);
        metrics::relay_frames(home);
        r.cluster.health.heard(home).await;
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return End::Lost(e),
            };
            match frame {
                Frame::Heartbeat { head } => {
                    if expected == 0 && head > 0 {
                        // Started from nothing: follow from the home's head (the full
                        // check covers what came before) and remember the position.
                        expected = head;
                        if let Err(e) = record_applied(r, home, head).await {
                            return End::Lost(e);
                        }
                    }
                }
                Frame::Gap { .. } => needs_full = true,
                Frame::Envelope { seq, payload } => {
                    if expected != 0 && seq != expected + 1 {
                        needs_full = true;
                    }
                    expected = seq;
                    if let Err(e) = apply(r, seq, &payload).await {
                        return End::Lost(e);
                    }
                }
            }
        }
    }
}

async fn record_applied(r: &Regional, home: &str, seq: u64) -> Result<(), String> {
    let mut conn = r.conn.clone();
    redis::cmd("SET")
        .arg(keys::relay_applied(home))
        .arg(seq)
        .query_async::<()>(&mut conn)
        .await
        .map_err(|e| e.to_string())
}

async fn apply(r: &Regional, seq: u64, payload: &[u8]) -> Result<(), String> {
    let (_, body) = decode_envelope(payload)?;
    r.applier
        .offer(&body, payload, Some(seq))
        .await
        .map_err(|e| e.to_string())?;
    if !body.deleted {
        if let Ok(s) = decode_state(&body.session_id, &body.state) {
            metrics::relay_latency(&body.home, (now_ms() - s.updated_at).max(0) as f64);
        }
    }
    Ok(())
}
