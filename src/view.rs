//! The JSON clients see: `SyncState` and the switch result exactly as CONTRACT.md
//! §1.2/§2.3.4 shapes them (ISO timestamps ending in `Z`, `max_time_ms`/`group_id`/
//! `expired_participant_id` absent rather than null), plus this project's extension
//! fields, which old clients ignore.
//!
//! Owns: the wire shape of a session. Must not: change a session.

use serde::{Serialize, Serializer};

use crate::domain::iso::write_iso;
use crate::domain::{LagPolicy, Millis, Participant, PausePolicy, Session};

/// An instant rendered as ISO 8601 text.
#[derive(Clone, Copy)]
pub struct Iso(pub Millis);

impl Serialize for Iso {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = String::with_capacity(24);
        write_iso(&mut buf, self.0);
        s.serialize_str(&buf)
    }
}

#[derive(Serialize)]
pub struct ParticipantView<'a> {
    participant_id: &'a str,
    participant_index: u32,
    total_time_ms: u64,
    time_used_ms: u64,
    time_remaining_ms: u64,
    cycle_count: u64,
    is_active: bool,
    has_expired: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<&'a str>,
    /// Lag-compensated sessions only: transit time credited back so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    lag_credited_ms: Option<u64>,
}

impl<'a> ParticipantView<'a> {
    fn of(p: &'a Participant, s: &Session) -> Self {
        ParticipantView {
            lag_credited_ms: s.lag_compensation.map(|_| p.lag_credited_ms),
            ..ParticipantView::from(p)
        }
    }
}

impl<'a> From<&'a Participant> for ParticipantView<'a> {
    fn from(p: &'a Participant) -> Self {
        ParticipantView {
            participant_id: &p.participant_id,
            participant_index: p.participant_index,
            total_time_ms: p.total_time_ms,
            time_used_ms: p.time_used_ms,
            time_remaining_ms: p.time_remaining_ms,
            cycle_count: p.cycle_count,
            is_active: p.is_active,
            has_expired: p.has_expired,
            group_id: p.group_id.as_deref(),
            lag_credited_ms: None,
        }
    }
}

fn participants(s: &Session) -> Vec<ParticipantView<'_>> {
    s.participants
        .iter()
        .map(|p| ParticipantView::of(p, s))
        .collect()
}

/// `lag_compensation` as clients see it.
#[derive(Serialize)]
pub struct LagView {
    max_per_move_ms: u64,
    budget_ms: u64,
}

impl From<LagPolicy> for LagView {
    fn from(p: LagPolicy) -> Self {
        LagView {
            max_per_move_ms: p.max_per_move_ms,
            budget_ms: p.budget_ms,
        }
    }
}

/// `SyncState` (keys in the order v2 wrote them, then the extensions).
#[derive(Serialize)]
pub struct SessionView<'a> {
    session_id: &'a str,
    sync_mode: &'static str,
    status: &'static str,
    version: u64,
    participants: Vec<ParticipantView<'a>>,
    active_participant_id: Option<&'a str>,
    total_time_ms: u64,
    time_per_cycle_ms: Option<u64>,
    cycle_started_at: Option<Iso>,
    session_started_at: Option<Iso>,
    session_completed_at: Option<Iso>,
    increment_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_time_ms: Option<u64>,
    created_at: Iso,
    updated_at: Iso,
    action_on_timeout: &'static str,
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    warning_thresholds_ms: &'a [u64],
    home_region: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lag_compensation: Option<LagView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_at: Option<Iso>,
    /// Who besides service tokens may pause/resume (shown when not the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pause_policy: Option<&'static str>,
    /// The tenant of the service token that created it (auth on).
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
}

impl<'a> From<&'a Session> for SessionView<'a> {
    fn from(s: &'a Session) -> Self {
        SessionView {
            session_id: &s.session_id,
            sync_mode: s.sync_mode.as_str(),
            status: s.status.as_str(),
            version: s.version,
            participants: participants(s),
            active_participant_id: s.active_participant_id.as_deref(),
            total_time_ms: s.total_time_ms,
            time_per_cycle_ms: s.time_per_cycle_ms,
            cycle_started_at: s.cycle_started_at.map(Iso),
            session_started_at: s.session_started_at.map(Iso),
            session_completed_at: s.session_completed_at.map(Iso),
            increment_ms: s.increment_ms,
            max_time_ms: s.max_time_ms,
            created_at: Iso(s.created_at),
            updated_at: Iso(s.updated_at),
            action_on_timeout: s.action_on_timeout.as_str(),
            warning_thresholds_ms: &s.warning_thresholds_ms,
            home_region: &s.home_region,
            lag_compensation: s.lag_compensation.map(LagView::from),
            start_at: s.start_at.map(Iso),
            pause_policy: (s.access.pause_policy != PausePolicy::default())
                .then(|| s.access.pause_policy.as_str()),
            tenant: s.access.tenant.as_deref(),
        }
    }
}

/// The switch response (`SwitchCycleResponse`), plus the stored `version`.
#[derive(Serialize)]
pub struct SwitchView<'a> {
    session_id: &'a str,
    active_participant_id: &'a str,
    cycle_started_at: Option<Iso>,
    participants: Vec<ParticipantView<'a>>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expired_participant_id: Option<&'a str>,
    version: u64,
}

impl<'a> SwitchView<'a> {
    pub fn new(s: &'a Session, expired_participant_id: Option<&'a str>) -> Self {
        SwitchView {
            session_id: &s.session_id,
            active_participant_id: s.active_participant_id.as_deref().unwrap_or_default(),
            cycle_started_at: s.cycle_started_at.map(Iso),
            participants: participants(s),
            status: s.status.as_str(),
            expired_participant_id,
            version: s.version,
        }
    }
}
