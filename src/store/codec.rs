//! The stored state of a session. Every write is format 3:
//!
//! ```text
//! [3][version: u64 BE][created_at: i64 BE][epoch: u32 BE][body (`compact`)]
//! ```
//!
//! The header is fixed-width so that the Lua scripts compare-and-set on version,
//! incarnation (`created_at`) and ownership epoch with `struct.unpack` alone, never
//! decoding the body (`state_version`, `state_created`, `state_epoch` in `lua/lib.lua`
//! mirror `stored_version`, `stored_created_at`, `stored_epoch` here: the header is
//! read in those functions only). The body is `compact`'s hand-written layout: the
//! idle 2-participant sample session (UUID participant ids, home `iad`) is 76 bytes in
//! all, where format 1 took 178 (MessagePack of `domain::Session`); at most 108 keeps
//! a value in jemalloc's 112-byte class (issue 15; a test holds it there).
//!
//! Values written before format 3 still decode, unchanged:
//! format 1 `[1][version: u64 BE][MessagePack of Session]`, and format 2
//! `[2][version: u64 BE][epoch: u32 BE][flags: u32 BE][epoch_since: u64 BE][MessagePack]`
//! (flag bit 0: `Session::zero_loss`), which was written once a session's ownership
//! moved or it asked for zero-loss durability. Their incarnation is element 13 of the
//! MessagePack array (what `state_created` decodes for them).
//!
//! Must not: know about connections, keys or envelopes (`envelope` carries states);
//! write formats 1 or 2 outside tests (`encode_state_legacy`).

use thiserror::Error;

use super::compact::{self, CompactError};
use crate::domain::{Millis, Session, SessionId};

const FORMAT: u8 = 1;
const HEADER: usize = 9;
/// Format 2: the ownership epoch follows the version in the header.
const FORMAT_EPOCH: u8 = 2;
const HEADER_EPOCH: usize = 25;
/// Format 3: version, created_at, epoch, then the compact body.
const FORMAT_COMPACT: u8 = 3;
const HEADER_COMPACT: usize = 21;

