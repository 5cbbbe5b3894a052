//! Fan-out between the instances of a region: committed updates reach every instance
//! whose WebSocket clients watch the session. With the memory store there is one
//! instance and the store hands updates to the hub inside its commit (`Hub::in_commit`:
//! staged there, written to sockets by tasks of their own); with Redis, each instance
//! subscribes to the shard channels of the sessions its clients watch
//! (`redis`).
//!
//! Owns: the two contracts between the broker and the local subscribers (`Interest`:
//! which sessions this instance watches; `Audience`: where updates go). Must not:
//! know about sockets (the hub does) or write session state.

pub mod redis;

use tokio::sync::watch;

use crate::domain::SessionId;
use crate::store::UpdateSink;

/// Told when this instance starts or stops watching a session (the Redis fan-out
/// subscribes to the session's shard channel only while someone here watches it).
pub trait Interest: Send + Sync {
    fn watch(&self, session_id: &SessionId);
    fn unwatch(&self, session_id: &SessionId);
    /// Becomes true once updates for the session are flowing to this instance;
    /// `None` when there is nothing to wait for.
    fn ready(&self, session_id: &SessionId) -> Option<watch::Receiver<bool>>;
}

/// The local subscribers a broker delivers to (implemented by `crate::hub::Hub`).
pub trait Audience: UpdateSink {
    /// Whether any local connection watches the session (others are skipped cheaply).
    fn is_watched(&self, session_id: &SessionId) -> bool;
    /// Every watched session (re-read after the broker reconnects).
    fn watched(&self) -> Vec<SessionId>;
}
