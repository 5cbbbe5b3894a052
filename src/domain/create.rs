//! Building a new session from a validated request, and the rules a request must meet.
//!
//! Owns: the limits (as v2 had them) and the cross-field rules of each sync mode.
//! Must not: parse JSON; `crate::front::validate` turns bodies into `NewSession`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::actor::{Access, PausePolicy};
use super::error::{DomainError, FieldIssue};
use super::ids::{ParticipantId, RegionId, SessionId};
use super::model::{LagPolicy, Millis, Participant, Session, Status, SyncMode, TimeoutAction};

pub const MIN_BUDGET_MS: u64 = 1_000;
pub const MAX_BUDGET_MS: u64 = 86_400_000;
pub const MAX_INCREMENT_MS: u64 = 60_000;
pub const MAX_PARTICIPANTS: usize = 1_000;
pub const MAX_WARNING_THRESHOLDS: usize = 8;
/// Lag compensation defaults (`"lag_compensation": true`) and limits.
pub const DEFAULT_LAG_PER_MOVE_MS: u64 = 500;
pub const DEFAULT_LAG_BUDGET_MS: u64 = 10_000;
pub const MAX_LAG_PER_MOVE_MS: u64 = 5_000;
pub const MAX_LAG_BUDGET_MS: u64 = 600_000;
/// A scheduled start is at most this far ahead (7 days).
pub const MAX_START_AHEAD_MS: Millis = 7 * 86_400_000;
/// `participant_index` is stored as a PostgreSQL `integer` in the audit trail.
pub const MAX_PARTICIPANT_INDEX: u64 = i32::MAX as u64;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewParticipant {
    pub participant_id: ParticipantId,
    pub participant_index: u32,
    pub total_time_ms: u64,
    pub group_id: Option<String>,
}

/// A validated create request (also the typed call a region sends to the home).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSession {
    pub session_id: SessionId,
    pub sync_mode: SyncMode,
    pub participants: Vec<NewParticipant>,
    pub total_time_ms: u64,
    pub time_per_cycle_ms: Option<u64>,
    pub increment_ms: u64,
    pub max_time_ms: Option<u64>,
    pub action_on_timeout: TimeoutAction,
    pub warning_thresholds_ms: Vec<u64>,
    /// Opt-in lag compensation.
    #[serde(default)]
    pub lag_compensation: Option<LagPolicy>,
    /// Synchronized start: a future instant (the home's time) at which it starts.
    #[serde(default)]
    pub start_at: Option<Millis>,
    /// Who besides service tokens may pause and resume (extension).
    #[serde(default)]
    pub pause_policy: PausePolicy,
    /// Durability (issue 11): `Some(true)` zero-loss, `Some(false)` local, `None` the
    /// configured default (`owners.zero_loss`).
    #[serde(default)]
    pub zero_loss: Option<bool>,
}

impl LagPolicy {
    /// What `"lag_compensation": true` asks for.
    pub const DEFAULT: LagPolicy = LagPolicy {
        max_per_move_ms: DEFAULT_LAG_PER_MOVE_MS,
        budget_ms: DEFAULT_LAG_BUDGET_MS,
    };
}

fn cross_field_issues(req: &NewSession) -> Vec<FieldIssue> {
    let mut issues = Vec::new();
    if req.participants.is_empty() || req.participants.len() > MAX_PARTICIPANTS {
        issues.push(FieldIssue::new(
            "participants",
            if req.participants.is_empty() {
                "too_small"
            } else {
                "too_big"
            },
            format!("A session needs 1 to {MAX_PARTICIPANTS} participants"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, p) in req.participants.iter().enumerate() {
        if u64::from(p.participant_index) > MAX_PARTICIPANT_INDEX {
            issues.push(FieldIssue::new(
                format!("participants.{i}.participant_index"),
                "too_big",
                format!("participant_index must be at most {MAX_PARTICIPANT_INDEX}"),
            ));
        }
        if !seen.insert(p.participant_id.as_str()) {
            issues.push(FieldIssue::new(
                format!("participants.{i}.participant_id"),
                "custom",
                format!("Duplicate participant_id: {}", p.participant_id),
            ));
        }
    }
    issues
}

/// The budget each participant starts with, by mode. v2 accepted any combination of
/// these fields, so none of them is required: per_cycle without `time_per_cycle_ms`
/// gives each participant its own `total_time_ms` per turn, and a per_group group whose
/// members disagree shares the budget of its first member (array order).
fn initial_budget(req: &NewSession, p: &NewParticipant) -> u64 {
    match req.sync_mode {
        SyncMode::PerParticipant => p.total_time_ms,
        SyncMode::PerGroup => match &p.group_id {
            Some(g) => req
                .participants
                .iter()
                .find(|q| q.group_id.as_ref() == Some(g))
                .map_or(p.total_time_ms, |first| first.total_time_ms),
            None => p.total_time_ms,
        },
        SyncMode::PerCycle => req.time_per_cycle_ms.unwrap_or(p.total_time_ms),
        SyncMode::Global => req.total_time_ms,
        SyncMode::CountUp => req.max_time_ms.unwrap_or(p.total_time_ms),
    }
}

/// A scheduled start must lie ahead of the home's `now`, and not too far.
fn start_issues(req: &NewSession, now: Millis, issues: &mut Vec<FieldIssue>) {
    match req.start_at {
        Some(at) if at <= now => issues.push(FieldIssue::new(
            "start_at",
            "too_small",
            "start_at must be in the future (the home region's clock)",
        )),
        Some(at) if at - now > MAX_START_AHEAD_MS => issues.push(FieldIssue::new(
            "start_at",
            "too_big",
            "start_at must be at most 7 days ahead",
        )),
        _ => {}
    }
}

/// A new `pending` session at version 1, homed in `home_region`.
pub fn create_session(
    req: NewSession,
    home_region: &RegionId,
    now: Millis,
) -> Result<Session, DomainError> {
    let mut issues = cross_field_issues(&req);
    start_issues(&req, now, &mut issues);
    if !issues.is_empty() {
        return Err(DomainError::Invalid(issues));
    }
    let participants = req
        .participants
        .iter()
        .map(|p| {
            let budget = initial_budget(&req, p);
            Participant {
                participant_id: p.participant_id.clone(),
                participant_index: p.participant_index,
                total_time_ms: budget,
                time_used_ms: 0,
                time_remaining_ms: budget,
                cycle_count: 0,
                is_active: false,
                has_expired: false,
                group_id: p.group_id.clone(),
                budget_ms: budget,
                lag_credited_ms: 0,
            }
        })
        .collect();
    let mut thresholds = req.warning_thresholds_ms;
    thresholds.sort_unstable();
    thresholds.dedup();
    Ok(Session {
        session_id: req.session_id,
        sync_mode: req.sync_mode,
        status: Status::Pending,
        version: 1,
        participants,
        active_participant_id: None,
        total_time_ms: req.total_time_ms,
        time_per_cycle_ms: req.time_per_cycle_ms,
        cycle_started_at: None,
        session_started_at: None,
        session_completed_at: None,
        increment_ms: req.increment_ms,
        max_time_ms: req.max_time_ms,
        created_at: now,
        updated_at: now,
        action_on_timeout: req.action_on_timeout,
        warning_thresholds_ms: thresholds,
        home_region: home_region.clone(),
        epoch: 0,
        zero_loss: req.zero_loss.unwrap_or(false),
        epoch_since: 0,
        warned_through: None,
        client_version: 1,
        lag_compensation: req.lag_compensation,
        start_at: req.start_at,
        access: Access {
            tenant: None,
            pause_policy: req.pause_policy,
        },
    })
}
