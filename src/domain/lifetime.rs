//! How long storage must keep a session: idle and finished sessions expire a TTL after
//! their last write; a session never vanishes while its clock can still run down, nor
//! before its scheduled start.
//!
//! Owns: the keep-until instant. Must not: delete anything itself.

use super::deadline::expiry_at;
use super::model::{Millis, Session};

/// The instant after which storage may forget the session.
pub fn keep_until(s: &Session, ttl_ms: u64) -> Millis {
    let last = s
        .updated_at
        .max(expiry_at(s).unwrap_or(Millis::MIN))
        .max(s.start_at.unwrap_or(Millis::MIN));
    last.saturating_add(Millis::try_from(ttl_ms).unwrap_or(Millis::MAX))
}
