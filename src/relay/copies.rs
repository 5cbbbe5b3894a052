//! Keeping this region's copy of another region's session: every envelope, peer copy
//! and reconciliation repair goes through here, which applies the region-wide rule
//! (`region::precedence`) to the copy held here and writes the outcome as a
//! compare-and-set on the bytes it decided on (deciding again if they changed
//! meanwhile), keeping this region's index of that home's sessions in step. A change
//! is republished on the local fan-out channel so local WebSocket clients see it.
//! Bulk repairs decide a whole page from one `MGET` and apply it in one pipeline.
//!
//! Ownership (issue 11): a copy is indexed under the home its state names, and a state
//! of a higher ownership epoch replaces even a session homed here (the old home gives
//! ownership up); one that hands the session to this region arms its deadline here.
//!
//! Must not: commit sessions homed in this region (their home's commit does).

use redis::aio::ConnectionManager;
use std::sync::atomic::{AtomicBool, Ordering};

use redis::{ErrorKind, Script, ScriptInvocation, ServerErrorKind};

use super::offered::{copy_envelope, Offered};
use crate::domain::{lifetime, next_deadline, RegionId, Session, SessionId};
use crate::metrics;
use crate::region::precedence::{deletion_applies, replaces_with, Authority};
use crate::store::envelope::Envelope;
use crate::store::index::Entry;
use crate::store::{decode_state, keys, scripts, StoreError};

/// Attempts before giving up when the copy keeps changing under us.
const ATTEMPTS: usize = 8;

pub struct Copies {
    conn: ConnectionManager,
    script: Script,
    /// Whether Redis is known to have the script (pipelines then skip loading it).
    loaded: AtomicBool,
    shards: u32,
    ttl_ms: u64,
    /// This region: states homed here get their deadlines indexed.
    here: RegionId,
    /// The audit trail is on (superseded writes are recorded in the outbox).
    audit: bool,
}

/// What a bulk repair did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub repaired: usize,
    pub dropped: usize,
}

/// A decision about one copy, ready to be written.
struct Decision<'a> {
    envelope: &'a Envelope,
    wire: &'a [u8],
    incoming: Option<&'a Session>,
    seen: Option<Vec<u8>>,
    local_home: Option<RegionId>,
    take: bool,
    /// This region gives the session up, and these versions of it were superseded.
    superseded: Option<(u64, u64)>,
}

impl Copies {
    pub fn new(
        conn: ConnectionManager,
        shards: u32,
        ttl_secs: u64,
        here: &RegionId,
        audit: bool,
    ) -> Self {
        Copies {
            audit,
            conn,
            script: scripts::relay_apply(),
            loaded: AtomicBool::new(false),
            shards,
            ttl_ms: ttl_secs.saturating_mul(1000),
            here: here.clone(),
        }
    }

