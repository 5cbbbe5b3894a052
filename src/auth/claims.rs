//! The token payload (JWT claims) and how it becomes an `Actor`: `sub` (who),
//! `role` (`service`, `participant`, `watcher`), optional `tenant` and `sid` (the
//! scope), `pid` (the participant a participant token plays), `exp` (required), and
//! the optional registered claims `iat`, `nbf`, `iss`, `aud`.
//!
//! Must not: verify signatures or times (`keys` does, with jsonwebtoken).

use serde::{Deserialize, Serialize};

use super::error::AuthError;
use crate::domain::uuid::is_loose_uuid;
use crate::domain::{Actor, Role};

/// Longest `sub` and `tenant` accepted (they are recorded in the audit trail).
const MAX_NAME: usize = 128;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

fn name_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NAME && !s.chars().any(char::is_control)
}

impl Claims {
    /// The identity these (already verified) claims grant.
    pub fn actor(&self) -> Result<Actor, AuthError> {
        let bad = |why: &'static str| Err(AuthError::Claims(why));
        let Some(role) = Role::parse(&self.role) else {
            return bad("role must be service, participant or watcher");
        };
        if !name_ok(&self.sub) {
            return bad("sub must be 1-128 printable characters");
        }
        if self.tenant.as_deref().is_some_and(|t| !name_ok(t)) {
            return bad("tenant must be 1-128 printable characters");
        }
        if self.sid.as_deref().is_some_and(|s| !is_loose_uuid(s)) {
            return bad("sid must be a session id (UUID)");
        }
        if self.pid.as_deref().is_some_and(|p| !is_loose_uuid(p)) {
            return bad("pid must be a participant id (UUID)");
        }
        match role {
            Role::Participant if self.sid.is_none() || self.pid.is_none() => {
                return bad("a participant token needs sid and pid");
            }
            Role::Service | Role::Watcher if self.pid.is_some() => {
                return bad("only participant tokens carry pid");
            }
            _ => {}
        }
        Ok(Actor {
            subject: self.sub.as_str().into(),
            role,
            tenant: self.tenant.as_deref().map(Into::into),
            session: self.sid.as_deref().map(Into::into),
            participant: self.pid.as_deref().map(Into::into),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "223e4567-e89b-12d3-a456-426614174001";

    fn claims(role: &str) -> Claims {
        Claims {
            sub: "alice".into(),
            role: role.into(),
            exp: 1,
            ..Claims::default()
        }
    }

    #[test]
    fn roles_and_their_required_claims() {
        assert_eq!(claims("service").actor().unwrap().role, Role::Service);
        assert!(claims("admin").actor().is_err());
        assert!(claims("participant").actor().is_err());
        let mut p = claims("participant");
        p.sid = Some(SID.into());
        p.pid = Some(SID.into());
        let a = p.actor().unwrap();
        assert_eq!(a.participant.as_deref(), Some(SID));
        let mut w = claims("watcher");
        w.pid = Some(SID.into());
        assert!(w.actor().is_err());
        let mut s = claims("service");
        s.sub = String::new();
        assert!(s.actor().is_err());
        s.sub = "x".repeat(129);
        assert!(s.actor().is_err());
        let mut s = claims("service");
        s.sid = Some("not-a-uuid".into());
        assert!(s.actor().is_err());
    }
}
