//! The inter-region relay: each home region keeps a log of its commits' MessagePack
//! envelopes (appended by the commit script, ids = the home's sequence numbers); every
//! other region follows it over the internal API, applies envelopes newer than its
//! copy and republishes them locally; sequence gaps and partitions are healed by
//! catching up from the log and, when the log no longer reaches back, by a full
//! reconciliation against the home's digest.
//!
//! Must not: write a session's state except as a copy of what its home committed.

pub mod context;
pub mod copies;
pub mod error;
pub mod follower;
pub mod frame;
pub mod reconcile;
pub mod source;
