//! Binary encodings shared by the Redis store, the fan-out and (later) the relay:
//!
//! - stored state: `[format=1][version: u64 BE][MessagePack of Session]`; the version
//!   up front lets the Lua scripts compare-and-set without decoding MessagePack.
//! - envelope: `MessagePack(seq: u64)` followed by `MessagePack(EnvelopeBody)`; the
//!   commit script prepends the region sequence number it assigned.
//!
//! Must not: know about connections or keys.

use serde::{Deserialize, Serialize};

use super::{Commit, StoreError};
use crate::domain::{Event, Session};

const FORMAT: u8 = 1;

pub fn encode_state(s: &Session) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(FORMAT);
    out.extend_from_slice(&s.version.to_be_bytes());
    // Serializing a plain struct into a Vec cannot fail.
    let _ = rmp_serde::encode::write(&mut out, s);
    out
}

pub fn decode_state(session_id: &str, bytes: &[u8]) -> Result<Session, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        session_id: session_id.to_owned(),
        reason,
    };
    match bytes.first() {
        Some(&FORMAT) if bytes.len() > 9 => {
            let mut s: Session =
                rmp_serde::from_slice(&bytes[9..]).map_err(|e| corrupt(e.to_string()))?;
            s.session_id = session_id.to_owned();
            Ok(s)
        }
        Some(f) => Err(corrupt(format!("unknown format {f} or truncated value"))),
        None => Err(corrupt("empty value".into())),
    }
}

/// What a committed change tells the instances (and regions) watching the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeBody {
    /// The session's home region (the writer).
    pub home: String,
    pub session_id: String,
    pub version: u64,
    /// The encoded state (`encode_state`), absent for a deletion.
    #[serde(with = "serde_bytes")]
    pub state: Vec<u8>,
    pub deleted: bool,
    pub events: Vec<Event>,
}

pub fn encode_body(body: &EnvelopeBody) -> Vec<u8> {
    rmp_serde::to_vec(body).unwrap_or_default()
}

/// The encoded state and the encoded envelope body of a commit.
pub fn encode_commit(c: &Commit<'_>) -> (Vec<u8>, Vec<u8>) {
    let s = c.session;
    let state = encode_state(s);
    let body = encode_body(&EnvelopeBody {
        home: s.home_region.clone(),
        session_id: s.session_id.clone(),
        version: s.version,
        state: state.clone(),
        deleted: false,
        events: c.events.to_vec(),
    });
    (state, body)
}

/// The encoded envelope body of a deletion.
pub fn encode_deletion(home: &str, session_id: &str) -> Vec<u8> {
    encode_body(&EnvelopeBody {
        home: home.to_owned(),
        session_id: session_id.to_owned(),
        version: 0,
        state: Vec::new(),
        deleted: true,
        events: Vec::new(),
    })
}

/// Splits a published envelope into the home's sequence number and the body.
pub fn decode_envelope(bytes: &[u8]) -> Result<(u64, EnvelopeBody), String> {
    let mut de = rmp_serde::Deserializer::new(bytes);
    let seq = u64::deserialize(&mut de).map_err(|e| format!("sequence: {e}"))?;
    let body = EnvelopeBody::deserialize(&mut de).map_err(|e| format!("body: {e}"))?;
    Ok((seq, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{create_session, NewParticipant, NewSession, SyncMode, TimeoutAction};

    fn session() -> Session {
        let p = |i: u32| NewParticipant {
            participant_id: format!("223e4567-e89b-12d3-a456-42661417400{i}"),
            participant_index: i,
            total_time_ms: 300_000,
            group_id: None,
        };
        create_session(
            NewSession {
                session_id: "6f1c0000-0000-4000-8000-000000000001".into(),
                sync_mode: SyncMode::PerParticipant,
                participants: vec![p(1), p(2)],
                total_time_ms: 600_000,
                time_per_cycle_ms: None,
                increment_ms: 0,
                max_time_ms: None,
                action_on_timeout: TimeoutAction::Continue,
                warning_thresholds_ms: vec![],
            },
            "iad",
            1_730_196_000_123,
        )
        .unwrap()
    }

    #[test]
    fn state_round_trips_and_is_compact() {
        let s = session();
        let bytes = encode_state(&s);
        assert_eq!(&bytes[1..9], &1u64.to_be_bytes());
        assert_eq!(decode_state(&s.session_id, &bytes).unwrap(), s);
        assert!(
            bytes.len() < 180,
            "encoded idle 2-participant session: {} bytes",
            bytes.len()
        );
    }

    #[test]
    fn corrupt_values_are_errors_not_panics() {
        assert!(decode_state("x", &[]).is_err());
        assert!(decode_state("x", &[1, 0, 0]).is_err());
        assert!(decode_state("x", &[9; 40]).is_err());
        assert!(decode_state("x", &[1, 0, 0, 0, 0, 0, 0, 0, 1, 0xc1]).is_err());
    }

    #[test]
    fn envelope_round_trips() {
        let s = session();
        let body = EnvelopeBody {
            home: "iad".into(),
            session_id: s.session_id.clone(),
            version: 1,
            state: encode_state(&s),
            deleted: false,
            events: vec![Event::Created],
        };
        let mut wire = rmp_serde::to_vec(&42u64).unwrap();
        wire.extend(encode_body(&body));
        assert_eq!(decode_envelope(&wire).unwrap(), (42, body));
        assert!(decode_envelope(b"garbage").is_err());
    }
}
