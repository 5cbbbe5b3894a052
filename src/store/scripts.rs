//! Every Lua script SyncKairos runs in Redis, in one place. Scripts that read a stored
//! session's header or build envelopes get `lua/lib.lua` prepended, so each of those
//! rules has exactly one Lua copy.
//!
//! Must not: run anything (callers invoke the scripts).

use redis::Script;

macro_rules! with_lib {
    ($file:literal) => {
        concat!(include_str!("lua/lib.lua"), include_str!($file))
    };
}

/// Commit one change (compare-and-set, index, sequence, fan-out, outbox, relay log).
pub fn commit() -> Script {
    Script::new(with_lib!("lua/commit.lua"))
}

/// Delete a session (and tell everyone who follows it).
pub fn delete() -> Script {
    Script::new(with_lib!("lua/delete.lua"))
}

/// Set a deadline iff the session is still at a version.
pub fn reschedule() -> Script {
    Script::new(with_lib!("lua/reschedule.lua"))
}

/// Lease due deadlines.
pub fn claim() -> Script {
    Script::new(include_str!("lua/claim.lua"))
}

/// Apply a decision about a copy of another region's session.
pub fn relay_apply() -> Script {
    Script::new(include_str!("lua/relay_apply.lua"))
}

/// Take or renew a lease.
pub fn lease() -> Script {
    Script::new(include_str!("lua/lease.lua"))
}

/// Count one more live session of a client, within its quota.
pub fn live_sessions() -> Script {
    Script::new(include_str!("lua/live_sessions.lua"))
}

/// Count one request in a fixed rate-limit window.
pub fn rate_limit() -> Script {
    Script::new(include_str!("lua/rate_limit.lua"))
}
