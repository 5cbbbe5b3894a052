//! Deadlines: when the next server-side event of a session is due, and the live
//! remaining time of a participant at a given instant.
//!
//! Owns: the instants of a scheduled start, of expiry and of warning-threshold
//! crossings. Must not: read the clock or change the session.

use super::budget::sharers;
use super::lag;
use super::model::{Millis, Session, Status, TimeoutAction};

/// The instant the active participant's budget runs out, if the clock is running and
/// the server still has something to do then: with `continue`, an empty budget stays
/// active and nothing more happens; with `skip`/`end`, an empty budget is due at once.
pub(super) fn expiry_at(s: &Session) -> Option<Millis> {
    if s.status != Status::Running {
        return None;
    }
    let started = s.cycle_started_at?;
    let p = &s.participants[s.active_index()?];
    let acts = p.total_time_ms > 0 || s.action_on_timeout != TimeoutAction::Continue;
    acts.then(|| started + p.total_time_ms as Millis)
}

/// Warning crossings of the current cycle not yet emitted, ascending: `(instant, threshold)`.
pub(super) fn pending_warnings(s: &Session) -> impl Iterator<Item = (Millis, u64)> + '_ {
    let cycle = (s.status == Status::Running)
        .then_some(())
        .and(s.cycle_started_at)
        .zip(s.active_index());
    let (started, remaining, lower) = match cycle {
        Some((started, idx)) => {
            let lower = s.warned_through.map_or(started, |w| w.max(started));
            (started, s.participants[idx].total_time_ms, lower)
        }
        None => (0, 0, Millis::MAX),
    };
    // Thresholds are ascending, so crossing instants are descending: walk in reverse.
    s.warning_thresholds_ms
        .iter()
        .rev()
        .filter(move |&&t| t < remaining)
        .map(move |&t| (started + (remaining - t) as Millis, t))
        .filter(move |&(at, _)| at > lower)
}

/// The next instant at which the server must act on this session (a scheduled start,
/// a warning, or the expiry plus its lag-compensation grace), or `None` when nothing
/// is scheduled.
pub fn next_deadline(s: &Session) -> Option<Millis> {
    if s.status == Status::Pending {
        return s.start_at;
    }
    let warning = pending_warnings(s).map(|(at, _)| at).next();
    let expiry = expiry_at(s).map(|at| at + lag::grace(s));
    match (warning, expiry) {
        (Some(w), Some(e)) => Some(w.min(e)),
        (w, e) => w.or(e),
    }
}

/// Live remaining time of participant `idx` at `now`: what every client computes.
/// Participants sharing the running budget (a team, the global clock) run down with it.
pub fn remaining_at(s: &Session, idx: usize, now: Millis) -> u64 {
    let p = &s.participants[idx];
    let running = match (s.status, s.cycle_started_at, s.active_index()) {
        (Status::Running, Some(started), Some(active)) if sharers(s, active).contains(&idx) => {
            Some(started)
        }
        _ => None,
    };
    match running {
        Some(started) => p
            .total_time_ms
            .saturating_sub((now - started).max(0) as u64),
        None => p.total_time_ms,
    }
}