/// Why bytes are not a session state or an envelope.
#[derive(Debug, Error)]
pub enum CodecError {
    #[error("empty value")]
    Empty,
    #[error("unknown format {0}, or a value shorter than its header")]
    Format(u8),
    #[error("undecodable MessagePack")]
    MessagePack(#[from] rmp_serde::decode::Error),
    #[error("undecodable format-3 body: {0}")]
    Compact(#[from] CompactError),
}

/// The stored value of `s` (format 3).
pub fn encode_state(s: &Session) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.push(FORMAT_COMPACT);
    out.extend_from_slice(&s.version.to_be_bytes());
    out.extend_from_slice(&s.created_at.to_be_bytes());
    out.extend_from_slice(&s.epoch.to_be_bytes());
    compact::encode(s, &mut out);
    out
}

/// The value format 1 or 2 would have stored for `s` (format 2 when it has an epoch or
/// zero-loss durability), as values written before format 3 are: for tests that prove
/// those still decode and that the Lua scripts still read their headers. Nothing else
/// writes it.
pub fn encode_state_legacy(s: &Session) -> Vec<u8> {
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

/// The version in a stored value's header, without decoding the rest (the same place
/// in every format).
pub fn stored_version(bytes: &[u8]) -> Result<u64, CodecError> {
    header_len(bytes)?;
    Ok(be_u64(&bytes[1..9]))
}

/// The ownership epoch in a stored value's header (0 for format 1), without decoding
/// the rest (`state_epoch` in `lua/lib.lua` mirrors it).
pub fn stored_epoch(bytes: &[u8]) -> Result<u32, CodecError> {
    Ok(match header_len(bytes)? {
        HEADER_EPOCH => be_u32(&bytes[9..13]),
        HEADER_COMPACT => be_u32(&bytes[17..21]),
        _ => 0,
    })
}

/// The flags of a format-2 header (0 for format 1).
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

/// Where the body (MessagePack for formats 1 and 2) starts, by format.
fn header_len(bytes: &[u8]) -> Result<usize, CodecError> {
    match bytes.first() {
        Some(&FORMAT) if bytes.len() > HEADER => Ok(HEADER),
        Some(&FORMAT_EPOCH) if bytes.len() > HEADER_EPOCH => Ok(HEADER_EPOCH),
        Some(&FORMAT_COMPACT) if bytes.len() > HEADER_COMPACT => Ok(HEADER_COMPACT),
        Some(&f) => Err(CodecError::Format(f)),
        None => Err(CodecError::Empty),
    }
}

/// The incarnation (`created_at`) of a stored value: what `state_created` in
/// `lua/lib.lua` reads (format 3: the header; formats 1 and 2: element 13 of the
/// MessagePack array after the header).
pub fn stored_created_at(bytes: &[u8]) -> Result<Millis, CodecError> {
    let at = header_len(bytes)?;
    if at == HEADER_COMPACT {
        return Ok(be_u64(&bytes[9..17]) as i64);
    }
    let s: Session = rmp_serde::from_slice(&bytes[at..])?;
    Ok(s.created_at)
}

/// The session in a stored value; `session_id` comes from the key (it is not stored).
pub fn decode_state_bytes(session_id: &SessionId, bytes: &[u8]) -> Result<Session, CodecError> {
    let at = header_len(bytes)?;
    let mut s = if at == HEADER_COMPACT {
        compact::decode(
            &bytes[at..],
            stored_version(bytes)?,
            stored_created_at(bytes)?,
            stored_epoch(bytes)?,
        )?
    } else {
        let mut s: Session = rmp_serde::from_slice(&bytes[at..])?;
        s.epoch = stored_epoch(bytes)?;
        s.zero_loss = stored_flags(bytes)? & 1 == 1;
        if at == HEADER_EPOCH {
            s.epoch_since = be_u64(&bytes[17..HEADER_EPOCH]);
        }
        s
    };
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
        crate::domain::sample::session(crate::domain::sample::ID, "iad", 1_730_196_000_123)
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn state_round_trips_and_is_compact() {
        let s = session();
        let bytes = encode_state(&s);
        assert_eq!(bytes[0], 3);
        assert_eq!(&bytes[1..9], &1u64.to_be_bytes());
        assert_eq!(&bytes[9..17], &s.created_at.to_be_bytes());
        assert_eq!(&bytes[17..21], &0u32.to_be_bytes());
        assert_eq!(decode_state(&s.session_id, &bytes).unwrap(), s);
        let legacy = encode_state_legacy(&s).len();
        println!(
            "encoded idle 2-participant session: {} bytes (format 1: {legacy})",
            bytes.len()
        );
        // 108 + the 4-byte sds header fits jemalloc's 112-byte class (issue 15).
        assert!(bytes.len() <= 108, "{} bytes", bytes.len());
    }

    #[test]
    fn the_header_holds_version_incarnation_and_epoch() {
        let mut s = session();
        let old = encode_state(&s);
        assert_eq!(stored_epoch(&old).unwrap(), 0);
        s.epoch = 3;
        s.version = 7;
        s.client_version = 7;
        s.epoch_since = 7;
        let bytes = encode_state(&s);
        assert_eq!(bytes[0], 3);
        // The epoch costs nothing beyond the header; epoch_since a second flags byte
        // and its varint.
        assert_eq!(bytes.len(), old.len() + 2);
        assert_eq!(stored_version(&bytes).unwrap(), 7);
        assert_eq!(stored_epoch(&bytes).unwrap(), 3);
        assert_eq!(stored_created_at(&bytes).unwrap(), s.created_at);
        assert_eq!(decode_state(&s.session_id, &bytes).unwrap(), s);
        s.epoch = 0;
        s.zero_loss = true;
        let bytes = encode_state(&s);
        assert_eq!((bytes[0], stored_epoch(&bytes).unwrap()), (3, 0));
        assert_eq!(decode_state(&s.session_id, &bytes).unwrap(), s);
        s.created_at = -1_234;
        let bytes = encode_state(&s);
        assert_eq!(stored_created_at(&bytes).unwrap(), -1_234);
        assert_eq!(decode_state(&s.session_id, &bytes).unwrap(), s);
    }

    /// The sample session as format 1 stored it (written by the encoder of format 1
    /// before format 3 existed): it must keep decoding to the same session.
    const FORMAT_1_SAMPLE: &str = concat!(
        "010000000000000001dc0015000001929bd92432323365343536372d653839622d313264332d6134",
        "35362d34323636313431373430303101ce000493e000ce000493e000c2c2c0ce000493e0009bd924",
        "32323365343536372d653839622d313264332d613435362d34323636313431373430303202ce0004",
        "93e000ce000493e000c2c2c0ce000493e000c0ce000927c0c0c0c0c000c0cf00000192d7b7cd7bcf",
        "00000192d7b7cd7b0090a3696164c001c0c0",
    );

    #[test]
    fn values_of_formats_1_and_2_still_decode() {
        let mut s = session();
        let f1 = encode_state_legacy(&s);
        assert_eq!(
            hex(&f1),
            FORMAT_1_SAMPLE,
            "the legacy encoder is format 1's"
        );
        let pinned = unhex(FORMAT_1_SAMPLE);
        assert_eq!(f1[0], 1);
        assert_eq!(decode_state(&s.session_id, &pinned).unwrap(), s);
        assert_eq!(stored_version(&pinned).unwrap(), 1);
        assert_eq!(stored_epoch(&pinned).unwrap(), 0);
        assert_eq!(stored_created_at(&pinned).unwrap(), s.created_at);

        s.epoch = 3;
        s.version = 7;
        s.epoch_since = 7;
        let f2 = encode_state_legacy(&s);
        assert_eq!((f2[0], f2.len()), (2, f1.len() + 16));
        assert_eq!(stored_version(&f2).unwrap(), 7);
        assert_eq!(stored_epoch(&f2).unwrap(), 3);
        assert_eq!(stored_created_at(&f2).unwrap(), s.created_at);
        assert_eq!(decode_state(&s.session_id, &f2).unwrap(), s);
        s.epoch = 0;
        s.epoch_since = 0;
        s.zero_loss = true;
        let f2 = encode_state_legacy(&s);
        assert_eq!((f2[0], stored_epoch(&f2).unwrap()), (2, 0));
        assert_eq!(decode_state(&s.session_id, &f2).unwrap(), s);
        // Re-encoded, an old value becomes format 3 and decodes to the same session.
        let f3 = encode_state(&decode_state(&s.session_id, &f2).unwrap());
        assert_eq!(f3[0], 3);
        assert_eq!(decode_state(&s.session_id, &f3).unwrap(), s);
    }

    #[test]
    fn corrupt_values_are_errors_not_panics() {
        assert!(matches!(decode_state("x", &[]), Err(CodecError::Empty)));
        assert!(decode_state("x", &[1, 0, 0]).is_err());
        assert!(decode_state("x", &[9; 40]).is_err());
        assert!(decode_state("x", &[1, 0, 0, 0, 0, 0, 0, 0, 1, 0xc1]).is_err());
        assert!(matches!(
            decode_state("x", &[3; 21]),
            Err(CodecError::Format(3))
        ));
        assert!(matches!(
            decode_state("x", &[3; 22]),
            Err(CodecError::Compact(_))
        ));
    }
}
