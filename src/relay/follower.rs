//! The receiving side of the relay, one follower per other region: whichever instance
//! holds the region's lease follows the home's log (`link`) from the position applied
//! here. When the log cannot be followed from there (nothing applied yet, a gap, a
//! rollback, a jump, a stall, this region's Redis lost its data), the follower stops
//! applying it, catches up from a snapshot of the home (`reconcile::catch_up`, the
//! home's states win) and follows the log again from that snapshot's position. Reads
//! of the home's sessions are marked stale meanwhile. A lost link is reopened.
//!
//! Alongside each follower runs its checker (periodic comparison, own timer).
//!
//! Must not: apply anything while catching up (the log waits), or write sessions
//! homed here.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::checker;
use super::context::RelayContext;
use super::error::RelayError;
use super::lease;
use super::lease::Position;
use super::link::{self, End, Reason};
use super::maintenance;
use super::reconcile;
use super::state::HomeState;
use crate::metrics;

/// Starts one follower and its checker per other region, and the upkeep of this
/// region's indexes.
pub fn start_all(r: &Arc<RelayContext>, tasks: &TaskTracker, stop: &CancellationToken) {
    tasks.spawn(maintenance::run(r.clone(), stop.clone()));
    for home in r.cluster.others() {
        metrics::relay_home(home);
        let st = Arc::new(HomeState::new(home));
        tasks.spawn(follow(r.clone(), st.clone(), stop.clone()));
        tasks.spawn(checker::run(r.clone(), st, stop.clone()));
    }
}

async fn pause(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stop.cancelled() => false,
    }
}

/// Follows `st.home` until `stop`.
pub async fn follow(r: Arc<RelayContext>, st: Arc<HomeState>, stop: CancellationToken) {
    let home = st.home.clone();
    let link_timeout = Duration::from_millis(r.cfg.link_timeout_ms);
    let mut backoff = 50u64;
    let mut pending: Option<Reason> = None;
    // Where a catch-up left the follower (even at 0: a home with an empty log).
    let mut resume: Option<Position> = None;
    while !stop.is_cancelled() {
        if !lease::hold(&r, &home).await {
            st.set_leading(false);
            if !pause(link_timeout, &stop).await {
                return;
            }
            continue;
        }
        st.set_leading(true);
        let resumed = resume.take();
        let read = match resumed {
            Some(p) => Ok(p),
            None => lease::position(&r, &home).await,
        };
        let from = match read {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(%home, error = %crate::cause::chain(&e), "relay: local Redis unavailable");
                if !pause(Duration::from_millis(500), &stop).await {
                    return;
                }
                continue;
            }
        };
        if from.seq == 0 && pending.is_none() && resumed.is_none() {
            pending = Some(Reason::Fresh);
        }
        if let Some(reason) = pending {
            match catch_up(&r, &st, reason, &stop).await {
                Ok(Some(at)) => {
                    pending = None;
                    resume = Some(at);
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(%home, reason = reason.as_str(), error = %crate::cause::chain(&e), "relay: catch-up failed; will retry");
                    if !pause(Duration::from_millis(backoff), &stop).await {
                        return;
                    }
                    backoff = (backoff * 2).min(400);
                }
            }
            continue;
        }
        let started = Instant::now();
        match link::run(&r, &st, from, &stop).await {
            End::Stopped => return,
            End::NotLeader => st.set_leading(false),
            End::CatchUp(reason) => pending = Some(reason),
            End::Lost(why) => {
                tracing::debug!(%home, error = %crate::cause::chain(&why), "relay link lost; reconnecting");
                // A link that carried frames for a while starts backing off afresh. The
                // ceiling stays low: a healed partition must be followed at once (a dead
                // home costs one attempt per link timeout anyway).
                if started.elapsed() > Duration::from_secs(1) {
                    backoff = 50;
                }
                if !pause(Duration::from_millis(backoff), &stop).await {
                    return;
                }
                backoff = (backoff * 2).min(400);
            }
        }
    }
}

/// One catch-up: waits for its turn (single-flight with checks, minimum interval),
/// keeps the lease and the stale mark fresh while it runs (the link is not up until
/// the log is followed again), and records the snapshot's position, where following resumes. `Ok(None)`: stopped.
async fn catch_up(
    r: &Arc<RelayContext>,
    st: &HomeState,
    reason: Reason,
    stop: &CancellationToken,
) -> Result<Option<Position>, RelayError> {
    let home = &st.home;
    st.set_catching_up(true);
    metrics::relay_stale(home, true);
    let min_interval = Duration::from_millis(r.cfg.min_check_interval_ms);
    let (guard, started) = tokio::select! {
        g = st.begin_check(min_interval) => g,
        _ = stop.cancelled() => return Ok(None),
    };
    metrics::relay_catchup(home, reason.as_str());
    tracing::info!(%home, reason = reason.as_str(), "relay: catching up from a snapshot of the home");
    let work = reconcile::catch_up(r, home);
    let keep_alive = async {
        let every =
            Duration::from_millis(r.cfg.link_timeout_ms / 2).max(Duration::from_millis(100));
        loop {
            r.cluster.health.degraded(home, "catching-up").await;
            if !lease::hold(r, home).await {
                tracing::warn!(%home, "relay: lease lost during a catch-up");
            }
            tokio::time::sleep(every).await;
        }
    };
    let result = tokio::select! {
        res = work => res,
        _ = keep_alive => unreachable!("the keep-alive loop never ends"),
        _ = stop.cancelled() => return Ok(None),
    };
    let (snapshot, report) = result?;
    let at = Position {
        seq: snapshot.seq,
        fingerprint: snapshot.fingerprint,
    };
    lease::record(r, home, at, false).await?;
    drop(guard);
    checker::report(home, started, &report);
    st.check_succeeded(started);
    st.set_stalled(false);
    st.set_catching_up(false);
    tracing::info!(
        %home, reason = reason.as_str(), seq = at.seq, ?report,
        ms = started.elapsed().as_millis() as u64, "relay: caught up"
    );
    Ok(Some(at))
}
