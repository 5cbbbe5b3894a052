//! The inter-region relay: each home region keeps a log of its commits' MessagePack
//! envelopes (appended by the commit script, ids = the home's sequence numbers) and an
//! index of its sessions with bucketed digests (kept by the same scripts); every other
//! region follows the log over the internal API, applies envelopes newer than its
//! copy and republishes them locally. Whatever the log cannot carry (a gap, a rollback,
//! a stall, an entry that cannot be applied, a region whose Redis was flushed) is
//! repaired by reconciliation against the home's index: digests first, full states in
//! bulk pages for what differs. Nothing makes a follower wait on one entry forever, and
//! reads are marked stale while copies are known to differ.
//!
//! Must not: write a session's state except as a copy of what its home committed.

pub mod checker;
pub mod context;
pub mod copies;
pub mod error;
pub mod follower;
pub mod frame;
pub mod lease;
pub mod link;
pub mod maintenance;
pub mod offered;
pub mod progress;
pub mod reconcile;
pub mod serve;
pub mod source;
pub mod state;
pub mod superseded;
