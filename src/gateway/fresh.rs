//! "Never older than what fan-out delivered": a read may come from a replica or a
//! region's copy that lags behind the updates this instance's WebSocket clients were
//! already sent. The hub keeps the newest state delivered per watched session; every
//! read answers with the newer of the two. Also: whether a copy is stale because its
//! home is silent or the relay knows its copies differ.
//!
//! Must not: read storage (the gateway passes what it read).

use std::sync::Arc;

use crate::clock::now_ms;
use crate::domain::{lifetime, Session, SessionId};
use crate::hub::Hub;
use crate::region::cluster::Cluster;

/// The newest state delivered here for a session still within its lifetime.
pub fn delivered(hub: &Hub, session_id: &SessionId, ttl_ms: u64) -> Option<Arc<Session>> {
    // A copy past its lifetime is a session storage has already forgotten (TTL).
    hub.latest(session_id)
        .filter(|c| lifetime::keep_until(c, ttl_ms) > now_ms())
}

/// The newer of a stored state and what was delivered (storage stays authoritative
/// about existence: callers only get here with a stored state).
pub fn newest(stored: Arc<Session>, delivered: Option<Arc<Session>>) -> Arc<Session> {
    match delivered {
        Some(d) if d.stamp() > stored.stamp() => d,
        _ => stored,
    }
}

/// Whether `s` is a copy whose home region this region currently does not hear from,
/// or whose copies here are known to differ from the home's (`region::health`).
pub async fn stale(cluster: Option<&Cluster>, s: &Session) -> bool {
    match cluster {
        Some(c) if s.home_region != c.region => !c.health.is_up(&s.home_region).await,
        _ => false,
    }
}
