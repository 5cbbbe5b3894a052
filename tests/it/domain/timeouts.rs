//! Focused unit tests for the pure domain core (`synckairos::domain`), public API only:
//! each timeout action (continue, skip, end) on hand-computed timelines.
//!
//! Builders are in `support/domain/timeline.rs`. The random-sequence properties
//! are in `domain/props_*.rs`.

use crate::support::domain::timeline::*;
use crate::support::domain::*;
use synckairos::domain::*;

#[test]
fn skip_passes_over_participants_without_time() {
    let s = started(request(
        SyncMode::PerParticipant,
        TimeoutAction::Skip,
        &[1_000, 5_000, 1_000],
    ));
    let t = tick(&s, 1_000).unwrap();
    assert_eq!(
        t.events,
        vec![Event::ParticipantExpired {
            participant_id: pid(0),
            at: 1_000,
            action: TimeoutAction::Skip
        }]
    );
    assert_eq!(t.session.active_participant_id, Some(pid(1)));
    assert_eq!(t.session.cycle_started_at, Some(1_000));
    assert_eq!(clocks(&t.session)[0], (0, 1_000, 1, true, false));
    // Switch 1 -> 2; 2 runs out at 3000 and the turn goes to 1 (0 has no time).
    let a = ok(&t.session, switch(), 2_000).session;
    assert_eq!(a.active_participant_id, Some(pid(2)));
    let b = tick(&a, 3_000).unwrap().session;
    assert_eq!(b.active_participant_id, Some(pid(1)));
    // An automatic switch from 1 skips 2 and 0 and hands the turn back to 1.
    let c = ok(&b, switch(), 3_500).session;
    assert_eq!(c.active_participant_id, Some(pid(1)));
    assert_eq!(
        clocks(&c),
        vec![
            (0, 1_000, 1, true, false),
            (3_500, 1_500, 2, false, true),
            (0, 1_000, 1, true, false)
        ]
    );
}

#[test]
fn skip_ends_the_session_when_nobody_has_time() {
    let s = started(request(
        SyncMode::PerParticipant,
        TimeoutAction::Skip,
        &[1_000, 2_000],
    ));
    // One late tick settles both expiries at their exact instants.
    let t = tick(&s, 60_000).unwrap();
    assert_eq!(
        t.events,
        vec![
            Event::ParticipantExpired {
                participant_id: pid(0),
                at: 1_000,
                action: TimeoutAction::Skip
            },
            Event::ParticipantExpired {
                participant_id: pid(1),
                at: 3_000,
                action: TimeoutAction::Skip
            },
            Event::SessionExpired { at: 3_000 },
        ]
    );
    let e = &t.session;
    assert_eq!(e.status, Status::Expired);
    assert_eq!(e.session_completed_at, Some(3_000));
    assert_eq!(
        (e.active_participant_id.clone(), e.cycle_started_at),
        (None, None)
    );
    assert_eq!(
        clocks(e),
        vec![(0, 1_000, 1, true, false), (0, 2_000, 1, true, false)]
    );
    assert_eq!(e.updated_at, 60_000);
    assert_eq!(next_deadline(e), None);
}

#[test]
fn skip_in_global_mode_ends_at_the_first_expiry() {
    let mut req = request(
        SyncMode::Global,
        TimeoutAction::Skip,
        &[1_000, 1_000, 1_000],
    );
    req.total_time_ms = 5_000;
    let s = started(req);
    let a = ok(&s, switch(), 2_000).session;
    let t = tick(&a, 100_000).unwrap();
    assert_eq!(t.session.status, Status::Expired);
    assert_eq!(t.session.session_completed_at, Some(5_000));
    assert_eq!(
        clocks(&t.session),
        vec![
            (0, 2_000, 1, true, false),
            (0, 3_000, 1, true, false),
            (0, 0, 0, true, false)
        ]
    );
}

#[test]
fn end_action_expires_the_session_at_the_deadline() {
    let s = started(request(
        SyncMode::PerParticipant,
        TimeoutAction::End,
        &[5_000, 5_000],
    ));
    assert!(tick(&s, 4_999).is_none());
    let t = tick(&s, 9_000).unwrap();
    assert_eq!(
        t.events,
        vec![
            Event::ParticipantExpired {
                participant_id: pid(0),
                at: 5_000,
                action: TimeoutAction::End
            },
            Event::SessionExpired { at: 5_000 },
        ]
    );
    let e = &t.session;
    assert_eq!(e.status, Status::Expired);
    assert_eq!(e.session_completed_at, Some(5_000));
    assert_eq!(e.active_participant_id, None);
    assert_eq!(
        clocks(e),
        vec![(0, 5_000, 0, true, false), (5_000, 0, 0, false, false)]
    );
    assert_eq!(
        (e.version, e.client_version, e.updated_at),
        (s.version + 1, s.client_version, 9_000)
    );
    // A switch that arrives after the deadline finds the session expired.
    let late = perform(&s, &switch(), 5_000).unwrap_err();
    assert_eq!(
        late.to_string(),
        format!("Session {SID} not running (current status: expired)")
    );
    // complete is still allowed and keeps the charged time.
    let done = ok(e, Op::Complete, 10_000).session;
    assert_eq!(
        (done.status, done.session_completed_at),
        (Status::Completed, Some(10_000))
    );
}
