//! Builders for the unit tests' hand-computed timelines: requests (every session is
//! created at 0 in eu-west), ops, and a compact view of each participant's clock.

use synckairos::domain::*;

use super::{pid, SID};

pub const G1: &str = "a23e4567-e89b-12d3-a456-426614175001";
pub const G2: &str = "a23e4567-e89b-12d3-a456-426614175002";

pub fn participant(i: usize, budget: u64, group: Option<&str>) -> NewParticipant {
    NewParticipant {
        participant_id: pid(i),
        participant_index: i as u32,
        total_time_ms: budget,
        group_id: group.map(str::to_owned),
    }
}

pub fn request(mode: SyncMode, action: TimeoutAction, budgets: &[u64]) -> NewSession {
    NewSession {
        session_id: SID.into(),
        sync_mode: mode,
        participants: budgets
            .iter()
            .enumerate()
            .map(|(i, &b)| participant(i, b, None))
            .collect(),
        total_time_ms: 60_000,
        time_per_cycle_ms: (mode == SyncMode::PerCycle).then_some(10_000),
        increment_ms: 0,
        max_time_ms: None,
        action_on_timeout: action,
        warning_thresholds_ms: vec![],
        lag_compensation: None,
        start_at: None,
        pause_policy: Default::default(),
        zero_loss: None,
    }
}

pub fn create(req: NewSession) -> Session {
    create_session(req, &"eu-west".into(), 0).expect("valid request")
}

pub fn started(req: NewSession) -> Session {
    perform(&create(req), &Op::Start, 0).unwrap().session
}

pub fn ok(s: &Session, op: Op, now: Millis) -> Outcome {
    perform(s, &op, now).unwrap_or_else(|e| panic!("{op:?} at {now}: {e}"))
}

pub fn switch() -> Op {
    Op::Switch {
        next: None,
        current: None,
    }
}

pub fn switch_to(i: usize) -> Op {
    Op::Switch {
        next: Some(pid(i)),
        current: None,
    }
}

/// (total_time_ms, time_used_ms, cycle_count, has_expired, is_active) of each participant.
pub fn clocks(s: &Session) -> Vec<(u64, u64, u64, bool, bool)> {
    s.participants
        .iter()
        .map(|p| {
            assert_eq!(p.time_remaining_ms, p.total_time_ms);
            (
                p.total_time_ms,
                p.time_used_ms,
                p.cycle_count,
                p.has_expired,
                p.is_active,
            )
        })
        .collect()
}

pub fn invalid_fields(r: Result<Session, DomainError>) -> Vec<(String, &'static str, String)> {
    match r {
        Err(DomainError::Invalid(issues)) => issues
            .into_iter()
            .map(|i| (i.field, i.code, i.message))
            .collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}
