//! Keeping this region's copy of another region's session: every envelope, peer copy
//! and reconciliation repair goes through `offer`, which applies the region-wide rule
//! (`verdict`) to the copy held here and writes the outcome as a compare-and-set on
//! the bytes it decided on (deciding again if they changed meanwhile). A change is
//! republished on the local fan-out channel so local WebSocket clients see it.

use redis::aio::ConnectionManager;
use redis::Script;

use super::verdict::{deletion_applies, replaces};
use crate::domain::lifetime;
use crate::metrics;
use crate::store::codec::{decode_state, encode_deletion, EnvelopeBody};
use crate::store::redis::unavailable;
use crate::store::{keys, StoreError};

/// Attempts before giving up when the copy keeps changing under us.
const ATTEMPTS: usize = 8;

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

    /// Offers the home's `body` (published locally as `message`); `seq` records
    /// progress through the home's log whatever the outcome. Returns whether the copy
    /// here changed.
    pub async fn offer(
        &self,
        body: &EnvelopeBody,
        message: &[u8],
        seq: Option<u64>,
    ) -> Result<bool, StoreError> {
        let id = body.session_id.as_str();
        let incoming = if body.deleted {
            None
        } else {
            Some(decode_state(id, &body.state)?)
        };
        let keep_until = incoming
            .as_ref()
            .map_or(0, |s| lifetime::keep_until(s, self.ttl_ms));
        let shard = keys::fanout_shard(id, self.shards);
        for _ in 0..ATTEMPTS {
            let mut conn = self.conn.clone();
            let seen: Option<Vec<u8>> = redis::cmd("GET")
                .arg(keys::session(id))
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            // An unreadable local copy is replaced by whatever the home sends.
            let local = seen.as_deref().and_then(|b| decode_state(id, b).ok());
            let take = match &incoming {
                Some(s) => replaces(s, local.as_ref()),
                None => local
                    .as_ref()
                    .is_some_and(|l| deletion_applies(&body.home, l)),
            };
            if let (Some(s), Some(l)) = (&incoming, &local) {
                if s.home_region != l.home_region {
                    let (won, lost) = if take { (s, l) } else { (l, s) };
                    metrics::relay_conflict();
                    tracing::warn!(
                        session = id, kept_home = %won.home_region, dropped_home = %lost.home_region,
                        "the same session id was created in two regions; keeping the first created"
                    );
                }
            }
            let outcome: i64 = self
                .script
                .key(keys::session(id))
                .key(keys::relay_applied(&body.home))
                .arg(&body.state[..])
                .arg(keep_until)
                .arg(keys::fanout_channel(shard))
                .arg(message)
                .arg(seq.map(|s| s.to_string()).unwrap_or_default())
                .arg(seen.unwrap_or_default())
                .arg(if take { "" } else { "skip" })
                .invoke_async(&mut conn)
                .await
                .map_err(unavailable)?;
            if outcome >= 0 {
                return Ok(outcome == 1);
            }
        }
        Err(StoreError::Unavailable(format!(
            "the copy of {id} kept changing"
        )))
    }

    /// Offers the home's exact bytes of a session fetched from a peer.
    pub async fn store_copy(
        &self,
        home: &str,
        session_id: &str,
        raw: &[u8],
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
        self.offer(&body, &message(0, &body), None).await
    }

    /// Offers the deletion of a copy its home no longer has.
    pub async fn drop_copy(&self, home: &str, session_id: &str) -> Result<bool, StoreError> {
        let raw = encode_deletion(home, session_id);
        let body: EnvelopeBody = rmp_serde::from_slice(&raw).map_err(|e| StoreError::Corrupt {
            session_id: session_id.to_owned(),
            reason: e.to_string(),
        })?;
        self.offer(&body, &message(0, &body), None).await
    }
}

/// The local fan-out message for a body: `msgpack(seq)` + `msgpack(body)`.
pub fn message(seq: u64, body: &EnvelopeBody) -> Vec<u8> {
    let mut m = rmp_serde::to_vec(&seq).unwrap_or_default();
    m.extend(crate::store::codec::encode_body(body));
    m
}
