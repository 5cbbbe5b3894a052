//! The periodic comparison of this region's copies of one home's sessions with the
//! home's index (`reconcile::check`): on a timer of its own, so the follower's
//! reconnects never reset it, and sooner when an entry was skipped; only in the
//! instance that follows the home, one at a time and `min_check_interval_ms` apart
//! (shared with the follower's catch-ups, which go first). A home too busy for an
//! exact comparison is compared bucket by bucket every `full_check_every` checks.
//!
//! Must not: apply the home's log (the follower does).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::context::RelayContext;
use super::reconcile::{self, CheckReport, Checked};
use super::state::HomeState;
use crate::metrics;

/// Records the last check's figures.
pub fn report(home: &str, started: tokio::time::Instant, r: &CheckReport) {
    metrics::relay_check_report(
        home,
        started.elapsed().as_secs_f64() * 1000.0,
        r.compared as u64,
        r.repaired as u64,
        r.dropped as u64,
    );
}

pub async fn run(r: Arc<RelayContext>, st: Arc<HomeState>, stop: CancellationToken) {
    let every = Duration::from_millis(r.cfg.check_interval_ms.max(100));
    let min_interval = Duration::from_millis(r.cfg.min_check_interval_ms);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let home = &st.home;
    let mut busy = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = st.woken() => {}
            _ = stop.cancelled() => return,
        }
        // A pending catch-up goes first. Both wait `min_interval` after the last one
        // started; with checks every `min_interval` the checker could win that race
        // every time and a fresh follower never caught up (its link never came up).
        // A checker already waiting in `begin_check` gets one turn, then no more.
        if !st.leading() || st.is_catching_up() {
            continue;
        }
        let (guard, started) = tokio::select! {
            g = st.begin_check(min_interval) => g,
            _ = stop.cancelled() => return,
        };
        let buckets = st.is_diverged() || busy >= r.cfg.full_check_every.max(1);
        let result = reconcile::check(&r, home, buckets).await;
        drop(guard);
        match result {
            Ok(Checked::Equal) => {
                busy = 0;
                st.check_succeeded(started);
                metrics::relay_check(home, "equal");
                report(home, started, &CheckReport::default());
            }
            Ok(Checked::Busy) => {
                busy += 1;
                metrics::relay_check(home, "busy");
            }
            Ok(Checked::Repaired { report: rep, exact }) => {
                busy = 0;
                st.check_succeeded(started);
                report(home, started, &rep);
                let changed = rep.repaired + rep.dropped;
                metrics::relay_check(home, if changed > 0 { "repaired" } else { "clean" });
                if changed > 0 {
                    tracing::info!(%home, ?rep, "check: copies repaired");
                } else if exact {
                    // Equal ranks, other contents (a home whose log took another
                    // course): only the home's authority settles that.
                    tracing::warn!(%home, ?rep, "check: copies differ at equal versions; catching up");
                    st.request_catch_up();
                }
            }
            Err(e) => {
                metrics::relay_check(home, "failed");
                tracing::warn!(%home, error = %crate::cause::chain(&e), "check failed; will retry");
            }
        }
    }
}
