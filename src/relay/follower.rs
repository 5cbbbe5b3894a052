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
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::context::RelayContext;
use super::error::RelayError;
use super::frame::{Frame, Reader};
use super::reconcile;
use crate::clock::now_ms;
use crate::domain::RegionId;
use crate::metrics;
use crate::region::client::PeerRequest;
use crate::region::wire;
use crate::store::envelope::Envelope;
use crate::store::{decode_state, keys, scripts};

enum End {
    /// Stream closed or failed; reconnect.
    Lost(RelayError),
    /// The lease went to another instance.
    NotLeader,
    Stopped,
}

/// Starts one follower per other region.
pub fn start_all(r: &Arc<RelayContext>, tasks: &TaskTracker, stop: &CancellationToken) {
    for home in r.cluster.others() {
        tasks.spawn(follow(r.clone(), home.clone(), stop.clone()));
    }
}

async fn hold_lease(r: &RelayContext, home: &RegionId) -> bool {
    let lease_ms = r.cfg.link_timeout_ms.max(1_000) * 2;
    let mut conn = r.conn.clone();
    scripts::lease()
        .key(keys::relay_leader(home))
        .arg(&r.instance_id)
        .arg(lease_ms)
        .invoke_async::<i64>(&mut conn)
        .await
        .map(|held| held == 1)
        .unwrap_or(false)
}

async fn applied_seq(r: &RelayContext, home: &RegionId) -> Result<u64, RelayError> {
    let mut conn = r.conn.clone();
    let v: Option<u64> = redis::cmd("GET")
        .arg(keys::relay_applied(home))
        .query_async(&mut conn)
        .await
        .map_err(RelayError::redis("read the applied sequence"))?;
    Ok(v.unwrap_or(0))
}

/// Follows `home` until `stop`.
pub async fn follow(r: Arc<RelayContext>, home: RegionId, stop: CancellationToken) {
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
                tracing::warn!(%home, error = %crate::cause::chain(&e), "relay: local Redis unavailable");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let started = Instant::now();
        match run(&r, &home, since, &mut checks, &stop).await {
            End::Stopped => return,
            End::NotLeader => continue,
            End::Lost(why) => {
                tracing::debug!(%home, error = %crate::cause::chain(&why), "relay link lost; reconnecting");
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
    r: &Arc<RelayContext>,
    home: &RegionId,
    since: u64,
    checks: &mut u32,
    stop: &CancellationToken,
) -> End {
    let link_timeout = Duration::from_millis(r.cfg.link_timeout_ms);
    let path = wire::relay_path(since);
    let resp = match r
        .cluster
        .open(
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
        Ok(resp) => {
            return End::Lost(RelayError::Peer(crate::region::client::PeerError::Status {
                region: home.clone(),
                status: resp.status(),
            }))
        }
        Err(e) => return End::Lost(e.into()),
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
            let (r2, h2) = (r.clone(), home.clone());
            tokio::spawn(async move {
                if let Err(e) = reconcile::full_check(&r2, &h2).await {
                    tracing::warn!(home = %h2, error = %crate::cause::chain(&e), "reconciliation failed; will retry");
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
        let ended = |why| {
            End::Lost(RelayError::Ended {
                home: home.clone(),
                why,
            })
        };
        let data = match chunk {
            Err(_) => return ended("no frame within the link timeout"),
            Ok(None) => return ended("the home closed it"),
            Ok(Some(Err(source))) => {
                return End::Lost(RelayError::Body {
                    home: home.clone(),
                    source,
                })
            }
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
                Err(e) => return End::Lost(e.into()),
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
                    if let Err(e) = take(r, &payload).await {
                        return End::Lost(e);
                    }
                }
            }
        }
    }
}

async fn record_applied(r: &RelayContext, home: &RegionId, seq: u64) -> Result<(), RelayError> {
    let mut conn = r.conn.clone();
    redis::cmd("SET")
        .arg(keys::relay_applied(home))
        .arg(seq)
        .query_async::<()>(&mut conn)
        .await
        .map_err(RelayError::redis("record the applied sequence"))
}

/// Offers one envelope from the home's log to this region's copy.
async fn take(r: &RelayContext, payload: &[u8]) -> Result<(), RelayError> {
    let envelope = Envelope::decode(payload)?;
    r.copies.offer(&envelope, payload).await?;
    let body = &envelope.body;
    if !body.deleted {
        if let Ok(s) = decode_state(&body.session_id, &body.state) {
            metrics::relay_latency(&body.home, (now_ms() - s.updated_at).max(0) as f64);
        }
    }
    Ok(())
}
