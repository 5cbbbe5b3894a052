//! Focused unit tests for the pure domain core (`synckairos::domain`), public API only:
//! each sync mode (per_participant, per_cycle, per_group, global, count_up) on
//! hand-computed timelines.
//!
//! Builders are in `support/domain/timeline.rs`. The random-sequence properties
//! are in `domain/props_*.rs`.

use crate::support::domain::timeline::*;
use crate::support::domain::*;
use synckairos::domain::*;

#[test]
fn per_cycle_gives_every_turn_a_fresh_allotment() {
    let mut req = request(
        SyncMode::PerCycle,
        TimeoutAction::Continue,
        &[90_000, 90_000],
    );
    req.time_per_cycle_ms = Some(10_000);
    req.increment_ms = 5_000; // no effect in per_cycle
    let s = started(req);
    let a = ok(&s, switch(), 4_000).session;
    assert_eq!(
        clocks(&a),
        vec![(6_000, 4_000, 1, false, false), (10_000, 0, 0, false, true)]
    );
    // Participant 1 overruns its turn: flagged at 14000, stays active.
    let b = tick(&a, 20_000).unwrap().session;
    assert_eq!(clocks(&b)[1], (0, 10_000, 0, true, true));
    let c = ok(&b, switch(), 21_000);
    assert_eq!(c.expired_participant_id, Some(pid(1)));
    // Participant 0's leftover 6000 is not carried over: a fresh 10000.
    assert_eq!(
        clocks(&c.session),
        vec![(10_000, 4_000, 1, false, true), (0, 10_000, 1, true, false)]
    );
    // The expiry flag clears when participant 1's next turn starts.
    let d = ok(&c.session, switch(), 22_000).session;
    assert_eq!(clocks(&d)[1], (10_000, 10_000, 1, false, true));
    assert_eq!(next_deadline(&d), Some(32_000));
}

#[test]
fn per_cycle_with_skip_rotates_forever() {
    let mut req = request(SyncMode::PerCycle, TimeoutAction::Skip, &[1_000, 1_000]);
    req.time_per_cycle_ms = Some(1_000);
    let s = started(req);
    let t = tick(&s, 3_500).unwrap();
    let expired: Vec<(ParticipantId, Millis)> = t
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ParticipantExpired {
                participant_id, at, ..
            } => Some((participant_id.clone(), *at)),
            _ => None,
        })
        .collect();
    assert_eq!(
        expired,
        vec![(pid(0), 1_000), (pid(1), 2_000), (pid(0), 3_000)]
    );
    assert_eq!(t.session.status, Status::Running);
    assert_eq!(t.session.active_participant_id, Some(pid(1)));
    assert_eq!(t.session.cycle_started_at, Some(3_000));
    assert_eq!(clocks(&t.session)[1], (1_000, 1_000, 1, false, true));
}

#[test]
fn per_group_members_share_one_budget() {
    let mut req = request(SyncMode::PerGroup, TimeoutAction::Continue, &[]);
    req.participants = vec![
        participant(0, 10_000, Some(G1)),
        participant(1, 8_000, None),
        participant(2, 10_000, Some(G1)),
    ];
    req.increment_ms = 1_000;
    let s = started(req);
    let a = ok(&s, switch(), 3_000).session; // g1 used 3000, +1000
    let b = ok(&a, switch(), 5_000).session; // participant 1 used 2000, +1000
    assert_eq!(
        clocks(&b),
        vec![
            (8_000, 3_000, 1, false, false),
            (7_000, 2_000, 1, false, false),
            (8_000, 0, 0, false, true)
        ]
    );
    // Participant 2 draws from g1 as well: 8000 left, it runs out at 13000.
    assert_eq!(next_deadline(&b), Some(13_000));
    let t = tick(&b, 13_000).unwrap().session;
    assert_eq!(
        clocks(&t),
        vec![
            (0, 3_000, 1, true, false),
            (7_000, 2_000, 1, false, false),
            (0, 8_000, 0, true, true)
        ]
    );
}

#[test]
fn global_mode_shares_the_session_budget() {
    let mut req = request(SyncMode::Global, TimeoutAction::Continue, &[1_000, 1_000]);
    req.total_time_ms = 20_000;
    req.increment_ms = 500;
    let s = started(req);
    let a = ok(&s, switch(), 6_000).session;
    assert_eq!(
        clocks(&a),
        vec![
            (14_500, 6_000, 1, false, false),
            (14_500, 0, 0, false, true)
        ]
    );
    assert_eq!(next_deadline(&a), Some(20_500));
    let t = tick(&a, 30_000).unwrap().session;
    assert_eq!(
        clocks(&t),
        vec![(0, 6_000, 1, true, false), (0, 14_500, 0, true, true)]
    );
}

#[test]
fn count_up_counts_used_time_up_to_the_cap_without_increments() {
    let mut req = request(
        SyncMode::CountUp,
        TimeoutAction::Continue,
        &[50_000, 50_000],
    );
    req.max_time_ms = Some(8_000);
    req.increment_ms = 5_000; // no effect in count_up
    let s = started(req);
    let a = ok(&s, switch(), 3_000).session;
    assert_eq!(
        clocks(&a),
        vec![(5_000, 3_000, 1, false, false), (8_000, 0, 0, false, true)]
    );
    let b = ok(&a, switch(), 4_000).session;
    let t = tick(&b, 100_000).unwrap().session;
    assert_eq!(
        clocks(&t),
        vec![(0, 8_000, 1, true, true), (7_000, 1_000, 1, false, false)]
    );
}
