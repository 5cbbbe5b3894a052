//! The fairness extensions of the pure core: lag compensation (a switch is charged up
//! to the instant the move was made, within a per-move cap and a per-participant
//! budget; the scheduler waits a grace past a deadline for a move still in transit)
//! and the synchronized start (`start_at`: a pending session starts by itself, at that
//! exact instant, whoever settles it and however late).

use synckairos::domain::{
    create_session, next_deadline, perform, perform_with, remaining_at, tick, Event, LagPolicy,
    NewParticipant, NewSession, Op, Session, Status, SyncMode, TimeoutAction, Transit,
};

const SID: &str = "6f1c0000-0000-4000-8000-000000000001";
const A: &str = "223e4567-e89b-12d3-a456-426614174001";
const B: &str = "223e4567-e89b-12d3-a456-426614174002";
const T0: i64 = 1_700_000_000_000;

fn request(lag: Option<LagPolicy>, start_at: Option<i64>, action: TimeoutAction) -> NewSession {
    NewSession {
        session_id: SID.into(),
        sync_mode: SyncMode::PerParticipant,
        participants: [A, B]
            .iter()
            .enumerate()
            .map(|(i, id)| NewParticipant {
                participant_id: (*id).into(),
                participant_index: i as u32,
                total_time_ms: 10_000,
                group_id: None,
            })
            .collect(),
        total_time_ms: 20_000,
        time_per_cycle_ms: None,
        increment_ms: 0,
        max_time_ms: None,
        action_on_timeout: action,
        warning_thresholds_ms: vec![],
        lag_compensation: lag,
        start_at,
        pause_policy: Default::default(),
        zero_loss: None,
    }
}

const POLICY: LagPolicy = LagPolicy {
    max_per_move_ms: 300,
    budget_ms: 500,
};

fn running(lag: Option<LagPolicy>, action: TimeoutAction) -> Session {
    let s = create_session(request(lag, None, action), &"iad".into(), T0).unwrap();
    perform(&s, &Op::Start, T0).unwrap().session
}

fn switch() -> Op {
    Op::Switch {
        next: None,
        current: None,
    }
}

fn moved(at: i64) -> Transit {
    Transit::moved_at(at)
}

#[test]
fn a_switch_is_charged_up_to_the_move_and_the_credit_is_shown() {
    let s = running(Some(POLICY), TimeoutAction::Continue);
    // Moved at +2000, reached the home 120 ms later.
    let out = perform_with(&s, &switch(), T0 + 2_120, moved(T0 + 2_000)).unwrap();
    let a = &out.session.participants[0];
    assert_eq!(a.time_used_ms, 2_000);
    assert_eq!(a.total_time_ms, 8_000);
    assert_eq!(a.lag_credited_ms, 120);
    // The next turn starts when the move reached the home.
    assert_eq!(out.session.cycle_started_at, Some(T0 + 2_120));
    assert_eq!(
        out.events[0],
        Event::LagCredited {
            participant_id: A.into(),
            credit_ms: 120,
            lag_ms: 120,
        }
    );
    assert!(matches!(
        out.events[1],
        Event::Switched {
            elapsed_ms: 2_000,
            ..
        }
    ));
}

#[test]
fn credits_stop_at_the_per_move_cap_and_the_budget() {
    let mut s = running(Some(POLICY), TimeoutAction::Continue);
    let mut now = T0;
    let mut credits = Vec::new();
    for _ in 0..4 {
        // A's moves take 400 ms in transit; B answers at once, unmeasured.
        now += 1_400;
        s = perform_with(&s, &switch(), now, moved(now - 400))
            .unwrap()
            .session;
        credits.push(s.participants[0].lag_credited_ms);
        now += 1_000;
        s = perform(&s, &switch(), now).unwrap().session;
    }
    // 300 (cap), then 200 (budget 500 left), then nothing.
    assert_eq!(credits, vec![300, 500, 500, 500]);
    let a = &s.participants[0];
    assert_eq!(a.time_used_ms, 4 * 1_400 - 500);
    assert_eq!(
        a.time_used_ms + a.total_time_ms,
        10_000,
        "used + remaining = budget"
    );
    assert_eq!(s.participants[1].lag_credited_ms, 0);
}

