//! The checker's structural invariants and property 1 (remaining time equals the v2
//! client formula), and the `skip` rules: who takes the turn after an expiry, and
//! nobody without time holds it.

use synckairos::domain::*;

use super::Checker;
use crate::support::domain::expected::client_remaining;

impl Checker {
    /// Structural invariants and property 1.
    pub(super) fn check_session(&self, s: &Session, now: Millis) {
        let c = &self.created;
        assert_eq!(
            (
                &s.session_id,
                s.sync_mode,
                s.total_time_ms,
                s.time_per_cycle_ms,
                s.increment_ms,
                s.max_time_ms,
                s.created_at,
                s.action_on_timeout,
                &s.warning_thresholds_ms,
                &s.home_region
            ),
            (
                &c.session_id,
                c.sync_mode,
                c.total_time_ms,
                c.time_per_cycle_ms,
                c.increment_ms,
                c.max_time_ms,
                c.created_at,
                c.action_on_timeout,
                &c.warning_thresholds_ms,
                &c.home_region
            )
        );
        assert_eq!(s.participants.len(), c.participants.len());
        for (p, q) in s.participants.iter().zip(&c.participants) {
            assert_eq!(
                (&p.participant_id, p.participant_index, &p.group_id),
                (&q.participant_id, q.participant_index, &q.group_id)
            );
        }
        assert_eq!(s.updated_at, now);
        let active: Vec<usize> = (0..s.participants.len())
            .filter(|&i| s.participants[i].is_active)
            .collect();
        match s.status {
            Status::Running | Status::Paused => {
                assert_eq!(active.len(), 1, "exactly one active participant");
                assert_eq!(s.active_index(), Some(active[0]));
                assert!(s.session_started_at.is_some());
                assert!(s.session_completed_at.is_none());
            }
            _ => {
                assert!(active.is_empty());
                assert!(s.active_participant_id.is_none());
            }
        }
        assert_eq!(s.status == Status::Running, s.cycle_started_at.is_some());
        if let Some(cs) = s.cycle_started_at {
            assert!(cs <= now);
        }
        assert_eq!(
            s.session_completed_at.is_some(),
            matches!(s.status, Status::Completed | Status::Expired)
        );
        assert_ne!(s.status, Status::Cancelled);
        if s.action_on_timeout == TimeoutAction::Continue {
            assert_ne!(s.status, Status::Expired);
        }
        if s.action_on_timeout == TimeoutAction::End
            && matches!(s.status, Status::Running | Status::Paused)
        {
            assert!(s
                .participants
                .iter()
                .all(|p| !p.has_expired && p.total_time_ms > 0));
        }
        for (i, p) in s.participants.iter().enumerate() {
            assert_eq!(p.time_remaining_ms, p.total_time_ms, "snapshot == total");
            if p.has_expired {
                assert_eq!(p.total_time_ms, 0, "expired participant with time left");
            }
            if p.total_time_ms == 0 {
                assert!(p.has_expired, "participant {i} at 0 not flagged");
            }
            if s.sync_mode == SyncMode::PerCycle {
                assert!(p.total_time_ms <= self.allotment);
            }
            if s.sync_mode == SyncMode::CountUp {
                assert!(p.time_used_ms <= self.initial[self.keys[i]]);
            }
            // Property 1: live remaining never negative, equals the client formula.
            for dt in [0i64, 1, 999, 1_000, 59_999, 600_000, 1_000_000_000] {
                let t = now + dt;
                let r = remaining_at(s, i, t);
                assert!(r <= p.total_time_ms);
                assert_eq!(r, client_remaining(s, i, t), "participant {i} at {t}");
            }
        }
        // Property 5: nothing is due at the instant the session was settled to.
        if let Some(d) = next_deadline(s) {
            assert_eq!(s.status, Status::Running);
            assert!(d > now, "deadline {d} not after {now}");
        }
        if s.status != Status::Running {
            assert_eq!(next_deadline(s), None);
        }
    }

    /// skip: a tick with one expiry hands the turn to the next participant in array
    /// order (wrapping, the expired one last) who has time, or ends the session.
    pub(super) fn check_skip(&self, prev: &Session, out: &Outcome) {
        let s = &out.session;
        if s.action_on_timeout != TimeoutAction::Skip {
            return;
        }
        let expired: Vec<usize> = out
            .events
            .iter()
            .filter_map(|e| match e {
                Event::ParticipantExpired { participant_id, .. } => s.index_of(participant_id),
                _ => None,
            })
            .collect();
        let [x] = expired[..] else { return };
        assert_eq!(
            s.participants[x].cycle_count,
            prev.participants[x].cycle_count + 1,
            "a skipped turn counts as a cycle"
        );
        let n = s.participants.len();
        let per_cycle = s.sync_mode == SyncMode::PerCycle;
        let successor = (1..=n)
            .map(|k| (x + k) % n)
            .find(|&j| per_cycle || s.participants[j].total_time_ms > 0);
        match successor {
            Some(j) => {
                assert_eq!(s.status, Status::Running);
                assert_eq!(s.active_index(), Some(j), "skip from {x}");
            }
            None => assert_eq!(s.status, Status::Expired),
        }
    }

    /// skip (not per_cycle): nobody without time holds the turn, except where an explicit
    /// switch put them there (a known defect, see domain_defects.rs).
    pub(super) fn check_skip_holder(&mut self, s: &Session, op: Option<&Op>) {
        let zero_holder = match (s.action_on_timeout, s.sync_mode, s.active_index()) {
            (TimeoutAction::Skip, mode, Some(a)) if mode != SyncMode::PerCycle => {
                (s.participants[a].total_time_ms == 0).then_some(a)
            }
            _ => None,
        };
        let explicit = matches!(op, Some(Op::Switch { next: Some(id), .. })
            if zero_holder.is_some_and(|a| s.participants[a].participant_id == *id));
        if let Some(a) = zero_holder {
            assert!(
                explicit || self.explicit_zero_active == Some(a),
                "skip mode: participant {a} holds the turn without time"
            );
        }
        self.explicit_zero_active = zero_holder;
    }
}
