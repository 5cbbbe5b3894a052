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
//! Owns: the authorization rules (the vocabulary is `actor`). Must not: read tokens
//! (the `auth` module verifies them and builds the `Actor`), do IO or read the clock.

use super::actor::{Access, Actor, Denied, PausePolicy, Role};
use super::model::{Millis, Session};
use super::transition::{tick, Op};

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

/// Operating the cluster (moving a session's home, draining a region, its status):
/// a service token limited to no tenant and no session (an operator's).
pub fn may_operate(actor: Option<&Actor>) -> Rule {
    let Some(a) = actor else { return Ok(()) };
    role(a, &[Role::Service], "operate the cluster")?;
    if a.session.is_some() {
        return Err(Denied::OtherSession);
    }
    if a.tenant.is_some() {
        return Err(Denied::OtherTenant);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, tenant: Option<&str>, session: Option<&str>) -> Actor {
        Actor {
            subject: "ops".into(),
            role,
            tenant: tenant.map(Into::into),
            session: session.map(Into::into),
            participant: None,
        }
    }

    #[test]
    fn only_an_unscoped_service_token_operates_the_cluster() {
        assert!(may_operate(None).is_ok());
        assert!(may_operate(Some(&actor(Role::Service, None, None))).is_ok());
        assert!(may_operate(Some(&actor(Role::Service, Some("t"), None))).is_err());
        assert!(may_operate(Some(&actor(Role::Service, None, Some("s")))).is_err());
        assert!(may_operate(Some(&actor(Role::Watcher, None, None))).is_err());
    }
}
