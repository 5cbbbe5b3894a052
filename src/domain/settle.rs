//! Settling: bringing a session up to `now` by applying every deadline event that fell
//! due (a scheduled start, warnings, then expiry with the session's timeout action),
//! each at its exact instant. Both the scheduler's tick and every client operation
//! settle first, so the outcome never depends on how late the scheduler ran.
//!
//! With lag compensation the scheduler (`Due::AfterGrace`) acts on an expiry only once
//! its grace has passed too (a move may still be in transit); a client operation
//! (`Due::AtDeadline`) applies it at once.

use super::budget::{activate, charge, deactivate_all, has_time};
use super::deadline::{expiry_at, pending_warnings};
use super::event::Event;
use super::lag;
use super::model::{Millis, Session, Status, SyncMode, TimeoutAction};

/// When an expiry counts as due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Due {
    /// At the deadline (client operations).
    AtDeadline,
    /// After the deadline plus the lag-compensation grace (the scheduler).
    AfterGrace,
}

/// Every mode but per_cycle + skip runs out of expiries after at most one per
/// participant; per_cycle + skip never ends and is fast-forwarded by whole rounds, so
/// this bound is only a guard against a bug looping forever.
const MAX_STEPS: usize = 1_000_000;

pub(super) fn settle(s: &mut Session, now: Millis, when: Due, events: &mut Vec<Event>) {
    for _ in 0..MAX_STEPS {
        if s.status == Status::Pending {
            match s.start_at {
                Some(at) if at <= now => begin(s, at, events),
                _ => return,
            }
        }
        if s.status != Status::Running {
            return;
        }
        fast_forward_rounds(s, now);
        let expiry = expiry_at(s);
        let horizon = expiry.map_or(now, |e| e.min(now));
        let due: Vec<(Millis, u64)> = pending_warnings(s)
            .take_while(|&(at, _)| at <= horizon)
            .collect();
        if let Some(&(last, _)) = due.last() {
            s.warned_through = Some(last);
        }
        if let Some(pid) = s.active_participant_id.clone() {
            events.extend(
                due.into_iter()
                    .map(|(at, threshold_ms)| Event::TimeWarning {
                        participant_id: pid.clone(),
                        threshold_ms,
                        at,
                    }),
            );
        }
        let grace = match when {
            Due::AtDeadline => 0,
            Due::AfterGrace => lag::grace(s),
        };
        match expiry {
            Some(at) if at + grace <= now => expire_active(s, at, events),
            _ => return,
        }
    }
}

/// Starts a pending session at `at`: the first participant (array order) runs.
pub(super) fn begin(s: &mut Session, at: Millis, events: &mut Vec<Event>) {
    s.status = Status::Running;
    s.session_started_at = Some(at);
    activate(s, 0, at);
    events.push(Event::Started {
        participant_id: s.participants[0].participant_id.clone(),
    });
}

/// The active participant's budget runs out at `at`: charge it and apply the action.
fn expire_active(s: &mut Session, at: Millis, events: &mut Vec<Event>) {
    let (Some(idx), Some(started)) = (s.active_index(), s.cycle_started_at) else {
        return;
    };
    charge(s, idx, (at - started).max(0) as u64);
    events.push(Event::ParticipantExpired {
        participant_id: s.participants[idx].participant_id.clone(),
        at,
        action: s.action_on_timeout,
    });
    match s.action_on_timeout {
        TimeoutAction::Continue => {
            s.cycle_started_at = Some(at);
            s.warned_through = Some(at);
        }
        TimeoutAction::End => end_on_time(s, at, events),
        TimeoutAction::Skip => {
            s.participants[idx].cycle_count += 1;
            match next_with_time(s, idx) {
                Some(next) => activate(s, next, at),
                None => end_on_time(s, at, events),
            }
        }
    }
}

fn end_on_time(s: &mut Session, at: Millis, events: &mut Vec<Event>) {
    s.status = Status::Expired;
    s.session_completed_at = Some(at);
    deactivate_all(s);
    events.push(Event::SessionExpired { at });
}

/// Rounds settled turn by turn (with their events) before `now`; earlier ones are
/// fast-forwarded.
const EVENTFUL_ROUNDS: Millis = 10_000;

/// per_cycle + skip with nobody acting: every turn runs its full allotment and passes
/// on. When more than `EVENTFUL_ROUNDS` whole rounds (each participant one expired
/// turn) ended before `now`, all but the last `EVENTFUL_ROUNDS` are applied
/// arithmetically; those emit no per-turn events.
fn fast_forward_rounds(s: &mut Session, now: Millis) {
    if s.sync_mode != SyncMode::PerCycle || s.action_on_timeout != TimeoutAction::Skip {
        return;
    }
    let (Some(idx), Some(started)) = (s.active_index(), s.cycle_started_at) else {
        return;
    };
    // Rounds are uniform only when every turn has the same length.
    let Some(allotment) = s.time_per_cycle_ms else {
        return;
    };
    let n = s.participants.len() as Millis;
    let a = allotment.max(1) as Millis;
    // Only when the current turn is fresh (nothing charged yet).
    if s.participants[idx].total_time_ms != allotment || now - started < a {
        return;
    }
    let rounds = (now - started - a) / (n * a) - EVENTFUL_ROUNDS;
    if rounds < 1 {
        return;
    }
    for p in s.participants.iter_mut() {
        p.cycle_count += rounds as u64;
        p.time_used_ms += rounds as u64 * allotment;
        p.has_expired = true;
    }
    // The active participant's turn restarts `rounds` rounds later, fresh.
    let at = started + rounds * n * a;
    activate(s, idx, at);
}

/// The first participant after `idx` in array order (wrapping, `idx` itself last)
/// who still has time.
pub(super) fn next_with_time(s: &Session, idx: usize) -> Option<usize> {
    let n = s.participants.len();
    (1..=n).map(|k| (idx + k) % n).find(|&j| has_time(s, j))
}
