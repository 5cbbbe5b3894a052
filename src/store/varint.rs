//! Byte primitives of stored-state format 3 (`compact` lays the fields out with them):
//! LEB128 varints, zigzag for signed ones, length-prefixed strings, canonical UUIDs as
//! 16 bytes, a `Reader` that never reads past the end of its bytes nor believes a
//! length or count larger than what is left, and `CompactError`, every way a body can
//! be wrong (`compact` re-exports it; this module depends on nothing in `store`).
//!
//! Must not: know about sessions or fields (that is `compact`), panic or allocate more
//! than the bytes it was given justify.

use thiserror::Error;

use crate::domain::Millis;

/// What is wrong with a format-3 body.
#[derive(Debug, Error)]
pub enum CompactError {
    #[error("truncated: {0} needs more bytes than are left")]
    Truncated(&'static str),
    #[error("{0} trailing bytes")]
    Trailing(usize),
    #[error("a varint longer than 10 bytes or above 64 bits")]
    Varint,
    #[error("unknown {what} flag bits {bits:#x}")]
    UnknownBits { what: &'static str, bits: u64 },
    #[error("{0} is not UTF-8")]
    Utf8(&'static str),
    #[error("{what} count {count} is more than the {left} bytes left")]
    Count {
        what: &'static str,
        count: u64,
        left: usize,
    },
    #[error("{what} {value} is out of range")]
    Range { what: &'static str, value: u64 },
    #[error("undecodable access settings")]
    Access(#[source] rmp_serde::decode::Error),
}

pub(super) fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn signed(out: &mut Vec<u8>, v: i64) {
    varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

pub(super) fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The 16 bytes of a canonical (lowercase, hyphenated) UUID; `None` for anything else,
/// which is then stored as its text.
pub(super) fn uuid_bytes(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut nibbles = 0;
    for (i, &c) in b.iter().enumerate() {
        let v = match (i, c) {
            (8 | 13 | 18 | 23, b'-') => continue,
            (8 | 13 | 18 | 23, _) => return None,
            (_, b'0'..=b'9') => c - b'0',
            (_, b'a'..=b'f') => c - b'a' + 10,
            _ => return None,
        };
        out[nibbles / 2] |= if nibbles % 2 == 0 { v << 4 } else { v };
        nibbles += 1;
    }
    Some(out)
}

pub(super) fn uuid_text(raw: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, b) in raw.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

/// The bytes not decoded yet.
pub(super) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader(bytes)
    }

    /// Done: every byte was read.
    pub(super) fn finish(self) -> Result<(), CompactError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(CompactError::Trailing(n)),
        }
    }

    pub(super) fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], CompactError> {
        let n = usize::try_from(n).map_err(|_| CompactError::Truncated(what))?;
        if n > self.0.len() {
            return Err(CompactError::Truncated(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    pub(super) fn varint(&mut self) -> Result<u64, CompactError> {
        let mut v = 0u64;
        for i in 0..10 {
            let (&b, rest) = self
                .0
                .split_first()
                .ok_or(CompactError::Truncated("a varint"))?;
            self.0 = rest;
            // The 10th byte holds the 64th bit only.
            if i == 9 && b > 1 {
                return Err(CompactError::Varint);
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CompactError::Varint)
    }

    pub(super) fn signed(&mut self) -> Result<i64, CompactError> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// An instant stored as its delta from `created_at`, when `present`.
    pub(super) fn instant(
        &mut self,
        present: bool,
        created_at: Millis,
    ) -> Result<Option<Millis>, CompactError> {
        Ok(match present {
            true => Some(created_at.wrapping_add(self.signed()?)),
            false => None,
        })
    }

    pub(super) fn optional(&mut self, present: bool) -> Result<Option<u64>, CompactError> {
        present.then(|| self.varint()).transpose()
    }

    /// A count of items of at least one byte each: never more than the bytes left.
    pub(super) fn count(&mut self, what: &'static str) -> Result<usize, CompactError> {
        let count = self.varint()?;
        let left = self.0.len();
        match usize::try_from(count) {
            Ok(n) if n <= left => Ok(n),
            _ => Err(CompactError::Count { what, count, left }),
        }
    }

    pub(super) fn string(&mut self, what: &'static str) -> Result<String, CompactError> {
        let n = self.varint()?;
        let b = self.take(n, what)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| CompactError::Utf8(what))
    }

    pub(super) fn id(&mut self, raw: bool, what: &'static str) -> Result<String, CompactError> {
        if raw {
            Ok(uuid_text(self.take(16, what)?))
        } else {
            self.string(what)
        }
    }

    pub(super) fn index<T>(
        &mut self,
        what: &'static str,
        from: impl Fn(u64) -> Option<T>,
    ) -> Result<T, CompactError> {
        let value = self.varint()?;
        from(value).ok_or(CompactError::Range { what, value })
    }
}
