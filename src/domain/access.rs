//! Who may do what to a session, as pure rules: the roles a signed token grants
//! (`service`, `participant`, `watcher`), the scope it is limited to (one session, one
//! tenant) and a session's pause policy. `None` for the actor means the open mode
//! (`auth.mode = "off"`): everything is allowed, as in v2.
//!
//! The rules that depend on a session's state (whose turn it is, the session's tenant,
//! its pause policy) are evaluated by the home on the very state its compare-and-set
//! commits against (`may_perform`, inside the service's write loop), after settling
//! the deadlines due at `now`: a participant can never pass a turn that stopped being
//! theirs a moment ago. The stateless part (`may_attempt`) runs at the edge first so
//! that a watcher's write is refused without any IO.
//!
//! Owns: the authorization vocabulary and rules. Must not: read tokens (the `auth`
//! module verifies them and builds the `Actor`), do IO or read the clock.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ids::{ParticipantId, SessionId, Subject, TenantId};
use super::model::{Millis, Session};
use super::transition::{tick, Op};

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

type Rule = Result<(), Denied>;

fn role(actor: &Actor, allowed: &[Role], action: &'static str) -> Rule {
    if allowed.contains(&actor.role) {
        Ok(())
    } else {
        Err(Denied::Role {
            role: actor.role,
            action,
        })
    }
}

fn session_scope(actor: &Actor, session_id: &str) -> Rule {
    match &actor.session {
        Some(sid) if sid != session_id => Err(Denied::OtherSession),
        _ => Ok(()),
    }
}

fn scope(actor: &Actor, s: &Session) -> Rule {
    session_scope(actor, &s.session_id)?;
    match &actor.tenant {
        Some(t) if s.access.tenant.as_ref() != Some(t) => Err(Denied::OtherTenant),
        _ => Ok(()),
    }
}

/// Creating `session_id`: service tokens only (one limited to a session creates only it).
pub fn may_create(actor: Option<&Actor>, session_id: &str) -> Rule {
    let Some(a) = actor else { return Ok(()) };
    role(a, &[Role::Service], "create sessions")?;
    session_scope(a, session_id)
}

/// The access a session created by `actor` gets.
pub fn access_for(actor: Option<&Actor>, pause_policy: PausePolicy) -> Access {
    Access {
        tenant: actor.and_then(|a| a.tenant.clone()),
        pause_policy,
    }
}

/// Subscribing to or reading `session_id`, before its state is known (any role).
pub fn may_watch(actor: Option<&Actor>, session_id: &str) -> Rule {
    actor.map_or(Ok(()), |a| session_scope(a, session_id))
}

/// Reading a session's state (any role in scope).
pub fn may_read(actor: Option<&Actor>, s: &Session) -> Rule {
    actor.map_or(Ok(()), |a| scope(a, s))
}

/// Deleting a session: service tokens in scope. `s` is the current state when the
/// token is limited to a tenant (`needs_state_to_delete`), else `None`.
pub fn may_delete(actor: Option<&Actor>, session_id: &str, s: Option<&Session>) -> Rule {
    let Some(a) = actor else { return Ok(()) };
    role(a, &[Role::Service], "delete sessions")?;
    session_scope(a, session_id)?;
    match s {
        Some(s) => scope(a, s),
        None => Ok(()),
    }
}

/// Whether `may_delete` needs the session's state (a tenant-limited token).
pub fn needs_state_to_delete(actor: Option<&Actor>) -> bool {
    actor.is_some_and(|a| a.tenant.is_some())
}

/// The stateless part of `may_perform`, checked at the edge before anything is read.
pub fn may_attempt(actor: Option<&Actor>, session_id: &str, op: &Op) -> Rule {
    let Some(a) = actor else { return Ok(()) };
    session_scope(a, session_id)?;
    match (a.role, op) {
        (Role::Service, _) => Ok(()),
        (Role::Participant, Op::Switch { current, .. }) => match (current, &a.participant) {
            // A participant may only ever name itself as the one whose turn it ends.
            (Some(c), Some(me)) if c != me => Err(Denied::NotYourTurn {
                participant: me.clone(),
                active: Some(c.clone()),
            }),
            _ => Ok(()),
        },
        (Role::Participant, Op::Pause | Op::Resume) => Ok(()),
        (r, op) => Err(Denied::Role {
            role: r,
            action: action_name(op),
        }),
    }
}

fn action_name(op: &Op) -> &'static str {
    match op {
        Op::Start => "start sessions",
        Op::Switch { .. } => "switch",
        Op::Pause => "pause",
        Op::Resume => "resume",
        Op::Complete => "complete sessions",
    }
}

/// Performing `op` on `s` at `now`, judged on the state as it is once the deadlines due
/// by `now` are applied (what the operation itself will start from). Called by the
/// home inside its compare-and-set loop, so the verdict holds for the committed state.
pub fn may_perform(actor: Option<&Actor>, s: &Session, op: &Op, now: Millis) -> Rule {
    let Some(a) = actor else { return Ok(()) };
    may_attempt(Some(a), &s.session_id, op)?;
    scope(a, s)?;
    if a.role != Role::Participant {
        return Ok(());
    }
    let me = a.participant.as_ref().ok_or(Denied::NotAParticipant)?;
    if s.index_of(me).is_none() {
        return Err(Denied::NotAParticipant);
    }
    let settled = tick(s, now).map(|o| o.session);
    let s = settled.as_ref().unwrap_or(s);
    let is_active = s.active_participant_id.as_ref() == Some(me);
    match op {
        Op::Switch { .. } if is_active => Ok(()),
        Op::Switch { .. } => Err(Denied::NotYourTurn {
            participant: me.clone(),
            active: s.active_participant_id.clone(),
        }),
        Op::Pause | Op::Resume => match s.access.pause_policy {
            PausePolicy::AnyParticipant => Ok(()),
            PausePolicy::ActiveParticipant if is_active => Ok(()),
            policy => Err(Denied::PausePolicy { policy }),
        },
        // `may_attempt` refused these already.
        _ => Err(Denied::Role {
            role: a.role,
            action: action_name(op),
        }),
    }
}
