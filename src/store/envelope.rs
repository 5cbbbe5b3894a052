//! The envelope: what a committed change tells the instances of its region (fan-out)
//! and the other regions (relay log), and what the audit outbox records.
//!
//! Wire form: `MessagePack(seq: u64)` followed by `MessagePack(EnvelopeBody)`. Built in
//! Rust by `Envelope::encode` (copies a region keeps of other homes' sessions) and in
//! Lua by `envelope(seq, body)` in `lua/lib.lua` (the commit and delete scripts, which
//! assign `seq`); the two must stay byte-identical (tested against a real Redis).
//!
//! Must not: know about connections or keys.

use serde::{Deserialize, Serialize};

use super::codec::{encode_state, CodecError};
use super::Commit;
use crate::domain::{Event, RegionId, SessionId};

/// A change to one session, as its home committed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeBody {
    /// The region that committed the change (the session's home; for a re-home, the
    /// home it leaves): whose log and sequence numbers it belongs to.
    pub home: RegionId,
    pub session_id: SessionId,
    pub version: u64,
    /// The encoded state (`codec::encode_state`), empty for a deletion.
    #[serde(with = "serde_bytes")]
    pub state: Vec<u8>,
    pub deleted: bool,
    pub events: Vec<Event>,
}

impl EnvelopeBody {
    /// The body of a commit by `writer`, with the commit's encoded state (returned
    /// too: the store writes it as the session's value).
    pub fn of_commit(c: &Commit<'_>, writer: &RegionId) -> (Vec<u8>, EnvelopeBody) {
        let s = c.session;
        let state = encode_state(s);
        let body = EnvelopeBody {
            home: writer.clone(),
            session_id: s.session_id.clone(),
            version: s.version,
            state: state.clone(),
            deleted: false,
            events: c.events.to_vec(),
        };
        (state, body)
    }

    /// The body of a session's deletion by its home.
    pub fn deletion(home: &RegionId, session_id: &SessionId) -> EnvelopeBody {
        EnvelopeBody {
            home: home.clone(),
            session_id: session_id.clone(),
            version: 0,
            state: Vec::new(),
            deleted: true,
            events: Vec::new(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Serializing a plain struct into a Vec cannot fail.
        rmp_serde::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<EnvelopeBody, CodecError> {
        Ok(rmp_serde::from_slice(bytes)?)
    }
}

/// A body with the home's region sequence number it was committed at (`0` for copies
/// that did not come from the home's log).
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub seq: u64,
    pub body: EnvelopeBody,
}

impl Envelope {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = rmp_serde::to_vec(&self.seq).unwrap_or_default();
        out.extend(self.body.encode());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Envelope, CodecError> {
        let mut de = rmp_serde::Deserializer::new(bytes);
        let seq = u64::deserialize(&mut de)?;
        let body = EnvelopeBody::deserialize(&mut de)?;
        Ok(Envelope { seq, body })
    }

    /// A fingerprint of an envelope's wire bytes (FNV-1a, 64 bits; never 0, which
    /// means "unknown"): a follower keeps the one of the last entry it applied, and the
    /// home compares it with its own log's entry at that position.
    pub fn fingerprint(wire: &[u8]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in wire {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_and_garbage_is_an_error() {
        let e = Envelope {
            seq: 42,
            body: EnvelopeBody {
                home: "iad".into(),
                session_id: "6f1c0000-0000-4000-8000-000000000001".into(),
                version: 1,
                state: vec![1, 2, 3],
                deleted: false,
                events: vec![Event::Created],
            },
        };
        assert_eq!(Envelope::decode(&e.encode()).unwrap(), e);
        assert!(Envelope::decode(b"garbage").is_err());
        let d = EnvelopeBody::deletion(&"lhr".into(), &"x".into());
        assert!(d.deleted && d.state.is_empty());
        assert_eq!(EnvelopeBody::decode(&d.encode()).unwrap(), d);
    }
}
