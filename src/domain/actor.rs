//! Who acts and what a session allows, as values: the roles a signed token grants,
//! the identity (`Actor`) a request acts with (forwarded writes carry it to the home,
//! the audit trail records it), a session's access settings (tenant, pause policy), and
//! why an action is refused (`Denied`). The rules themselves are `access`.
//!
//! Must not: depend on the session model or transitions (they depend on this).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ids::{ParticipantId, SessionId, Subject, TenantId};

/// What a token lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A game backend: create, delete, every operation, every session in its scope.
    Service,
    /// A player: read and subscribe to its session; switch while it is the active
    /// participant; pause/resume as the session's pause policy says.
    Participant,
    /// A spectator: read and subscribe.
    Watcher,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Service => "service",
            Role::Participant => "participant",
            Role::Watcher => "watcher",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Service, Role::Participant, Role::Watcher]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// The identity a request acts with (from a verified token). Forwarded writes carry it
/// to the home region unchanged; the audit trail records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub subject: Subject,
    pub role: Role,
    /// Only sessions of this tenant (a session gets its creator's tenant).
    pub tenant: Option<TenantId>,
    /// Only this session (always set for a participant).
    pub session: Option<SessionId>,
    /// The participant a participant token plays.
    pub participant: Option<ParticipantId>,
}

impl Actor {
    /// `role:subject`, as the audit trail records it.
    pub fn label(&self) -> String {
        format!("{}:{}", self.role.as_str(), self.subject)
    }
}

/// Who may pause and resume a session besides service tokens (create body
/// `pause_policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PausePolicy {
    /// Only service tokens (the default: pausing stops the pauser's own clock).
    #[default]
    Service,
    /// Also the participant whose clock is running (or stopped, when paused).
    ActiveParticipant,
    /// Also any participant of the session.
    AnyParticipant,
}

impl PausePolicy {
    const ALL: [PausePolicy; 3] = [
        PausePolicy::Service,
        PausePolicy::ActiveParticipant,
        PausePolicy::AnyParticipant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PausePolicy::Service => "service",
            PausePolicy::ActiveParticipant => "active_participant",
            PausePolicy::AnyParticipant => "any_participant",
        }
    }

    pub fn parse(s: &str) -> Option<PausePolicy> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Stored as its position (one byte), like the model's other enumerations.
impl Serialize for PausePolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = Self::ALL.iter().position(|p| p == self).unwrap_or(0);
        s.serialize_u8(i as u8)
    }
}

impl<'de> Deserialize<'de> for PausePolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let i = u8::deserialize(d)? as usize;
        Self::ALL
            .get(i)
            .copied()
            .ok_or_else(|| serde::de::Error::custom(format!("unknown pause policy {i}")))
    }
}

/// A session's access settings, fixed at create.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The tenant of the service token that created it.
    pub tenant: Option<TenantId>,
    pub pause_policy: PausePolicy,
}

impl Access {
    /// Open-mode sessions store nothing (the state stays as small as before).
    pub fn is_default(&self) -> bool {
        *self == Access::default()
    }
}

/// Why an actor may not do something (403).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The role never allows this action.
    Role { role: Role, action: &'static str },
    /// The token is limited to another session.
    OtherSession,
    /// The token is limited to another tenant.
    OtherTenant,
    /// The participant token names someone who is not in the session.
    NotAParticipant,
    /// A participant may switch only while it is the active participant.
    NotYourTurn {
        participant: ParticipantId,
        active: Option<ParticipantId>,
    },
    /// The session's pause policy does not let this participant pause or resume.
    PausePolicy { policy: PausePolicy },
}

impl Denied {
    /// A stable machine-readable reason (`details.reason` of the 403).
    pub fn reason(&self) -> &'static str {
        match self {
            Denied::Role { .. } => "role",
            Denied::OtherSession => "other_session",
            Denied::OtherTenant => "other_tenant",
            Denied::NotAParticipant => "not_a_participant",
            Denied::NotYourTurn { .. } => "not_your_turn",
            Denied::PausePolicy { .. } => "pause_policy",
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::Role { role, action } => {
                write!(f, "A {} token may not {action}", role.as_str())
            }
            Denied::OtherSession => f.write_str("This token is limited to another session"),
            Denied::OtherTenant => f.write_str("This session belongs to another tenant"),
            Denied::NotAParticipant => {
                f.write_str("The token's participant is not in this session")
            }
            Denied::NotYourTurn { participant, .. } => write!(
                f,
                "Participant {participant} may switch only while it is the active participant"
            ),
            Denied::PausePolicy { policy } => write!(
                f,
                "This session's pause policy ({}) does not allow this participant to pause or resume",
                policy.as_str()
            ),
        }
    }
}
