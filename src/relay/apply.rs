//! Applying another region's envelope to this region's copy (one Lua script): newer
//! versions only, unless reconciliation forces the home's exact bytes; the change is
//! republished on the local fan-out channel so local WebSocket clients see it.

use redis::aio::ConnectionManager;
use redis::Script;

use crate::domain::lifetime;
use crate::store::codec::{decode_state, encode_deletion, EnvelopeBody};
use crate::store::redis::unavailable;
use crate::store::{keys, StoreError};

pub struct Applier {
    conn: ConnectionManager,
    script: Script,
    shards: u32,
    ttl_ms: u64,
}

impl Applier {
    pub fn new(conn: ConnectionManager, shards: u32, ttl_secs: u64) -> Self {
        Applier {
            conn,
            script: Script::new(include_str!("../store/lua/relay_apply.lua")),
            shards,
            ttl_ms: ttl_secs.saturating_mul(1000),
        }
    }

    /// Applies `body` (published as `message`); `seq` records progress through the
    /// home's log. With `seen_locally`, the write is forced but only if the local copy
    /// is still exactly those bytes (empty = absent). Returns whether the copy changed.
    pub async fn apply(
        &self,
        body: &EnvelopeBody,
        message: &[u8],
        seq: Option<u64>,
        seen_locally: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let keep_until = if body.deleted {
            0
        } else {
            let s = decode_state(&body.session_id, &body.state)?;
            lifetime::keep_until(&s, self.ttl_ms)
        };
        let shard = keys::fanout_shard(&body.session_id, self.shards);
        let mut conn = self.conn.clone();
        let changed: i64 = self
            .script
            .key(keys::session(&body.session_id))
            .key(keys::relay_applied(&body.home))
            .arg(body.version)
            .arg(&body.state[..])
            .arg(keep_until)
            .arg(if body.deleted { "1" } else { "0" })
            .arg(keys::fanout_channel(shard))
            .arg(message)
            .arg(seq.map(|s| s.to_string()).unwrap_or_default())
            .arg(if seen_locally.is_some() { "1" } else { "0" })
            .arg(seen_locally.unwrap_or_default())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(changed == 1)
    }

    /// Stores the home's exact bytes of a session fetched from a peer (if newer, or,
    /// with `seen_locally`, in place of exactly those local bytes).
    pub async fn store_copy(
        &self,
        home: &str,
        session_id: &str,
        raw: &[u8],
        seen_locally: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let s = decode_state(session_id, raw)?;
        let body = EnvelopeBody {
            home: home.to_owned(),
            session_id: session_id.to_owned(),
            version: s.version,
            state: raw.to_vec(),
            deleted: false,
            events: Vec::new(),
        };
        self.apply(&body, &message(0, &body), None, seen_locally)
            .await
    }

    /// Removes a copy the home no longer has, if it is still exactly `seen_locally`.
    pub async fn drop_copy(
        &self,
        home: &str,
        session_id: &str,
        seen_locally: &[u8],
    ) -> Result<bool, StoreError> {
        let raw = encode_deletion(home, session_id);
        let body: EnvelopeBody = rmp_serde::from_slice(&raw).map_err(|e| StoreError::Corrupt {
            session_id: session_id.to_owned(),
            reason: e.to_string(),
        })?;
        self.apply(&body, &message(0, &body), None, Some(seen_locally))
            .await
    }
}

/// The local fan-out message for a body: `msgpack(seq)` + `msgpack(body)`.
pub fn message(seq: u64, body: &EnvelopeBody) -> Vec<u8> {
    let mut m = rmp_serde::to_vec(&seq).unwrap_or_default();
    m.extend(crate::store::codec::encode_body(body));
    m
}
