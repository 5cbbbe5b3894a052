//! Lag compensation (opt-in per session, as lichess does): the time a move spent in
//! transit between the player and the home region is credited back to the mover, at
//! most `max_per_move_ms` per move and `budget_ms` per participant per session, and
//! never more than the turn took. A deadline is acted on only once the most that a
//! move still in transit could be credited has passed too (the grace), so that a move
//! made in time is not refused because it was still travelling.
//!
//! Owns: the credit rule and the grace. Must not: measure anything: the server
//! measures the transit and passes the move's instant (`Transit::moved_at`).

use super::model::{Millis, Session};

/// How an operation reached the home, as the server measured it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transit {
    /// When the player made the move, in the home's timebase: its arrival at the first
    /// server minus that connection's one-way delay. `None`: not measured (no credit).
    pub moved_at: Option<Millis>,
}

impl Transit {
    pub fn moved_at(at: Millis) -> Transit {
        Transit { moved_at: Some(at) }
    }
}

/// Credit participant `idx` may still receive this session (0 without compensation).
pub fn credit_left(s: &Session, idx: usize) -> u64 {
    match (s.lag_compensation, s.participants.get(idx)) {
        (Some(p), Some(part)) => p.budget_ms.saturating_sub(part.lag_credited_ms),
        _ => 0,
    }
}

/// The most the next move of participant `idx` could be credited.
pub fn max_credit(s: &Session, idx: usize) -> u64 {
    s.lag_compensation
        .map_or(0, |p| p.max_per_move_ms.min(credit_left(s, idx)))
}

/// How long after the active participant's deadline the server waits before acting
/// on it (0 without compensation).
pub fn grace(s: &Session) -> Millis {
    s.active_index().map_or(0, |i| max_credit(s, i) as Millis)
}

/// The credit for a move by participant `idx` (whose turn began at `started`) that
/// reached the home at `now`: `(credit, measured lag)`, both in ms.
pub fn credit(
    s: &Session,
    idx: usize,
    started: Millis,
    transit: Transit,
    now: Millis,
) -> (u64, u64) {
    let Some(moved_at) = transit.moved_at else {
        return (0, 0);
    };
    let lag = (now - moved_at).max(0) as u64;
    let turn = (now - started).max(0) as u64;
    (lag.min(max_credit(s, idx)).min(turn), lag)
}
