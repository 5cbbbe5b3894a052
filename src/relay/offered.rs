//! What is offered to this region's copies (`copies`): one state or deletion with the
//! exact bytes to republish and, unless deleted, its decoded state. Built from an entry
//! of a home's relay log, or from a copy read at the home (reconciliation; `seq` 0).
//!
//! Owns: decoding an offer. Must not: decide or write anything (`copies` does).

use crate::domain::{RegionId, Session, SessionId};
use crate::store::envelope::{Envelope, EnvelopeBody};
use crate::store::{decode_state, StoreError};

/// One state (or deletion) offered to the copies here, with the exact bytes to
/// republish and, unless deleted, its decoded state.
pub struct Offered {
    pub envelope: Envelope,
    pub wire: bytes::Bytes,
    pub incoming: Option<Session>,
}

impl Offered {
    /// An entry of a home's log (`wire`: its exact bytes); `Err` when the envelope or
    /// its state cannot be decoded.
    pub fn from_log(wire: bytes::Bytes) -> Result<Offered, super::error::RelayError> {
        let envelope = Envelope::decode(&wire)?;
        let body = &envelope.body;
        let incoming = if body.deleted {
            None
        } else {
            Some(decode_state(&body.session_id, &body.state)?)
        };
        Ok(Offered {
            envelope,
            wire,
            incoming,
        })
    }
}

/// An envelope (not from the log: `seq` 0) carrying a copy of `home`'s session, or
/// its deletion; the decoded state alongside.
pub(super) fn copy_envelope(
    home: &RegionId,
    session_id: &SessionId,
    raw: Option<&[u8]>,
) -> Result<(Envelope, Option<Session>), StoreError> {
    let Some(raw) = raw else {
        let body = EnvelopeBody::deletion(home, session_id);
        return Ok((Envelope { seq: 0, body }, None));
    };
    let s = decode_state(session_id, raw)?;
    let body = EnvelopeBody {
        home: home.clone(),
        session_id: session_id.clone(),
        version: s.version,
        state: raw.to_vec(),
        deleted: false,
        events: Vec::new(),
    };
    Ok((Envelope { seq: 0, body }, Some(s)))
}
