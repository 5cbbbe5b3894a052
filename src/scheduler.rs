//! Server-side deadlines: finds sessions whose next deadline (a participant's time
//! running out, a warning threshold) has come, and has the service apply it, at the
//! deadline rather than at the next client request.
//!
//! Exactly once: a deadline is leased from the store's index (`claim_due`), applied
//! with a compare-and-set commit that re-indexes the session, so two instances can
//! never both apply it; a claimer that dies leaves a lease that runs out and is
//! claimed again. Must not: decide what a deadline does (the domain does).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::domain::{Event, Millis};
use crate::metrics;
use crate::service::Sessions;
use crate::store::Store;
use crate::wakeup::Wakeup;

pub struct SchedulerConfig {
    pub poll: Duration,
    pub lease_ms: u64,
    pub batch: usize,
}

/// Runs until `stop` is cancelled.
pub async fn run(
    sessions: Arc<Sessions>,
    wakeup: Arc<Wakeup>,
    cfg: SchedulerConfig,
    stop: CancellationToken,
) {
    let store: Arc<dyn Store> = sessions.store().clone();
    let poll_ms = cfg.poll.as_millis() as Millis;
    loop {
        // Awake: any hint must wake the next sleep, whatever it will be aimed at.
        wakeup.sleeping_until(Millis::MAX);
        let now = now_ms();
        let claimed = match store.claim_due(now, cfg.lease_ms, cfg.batch).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %crate::cause::chain(&e), "deadline claim failed");
                Vec::new()
            }
        };
        for id in &claimed {
            match sessions.fire_deadline(id).await {
                Ok(Some(out)) => observe_lateness(&out.events),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(session = %id, error = %crate::cause::chain(&e), "deadline failed")
                }
            }
        }
        if claimed.len() == cfg.batch {
            continue;
        }
        let next = store.next_due().await.ok().flatten();
        let now = now_ms();
        let target = next.map_or(now + poll_ms, |t| t.min(now + poll_ms));
        wakeup.sleeping_until(target);
        let wait = Duration::from_millis((target - now).max(0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wakeup.hinted() => {}
            _ = stop.cancelled() => return,
        }
    }
}

fn observe_lateness(events: &[Event]) {
    let now = now_ms();
    for e in events {
        if let Event::ParticipantExpired { at, .. } | Event::TimeWarning { at, .. } = e {
            metrics::deadline_lateness((now - at).max(0) as f64);
        }
    }
}
