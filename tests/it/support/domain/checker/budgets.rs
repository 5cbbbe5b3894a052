//! The checker's property 2: budget accounting (used + remaining == initial +
//! increments, per budget; per_cycle: per turn, used in turn + remaining == allotment).

use synckairos::domain::*;

use super::Checker;

impl Checker {
    pub(super) fn update_ledger(&mut self, out: &Outcome) {
        let s = &out.session;
        if !s.sync_mode.uses_increment() || s.increment_ms == 0 {
            return;
        }
        for e in &out.events {
            if let Event::Switched {
                from: Some(from), ..
            } = e
            {
                let i = s.index_of(from).unwrap();
                let remaining = s.participants[i].total_time_ms;
                // The switch is the last thing an apply does, so `remaining` is what
                // the outgoing budget was left with: 0 (exhausted, no increment) or
                // r + increment with r > 0.
                if remaining > 0 {
                    assert!(
                        remaining > s.increment_ms,
                        "increment added to an exhausted budget ({remaining} <= {})",
                        s.increment_ms
                    );
                    self.increments[self.keys[i]] += s.increment_ms;
                }
            }
        }
    }

    /// Property 2 for every mode but per_cycle.
    pub(super) fn check_accounting(&self, s: &Session) {
        if s.sync_mode == SyncMode::PerCycle {
            return;
        }
        for key in 0..self.initial.len() {
            let members: Vec<usize> = self.members(key).collect();
            let remaining = s.participants[members[0]].total_time_ms;
            for &m in &members {
                assert_eq!(
                    s.participants[m].total_time_ms, remaining,
                    "budget {key} not mirrored"
                );
            }
            let used: u64 = members
                .iter()
                .map(|&m| s.participants[m].time_used_ms)
                .sum();
            assert_eq!(
                used + remaining,
                self.initial[key] + self.increments[key],
                "budget {key} ({:?}): used {used} + remaining {remaining}",
                s.sync_mode
            );
        }
    }

    /// Property 2 for per_cycle: in the current turn, used in turn + remaining == allotment.
    pub(super) fn check_per_cycle_turn(&mut self, out: &Outcome, now: Millis) {
        let s = &out.session;
        if s.sync_mode != SyncMode::PerCycle {
            return;
        }
        let Some(active) = s.active_index() else {
            self.turn_start = None;
            return;
        };
        // The last activation in this step, and what was charged after it.
        let mut activated = false;
        let mut charged_after = 0;
        for e in &out.events {
            match e {
                Event::Started { .. } | Event::Switched { .. } => {
                    activated = true;
                    charged_after = 0;
                }
                Event::ParticipantExpired {
                    action: TimeoutAction::Skip,
                    ..
                } => {
                    activated = true;
                    charged_after = 0;
                }
                Event::Paused { elapsed_ms, .. } if activated => {
                    charged_after = (*elapsed_ms).min(self.allotment);
                }
                _ => {}
            }
        }
        let p = &s.participants[active];
        if activated {
            assert_eq!(
                p.total_time_ms + charged_after,
                self.allotment,
                "fresh turn at {now}"
            );
            self.turn_start = Some((active, p.time_used_ms - charged_after));
        } else {
            let (idx, start_used) = self.turn_start.expect("turn in progress");
            assert_eq!(idx, active, "active changed without an activation");
            assert_eq!(
                p.time_used_ms - start_used + p.total_time_ms,
                self.allotment,
                "per-turn accounting"
            );
        }
    }
}
