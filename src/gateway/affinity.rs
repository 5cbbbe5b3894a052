//! Automatic re-homing (issue 11): the home remembers which region sent each of a
//! session's recent writes (the last `window`, on this instance); once at least
//! `min_writes` were seen and one other region sent `share` of them or more, the
//! session is proposed for a move there (`Gateway::rehome`, by a task of the app, so
//! the write that tipped it is not delayed). A session is proposed once per instance
//! until its window fills again.
//!
//! Must not: move anything itself, or grow without bound (at most `MAX_SESSIONS`
//! sessions remembered; the table is cleared when full).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tokio::sync::mpsc;

use crate::domain::{RegionId, SessionId};

const MAX_SESSIONS: usize = 100_000;

/// The thresholds (`owners.auto_*`).
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    pub window: usize,
    pub share: f64,
    pub min_writes: usize,
}

pub struct Affinity {
    at: Thresholds,
    recent: Mutex<HashMap<SessionId, VecDeque<RegionId>>>,
    proposals: mpsc::Sender<(SessionId, RegionId)>,
}

impl Affinity {
    pub fn new(at: Thresholds, proposals: mpsc::Sender<(SessionId, RegionId)>) -> Self {
        Affinity {
            at,
            recent: Mutex::new(HashMap::new()),
            proposals,
        }
    }

    /// Records a write committed here (the home, `here`) that `origin` sent.
    pub fn wrote(&self, session_id: &SessionId, here: &RegionId, origin: &RegionId) {
        let window = self.at.window.max(1);
        let target = {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            if recent.len() >= MAX_SESSIONS && !recent.contains_key(session_id) {
                recent.clear();
            }
            let w = recent.entry(session_id.clone()).or_default();
            w.push_back(origin.clone());
            while w.len() > window {
                w.pop_front();
            }
            let target = mostly_from(w, here, self.at);
            if target.is_some() {
                recent.remove(session_id);
            }
            target
        };
        if let Some(to) = target {
            let _ = self.proposals.try_send((session_id.clone(), to));
        }
    }
}

/// The other region that sent at least `share` of `w` (with `min_writes` seen).
fn mostly_from(w: &VecDeque<RegionId>, here: &RegionId, at: Thresholds) -> Option<RegionId> {
    if w.len() < at.min_writes.max(1) {
        return None;
    }
    let mut counts: HashMap<&RegionId, usize> = HashMap::new();
    for r in w {
        *counts.entry(r).or_default() += 1;
    }
    let (top, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    (top != here && n as f64 >= at.share * w.len() as f64).then(|| top.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposes_the_region_that_sent_most_recent_writes() {
        let (tx, mut rx) = mpsc::channel(4);
        let a = Affinity::new(
            Thresholds {
                window: 10,
                share: 0.8,
                min_writes: 5,
            },
            tx,
        );
        let (id, iad, nrt) = (
            SessionId::from("s"),
            RegionId::from("iad"),
            RegionId::from("nrt"),
        );
        a.wrote(&id, &iad, &iad);
        for _ in 0..3 {
            a.wrote(&id, &iad, &nrt);
        }
        assert!(rx.try_recv().is_err(), "too few writes");
        a.wrote(&id, &iad, &nrt);
        assert_eq!(rx.try_recv().unwrap(), (id.clone(), nrt.clone()), "4 of 5");
        for _ in 0..10 {
            a.wrote(&id, &iad, &iad);
        }
        assert!(rx.try_recv().is_err(), "local writes never propose");
    }
}
