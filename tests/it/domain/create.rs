//! Focused unit tests for the pure domain core (`synckairos::domain`), public API only:
//! create rules (validation issues, initial budgets per mode, thresholds).
//!
//! Builders are in `support/domain/timeline.rs`. The random-sequence properties
//! are in `domain/props_*.rs`.

use crate::support::domain::timeline::*;
use crate::support::domain::*;
use synckairos::domain::*;

#[test]
fn create_builds_a_pending_session_at_version_1() {
    let mut req = request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[300_000, 120_000],
    );
    req.increment_ms = 2_000;
    req.max_time_ms = Some(900_000);
    let s = create_session(req, &"us-east".into(), 1_730_196_000_123).unwrap();
    assert_eq!(s.session_id, SID);
    assert_eq!(s.status, Status::Pending);
    assert_eq!((s.version, s.client_version), (1, 1));
    assert_eq!(
        (s.created_at, s.updated_at),
        (1_730_196_000_123, 1_730_196_000_123)
    );
    assert_eq!(s.home_region, "us-east");
    assert_eq!(s.increment_ms, 2_000);
    assert_eq!(s.max_time_ms, Some(900_000));
    assert_eq!(s.active_participant_id, None);
    assert_eq!(
        (
            s.cycle_started_at,
            s.session_started_at,
            s.session_completed_at
        ),
        (None, None, None)
    );
    assert_eq!(s.warned_through, None);
    assert_eq!(
        clocks(&s),
        vec![(300_000, 0, 0, false, false), (120_000, 0, 0, false, false)]
    );
    assert_eq!(next_deadline(&s), None);
    assert!(tick(&s, 10_000_000_000_000).is_none());
}

#[test]
fn create_rejects_duplicate_participant_ids() {
    let mut req = request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[1_000, 2_000, 3_000, 4_000],
    );
    req.participants[2].participant_id = pid(0);
    req.participants[3].participant_id = pid(0);
    let err = create_session(req.clone(), &"eu-west".into(), 0).unwrap_err();
    assert_eq!(err.to_string(), "Request validation failed");
    let msg = format!("Duplicate participant_id: {}", pid(0));
    assert_eq!(
        invalid_fields(Err(err)),
        vec![
            (
                "participants.2.participant_id".to_owned(),
                "custom",
                msg.clone()
            ),
            ("participants.3.participant_id".to_owned(), "custom", msg),
        ]
    );
    // Ids are case-sensitive: upper case is a different participant.
    req.participants[2].participant_id = pid(0).to_uppercase().into();
    req.participants[3].participant_id = pid(3);
    assert!(create_session(req, &"eu-west".into(), 0).is_ok());
}

#[test]
fn per_cycle_without_time_per_cycle_gives_each_participant_its_own_budget_per_turn() {
    // v2 accepted per_cycle without time_per_cycle_ms; each turn then starts from the
    // participant's own total_time_ms.
    let mut req = request(SyncMode::PerCycle, TimeoutAction::Continue, &[5_000, 8_000]);
    req.time_per_cycle_ms = None;
    let s = started(req);
    assert_eq!(s.participants[0].total_time_ms, 5_000);
    let a = ok(&s, switch(), 1_000).session;
    assert_eq!(a.participants[1].total_time_ms, 8_000);
    let b = ok(&a, switch(), 3_000).session;
    // Participant 0's next turn starts fresh from its own 5000, not the 4000 left.
    assert_eq!(b.participants[0].total_time_ms, 5_000);
    assert_eq!(b.time_per_cycle_ms, None);
}

#[test]
fn a_per_group_group_shares_its_first_members_budget() {
    let mut req = request(SyncMode::PerGroup, TimeoutAction::Continue, &[]);
    req.participants = vec![
        participant(0, 60_000, Some(G1)),
        participant(1, 60_000, Some(G2)),
        participant(2, 30_000, Some(G1)),
        participant(3, 45_000, None),
        participant(4, 60_000, Some(G1)),
        participant(5, 10_000, None),
    ];
    // v2 accepted members that disagree; the group's budget is its first member's.
    let s = create_session(req, &"eu-west".into(), 0).unwrap();
    let budgets: Vec<u64> = s.participants.iter().map(|p| p.total_time_ms).collect();
    assert_eq!(
        budgets,
        vec![60_000, 60_000, 60_000, 45_000, 60_000, 10_000]
    );
}

#[test]
fn create_reports_every_issue_at_once() {
    let mut req = request(
        SyncMode::PerCycle,
        TimeoutAction::Skip,
        &[1_000, 1_000, 1_000],
    );
    req.participants[1].participant_id = pid(0);
    req.participants[2].participant_id = pid(0);
    let fields: Vec<String> = invalid_fields(create_session(req, &"eu-west".into(), 0))
        .into_iter()
        .map(|(f, _, _)| f)
        .collect();
    assert_eq!(
        fields,
        vec![
            "participants.1.participant_id",
            "participants.2.participant_id"
        ]
    );
}

#[test]
fn create_sets_the_initial_budget_of_each_mode() {
    let budgets = [30_000, 45_000, 50_000];
    let initial = |req: NewSession| -> Vec<u64> {
        create(req)
            .participants
            .iter()
            .map(|p| {
                assert_eq!(p.time_remaining_ms, p.total_time_ms);
                p.total_time_ms
            })
            .collect()
    };
    let base = |mode| request(mode, TimeoutAction::Continue, &budgets);
    assert_eq!(
        initial(base(SyncMode::PerParticipant)),
        vec![30_000, 45_000, 50_000]
    );
    // global: the session's total_time_ms, whatever the participants say.
    let mut global = base(SyncMode::Global);
    global.total_time_ms = 600_000;
    assert_eq!(initial(global), vec![600_000; 3]);
    // per_cycle: every participant starts with one allotment.
    let mut cycle = base(SyncMode::PerCycle);
    cycle.time_per_cycle_ms = Some(7_000);
    assert_eq!(initial(cycle), vec![7_000; 3]);
    // count_up: max_time_ms caps everyone; absent, each participant's own total.
    let mut count_up = base(SyncMode::CountUp);
    assert_eq!(initial(count_up.clone()), vec![30_000, 45_000, 50_000]);
    count_up.max_time_ms = Some(90_000);
    assert_eq!(initial(count_up), vec![90_000; 3]);
    // per_group: each member shows the group's budget.
    let mut group = base(SyncMode::PerGroup);
    group.participants[0].group_id = Some(G1.to_owned());
    group.participants[2].group_id = Some(G1.to_owned());
    group.participants[2].total_time_ms = 30_000;
    assert_eq!(initial(group), vec![30_000, 45_000, 30_000]);
}

#[test]
fn create_sorts_and_dedups_warning_thresholds() {
    let mut req = request(SyncMode::PerParticipant, TimeoutAction::Continue, &[60_000]);
    req.warning_thresholds_ms = vec![30_000, 5_000, 30_000, 0, 10_000, 5_000];
    assert_eq!(
        create(req).warning_thresholds_ms,
        vec![0, 5_000, 10_000, 30_000]
    );
}