    /// Whether `incoming` (absent: the home deleted the session) should replace the
    /// copy here, decoded from `seen`.
    fn decide<'a>(
        &self,
        envelope: &'a Envelope,
        wire: &'a [u8],
        incoming: Option<&'a Session>,
        seen: Option<Vec<u8>>,
        authority: Authority,
    ) -> Decision<'a> {
        let body = &envelope.body;
        // An unreadable local copy is replaced by whatever the home sends.
        let local = seen
            .as_deref()
            .and_then(|b| decode_state(&body.session_id, b).ok());
        // A home's authority covers the sessions it owns, not its copies of others'.
        let authority = match incoming {
            Some(s) if s.home_region != body.home => Authority::Newer,
            _ => authority,
        };
        let take = match incoming {
            Some(s) => replaces_with(s, local.as_ref(), authority),
            // No copy here: still take it, to clear a stale index entry.
            None => local
                .as_ref()
                .is_none_or(|l| deletion_applies(&body.home, l)),
        };
        let superseded = match (incoming, &local, take) {
            (Some(s), Some(l), true)
                if l.home_region == self.here && s.home_region != self.here =>
            {
                super::superseded::found(s, l)
            }
            _ => None,
        };
        if let (Some(s), Some(l)) = (incoming, &local) {
            if s.home_region != l.home_region && s.created_at != l.created_at {
                let (won, lost) = if take { (s, l) } else { (l, s) };
                metrics::relay_conflict();
                tracing::warn!(
                    session = %body.session_id, kept_home = %won.home_region, dropped_home = %lost.home_region,
                    "the same session id was created in two regions; keeping the first created"
                );
            }
        }
        Decision {
            envelope,
            wire,
            incoming,
            local_home: local.map(|l| l.home_region),
            seen,
            take,
            superseded,
        }
    }

    /// Records the superseded writes of a decision that was applied (audit on).
    async fn report(&self, d: &Decision<'_>) {
        let (Some(range), Some(s), true) = (d.superseded, d.incoming, self.audit) else {
            return;
        };
        let state = &d.envelope.body.state;
        if let Err(e) = super::superseded::record(&self.conn, &self.here, s, state, range).await {
            tracing::warn!(session = %s.session_id, error = %crate::cause::chain(&e), "could not record superseded writes in the audit trail");
        }
    }

    /// The script call writing `d`.
    fn invocation(&self, d: &Decision<'_>) -> ScriptInvocation<'_> {
        let body = &d.envelope.body;
        let id = &body.session_id;
        let bucket = keys::index_bucket(id);
        let new_home = d.incoming.map_or(&body.home, |s| &s.home_region);
        let old_home = d.local_home.as_ref().unwrap_or(new_home);
        // Deadlines: armed when the state hands the session to this region, removed
        // when this region gives it up (or it is deleted).
        let deadline = match d.incoming {
            Some(s) if s.home_region == self.here => {
                next_deadline(s).map_or("-".to_owned(), |t| t.to_string())
            }
            _ if d.local_home.as_ref() == Some(&self.here) => "-".to_owned(),
            _ => String::new(),
        };
        let keep_until = d
            .incoming
            .map_or(0, |s| lifetime::keep_until(s, self.ttl_ms));
        let (seq, fp) = match d.envelope.seq {
            0 => (String::new(), String::new()),
            seq => (seq.to_string(), Envelope::fingerprint(d.wire).to_string()),
        };
        let mut inv = self.script.key(keys::session(id));
        inv.key(keys::relay_applied(&body.home))
            .key(keys::relay_fingerprint(&body.home))
            .key(keys::index(new_home, bucket))
            .key(keys::digest(new_home))
            .key(keys::index(old_home, bucket))
            .key(keys::digest(old_home))
            .key(keys::DEADLINES)
            .arg(&body.state[..])
            .arg(keep_until)
            .arg(keys::fanout_channel(keys::fanout_shard(id, self.shards)))
            .arg(d.wire)
            .arg(seq)
            .arg(fp)
            .arg(d.seen.as_deref().unwrap_or_default())
            .arg(if d.take { "take" } else { "skip" })
            .arg(id.as_str())
            .arg(bucket)
            .arg(
                d.incoming
                    .map(|s| Entry::of(s, &body.state).encode())
                    .unwrap_or_default(),
            )
            .arg(deadline)
            .arg(keys::DEADLINE_WAKE);
        inv
    }

    /// Offers the home's envelope (republished locally as `wire`, its exact bytes);
    /// a non-zero `seq` records progress through the home's log whatever the outcome.
    /// Returns whether the copy here (or only its index entry) changed.
    pub async fn offer(&self, envelope: &Envelope, wire: &[u8]) -> Result<bool, StoreError> {
        self.offer_with(envelope, wire, Authority::Newer).await
    }

    async fn offer_with(
        &self,
        envelope: &Envelope,
        wire: &[u8],
        authority: Authority,
    ) -> Result<bool, StoreError> {
        let body = &envelope.body;
        let id = &body.session_id;
        let incoming = if body.deleted {
            None
        } else {
            Some(decode_state(id, &body.state)?)
        };
        for _ in 0..ATTEMPTS {
            let mut conn = self.conn.clone();
            let seen: Option<Vec<u8>> = redis::cmd("GET")
                .arg(keys::session(id))
                .query_async(&mut conn)
                .await
                .map_err(StoreError::unavailable("read a copy"))?;
            let d = self.decide(envelope, wire, incoming.as_ref(), seen, authority);
            let outcome: i64 = self
                .invocation(&d)
                .invoke_async(&mut conn)
                .await
                .map_err(StoreError::unavailable("apply a copy"))?;
            if outcome >= 0 {
                if outcome > 0 {
                    self.report(&d).await;
                }
                return Ok(outcome > 0);
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
        let envelope = copy_envelope(home, session_id, Some(raw))?.0;
        self.offer(&envelope, &envelope.encode()).await
    }

    /// Offers the deletion of a copy its home no longer has.
    pub async fn drop_copy(
        &self,
        home: &RegionId,
        session_id: &SessionId,
    ) -> Result<bool, StoreError> {
        let envelope = copy_envelope(home, session_id, None)?.0;
        self.offer(&envelope, &envelope.encode()).await
    }

    /// Offers a page of `home`'s stored states (absent: gone at the home) with one
    /// local `MGET` and one pipeline. States that cannot be decoded are left out (and
    /// logged).
    pub async fn offer_page(
        &self,
        home: &RegionId,
        page: Vec<(SessionId, Option<Vec<u8>>)>,
        authority: Authority,
    ) -> Result<Applied, StoreError> {
        let mut items = Vec::with_capacity(page.len());
        for (id, raw) in page {
            match copy_envelope(home, &id, raw.as_deref()) {
                Ok((envelope, incoming)) => {
                    let wire = envelope.encode();
                    items.push(Offered {
                        envelope,
                        wire: wire.into(),
                        incoming,
                    });
                }
                Err(e) => tracing::warn!(
                    %home, session = %id, error = %crate::cause::chain(&e),
                    "reconciliation: the home's state cannot be decoded; left as it is"
                ),
            }
        }
        let changed = self.offer_all(&items, authority).await?;
        let mut out = Applied::default();
        for (item, changed) in items.iter().zip(changed) {
            match (changed, &item.incoming) {
                (true, Some(_)) => out.repaired += 1,
                (true, None) => out.dropped += 1,
                _ => {}
            }
        }
        Ok(out)
    }

    /// Offers consecutive entries of a home's log, in order: runs in which no session
    /// appears twice are decided from one `MGET` and written with one pipeline (each
    /// entry records its sequence number as it is applied).
    pub async fn offer_log(&self, entries: &[Offered]) -> Result<(), StoreError> {
        let mut start = 0;
        while start < entries.len() {
            let mut seen = std::collections::HashSet::new();
            let end = entries[start..]
                .iter()
                .position(|e| !seen.insert(&e.envelope.body.session_id))
                .map_or(entries.len(), |n| start + n);
            self.offer_all(&entries[start..end], Authority::Newer)
                .await?;
            start = end;
        }
        Ok(())
    }

    /// Decides `items` (distinct sessions) from one `MGET` and writes them with one
    /// pipeline; a copy that changed meanwhile is decided again on its own. Returns
    /// which changed.
    async fn offer_all(
        &self,
        items: &[Offered],
        authority: Authority,
    ) -> Result<Vec<bool>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let local_keys: Vec<String> = items
            .iter()
            .map(|o| keys::session(&o.envelope.body.session_id))
            .collect();
        let mut conn = self.conn.clone();
        let seen: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&local_keys)
            .query_async(&mut conn)
            .await
            .map_err(StoreError::unavailable("read copies"))?;
        let decisions: Vec<Decision<'_>> = items
            .iter()
            .zip(seen)
            .map(|(o, seen)| {
                self.decide(&o.envelope, &o.wire, o.incoming.as_ref(), seen, authority)
            })
            .collect();
        // Entries of the log record their position even when not taken.
        let writes: Vec<usize> = (0..decisions.len())
            .filter(|i| decisions[*i].take || decisions[*i].envelope.seq != 0)
            .collect();
        let pipeline = |load: bool| {
            let mut pipe = redis::pipe();
            if load {
                pipe.load_script(&self.script).ignore();
            }
            for i in &writes {
                pipe.invoke_script(&self.invocation(&decisions[*i]));
            }
            pipe
        };
        let load = !self.loaded.load(Ordering::Relaxed);
        let outcomes: Vec<i64> = match pipeline(load).query_async(&mut conn).await {
            // Redis restarted (or flushed its scripts) since: load it and go again.
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                pipeline(true).query_async(&mut conn).await
            }
            other => other,
        }
        .map_err(StoreError::unavailable("apply copies"))?;
        self.loaded.store(true, Ordering::Relaxed);
        let mut changed = vec![false; items.len()];
        for (i, outcome) in writes.into_iter().zip(outcomes) {
            let d = &decisions[i];
            changed[i] = match outcome {
                -1 => self.offer_with(d.envelope, d.wire, authority).await?,
                n => {
                    if n > 0 {
                        self.report(d).await;
                    }
                    n > 0
                }
            };
        }
        Ok(changed)
    }
}
