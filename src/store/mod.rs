//! Session storage behind one trait, so that the memory store (embedded default) and
//! the Redis store (production) are interchangeable, and every write is a
//! compare-and-set on `version` and incarnation (`created_at`) that also publishes the
//! update and maintains the deadline index in the same atomic step.
//!
//! Owns: the `Store` contract and the `Update` that fan-out carries. Must not: apply
//! domain rules (callers pass the new value) or talk to WebSocket clients directly
//! (updates go to an `UpdateSink`).

pub mod codec;
pub mod compact;
pub mod envelope;
pub mod index;
pub mod keys;
pub mod memory;
pub mod recent;
pub mod redis;
mod redis_write;
pub mod scripts;
mod varint;

use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;

use crate::domain::{Event, Millis, RegionId, Session, SessionId};
use codec::CodecError;

/// Any error a backend reports, kept as the cause of an `Unavailable`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("session {0} already exists")]
    Exists(SessionId),
    #[error("session {session_id} not found")]
    NotFound { session_id: SessionId },
    #[error("version conflict: expected {expected}, found {actual}")]
    Conflict { expected: u64, actual: u64 },
    #[error("stored state of session {session_id} is unreadable")]
    Corrupt {
        session_id: SessionId,
        #[source]
        source: CodecError,
    },
    /// This region does not hold its ownership lease (a majority of regions has not
    /// vouched for it lately): it commits nothing it could not vouch for.
    #[error("this region is fenced: no majority of regions vouches for it")]
    Fenced,
    /// The backend failed or could not be reached during `op`; retrying may succeed.
    #[error("storage unavailable during {op}")]
    Unavailable {
        op: &'static str,
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// `Unavailable` during `op`, for `map_err` on a backend call; counted in
    /// `synckairos_redis_errors_total` (only the Redis store fails this way).
    pub fn unavailable<E: Into<BoxError>>(op: &'static str) -> impl FnOnce(E) -> StoreError {
        move |e| {
            crate::metrics::redis_error();
            StoreError::Unavailable {
                op,
                source: e.into(),
            }
        }
    }
}

/// The session in a stored value; `Corrupt` (naming the session) when it is not one.
pub fn decode_state(session_id: &SessionId, bytes: &[u8]) -> Result<Session, StoreError> {
    codec::decode_state_bytes(session_id, bytes).map_err(|source| StoreError::Corrupt {
        session_id: session_id.clone(),
        source,
    })
}

/// What a compare-and-set expects to find stored: the version, the incarnation
/// (`created_at`) and the ownership epoch the change was computed from. A session
/// deleted and created again meanwhile is another incarnation, whatever its version;
/// one taken over meanwhile has another epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    pub version: u64,
    pub created_at: Millis,
    pub epoch: u32,
}

impl Expected {
    pub fn of(s: &Session) -> Expected {
        Expected {
            version: s.version,
            created_at: s.created_at,
            epoch: s.epoch,
        }
    }
}

/// One state change to commit: the new value plus what the commit must do alongside.
pub struct Commit<'a> {
    pub session: &'a Session,
    pub events: &'a [Event],
    /// The session's next deadline (`domain::next_deadline`), indexed for the scheduler.
    pub deadline: Option<Millis>,
    /// Storage may forget the session after this instant (`domain::lifetime`).
    pub keep_until: Millis,
    /// The region that handled the request (the home itself, or the one that forwarded).
    pub origin: &'a RegionId,
    /// Who asked (`role:subject` of the request's token), for the audit trail; `None`
    /// for the server's own deadline writes and for the open mode.
    pub actor: Option<&'a str>,
    /// The home the replaced state named when this commit moves the session's home (a
    /// re-home or a takeover: its index entry moves too); `None` otherwise.
    pub moved_from: Option<&'a RegionId>,
}

/// What fan-out delivers to the instances watching a session.
#[derive(Clone, Debug)]
pub enum Update {
    State {
        session: Arc<Session>,
        events: Arc<[Event]>,
    },
    Deleted {
        session_id: SessionId,
    },
}

impl Update {
    pub fn session_id(&self) -> &SessionId {
        match self {
            Update::State { session, .. } => &session.session_id,
            Update::Deleted { session_id } => session_id,
        }
    }
}

/// Receives committed updates for local delivery (the hub; see `crate::fanout`).
pub trait UpdateSink: Send + Sync + 'static {
    fn deliver(&self, update: Update);
}

/// Where the memory store appends a commit's audit record inside the commit's critical
/// section (the embedded twin of the Redis outbox stream; `crate::audit` drains it).
pub trait AuditAppend: Send + Sync + 'static {
    /// `body` is the commit's encoded envelope body; `origin` the handling region;
    /// `actor` who asked (see `Commit::actor`).
    fn record(&self, body: Vec<u8>, origin: &RegionId, actor: Option<&str>, at: Millis);
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for logs and metrics (`memory`, `redis`).
    fn kind(&self) -> &'static str;

    /// The authoritative current value (the primary): what writes start from.
    async fn load(&self, session_id: &SessionId) -> Result<Option<Arc<Session>>, StoreError>;

    /// The last state this instance committed or loaded, when it still holds it (no
    /// IO): where a write may start instead of `load`. It may be stale; committing
    /// against a stale state fails with `Conflict`, after which this answers with the
    /// state the conflict found (Redis), or `None` (then `load`).
    fn recent(&self, _session_id: &SessionId) -> Option<Arc<Session>> {
        None
    }

    /// A value for clients to read; may come from a replica, but never older than a
    /// version this instance has already committed or loaded.
    async fn read(&self, session_id: &SessionId) -> Result<Option<Arc<Session>>, StoreError> {
        self.load(session_id).await
    }

    /// Stores a new session; `Exists` if the id is taken.
    async fn insert(&self, commit: Commit<'_>) -> Result<(), StoreError>;

    /// Replaces the session iff it is stored at `expected` (version and incarnation);
    /// `Conflict` with the stored version otherwise, `NotFound` if it vanished.
    async fn commit(&self, expected: Expected, commit: Commit<'_>) -> Result<(), StoreError>;

    /// Removes the session and broadcasts the deletion; true if it existed.
    /// `origin` is the region that handled the request and `actor` who asked (for the
    /// audit record).
    async fn delete(
        &self,
        session_id: &SessionId,
        origin: &RegionId,
        actor: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Leases up to `limit` sessions whose deadline is at or before `now` for
    /// `lease_ms`; a lease that is not settled by a commit or `reschedule` comes due
    /// again when it runs out, so a crashed claimer delays a deadline, never loses it.
    async fn claim_due(
        &self,
        now: Millis,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<SessionId>, StoreError>;

    /// Sets the deadline of a session iff it is still at `version` (after a claim found
    /// nothing to commit).
    async fn reschedule(
        &self,
        session_id: &SessionId,
        version: u64,
        deadline: Option<Millis>,
    ) -> Result<(), StoreError>;

    /// The earliest indexed deadline, if any.
    async fn next_due(&self) -> Result<Option<Millis>, StoreError>;

    /// Cheap liveness check for `/ready`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Periodic upkeep (the memory store forgets sessions past their lifetime here;
    /// Redis does that itself with key expiry).
    async fn housekeeping(&self, _now: Millis) -> Result<(), StoreError> {
        Ok(())
    }
}
