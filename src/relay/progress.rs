//! A follower's progress through one home's log on one connection: the position
//! applied, the head the home last reported, since when it has been behind, and the
//! two ways a link fails without going silent: the home's head below the position
//! (its log went back: a rollback) and heartbeats announcing a head that no entry
//! ever reaches (a stall). Publishes the lag metrics.
//!
//! Must not: do IO or read the clock (callers pass `now`).

use std::time::Duration;

use tokio::time::Instant;

use crate::domain::RegionId;
use crate::metrics;

/// What a heartbeat says about the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Fine,
    /// The home's head is below what was applied here.
    Rollback,
    /// The head has been ahead for `stall_after` without an entry arriving.
    Stalled,
}

pub struct Progress {
    home: RegionId,
    applied: u64,
    head: u64,
    /// The head when the connection opened.
    opened_at: u64,
    stall_after: Duration,
    /// Behind since then, without an entry arriving since.
    waiting_since: Option<Instant>,
    /// Behind since then (reset only when caught up): the lag in time.
    behind_since: Option<Instant>,
}

impl Progress {
    pub fn new(home: &RegionId, applied: u64, stall_after: Duration, now: Instant) -> Progress {
        let p = Progress {
            home: home.clone(),
            applied,
            head: applied,
            opened_at: 0,
            stall_after,
            waiting_since: None,
            behind_since: None,
        };
        p.publish(now);
        p
    }

    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Whether entries the home had when the connection opened are not applied here
    /// yet (after a reconnect: the log from the position applied up to that head).
    /// Later heartbeats do not count: one may announce a commit whose entry is a
    /// moment behind it, which is no reason to mark reads stale.
    pub fn behind(&self) -> bool {
        self.applied < self.opened_at
    }

    /// The home's head when the connection opened (its first heartbeat).
    pub fn opened(&mut self, head: u64) {
        self.opened_at = head;
    }

    fn publish(&self, now: Instant) {
        let behind_ms = self
            .behind_since
            .map_or(0, |t| now.duration_since(t).as_millis() as u64);
        metrics::relay_position(&self.home, self.applied, self.head, behind_ms);
    }

    fn settle(&mut self, now: Instant) {
        if self.applied >= self.head {
            self.waiting_since = None;
            self.behind_since = None;
        } else {
            self.behind_since.get_or_insert(now);
        }
    }

    /// The entry at `seq` was applied (or skipped).
    pub fn advanced(&mut self, seq: u64, now: Instant) {
        self.applied = seq;
        self.head = self.head.max(seq);
        self.waiting_since = (self.applied < self.head).then_some(now);
        self.settle(now);
        self.publish(now);
    }

    /// The home says its head is `head`.
    pub fn heartbeat(&mut self, head: u64, now: Instant) -> Verdict {
        if head < self.applied {
            return Verdict::Rollback;
        }
        self.head = head;
        self.settle(now);
        self.publish(now);
        if head == self.applied {
            return Verdict::Fine;
        }
        let since = *self.waiting_since.get_or_insert(now);
        if now.duration_since(since) >= self.stall_after {
            Verdict::Stalled
        } else {
            Verdict::Fine
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_that_no_entry_reaches_is_a_stall_and_a_lower_head_a_rollback() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut p = Progress::new(&"iad".into(), 10, Duration::from_secs(2), t0);
        assert_eq!(p.heartbeat(10, at(0)), Verdict::Fine);
        assert_eq!(p.heartbeat(12, at(0)), Verdict::Fine);
        p.advanced(11, at(1000));
        assert_eq!(p.heartbeat(12, at(1000)), Verdict::Fine);
        assert_eq!(
            p.heartbeat(12, at(2500)),
            Verdict::Fine,
            "progress restarted the clock"
        );
        assert_eq!(p.heartbeat(13, at(3100)), Verdict::Stalled);
        p.advanced(13, at(3200));
        assert_eq!(p.heartbeat(13, at(3300)), Verdict::Fine);
        assert_eq!(p.heartbeat(12, at(3400)), Verdict::Rollback);
    }
}
