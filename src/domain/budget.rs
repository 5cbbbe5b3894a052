//! Budgets: who shares a clock with whom, charging elapsed time, increments, and
//! handing the turn to a participant. The only place that writes the time fields of
//! a participant.
//!
//! Invariant kept here (checked by property tests): for every budget, the time used
//! by its members plus its remaining time equals its initial budget plus the
//! increments it received (per_cycle: per turn, used + remaining = allotment).

use super::model::{Millis, Session, SyncMode};

/// Indices of the participants whose clock is the same budget as participant `idx`'s.
pub(super) fn sharers(s: &Session, idx: usize) -> Vec<usize> {
    match s.sync_mode {
        SyncMode::Global => (0..s.participants.len()).collect(),
        SyncMode::PerGroup => match &s.participants[idx].group_id {
            Some(g) => (0..s.participants.len())
                .filter(|&i| s.participants[i].group_id.as_ref() == Some(g))
                .collect(),
            None => vec![idx],
        },
        _ => vec![idx],
    }
}

fn set_remaining(s: &mut Session, idx: usize, remaining: u64) {
    for i in sharers(s, idx) {
        let p = &mut s.participants[i];
        p.total_time_ms = remaining;
        p.time_remaining_ms = remaining;
    }
}

/// Charges up to `elapsed_ms` to participant `idx`'s budget; time beyond the budget is
/// not counted. An emptied budget flags its members `has_expired`. Returns the
/// milliseconds actually charged.
pub(super) fn charge(s: &mut Session, idx: usize, elapsed_ms: u64) -> u64 {
    let remaining = s.participants[idx].total_time_ms;
    let charged = elapsed_ms.min(remaining);
    s.participants[idx].time_used_ms += charged;
    set_remaining(s, idx, remaining - charged);
    let exhausted = remaining - charged == 0;
    if exhausted {
        for i in sharers(s, idx) {
            s.participants[i].has_expired = true;
        }
    }
    charged
}

/// Fischer increment for the outgoing participant, in the modes that use one, unless
/// its budget has run out (as v2 did).
pub(super) fn add_increment(s: &mut Session, idx: usize) {
    if !s.sync_mode.uses_increment() || s.increment_ms == 0 || s.participants[idx].has_expired {
        return;
    }
    let remaining = s.participants[idx].total_time_ms + s.increment_ms;
    set_remaining(s, idx, remaining);
}

/// Whether participant `idx` could play a turn now (used by `skip`).
pub(super) fn has_time(s: &Session, idx: usize) -> bool {
    s.sync_mode == SyncMode::PerCycle || s.participants[idx].total_time_ms > 0
}

/// Makes participant `idx` the active one with its cycle starting at `at`.
/// per_cycle: the turn gets a fresh allotment and the expiry flag of the last turn clears.
pub(super) fn activate(s: &mut Session, idx: usize, at: Millis) {
    for p in s.participants.iter_mut() {
        p.is_active = false;
    }
    if s.sync_mode == SyncMode::PerCycle {
        let allotment = s.time_per_cycle_ms.unwrap_or(s.participants[idx].budget_ms);
        let p = &mut s.participants[idx];
        p.total_time_ms = allotment;
        p.time_remaining_ms = allotment;
        p.has_expired = false;
    }
    s.participants[idx].is_active = true;
    s.active_participant_id = Some(s.participants[idx].participant_id.clone());
    s.cycle_started_at = Some(at);
    s.warned_through = None;
}

/// Ends the running cycle without a successor: nobody active, the clock stops.
pub(super) fn deactivate_all(s: &mut Session) {
    for p in s.participants.iter_mut() {
        p.is_active = false;
    }
    s.active_participant_id = None;
    s.cycle_started_at = None;
    s.warned_through = None;
}
