//! The stored state of a session: `[format=1][version: u64 BE][MessagePack of Session]`.
//! The version up front lets the Lua scripts compare-and-set without decoding
//! MessagePack (`state_version` in `lua/lib.lua` mirrors `stored_version` here: the
//! header is read in those two functions only). The incarnation (`created_at`) is
//! read from the MessagePack by position (`stored_created_at` ↔ `state_created`), so
//! the compare-and-set covers it without a format change.
//!
//! Must not: know about connections, keys or envelopes (`envelope` carries states).

use thiserror::Error;

use crate::domain::{Millis, Session, SessionId};

const FORMAT: u8 = 1;
const HEADER: usize = 9;

/// Why bytes are not a session state or an envelope.
#[derive(Debug, Error)]
pub enum CodecError {
    #[error("empty value")]
    Empty,
    #[error("unknown format {0}, or a value shorter than its header")]
    Format(u8),
    #[error("undecodable MessagePack")]
    MessagePack(#[from] rmp_serde::decode::Error),
}

pub fn encode_state(s: &Session) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(FORMAT);
    out.extend_from_slice(&s.version.to_be_bytes());
    // Serializing a plain struct into a Vec cannot fail.
    let _ = rmp_serde::encode::write(&mut out, s);
    out
}

/// The version in a stored value's header, without decoding the rest.
pub fn stored_version(bytes: &[u8]) -> Result<u64, CodecError> {
    match bytes.first() {
        Some(&FORMAT) if bytes.len() > HEADER => {
            let mut v = [0u8; 8];
            v.copy_from_slice(&bytes[1..HEADER]);
            Ok(u64::from_be_bytes(v))
        }
        Some(&f) => Err(CodecError::Format(f)),
        None => Err(CodecError::Empty),
    }
}

/// The incarnation (`created_at`) of a stored value: what `state_created` in
/// `lua/lib.lua` reads (element 13 of the MessagePack array after the header).
pub fn stored_created_at(bytes: &[u8]) -> Result<Millis, CodecError> {
    stored_version(bytes)?;
    let s: Session = rmp_serde::from_slice(&bytes[HEADER..])?;
    Ok(s.created_at)
}

/// The session in a stored value; `session_id` comes from the key (it is not stored).
pub fn decode_state_bytes(session_id: &SessionId, bytes: &[u8]) -> Result<Session, CodecError> {
    stored_version(bytes)?;
    let mut s: Session = rmp_serde::from_slice(&bytes[HEADER..])?;
    s.session_id = session_id.clone();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_state(id: &str, b: &[u8]) -> Result<Session, CodecError> {
        decode_state_bytes(&id.into(), b)
    }

    fn session() -> Session {
        crate::store::sample::session("6f1c0000-0000-4000-8000-000000000001", 1_730_196_000_123)
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
}
