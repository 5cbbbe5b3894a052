//! Regression tests for defects the property tests once found in the domain core
//! (skip holders, settle limits, create rules, switch events, teammates' remaining
//! time, lifetime). All were fixed (commit 47962a9); these keep them fixed.
//!
//! Builders are in `support/domain/timeline.rs`. The random-sequence properties
//! are in `domain/props_*.rs`.

use crate::support::domain::timeline::*;
use synckairos::domain::lifetime::keep_until;
use synckairos::domain::*;

// ---------------------------------------------------------------------------------
// Defects found earlier, now fixed
// ---------------------------------------------------------------------------------

/// In `skip` mode a participant without time must never hold the turn: the action says
/// the turn passes to the next participant who has time (or the session ends). An
/// explicit `next_participant_id` naming an exhausted participant makes it active with
/// 0 ms and *no deadline*, so the session stays running forever and nothing skips it.
#[test]
fn skip_must_not_leave_a_participant_without_time_active() {
    let s = started(request(
        SyncMode::PerParticipant,
        TimeoutAction::Skip,
        &[1_000, 60_000, 60_000],
    ));
    let t = tick(&s, 1_000).unwrap().session; // 0 expired, turn skipped to 1
    let out = ok(&t, switch_to(0), 2_000).session;
    let active = out.active_index().unwrap();
    let stuck = out.status == Status::Running
        && out.participants[active].total_time_ms == 0
        && next_deadline(&out).is_none();
    assert!(
        !stuck,
        "participant {} holds the turn with 0 ms and no deadline; tick(+1h) = {:?}",
        out.participants[active].participant_id,
        tick(&out, 3_600_000).map(|o| o.events)
    );
}

/// Settling is capped at 10 000 expiries (settle.rs `MAX_STEPS`). per_cycle + skip
/// never ends (every turn gets a fresh allotment), so a gap of more than 10 000
/// allotments (about 2.8 h with 1 s turns) leaves the session unsettled: after
/// `tick(s, t)` the next deadline is still <= t, and the result of an op depends on
/// whether the scheduler ticked in between.
#[test]
fn settle_is_complete_after_long_gaps_in_per_cycle_skip() {
    let mut req = request(SyncMode::PerCycle, TimeoutAction::Skip, &[1_000, 1_000]);
    req.time_per_cycle_ms = Some(1_000);
    let s = started(req);
    let t = 20_000_500;
    let ticked = tick(&s, t).unwrap().session;
    let direct = ok(&s, switch(), t + 100).session;
    let via_tick = ok(&ticked, switch(), t + 100).session;
    assert!(
        next_deadline(&ticked).is_none_or(|d| d > t),
        "after tick({t}) the next deadline is {:?}",
        next_deadline(&ticked)
    );
    assert_eq!(direct.participants, via_tick.participants);
}

/// `create_session` owns the request rules but accepts a session with no participants;
/// `start` then indexes `participants[0]` and panics (budget.rs `activate`).
#[test]
fn create_rejects_a_session_without_participants() {
    let req = request(SyncMode::PerParticipant, TimeoutAction::Continue, &[]);
    let created = create_session(req, &"eu-west".into(), 0);
    if let Ok(s) = &created {
        let start = std::panic::catch_unwind(|| perform(s, &Op::Start, 0).map(|_| ()));
        assert!(
            start.is_ok(),
            "start panicked on a session without participants"
        );
    }
    assert!(
        matches!(created, Err(DomainError::Invalid(_))),
        "accepted: {created:?}"
    );
}

/// `Event::Switched::elapsed_ms` is what the switch itself charged: after a `continue`
/// expiry the budget was already emptied by the expiry (which the `ParticipantExpired`
/// event records), so a later switch charges and reports 0, not the wall time since.
#[test]
fn switched_elapsed_ms_is_what_was_charged() {
    let s = started(request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[1_000, 60_000],
    ));
    let before = tick(&s, 5_000).unwrap().session.participants[0].time_used_ms;
    assert_eq!(before, 1_000);
    let out = ok(&s, switch(), 5_000);
    let charged = out.session.participants[0].time_used_ms - before;
    let elapsed = out.events.iter().find_map(|e| match e {
        Event::Switched { elapsed_ms, .. } => Some(*elapsed_ms),
        _ => None,
    });
    assert_eq!(elapsed, Some(charged));
    assert_eq!(elapsed, Some(0));
    // A switch inside the budget reports what it took.
    let out = ok(&s, switch(), 400);
    let elapsed = out.events.iter().find_map(|e| match e {
        Event::Switched { elapsed_ms, .. } => Some(*elapsed_ms),
        _ => None,
    });
    assert_eq!(elapsed, Some(400));
}

/// In per_group and global modes a non-active member's budget is drained by the active
/// teammate, but `remaining_at` returns its frozen `total_time_ms` (only the active
/// participant is computed live). Questionable rather than wrong: v2 clients only
/// compute the active participant live, but a team clock UI would show a stale value.
#[test]
fn remaining_at_is_live_for_teammates_sharing_the_running_budget() {
    let mut req = request(SyncMode::Global, TimeoutAction::Continue, &[1_000, 1_000]);
    req.total_time_ms = 10_000;
    let s = started(req);
    assert_eq!(remaining_at(&s, 0, 4_000), 6_000);
    assert_eq!(remaining_at(&s, 1, 4_000), 6_000);
}

/// `keep_until` casts `ttl_ms as Millis`: a TTL above `i64::MAX` wraps negative and the
/// session may be forgotten before its last write. Only reachable through configuration.
#[test]
fn keep_until_never_precedes_the_last_write() {
    let s = create(request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[1_000],
    ));
    assert!(keep_until(&s, u64::MAX) >= s.updated_at);
}
