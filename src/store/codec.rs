//! The stored state of a session: `[format=1][version: u64 BE][MessagePack of Session]`,
//! or, once its ownership moved (`Session::epoch` > 0) or it asked for zero-loss
//! durability, `[format=2][version: u64 BE][epoch: u32 BE][flags: u32 BE]
//! [epoch_since: u64 BE][MessagePack]` (flag bit 0: `Session::zero_loss`;
//! `epoch_since`: the first version of the current epoch). A session with neither keeps the format-1 bytes
//! it always had, so values stored before epochs existed decode unchanged (epoch 0)
//! and compare byte for byte. These live in the header, not in the MessagePack,
//! because the MessagePack is positional and ends with an optional field (`access`).
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
/// Format 2: the ownership epoch follows the version in the header.
const FORMAT_EPOCH: u8 = 2;
const HEADER_EPOCH: usize = 25;

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
    let flags: u32 = u32::from(s.zero_loss);
    let extended = s.epoch > 0 || flags != 0;
    out.push(if extended { FORMAT_EPOCH } else { FORMAT });
    out.extend_from_slice(&s.version.to_be_bytes());
    if extended {
        out.extend_from_slice(&s.epoch.to_be_bytes());
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&s.epoch_since.to_be_bytes());
    }
    // Serializing a plain struct into a Vec cannot fail.
    let _ = rmp_serde::encode::write(&mut out, s);
    out
}

/// The version in a stored value's header, without decoding the rest.
pub fn stored_version(bytes: &[u8]) -> Result<u64, CodecError> {
    header_len(bytes)?;
    Ok(be_u64(&bytes[1..9]))
}

/// The ownership epoch in a stored value's header (0 for format 1), without decoding
/// the rest (`state_epoch` in `lua/lib.lua` mirrors it).
pub fn stored_epoch(bytes: &[u8]) -> Result<u32, CodecError> {
    Ok(match header_len(bytes)? {
        HEADER_EPOCH => be_u32(&bytes[9..13]),
        _ => 0,
    })
}

/// The flags of a stored value's header (0 for format 1).
fn stored_flags(bytes: &[u8]) -> Result<u32, CodecError> {
    Ok(match header_len(bytes)? {
        HEADER_EPOCH => be_u32(&bytes[13..17]),
        _ => 0,
    })
}

fn be_u64(b: &[u8]) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(b);
    u64::from_be_bytes(v)
}

fn be_u32(b: &[u8]) -> u32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(b);
    u32::from_be_bytes(v)
}

/// Where the MessagePack starts, by format.
fn header_len(bytes: &[u8]) -> Result<usize, CodecError> {
    match bytes.first() {
        Some(&FORMAT) if bytes.len() > HEADER => Ok(HEADER),
        Some(&FORMAT_EPOCH) if bytes.len() > HEADER_EPOCH => Ok(HEADER_EPOCH),
        Some(&f) => Err(CodecError::Format(f)),
        None => Err(CodecError::Empty),
    }
}

/// The incarnation (`created_at`) of a stored value: what `state_created` in
/// `lua/lib.lua` reads (element 13 of the MessagePack array after the header).
pub fn stored_created_at(bytes: &[u8]) -> Result<Millis, CodecError> {
    let at = header_len(bytes)?;
    let s: Session = rmp_serde::from_slice(&bytes[at..])?;
    Ok(s.created_at)
}

/// The session in a stored value; `session_id` comes from the key (it is not stored).
pub fn decode_state_bytes(session_id: &SessionId, bytes: &[u8]) -> Result<Session, CodecError> {
    let at = header_len(bytes)?;
    let mut s: Session = rmp_serde::from_slice(&bytes[at..])?;
    s.session_id = session_id.clone();
    s.epoch = stored_epoch(bytes)?;
    s.zero_loss = stored_flags(bytes)? & 1 == 1;
    if at == HEADER_EPOCH {
        s.epoch_since = be_u64(&bytes[17..HEADER_EPOCH]);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_state(id: &str, b: &[u8]) -> Result<Session, CodecError> {
        decode_state_bytes(&id.into(), b)
    }

    fn session() -> Session {
        crate::domain::sample::session(crate::domain::sample::ID, "iad", 1_730_196_000_123)
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
    fn an_epoch_moves_into_the_header_and_epoch_0_keeps_format_1() {
        let mut s = session();
        let old = encode_state(&s);
        assert_eq!(old[0], 1);
        assert_eq!(stored_epoch(&old).unwrap(), 0);
        s.epoch = 3;
        s.version = 7;
        let bytes = encode_state(&s);
        assert_eq!(bytes[0], 2);
        s.epoch_since = 7;
        let bytes = encode_state(&s);
        assert_eq!(bytes.len(), old.len() + 16);
        assert_eq!(stored_version(&bytes).unwrap(), 7);
        assert_eq!(stored_epoch(&bytes).unwrap(), 3);
        assert_eq!(stored_created_at(&bytes).unwrap(), s.created_at);
        assert_eq!(decode_state(&s.session_id, &bytes).unwrap(), s);
        s.epoch = 0;
        s.zero_loss = true;
        let bytes = encode_state(&s);
        assert_eq!((bytes[0], stored_epoch(&bytes).unwrap()), (2, 0));
        assert_eq!(decode_state(&s.session_id, &bytes).unwrap(), s);
    }

    #[test]
    fn corrupt_values_are_errors_not_panics() {
        assert!(decode_state("x", &[]).is_err());
        assert!(decode_state("x", &[1, 0, 0]).is_err());
        assert!(decode_state("x", &[9; 40]).is_err());
        assert!(decode_state("x", &[1, 0, 0, 0, 0, 0, 0, 0, 1, 0xc1]).is_err());
    }
}
