//! Moving a session's ownership: the state that hands a session to another home
//! region at the next ownership epoch, either planned (a re-home, committed by the
//! current home) or after the home was lost (a takeover, committed by the successor
//! from its copy). Clocks are not touched: a move is not a client operation, so no
//! time is charged and `client_version` stays.
//!
//! Must not: decide when a move is allowed (the service and `region::owners` do).

use super::error::{DomainError, FieldIssue};
use super::event::Event;
use super::ids::RegionId;
use super::model::{Millis, Session};
use super::transition::Outcome;

/// How ownership moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// The current home hands the session over (operator, drain, automatic re-homing).
    Rehome,
    /// A successor takes the session over from its copy after the home was lost.
    TakeOver,
}

/// The state of `s` homed in `to` at the next epoch, committed at `now`.
/// A validation error (400) when `to` is the home already.
pub fn move_home(
    s: &Session,
    to: &RegionId,
    how: Move,
    now: Millis,
) -> Result<Outcome, DomainError> {
    if s.home_region == *to {
        return Err(DomainError::Invalid(vec![FieldIssue::new(
            "region",
            "already_home",
            "The session is already homed in that region",
        )]));
    }
    let mut n = s.clone();
    let from = s.home_region.clone();
    n.home_region = to.clone();
    n.epoch = s.epoch + 1;
    n.version = s.version + 1;
    n.epoch_since = n.version;
    n.updated_at = now.max(s.updated_at);
    let event = match how {
        Move::Rehome => Event::Rehomed {
            from,
            to: to.clone(),
            epoch: n.epoch,
        },
        Move::TakeOver => Event::TakenOver {
            from,
            to: to.clone(),
            epoch: n.epoch,
        },
    };
    Ok(Outcome {
        session: n,
        events: vec![event],
        expired_participant_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_raises_epoch_and_version_and_keeps_the_clocks() {
        let s = crate::domain::sample::session(crate::domain::sample::ID, "iad", 10);
        let out = move_home(&s, &"nrt".into(), Move::Rehome, 20).unwrap();
        let n = &out.session;
        assert_eq!((n.epoch, n.version, n.home_region.as_str()), (1, 2, "nrt"));
        assert_eq!(n.epoch_since, 2);
        assert_eq!(n.participants, s.participants);
        assert_eq!(n.client_version, s.client_version);
        assert_eq!(out.events[0].kind(), "session_rehomed");
        assert!(move_home(n, &"nrt".into(), Move::TakeOver, 30).is_err());
    }
}
