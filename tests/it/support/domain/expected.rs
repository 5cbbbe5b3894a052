//! Helpers shared by the property checks: what the domain must answer (initial budgets,
//! which budget each participant draws from, refusals and their v2 messages, what a v2
//! client computes), written independently of `src/domain/`.

use std::collections::HashMap;

use synckairos::domain::*;

pub const REGION: &str = "eu-west";

pub fn create(req: &NewSession, now: Millis) -> Session {
    create_session(req.clone(), &REGION.into(), now).expect("generated requests are valid")
}

/// The budget a participant starts with, by the rules of the brief (independent of
/// `create.rs`).
pub fn expected_initial(req: &NewSession, p: &NewParticipant) -> u64 {
    match req.sync_mode {
        SyncMode::PerParticipant | SyncMode::PerGroup => p.total_time_ms,
        SyncMode::PerCycle => req.time_per_cycle_ms.unwrap(),
        SyncMode::Global => req.total_time_ms,
        SyncMode::CountUp => req.max_time_ms.unwrap_or(p.total_time_ms),
    }
}

/// Which budget each participant draws from: indices into a list of budgets.
pub fn budget_keys(req: &NewSession) -> Vec<usize> {
    let mut by_group: HashMap<&str, usize> = HashMap::new();
    let mut next = 0;
    req.participants
        .iter()
        .enumerate()
        .map(|(i, p)| match (req.sync_mode, p.group_id.as_deref()) {
            (SyncMode::Global, _) => 0,
            (SyncMode::PerGroup, Some(g)) => *by_group.entry(g).or_insert_with(|| {
                next += 1;
                next - 1
            }),
            (SyncMode::PerGroup, None) => {
                next += 1;
                next - 1
            }
            _ => i,
        })
        .collect()
}

/// What a refused op must return, given the session settled to `now`.
pub fn expected_refusal(settled: &Session, op: &Op) -> Option<DomainError> {
    let sid = settled.session_id.clone();
    let status = settled.status;
    match op {
        Op::Start if status != Status::Pending => Some(DomainError::CannotStart {
            session_id: sid,
            status,
        }),
        Op::Switch { .. } if status != Status::Running => Some(DomainError::NotRunning {
            session_id: sid,
            status,
        }),
        Op::Switch {
            current: Some(c), ..
        } if settled.active_participant_id.as_deref() != Some(c.as_str()) => {
            Some(DomainError::NotActive {
                expected: c.clone(),
                actual: settled.active_participant_id.clone(),
            })
        }
        Op::Switch { next: Some(id), .. } if settled.index_of(id).is_none() => {
            Some(DomainError::UnknownParticipant(id.clone()))
        }
        Op::Pause if status != Status::Running => Some(DomainError::CannotPause {
            session_id: sid,
            status,
        }),
        Op::Resume if status != Status::Paused => Some(DomainError::CannotResume {
            session_id: sid,
            status,
        }),
        _ => None,
    }
}

/// The message text clients see, written out independently of `error.rs`.
pub fn expected_message(e: &DomainError) -> String {
    match e {
        DomainError::Invalid(_) => "Request validation failed".to_owned(),
        DomainError::CannotStart { session_id, status } => format!(
            "Session {session_id} cannot be started (current status: {})",
            status.as_str()
        ),
        DomainError::NotRunning { session_id, status } => format!(
            "Session {session_id} not running (current status: {})",
            status.as_str()
        ),
        DomainError::CannotPause { session_id, status } => format!(
            "Session {session_id} cannot be paused (current status: {})",
            status.as_str()
        ),
        DomainError::CannotResume { session_id, status } => format!(
            "Session {session_id} cannot be resumed (current status: {})",
            status.as_str()
        ),
        DomainError::UnknownParticipant(id) => format!("Participant {id} not found in session"),
        DomainError::NotActive { expected, actual } => format!(
            "Participant {expected} is not the active participant (active: {})",
            actual.as_deref().unwrap_or("none")
        ),
        // Access rules are not part of the v2 model (the domain tests act as nobody).
        DomainError::Forbidden(d) => d.to_string(),
    }
}

/// What a v2 client computes for the live remaining time of participant `i`.
/// The v2 client formula, applied to the active participant and to everyone sharing
/// its budget (a team in per_group, everyone in global): their clock is running too.
pub fn client_remaining(s: &Session, i: usize, now: Millis) -> u64 {
    let p = &s.participants[i];
    let shares_running = s.active_index().is_some_and(|a| {
        a == i
            || match s.sync_mode {
                SyncMode::Global => true,
                SyncMode::PerGroup => {
                    p.group_id.is_some() && p.group_id == s.participants[a].group_id
                }
                _ => false,
            }
    });
    match (s.status, s.cycle_started_at) {
        (Status::Running, Some(started)) if shares_running => {
            let live = p.total_time_ms as i128 - (now as i128 - started as i128);
            live.max(0) as u64
        }
        _ => p.total_time_ms,
    }
}

pub fn deadline_event_at(e: &Event) -> Option<Millis> {
    match e {
        Event::TimeWarning { at, .. }
        | Event::ParticipantExpired { at, .. }
        | Event::SessionExpired { at } => Some(*at),
        _ => None,
    }
}

/// Fields that legitimately differ between runs with different tick schedules.
pub fn normalized(s: &Session) -> Session {
    let mut s = s.clone();
    s.version = 0;
    s.client_version = 0;
    s.updated_at = 0;
    s
}