#[test]
fn without_compensation_or_measurement_nothing_is_credited() {
    let s = running(None, TimeoutAction::Continue);
    let out = perform_with(&s, &switch(), T0 + 2_120, moved(T0 + 2_000)).unwrap();
    assert_eq!(out.session.participants[0].time_used_ms, 2_120);
    assert!(out
        .events
        .iter()
        .all(|e| !matches!(e, Event::LagCredited { .. })));
    let s = running(Some(POLICY), TimeoutAction::Continue);
    let out = perform_with(&s, &switch(), T0 + 2_120, Transit::default()).unwrap();
    assert_eq!(out.session.participants[0].time_used_ms, 2_120);
    // Other operations are not moves.
    let out = perform_with(&s, &Op::Pause, T0 + 2_120, moved(T0 + 2_000)).unwrap();
    assert_eq!(out.session.participants[0].time_used_ms, 2_120);
}

#[test]
fn never_more_than_the_turn_took() {
    let s = running(Some(POLICY), TimeoutAction::Continue);
    let out = perform_with(&s, &switch(), T0 + 100, moved(T0 - 500)).unwrap();
    let a = &out.session.participants[0];
    assert_eq!((a.time_used_ms, a.lag_credited_ms), (0, 100));
}

#[test]
fn the_scheduler_waits_the_grace_and_a_move_in_transit_beats_the_flag() {
    let s = running(Some(POLICY), TimeoutAction::End);
    // A's 10 s run out at T0+10000; the server acts 300 ms later (the most a move
    // still in transit could be credited).
    assert_eq!(next_deadline(&s), Some(T0 + 10_300));
    assert!(tick(&s, T0 + 10_299).is_none());
    // A moved at +9950; the move reached the home at +10200: in time.
    let out = perform_with(&s, &switch(), T0 + 10_200, moved(T0 + 9_950)).unwrap();
    assert_eq!(out.session.status, Status::Running);
    assert_eq!(out.session.active_participant_id.as_deref(), Some(B));
    assert_eq!(out.session.participants[0].total_time_ms, 50);
    // Without the move, the expiry applies at the deadline itself.
    let out = tick(&s, T0 + 10_300).unwrap();
    assert_eq!(out.session.status, Status::Expired);
    assert_eq!(out.session.session_completed_at, Some(T0 + 10_000));
    // A move made after the deadline is too late, credit or not.
    let out = perform_with(&s, &switch(), T0 + 10_250, moved(T0 + 10_100));
    assert!(out.is_err(), "{out:?}");
}

#[test]
fn a_scheduled_session_starts_at_its_instant_whoever_settles_it() {
    let at = T0 + 5_000;
    let s = create_session(
        request(None, Some(at), TimeoutAction::Continue),
        &"iad".into(),
        T0,
    )
    .unwrap();
    assert_eq!(s.status, Status::Pending);
    assert_eq!(next_deadline(&s), Some(at));
    assert!(tick(&s, at - 1).is_none());
    // The scheduler, 7 ms late: the clock started at the instant itself.
    let out = tick(&s, at + 7).unwrap();
    assert_eq!(out.session.status, Status::Running);
    assert_eq!(out.session.session_started_at, Some(at));
    assert_eq!(out.session.cycle_started_at, Some(at));
    assert_eq!(remaining_at(&out.session, 0, at + 7), 9_993);
    assert_eq!(
        out.events,
        vec![Event::Started {
            participant_id: A.into()
        }]
    );
    // A switch that arrives first settles the start, then applies.
    let out = perform(&s, &switch(), at + 1_500).unwrap();
    assert_eq!(out.session.participants[0].time_used_ms, 1_500);
    assert_eq!(out.session.active_participant_id.as_deref(), Some(B));
    // Before the instant, a switch is refused like any switch of a pending session.
    assert!(perform(&s, &switch(), at - 1).is_err());
    // An explicit start before the instant starts at once and drops the schedule.
    let out = perform(&s, &Op::Start, T0 + 1_000).unwrap();
    assert_eq!(out.session.session_started_at, Some(T0 + 1_000));
    assert_eq!(out.session.start_at, None);
    assert_eq!(next_deadline(&out.session), Some(T0 + 11_000));
}

#[test]
fn start_at_must_lie_ahead_of_the_homes_clock() {
    let err = |start_at| {
        create_session(
            request(None, Some(start_at), TimeoutAction::Continue),
            &"iad".into(),
            T0,
        )
        .unwrap_err()
        .to_string()
    };
    assert!(!err(T0).is_empty());
    assert!(!err(T0 + 8 * 86_400_000).is_empty());
    assert!(create_session(
        request(None, Some(T0 + 1), TimeoutAction::Continue),
        &"iad".into(),
        T0
    )
    .is_ok());
}
