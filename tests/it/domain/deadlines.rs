//! Focused unit tests for the pure domain core (`synckairos::domain`), public API only:
//! deadlines, warnings (once each, at their instant, again in a new cycle) and the
//! `now` floor (time never runs backwards).
//!
//! Builders are in `support/domain/timeline.rs`. The random-sequence properties
//! are in `domain/props_*.rs`.

use crate::support::domain::timeline::*;
use crate::support::domain::*;
use synckairos::domain::*;

#[test]
fn warnings_fire_once_each_at_their_instant() {
    let mut req = request(SyncMode::PerParticipant, TimeoutAction::Continue, &[10_000]);
    req.warning_thresholds_ms = vec![1_000, 5_000, 10_000, 20_000];
    let s = started(req);
    let warning = |threshold_ms, at| Event::TimeWarning {
        participant_id: pid(0),
        threshold_ms,
        at,
    };
    // Thresholds at or above the starting budget never fire.
    assert_eq!(next_deadline(&s), Some(5_000));
    assert!(tick(&s, 4_999).is_none());
    let a = tick(&s, 5_000).unwrap();
    assert_eq!(a.events, vec![warning(5_000, 5_000)]);
    assert_eq!(next_deadline(&a.session), Some(9_000));
    assert!(tick(&a.session, 8_000).is_none());
    let b = tick(&a.session, 9_500).unwrap();
    assert_eq!(b.events, vec![warning(1_000, 9_000)]);
    assert_eq!(next_deadline(&b.session), Some(10_000));
    // From the start, one late tick gives the same events in order.
    let all = tick(&s, 10_000).unwrap();
    assert_eq!(
        all.events,
        vec![
            warning(5_000, 5_000),
            warning(1_000, 9_000),
            Event::ParticipantExpired {
                participant_id: pid(0),
                at: 10_000,
                action: TimeoutAction::Continue
            }
        ]
    );
    // A new cycle warns again: a switch to self at 9800 leaves 200 + 5000 increment,
    // so the 5000 threshold is crossed again 200 ms later (1000 only after that).
    let mut with_inc = b.session.clone();
    with_inc.increment_ms = 5_000;
    let c = ok(&with_inc, switch(), 9_800).session;
    assert_eq!(clocks(&c), vec![(5_200, 9_800, 1, false, true)]);
    assert_eq!(next_deadline(&c), Some(10_000));
    let d = tick(&c, 14_000).unwrap();
    assert_eq!(
        d.events,
        vec![warning(5_000, 10_000), warning(1_000, 14_000)]
    );
}

#[test]
fn time_never_runs_backwards() {
    let s = started(request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[10_000, 10_000],
    ));
    let a = ok(&s, switch(), 4_000).session;
    // A write from an instance whose clock is 3 s behind: now is floored at updated_at.
    let b = ok(&a, switch(), 1_000);
    assert_eq!(
        b.events,
        vec![Event::Switched {
            from: Some(pid(1)),
            to: pid(0),
            elapsed_ms: 0
        }]
    );
    assert_eq!(b.session.updated_at, 4_000);
    assert_eq!(b.session.cycle_started_at, Some(4_000));
    assert_eq!(clocks(&b.session)[1], (10_000, 0, 1, false, false));
    assert_eq!(remaining_at(&b.session, 0, -5_000_000), 6_000);
}
