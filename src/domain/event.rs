//! What a transition did, as facts: the input of WebSocket pushes (`TIME_EXPIRED`,
//! `TIME_WARNING`), audit events and metrics.
//!
//! Owns: the list of domain events. Must not: format them for any wire.

use serde::{Deserialize, Serialize};

use super::ids::{ParticipantId, RegionId};
use super::model::{Millis, TimeoutAction};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Created,
    Started {
        participant_id: ParticipantId,
    },
    Switched {
        from: Option<ParticipantId>,
        to: ParticipantId,
        /// Milliseconds this switch charged to the outgoing participant's budget (a
        /// budget that ran out before the switch was charged by its expiry).
        elapsed_ms: u64,
    },
    Paused {
        participant_id: Option<ParticipantId>,
        /// Milliseconds the pause charged to the active participant's budget.
        elapsed_ms: u64,
    },
    Resumed {
        participant_id: Option<ParticipantId>,
    },
    Completed,
    /// A participant's (or its group's) budget reached zero at `at`.
    ParticipantExpired {
        participant_id: ParticipantId,
        at: Millis,
        action: TimeoutAction,
    },
    /// The session moved to `expired` (action `end`, or `skip` with nobody left).
    SessionExpired {
        at: Millis,
    },
    /// The active participant's remaining time crossed `threshold_ms` at `at`.
    TimeWarning {
        participant_id: ParticipantId,
        threshold_ms: u64,
        at: Millis,
    },
    /// Lag compensation: a switch by `participant_id` reached the home `lag_ms` after
    /// the move (as measured); `credit_ms` of it was not charged (precedes `Switched`).
    LagCredited {
        participant_id: ParticipantId,
        credit_ms: u64,
        lag_ms: u64,
    },
    /// Ownership moved by plan (operator, drain, automatic re-homing): `to` commits
    /// the session's writes from ownership epoch `epoch` on.
    Rehomed {
        from: RegionId,
        to: RegionId,
        epoch: u32,
    },
    /// Ownership taken over by `to`, a successor of the lost home `from`.
    TakenOver {
        from: RegionId,
        to: RegionId,
        epoch: u32,
    },
    /// Recorded by an old home that gave a session up: the versions `from_version..=
    /// to_version` it had committed (and acknowledged) at its epoch were never seen by
    /// `by`, which took the session over at `epoch`; they are not merged.
    WritesSuperseded {
        from_version: u64,
        to_version: u64,
        by: RegionId,
        epoch: u32,
    },
}

impl Event {
    /// The audit name of the event (issue "lossless audit trail").
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Created => "session_created",
            Event::Started { .. } => "session_started",
            Event::Switched { .. } => "cycle_switched",
            Event::Paused { .. } => "session_paused",
            Event::Resumed { .. } => "session_resumed",
            Event::Completed => "session_completed",
            Event::ParticipantExpired { .. } => "participant_expired",
            Event::SessionExpired { .. } => "session_expired",
            Event::TimeWarning { .. } => "time_warning",
            Event::LagCredited { .. } => "lag_credited",
            Event::Rehomed { .. } => "session_rehomed",
            Event::TakenOver { .. } => "session_taken_over",
            Event::WritesSuperseded { .. } => "writes_superseded",
        }
    }
}
