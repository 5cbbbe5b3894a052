//! The internal API between regions, as types: the paths, the headers, and the typed
//! call a region makes to a session's home (`PeerCall` → `PeerReply`, MessagePack),
//! which the home serves straight from its gateway.
//!
//! Owns: the wire shapes (versioned by their paths). Must not: do IO.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::{Actor, Millis, NewSession, Op, ParticipantId, RegionId, SessionId};

/// Header carrying the shared secret on every internal request.
pub const SECRET_HEADER: &str = "x-synckairos-secret";
/// Content type of a typed call and of its reply.
pub const MSGPACK: &str = "application/msgpack";

/// The typed call a home region serves (POST, MessagePack `PeerCall`).
pub const CALL_PATH: &str = "/internal/v1/call";
/// The dashboard figures of the region's instances (GET, MessagePack).
pub const FIGURES_PATH: &str = "/internal/v1/figures";
/// The raw stored bytes of a session (GET; 404 when absent).
pub fn session_path(session_id: &str) -> String {
    format!("/internal/sessions/{session_id}")
}
/// The home's relay stream after a position (GET, streaming frames); `fingerprint`:
/// of the entry at `since` as applied by the follower (0 unknown), so that a home whose
/// log took another course answers with a reset instead of entries.
pub fn relay_path(since: u64, fingerprint: u64) -> String {
    format!("/internal/relay?since={since}&fp={fingerprint}")
}
/// A region's authoritative time (GET, MessagePack `TimeReply`), sampled NTP-style by
/// the other regions (`region::clock`).
pub const TIME_PATH: &str = "/internal/v1/time";

/// The answering instance's reading of its region's authoritative clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeReply {
    pub region: RegionId,
    /// µs since the epoch.
    pub us: i64,
    /// Its own uncertainty about `us`, µs.
    pub bound_us: i64,
}

/// A write for a session homed in the receiving region, on behalf of `origin` (the
/// region whose client sent it; it is recorded in the audit trail) and of `actor` (the
/// client's verified identity, `None` in the open mode; the home authorizes and records
/// it: peers are trusted through the cluster secret, tokens are checked at the edge).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PeerCall {
    Create {
        origin: RegionId,
        session: NewSession,
        #[serde(default)]
        actor: Option<Actor>,
    },
    Apply {
        origin: RegionId,
        session_id: SessionId,
        op: Op,
        #[serde(default)]
        actor: Option<Actor>,
        /// Lag compensation: when the move was made, in the home's timebase, as the
        /// receiving region measured it (absent from older senders).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        moved_at: Option<Millis>,
        /// What the sender knows of the session (ownership moved: the state naming the
        /// receiver its home), so a home that missed the hand-over installs it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        known: Option<Known>,
    },
    Delete {
        origin: RegionId,
        session_id: SessionId,
        #[serde(default)]
        actor: Option<Actor>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        known: Option<Known>,
    },
    /// Move the session's home to `to` (an operator, a drain, automatic re-homing):
    /// served by its current home.
    Rehome {
        origin: RegionId,
        session_id: SessionId,
        to: RegionId,
        #[serde(default)]
        actor: Option<Actor>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        known: Option<Known>,
    },
    /// The hand-over: `state` (stored bytes, committed by `origin`) names the receiver
    /// the session's home at a higher ownership epoch; the receiver installs it and
    /// commits the session's writes from then on.
    Install {
        origin: RegionId,
        session_id: SessionId,
        #[serde(with = "serde_bytes")]
        state: Vec<u8>,
    },
}

/// A sender's state of a session, with its ownership epoch (`Session::epoch`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    pub epoch: u32,
    #[serde(with = "serde_bytes")]
    pub state: Vec<u8>,
}

impl PeerCall {
    pub fn origin(&self) -> &RegionId {
        match self {
            PeerCall::Create { origin, .. }
            | PeerCall::Apply { origin, .. }
            | PeerCall::Delete { origin, .. }
            | PeerCall::Rehome { origin, .. }
            | PeerCall::Install { origin, .. } => origin,
        }
    }

    pub fn actor(&self) -> Option<&Actor> {
        match self {
            PeerCall::Create { actor, .. }
            | PeerCall::Apply { actor, .. }
            | PeerCall::Delete { actor, .. }
            | PeerCall::Rehome { actor, .. } => actor.as_ref(),
            PeerCall::Install { .. } => None,
        }
    }

    /// What the sender knew of the session (forwarded calls of a moved session).
    pub fn known(&self) -> Option<&Known> {
        match self {
            PeerCall::Apply { known, .. }
            | PeerCall::Delete { known, .. }
            | PeerCall::Rehome { known, .. } => known.as_ref(),
            _ => None,
        }
    }

    /// Attaches what the sender knows (a no-op for creates and installs).
    pub fn with_known(mut self, k: Option<Known>) -> Self {
        match &mut self {
            PeerCall::Apply { known, .. }
            | PeerCall::Delete { known, .. }
            | PeerCall::Rehome { known, .. } => *known = k,
            _ => {}
        }
        self
    }
}

/// The home's answer. `state` is the committed state exactly as stored there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PeerReply {
    Created {
        #[serde(with = "serde_bytes")]
        state: Vec<u8>,
    },
    Applied {
        #[serde(with = "serde_bytes")]
        state: Vec<u8>,
        expired_participant_id: Option<ParticipantId>,
    },
    Deleted {
        existed: bool,
    },
    /// An `Install`: whether the state replaced what the receiver had.
    Installed {
        changed: bool,
    },
    /// The home refused the call with this client-facing error.
    Refused(WireError),
}

/// A client-facing error as the home rendered it (the contract's envelope fields).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// `details` as JSON text.
    pub details: Option<String>,
    pub retry_after: Option<u64>,
}

#[derive(Debug, Error)]
#[error("undecodable internal message")]
pub struct WireDecodeError(#[from] rmp_serde::decode::Error);

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain data structures always serialize.
    rmp_serde::to_vec_named(value).unwrap_or_default()
}

pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, WireDecodeError> {
    Ok(rmp_serde::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_replies_round_trip() {
        let call = PeerCall::Apply {
            origin: "lhr".into(),
            session_id: "s".into(),
            op: Op::Switch {
                next: Some("p2".into()),
                current: None,
            },
            moved_at: Some(1_700_000_000_123),
            known: Some(Known {
                epoch: 2,
                state: vec![2, 0, 1],
            }),
            actor: Some(crate::domain::Actor {
                subject: "alice".into(),
                role: crate::domain::Role::Participant,
                tenant: None,
                session: Some("s".into()),
                participant: Some("p1".into()),
            }),
        };
        assert_eq!(decode::<PeerCall>(&encode(&call)).unwrap(), call);
        let reply = PeerReply::Refused(WireError {
            status: 409,
            code: "CONFLICT".into(),
            message: "m".into(),
            details: Some("{\"a\":1}".into()),
            retry_after: None,
        });
        assert_eq!(decode::<PeerReply>(&encode(&reply)).unwrap(), reply);
        assert!(decode::<PeerReply>(b"\xc1").is_err());
    }
}
