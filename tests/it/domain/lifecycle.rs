//! Focused unit tests for the pure domain core (`synckairos::domain`), public API only:
//! start / pause / resume / complete: pause/resume/complete charging, and terminal
//! statuses that accept only `complete`.
//!
//! Builders are in `support/domain/timeline.rs`. The random-sequence properties
//! are in `domain/props_*.rs`.

use crate::support::domain::timeline::*;
use crate::support::domain::*;
use synckairos::domain::*;

#[test]
fn start_activates_array_position_zero() {
    let mut req = request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[5_000, 6_000],
    );
    req.participants[0].participant_index = 7;
    req.participants[1].participant_index = 0;
    let out = ok(&create(req), Op::Start, 1_000);
    let s = &out.session;
    assert_eq!(s.status, Status::Running);
    assert_eq!(s.active_participant_id, Some(pid(0)));
    assert_eq!(
        (s.cycle_started_at, s.session_started_at),
        (Some(1_000), Some(1_000))
    );
    assert_eq!((s.version, s.client_version, s.updated_at), (2, 2, 1_000));
    assert_eq!(
        out.events,
        vec![Event::Started {
            participant_id: pid(0)
        }]
    );
    assert_eq!(next_deadline(s), Some(6_000));
    let again = perform(s, &Op::Start, 2_000).unwrap_err();
    assert_eq!(
        again.to_string(),
        format!("Session {SID} cannot be started (current status: running)")
    );
}

#[test]
fn pause_and_resume_do_not_charge_paused_time() {
    let mut req = request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[10_000, 10_000],
    );
    req.increment_ms = 500;
    let s = started(req);
    let paused = ok(&s, Op::Pause, 3_000);
    assert_eq!(
        paused.events,
        vec![Event::Paused {
            participant_id: Some(pid(0)),
            elapsed_ms: 3_000
        }]
    );
    let p = &paused.session;
    assert_eq!(p.status, Status::Paused);
    assert_eq!(p.cycle_started_at, None);
    assert_eq!(p.active_participant_id, Some(pid(0)));
    assert_eq!(clocks(p)[0], (7_000, 3_000, 0, false, true));
    // Paused far longer than any budget: nothing happens.
    assert_eq!(next_deadline(p), None);
    assert!(tick(p, 1_000_000).is_none());
    assert_eq!(remaining_at(p, 0, 1_000_000), 7_000);
    let pause_again = perform(p, &Op::Pause, 5_000).unwrap_err();
    assert_eq!(
        pause_again.to_string(),
        format!("Session {SID} cannot be paused (current status: paused)")
    );
    let switch_paused = perform(p, &switch(), 5_000).unwrap_err();
    assert_eq!(
        switch_paused,
        DomainError::NotRunning {
            session_id: SID.into(),
            status: Status::Paused
        }
    );
    let resumed = ok(p, Op::Resume, 1_000_000);
    assert_eq!(
        resumed.events,
        vec![Event::Resumed {
            participant_id: Some(pid(0))
        }]
    );
    let r = &resumed.session;
    assert_eq!(
        (r.status, r.cycle_started_at),
        (Status::Running, Some(1_000_000))
    );
    assert_eq!(remaining_at(r, 0, 1_002_000), 5_000);
    assert_eq!(next_deadline(r), Some(1_007_000));
    let sw = ok(r, switch(), 1_002_000).session;
    // 3000 before the pause + 2000 after the resume, then the increment.
    assert_eq!(clocks(&sw)[0], (5_500, 5_000, 1, false, false));
    let resume_running = perform(&sw, &Op::Resume, 1_003_000).unwrap_err();
    assert_eq!(
        resume_running.to_string(),
        format!("Session {SID} cannot be resumed (current status: running)")
    );
}

#[test]
fn complete_charges_the_running_cycle() {
    let s = started(request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[10_000, 10_000],
    ));
    let out = ok(&s, Op::Complete, 4_000);
    let c = &out.session;
    assert_eq!(out.events, vec![Event::Completed]);
    assert_eq!(c.status, Status::Completed);
    assert_eq!(c.session_completed_at, Some(4_000));
    assert_eq!(
        (c.active_participant_id.clone(), c.cycle_started_at),
        (None, None)
    );
    assert_eq!(
        clocks(c),
        vec![
            (6_000, 4_000, 0, false, false),
            (10_000, 0, 0, false, false)
        ]
    );
    // Completing again is allowed, overwrites the instant and charges nothing.
    let again = ok(c, Op::Complete, 9_000).session;
    assert_eq!(
        (again.version, again.session_completed_at),
        (c.version + 1, Some(9_000))
    );
    assert_eq!(again.participants, c.participants);
}

#[test]
fn complete_never_charges_beyond_the_budget_nor_paused_time() {
    let s = started(request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[10_000],
    ));
    // Continue: the clock ran out at 10000; completing much later charges 10000 only.
    let out = ok(&s, Op::Complete, 50_000);
    assert_eq!(clocks(&out.session), vec![(0, 10_000, 0, true, false)]);
    assert_eq!(
        out.events,
        vec![
            Event::ParticipantExpired {
                participant_id: pid(0),
                at: 10_000,
                action: TimeoutAction::Continue
            },
            Event::Completed
        ]
    );
    // From paused: nothing more is charged.
    let paused = ok(&s, Op::Pause, 2_500).session;
    let done = ok(&paused, Op::Complete, 40_000).session;
    assert_eq!(clocks(&done), vec![(7_500, 2_500, 0, false, false)]);
    // From pending: allowed, nothing started.
    let pending = create(request(SyncMode::Global, TimeoutAction::End, &[10_000]));
    let done = ok(&pending, Op::Complete, 5).session;
    assert_eq!(
        (
            done.status,
            done.version,
            done.session_started_at,
            done.session_completed_at
        ),
        (Status::Completed, 2, None, Some(5))
    );
}

#[test]
fn cancelled_sessions_accept_only_complete() {
    // No transition enters `cancelled`; a stored one (e.g. written by a later version)
    // must still be refused like the other terminal statuses.
    let mut s = started(request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[10_000],
    ));
    s.status = Status::Cancelled;
    s.cycle_started_at = None;
    s.active_participant_id = None;
    s.participants[0].is_active = false;
    assert!(s.status.is_terminal());
    assert_eq!(next_deadline(&s), None);
    assert!(tick(&s, 1_000_000).is_none());
    let cases = [
        (Op::Start, "cannot be started"),
        (switch(), "not running"),
        (Op::Pause, "cannot be paused"),
        (Op::Resume, "cannot be resumed"),
    ];
    for (op, text) in cases {
        assert_eq!(
            perform(&s, &op, 5_000).unwrap_err().to_string(),
            format!("Session {SID} {text} (current status: cancelled)")
        );
    }
    let done = ok(&s, Op::Complete, 5_000).session;
    assert_eq!(
        (done.status, done.session_completed_at),
        (Status::Completed, Some(5_000))
    );
}
