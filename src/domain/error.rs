//! Domain errors: why a transition or a create was refused.
//!
//! Owns: the refusal vocabulary and its messages (kept word for word from v2 where
//! clients may match on them). Must not: know HTTP status codes; `crate::error` maps.

use serde::Serialize;
use thiserror::Error;

use super::actor::Denied;
use super::ids::{ParticipantId, SessionId};
use super::model::Status;

/// One validation problem, shaped like v2's zod issue (`field`, `message`, `code`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldIssue {
    pub field: String,
    pub message: String,
    pub code: &'static str,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldIssue {
            field: field.into(),
            message: message.into(),
            code,
        }
    }
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("Request validation failed")]
    Invalid(Vec<FieldIssue>),
    #[error("Session {session_id} cannot be started (current status: {})", status.as_str())]
    CannotStart {
        session_id: SessionId,
        status: Status,
    },
    #[error("Session {session_id} not running (current status: {})", status.as_str())]
    NotRunning {
        session_id: SessionId,
        status: Status,
    },
    #[error("Session {session_id} cannot be paused (current status: {})", status.as_str())]
    CannotPause {
        session_id: SessionId,
        status: Status,
    },
    #[error("Session {session_id} cannot be resumed (current status: {})", status.as_str())]
    CannotResume {
        session_id: SessionId,
        status: Status,
    },
    #[error("Participant {0} not found in session")]
    UnknownParticipant(ParticipantId),
    /// The client said who it believes is active (`current_participant_id`) and it is not.
    #[error("Participant {expected} is not the active participant (active: {})", actual.as_deref().unwrap_or("none"))]
    NotActive {
        expected: ParticipantId,
        actual: Option<ParticipantId>,
    },
    /// The request's token does not allow this (403).
    #[error("{0}")]
    Forbidden(Denied),
}
