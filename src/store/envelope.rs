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
    /// The body of a commit by `writer` (the committing region: its log and sequence;
    /// it differs from the state's home only for a hand-over commit), with the commit's
    /// encoded state (returned too: the store writes it as the session's value).
    pub fn of_commit(c: &Commit<'_>, writer: &RegionId) -> (Vec<u8>, EnvelopeBody) {
        let state = encode_state(c.session);
        (state.clone(), EnvelopeBody::commit(c, writer, state))
    }

    fn commit(c: &Commit<'_>, writer: &RegionId, state: Vec<u8>) -> EnvelopeBody {
        let s = c.session;
        EnvelopeBody {
            home: writer.clone(),
            session_id: s.session_id.clone(),
            version: s.version,
            state,
            deleted: false,
            events: c.events.to_vec(),
        }
    }

    /// A commit's encoded state and its body split around it (`CommitBytes`): the
    /// commit script joins them, so the state travels to Redis once.
    pub fn split_commit(c: &Commit<'_>, writer: &RegionId) -> CommitBytes {
        let s = c.session;
        let state = encode_state(s);
        let body = EnvelopeBody::commit(c, writer, Vec::new());
        let empty = body.encode();
        // [array of 6][home][session id][version][bin 0: c4 00][deleted][events]
        let at =
            1 + str_len(body.home.len()) + str_len(body.session_id.len()) + uint_len(s.version);
        let mut head = Vec::with_capacity(at + 5);
        head.extend_from_slice(&empty[..at]);
        head.extend_from_slice(&bin_header(state.len()));
        let tail = empty[at + 2..].to_vec();
        CommitBytes { state, head, tail }
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

/// A commit's encoded state (the session's stored value) and the envelope body around
/// it: `head ++ state ++ tail` is the body's MessagePack (`EnvelopeBody::encode`).
pub struct CommitBytes {
    pub state: Vec<u8>,
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
}

impl CommitBytes {
    /// The whole body (what the commit script builds from the parts).
    pub fn body(&self) -> Vec<u8> {
        [&self.head[..], &self.state, &self.tail].concat()
    }
}

/// Bytes of a MessagePack str of `n` bytes, header and content.
fn str_len(n: usize) -> usize {
    n + match n {
        0..=31 => 1,
        32..=255 => 2,
        256..=65_535 => 3,
        _ => 5,
    }
}

/// Bytes of a MessagePack unsigned integer (the most compact form, as rmp writes it).
fn uint_len(v: u64) -> usize {
    match v {
        0..=127 => 1,
        128..=255 => 2,
        256..=65_535 => 3,
        65_536..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// The MessagePack bin header of `n` bytes.
fn bin_header(n: usize) -> Vec<u8> {
    match n {
        0..=255 => vec![0xc4, n as u8],
        256..=65_535 => {
            let mut h = vec![0xc5];
            h.extend_from_slice(&(n as u16).to_be_bytes());
            h
        }
        _ => {
            let mut h = vec![0xc6];
            h.extend_from_slice(&(n as u32).to_be_bytes());
            h
        }
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

    #[test]
    fn a_split_commit_joins_to_the_whole_body() {
        let region: RegionId = "iad".into();
        for (id_len, version) in [(36, 1), (8, 127), (40, 128), (300, 70_000), (36, 1 << 33)] {
            let mut s =
                crate::domain::sample::session(&"x".repeat(id_len), "iad", 1_730_196_000_123);
            s.version = version;
            if id_len == 300 {
                s.warning_thresholds_ms = (1..40).collect(); // a state over 255 bytes
            }
            let c = Commit {
                session: &s,
                events: &[Event::Created],
                deadline: None,
                keep_until: 0,
                origin: &region,
                actor: None,
                moved_from: None,
            };
            let parts = EnvelopeBody::split_commit(&c, &region);
            let (state, body) = EnvelopeBody::of_commit(&c, &region);
            assert_eq!(parts.state, state);
            assert_eq!(
                parts.body(),
                body.encode(),
                "id {id_len}, version {version}"
            );
        }
    }
}
