//! Keeping this region's copy of another region's session: every envelope, peer copy
//! and reconciliation repair goes through `offer`, which applies the region-wide rule
//! (`region::precedence`) to the copy held here and writes the outcome as a
//! compare-and-set on the bytes it decided on (deciding again if they changed
//! meanwhile). A change is republished on the local fan-out channel so local WebSocket
//! clients see it.
//!
//! Must not: touch sessions homed in this region (their home's commit does).

use redis::aio::ConnectionManager;
use redis::Script;

use crate::domain::{lifetime, RegionId, SessionId};
use crate::metrics;
use crate::region::precedence::{deletion_applies, replaces};
use crate::store::envelope::{Envelope, EnvelopeBody};
use crate::store::{decode_state, keys, scripts, StoreError};

/// Attempts before giving up when the copy keeps changing under us.
const ATTEMPTS: usize = 8;

pub struct Copies {
    conn: ConnectionManager,
    script: Script,
    shards: u32,
    ttl_ms: u64,
}

impl Copies {
    pub fn new(conn: ConnectionManager, shards: u32, ttl_secs: u64) -> Self {
        Copies {
            conn,
            script: scripts::relay_apply(),
            shards,
            ttl_ms: ttl_secs.saturating_mul(1000),
        }
    }

    /// Offers the home's envelope (republished locally as `wire`, its exact bytes);
    /// a non-zero `seq` records progress through the home's log whatever the outcome.
    /// Returns whether the copy here changed.
    pub async fn offer(&self, envelope: &Envelope, wire: &[u8]) -> Result<bool, StoreError> {
        let body = &envelope.body;
        let id = &body.session_id;
        let incoming = if body.deleted {
            None
        } else {
            Some(decode_state(id, &body.state)?)
        };
        let keep_until = incoming
            .as_ref()
            .map_or(0, |s| lifetime::keep_until(s, self.ttl_ms));
        let shard = keys::fanout_shard(id, self.shards);
        let seq = (envelope.seq != 0).then(|| envelope.seq.to_string());
        for _ in 0..ATTEMPTS {
            let mut conn = self.conn.clone();
            let seen: Option<Vec<u8>> = redis::cmd("GET")
                .arg(keys::session(id))
                .query_async(&mut conn)
                .await
                .map_err(StoreError::unavailable("read a copy"))?;
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
                        session = %id, kept_home = %won.home_region, dropped_home = %lost.home_region,
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
                .arg(wire)
                .arg(seq.as_deref().unwrap_or_default())
                .arg(seen.unwrap_or_default())
                .arg(if take { "" } else { "skip" })
                .invoke_async(&mut conn)
                .await
                .map_err(StoreError::unavailable("apply a copy"))?;
            if outcome >= 0 {
                return Ok(outcome == 1);
            }
        }
        Err(StoreError::Unavailable {
            op: "apply a copy",
            source: format!("the copy of {id} kept changing").into(),
        })
    }

    /// Offers the home's exact bytes of a session fetched from a peer.
    pub async fn store_copy(
        &self,
        home: &RegionId,
        session_id: &SessionId,
        raw: &[u8],
    ) -> Result<bool, StoreError> {
        let s = decode_state(session_id, raw)?;
        let envelope = Envelope {
            seq: 0,
            body: EnvelopeBody {
                home: home.clone(),
                session_id: session_id.clone(),
                version: s.version,
                state: raw.to_vec(),
                deleted: false,
                events: Vec::new(),
            },
        };
        self.offer(&envelope, &envelope.encode()).await
    }

    /// Offers the deletion of a copy its home no longer has.
    pub async fn drop_copy(
        &self,
        home: &RegionId,
        session_id: &SessionId,
    ) -> Result<bool, StoreError> {
        let envelope = Envelope {
            seq: 0,
            body: EnvelopeBody::deletion(home, session_id),
        };
        self.offer(&envelope, &envelope.encode()).await
    }
}
