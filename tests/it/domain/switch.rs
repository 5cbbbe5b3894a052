//! Focused unit tests for the pure domain core (`synckairos::domain`), public API only:
//! switch rules (CONTRACT §1.6) and refusals: rotation by array position, Fischer
//! increments, expired participants in the rotation, v2's refusal messages.
//!
//! Builders are in `support/domain/timeline.rs`. The random-sequence properties
//! are in `domain/props_*.rs`.

use crate::support::domain::timeline::*;
use crate::support::domain::*;
use synckairos::domain::*;

#[test]
fn switch_rotates_by_array_position_with_fischer_increment() {
    let mut req = request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[10_000, 20_000, 30_000],
    );
    req.increment_ms = 1_000;
    let s = started(req);
    let a = ok(&s, switch(), 4_000);
    assert_eq!(
        a.events,
        vec![Event::Switched {
            from: Some(pid(0)),
            to: pid(1),
            elapsed_ms: 4_000
        }]
    );
    assert_eq!(a.expired_participant_id, None);
    assert_eq!(a.session.cycle_started_at, Some(4_000));
    let b = ok(&a.session, switch(), 9_000).session;
    let c = ok(&b, switch(), 10_000).session; // wraps to position 0
    assert_eq!(c.active_participant_id, Some(pid(0)));
    assert_eq!(
        clocks(&c),
        vec![
            (7_000, 4_000, 1, false, true),
            (16_000, 5_000, 1, false, false),
            (30_000, 1_000, 1, false, false)
        ]
    );
    // next_participant_id overrides the rotation, and may name the current participant.
    let d = ok(&c, switch_to(0), 11_000).session;
    assert_eq!(d.active_participant_id, Some(pid(0)));
    assert_eq!(clocks(&d)[0], (7_000, 5_000, 2, false, true));
}

#[test]
fn switch_refusals_carry_v2_messages() {
    let s = started(request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[10_000, 10_000],
    ));
    let unknown = Op::Switch {
        next: Some(UNKNOWN.into()),
        current: None,
    };
    let e = perform(&s, &unknown, 1_000).unwrap_err();
    assert_eq!(e, DomainError::UnknownParticipant(UNKNOWN.into()));
    assert_eq!(
        e.to_string(),
        format!("Participant {UNKNOWN} not found in session")
    );
    let stale = Op::Switch {
        next: None,
        current: Some(pid(1)),
    };
    let e = perform(&s, &stale, 1_000).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Participant {} is not the active participant (active: {})",
            pid(1),
            pid(0)
        )
    );
    let guarded = Op::Switch {
        next: None,
        current: Some(pid(0)),
    };
    assert_eq!(
        ok(&s, guarded, 1_000).session.active_participant_id,
        Some(pid(1))
    );
    let pending = create(request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[1_000],
    ));
    assert_eq!(
        perform(&pending, &switch(), 0).unwrap_err().to_string(),
        format!("Session {SID} not running (current status: pending)")
    );
}

#[test]
fn expired_participant_stays_in_rotation_without_increments() {
    let mut req = request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[2_000, 10_000],
    );
    req.increment_ms = 3_000;
    let s = started(req);
    // The clock of participant 0 runs out at 2000: flagged, stays active at 0.
    let t = tick(&s, 2_500).unwrap();
    assert_eq!(
        t.events,
        vec![Event::ParticipantExpired {
            participant_id: pid(0),
            at: 2_000,
            action: TimeoutAction::Continue
        }]
    );
    assert_eq!(t.session.status, Status::Running);
    assert_eq!(t.session.active_participant_id, Some(pid(0)));
    assert_eq!(clocks(&t.session)[0], (0, 2_000, 0, true, true));
    assert_eq!(next_deadline(&t.session), None);
    assert_eq!((t.session.version, t.session.client_version), (3, 2));
    // The switch reports it, and no increment is added.
    let a = ok(&t.session, switch(), 5_000);
    assert_eq!(a.expired_participant_id, Some(pid(0)));
    assert_eq!(clocks(&a.session)[0], (0, 2_000, 1, true, false));
    let b = ok(&a.session, switch(), 6_000);
    assert_eq!(b.expired_participant_id, None);
    assert_eq!(clocks(&b.session)[1], (12_000, 1_000, 1, false, false));
    // Back to the expired participant (0 ms), reported again at its next switch.
    assert_eq!(b.session.active_participant_id, Some(pid(0)));
    let c = ok(&b.session, switch(), 7_000);
    assert_eq!(c.expired_participant_id, Some(pid(0)));
    assert_eq!(clocks(&c.session)[0], (0, 2_000, 2, true, false));
}

#[test]
fn single_participant_switch_reactivates_itself() {
    let mut req = request(SyncMode::PerParticipant, TimeoutAction::Continue, &[10_000]);
    req.increment_ms = 2_000;
    let s = started(req);
    let out = ok(&s, switch(), 3_000);
    assert_eq!(
        out.events,
        vec![Event::Switched {
            from: Some(pid(0)),
            to: pid(0),
            elapsed_ms: 3_000
        }]
    );
    assert_eq!(clocks(&out.session), vec![(9_000, 3_000, 1, false, true)]);
    assert_eq!(out.session.cycle_started_at, Some(3_000));
}
