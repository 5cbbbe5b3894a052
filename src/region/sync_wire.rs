//! The internal API of reconciliation, as types: how a region compares its copies of a
//! home's sessions with the home's index and moves full states in bulk. A summary
//! first (one small answer, whatever the number of sessions), bucket digests when it
//! differs, index entries of the buckets that differ, then stored states in pages
//! (by bucket when the copies here have none of a bucket, else by id), each page
//! bounded in bytes by the home.
//!
//! Owns: the paths and shapes (MessagePack via `wire::encode`/`decode`). Must not: do IO.

use serde::{Deserialize, Serialize};

use crate::domain::{Millis, SessionId};

/// GET: the home's `Summary`.
pub const SUMMARY_PATH: &str = "/internal/sync/summary";
/// GET: the home's `BucketDigests`.
pub const BUCKETS_PATH: &str = "/internal/sync/buckets";
/// POST `EntriesRequest`: the home's `Entries` of those buckets.
pub const ENTRIES_PATH: &str = "/internal/sync/entries";
/// POST `StatesRequest`: a `StatesPage`.
pub const STATES_PATH: &str = "/internal/sync/states";

/// The home's index at a glance, at its sequence number `seq`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub seq: u64,
    /// The fingerprint of the home's log entry at `seq` (0: not in its log).
    pub fingerprint: u64,
    /// Digest over every bucket, and the number of sessions.
    pub total: u64,
    pub count: u64,
}

/// The digest of every non-empty bucket (absent: empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketDigests {
    pub digests: Vec<(u32, u64)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesRequest {
    pub buckets: Vec<u32>,
}

/// `(session id, version, created_at, content hash, epoch)` of every session in the
/// requested buckets (`store::index::Entry`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entries {
    pub entries: Vec<(SessionId, u64, Millis, u32, u32)>,
}

/// Stored states wanted: every session of `buckets`, and `ids`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatesRequest {
    pub buckets: Vec<u32>,
    pub ids: Vec<SessionId>,
}

/// As many of the requested states as fit the home's page size: the first `ids_done`
/// ids (absent ones without bytes) and the whole buckets listed in `buckets_done`.
/// Whatever is not done is asked for again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatesPage {
    pub states: Vec<(SessionId, Option<serde_bytes::ByteBuf>)>,
    pub ids_done: usize,
    pub buckets_done: Vec<u32>,
}
