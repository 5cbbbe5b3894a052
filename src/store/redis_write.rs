//! The Redis store's two writing scripts as calls: a commit (create or compare-and-set
//! on version and incarnation) and a deletion, their arguments in and their replies
//! out. Both scripts check everything that can fail before their first write, so an
//! error here means nothing was written. Streams they trim past their caps are counted
//! (`metrics`): trimmed audit records never reached PostgreSQL.
//!
//! Must not: decide anything the scripts decide (they are atomic; this is plumbing).

use std::sync::Arc;

use bytes::Bytes;
use redis::Value;

use super::envelope::EnvelopeBody;
use super::index::Entry;
use super::redis::{RedisStore, StreamCap};
use super::{decode_state, keys, scripts, Commit, Expected, StoreError};
use crate::domain::{RegionId, SessionId};
use crate::metrics;

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        _ => None,
    }
}

fn as_str(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// A script's refusal to write into keys it does not recognise (`BROKEN`).
fn broken(op: &'static str, why: Option<&Value>) -> StoreError {
    let why = why
        .and_then(as_str)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    metrics::redis_error();
    StoreError::Unavailable {
        op,
        source: format!("refused before writing anything: {why}").into(),
    }
}

/// Caps as script arguments (`0` entries when the stream is off; never read then).
fn cap_args(cap: Option<StreamCap>) -> (&'static str, u64, u64) {
    match cap {
        Some(c) => ("1", c.max_len.max(1), c.max_bytes.max(1)),
        None => ("0", 0, 0),
    }
}

/// Counts what the script trimmed from the outbox and the relay log.
fn count_trimmed(outbox: Option<&Value>, relay: Option<&Value>) {
    let outbox = outbox.and_then(as_u64).unwrap_or(0);
    if outbox > 0 {
        metrics::audit_outbox_dropped(outbox);
        tracing::warn!(
            dropped = outbox,
            "audit outbox over its cap: oldest records dropped before PostgreSQL had them"
        );
    }
    let relay = relay.and_then(as_u64).unwrap_or(0);
    if relay > 0 {
        metrics::relay_log_trimmed(relay);
    }
}

/// KEYS[1..=9] of the commit and delete scripts: the session, the region's deadline
/// index, sequence, audit outbox and relay log, `home`'s index bucket and digest, and
/// the two streams' size estimates.
fn write_keys(cmd: &mut redis::Cmd, session_id: &str, home: &str, bucket: u32) {
    cmd.arg(keys::session(session_id))
        .arg(keys::DEADLINES)
        .arg(keys::SEQUENCE)
        .arg(keys::OUTBOX)
        .arg(keys::RELAY_LOG)
        .arg(keys::index(home, bucket))
        .arg(keys::digest(home))
        .arg(keys::OUTBOX_META)
        .arg(keys::RELAY_LOG_META);
}

impl RedisStore {
    /// A create (`expected` = `None`) or a compare-and-set commit.
    pub(super) async fn run_commit(
        &self,
        expected: Option<Expected>,
        c: &Commit<'_>,
    ) -> Result<(), StoreError> {
        let s = c.session;
        let bytes = EnvelopeBody::split_commit(c, &self.home_region);
        // The index entry is kept only with the relay on (multi-region).
        let entry = match self.relay_log {
            Some(_) => Entry::of(s, &bytes.state).encode(),
            None => String::new(),
        };
        let deadline = c.deadline.map(|d| d.to_string()).unwrap_or_default();
        let shard = keys::fanout_shard(&s.session_id, self.shards);
        let bucket = keys::index_bucket(&s.session_id);
        let (audit, ob_len, ob_bytes) = cap_args(self.audit);
        let (relay, rl_len, rl_bytes) = cap_args(self.relay_log);
        // Ownership (issue 11): the index of the home the state names, and of the one
        // the replaced state named.
        let was = c.moved_from.unwrap_or(&s.home_region);
        // The stored bytes this commit was computed from, when held: the script
        // compares them instead of decoding the stored state for its incarnation.
        let started_from = expected
            .and_then(|e| self.recent.stored_at(&s.session_id, &e))
            .unwrap_or_default();
        let mut cmd = scripts::evalsha(&self.commit, 12);
        write_keys(&mut cmd, &s.session_id, &s.home_region, bucket);
        cmd.arg(keys::index(was, bucket))
            .arg(keys::digest(was))
            .arg(keys::OWNER_LEASE);
        cmd.arg(expected.map_or(0, |e| e.version))
            .arg(
                expected
                    .map(|e| e.created_at.to_string())
                    .unwrap_or_default(),
            )
            .arg(&bytes.state)
            .arg(c.keep_until)
            .arg(deadline)
            .arg(s.session_id.as_str())
            .arg(keys::fanout_channel(shard))
            .arg(&bytes.head)
            .arg(keys::DEADLINE_WAKE)
            .arg(audit)
            .arg(c.origin.as_str())
            .arg(s.updated_at)
            .arg(relay)
            .arg(rl_len)
            .arg(rl_bytes)
            .arg(ob_len)
            .arg(ob_bytes)
            .arg(bucket)
            .arg(entry)
            .arg(c.actor.unwrap_or(""))
            .arg(&bytes.tail)
            .arg(&started_from[..])
            .arg(expected.map(|e| e.epoch.to_string()).unwrap_or_default())
            .arg(if self.fencing { "1" } else { "0" });
        let mut conn = self.primary.clone();
        let reply: Vec<Value> = scripts::invoke(&self.commit, &cmd, &mut conn)
            .await
            .map_err(StoreError::unavailable("commit"))?;
        match (reply.first().and_then(as_str), reply.get(1)) {
            (Some(b"OK"), _) => {
                count_trimmed(reply.get(2), reply.get(3));
                self.recent.put(Arc::new(s.clone()), bytes.state.into());
                Ok(())
            }
            (Some(b"EXISTS"), _) => Err(StoreError::Exists(s.session_id.clone())),
            (Some(b"NOTFOUND"), _) => {
                self.recent.forget(&s.session_id);
                Err(StoreError::NotFound {
                    session_id: s.session_id.clone(),
                })
            }
            (Some(b"CONFLICT"), Some(actual)) => {
                // The stored state comes with the answer: the next attempt starts from it.
                match reply.get(2).and_then(as_str) {
                    Some(cur) => self.recent.put(
                        Arc::new(decode_state(&s.session_id, cur)?),
                        Bytes::copy_from_slice(cur),
                    ),
                    None => self.recent.forget(&s.session_id),
                }
                Err(StoreError::Conflict {
                    expected: expected.map_or(0, |e| e.version),
                    actual: as_u64(actual).unwrap_or(0),
                })
            }
            (Some(b"BROKEN"), why) => Err(broken("commit", why)),
            (Some(b"FENCED"), _) => Err(StoreError::Fenced),
            _ => Err(StoreError::Unavailable {
                op: "commit",
                source: format!("unexpected reply {reply:?}").into(),
            }),
        }
    }

    /// Deletes a session homed here; true if it existed.
    pub(super) async fn run_delete(
        &self,
        session_id: &SessionId,
        origin: &RegionId,
        actor: Option<&str>,
    ) -> Result<bool, StoreError> {
        let body = EnvelopeBody::deletion(&self.home_region, session_id).encode();
        let shard = keys::fanout_shard(session_id, self.shards);
        let bucket = keys::index_bucket(session_id);
        let (audit, ob_len, ob_bytes) = cap_args(self.audit);
        let (relay, rl_len, rl_bytes) = cap_args(self.relay_log);
        let mut cmd = scripts::evalsha(&self.delete, 10);
        write_keys(&mut cmd, session_id, &self.home_region, bucket);
        cmd.arg(keys::OWNER_LEASE);
        cmd.arg(session_id.as_str())
            .arg(keys::fanout_channel(shard))
            .arg(body)
            .arg(audit)
            .arg(origin.as_str())
            .arg(crate::clock::now_ms())
            .arg(relay)
            .arg(rl_len)
            .arg(rl_bytes)
            .arg(ob_len)
            .arg(ob_bytes)
            .arg(bucket)
            .arg(actor.unwrap_or(""))
            .arg(if self.fencing { "1" } else { "0" });
        let mut conn = self.primary.clone();
        let reply: Vec<Value> = scripts::invoke(&self.delete, &cmd, &mut conn)
            .await
            .map_err(StoreError::unavailable("delete"))?;
        self.recent.forget(session_id);
        match reply.first() {
            Some(Value::Int(existed)) => {
                count_trimmed(reply.get(1), reply.get(2));
                Ok(*existed == 1)
            }
            Some(v) if as_str(v) == Some(b"BROKEN") => Err(broken("delete", reply.get(1))),
            Some(v) if as_str(v) == Some(b"FENCED") => Err(StoreError::Fenced),
            _ => Err(StoreError::Unavailable {
                op: "delete",
                source: format!("unexpected reply {reply:?}").into(),
            }),
        }
    }
}
