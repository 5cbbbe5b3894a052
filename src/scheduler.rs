//! Server-side deadlines: finds sessions whose next deadline (a participant's time
//! running out, a warning threshold) has come, and has the service apply it, at the
//! deadline rather than at the next client request.
//!
//! Exactly once: a deadline is leased from the store's index (`claim_due`), applied
//! with a compare-and-set commit that re-indexes the session, so two instances can
//! never both apply it; a claimer that dies leaves a lease that runs out and is
//! claimed again. Deadlines are claimed and applied against the region's authoritative
//! time (`TimeBase`); an instance whose clock cannot be trusted claims nothing and
//! leaves its region's deadlines to the other instances. Must not: decide what a
//! deadline does (the domain does).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::clock::mono_us;
use crate::domain::{Event, Millis, Status};
use crate::metrics;
use crate::service::{Fired, Sessions};
use crate::store::Store;
use crate::wakeup::Wakeup;

pub struct SchedulerConfig {
    pub poll: Duration,
    pub lease_ms: u64,
    pub batch: usize,
    /// Claimed deadlines applied at once (independent sessions: no order between them).
    pub concurrency: usize,
}

/// Runs until `stop` is cancelled.
pub async fn run(
    sessions: Arc<Sessions>,
    wakeup: Arc<Wakeup>,
    cfg: SchedulerConfig,
    stop: CancellationToken,
) {
    let store: Arc<dyn Store> = sessions.store().clone();
    let time = sessions.time().clone();
    let poll_ms = cfg.poll.as_millis() as Millis;
    loop {
        // Awake: any hint must wake the next sleep, whatever it will be aimed at.
        wakeup.sleeping_until(Millis::MAX);
        let Ok(now) = time.now("deadline") else {
            // Refusing (logged and measured by the time base): sleep a poll period.
            tokio::select! {
                _ = tokio::time::sleep(cfg.poll) => continue,
                _ = stop.cancelled() => return,
            }
        };
        let claimed = match store.claim_due(now, cfg.lease_ms, cfg.batch).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %crate::cause::chain(&e), "deadline claim failed");
                Vec::new()
            }
        };
        futures_util::stream::iter(&claimed)
            .for_each_concurrent(cfg.concurrency, |id| {
                let sessions = &sessions;
                async move {
                    match sessions.fire_deadline(id).await {
                        Ok(Some(fired)) => observe_lateness(sessions, &fired),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(session = %id, error = %crate::cause::chain(&e), "deadline failed")
                        }
                    }
                }
            })
            .await;
        if claimed.len() == cfg.batch {
            continue;
        }
        let next = store.next_due().await.ok().flatten();
        let now_us = time.stamp(None, mono_us()).reading.us;
        let now = now_us.div_euclid(1000);
        let target = next.map_or(now + poll_ms, |t| t.min(now + poll_ms));
        wakeup.sleeping_until(target);
        // To the microsecond: a whole-ms `now` would oversleep by up to 1 ms.
        let wait = Duration::from_micros((target * 1000 - now_us).max(0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wakeup.hinted() => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// Acted on (now, authoritative) minus due, for each deadline event of a commit (an
/// expiry is due after its lag-compensation grace).
fn observe_lateness(sessions: &Sessions, fired: &Fired) {
    let now = sessions.time().stamp_ms(None);
    let late = |at: Millis| metrics::deadline_lateness((now - at).max(0) as f64);
    let out = &fired.outcome;
    for e in &out.events {
        match e {
            Event::ParticipantExpired { at, .. } => late(*at + fired.grace),
            Event::TimeWarning { at, .. } => late(*at),
            Event::Started { .. } if out.session.status != Status::Pending => {
                if let Some(at) = out.session.start_at {
                    late(at);
                }
            }
            _ => {}
        }
    }
}
