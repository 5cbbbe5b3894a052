//! Every Lua script SyncKairos runs in Redis, in one place. Scripts that read a stored
//! session's header, build envelopes, keep the index of a home's sessions or cap a
//! stream get `lua/lib.lua` prepended, so each of those rules has exactly one Lua copy.
//!
//! Also how the writing scripts (commit, delete) are called without
//! `redis::ScriptInvocation`'s extra copy of every argument (`evalsha` + `invoke`: one
//! `Cmd`, loaded on `NOSCRIPT`).
//!
//! Must not: decide anything a script decides (callers build the arguments).

use redis::aio::ConnectionLike;
use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, Script, ServerErrorKind};

/// The start of a call of `script` with `keys` keys: add the keys, then the arguments,
/// then `invoke`. (A `ScriptInvocation` holds each argument in its own `Vec` and copies
/// them all into a `Cmd` per call; the commit has 36 of them.)
pub fn evalsha(script: &Script, keys: usize) -> Cmd {
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(script.get_hash()).arg(keys);
    cmd
}

/// Runs `cmd` (from `evalsha(script, ..)`); loads `script` once and runs it again when
/// Redis does not know it (a restart, `SCRIPT FLUSH`, a new primary).
pub async fn invoke<T: FromRedisValue>(
    script: &Script,
    cmd: &Cmd,
    con: &mut (impl ConnectionLike + Send),
) -> RedisResult<T> {
    match cmd.query_async(con).await {
        Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            script.prepare_invoke().load_async(con).await?;
            cmd.query_async(con).await
        }
        other => other,
    }
}

macro_rules! with_lib {
    ($file:literal) => {
        concat!(include_str!("lua/lib.lua"), include_str!($file))
    };
}

/// Commit one change (compare-and-set on version and incarnation, index of the home's
/// sessions, deadline index, sequence, fan-out, outbox, relay log).
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

/// Apply a decision about a copy of another region's session (and its index entry).
pub fn relay_apply() -> Script {
    Script::new(with_lib!("lua/relay_apply.lua"))
}

/// Record a follower's position in a home's log without applying an entry.
pub fn relay_position() -> Script {
    Script::new(include_str!("lua/relay_position.lua"))
}

/// Remove index entries whose session is gone.
pub fn index_prune() -> Script {
    Script::new(with_lib!("lua/index_prune.lua"))
}

/// Give a session stored without an index entry its entry.
pub fn index_fill() -> Script {
    Script::new(with_lib!("lua/index_fill.lua"))
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

/// Grant a region its ownership lease (issue 11).
pub fn owner_grant() -> Script {
    Script::new(include_str!("lua/owner_grant.lua"))
}

/// Vote for a takeover of a region whose lease ran out (issue 11).
pub fn owner_vote() -> Script {
    Script::new(include_str!("lua/owner_vote.lua"))
}
