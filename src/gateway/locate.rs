//! Finding a session this region has not seen yet: its peers are asked (the home's
//! answer is authoritative) and the copy they return is kept here, byte for byte, so
//! the next read is local. An id that no region has is remembered as unknown for a
//! moment (`cluster.negative_cache_ms`, at most `cluster.negative_cache_entries` ids):
//! a client repeating lookups of an unknown id does not make every region read its
//! Redis each time.
//!
//! Must not: decide what to do with the session (the gateway does).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::{Session, SessionId};
use crate::metrics;
use crate::region::cluster::{Cluster, Lookup};
use crate::relay::copies::Copies;

use super::error::GatewayError;

/// Ids recently found in no region, each until an instant.
pub struct Unknown {
    ttl: Duration,
    max: usize,
    ids: Mutex<HashMap<SessionId, Instant>>,
}

impl Unknown {
    pub fn new(ttl_ms: u64, max: usize) -> Self {
        Unknown {
            ttl: Duration::from_millis(ttl_ms),
            max,
            ids: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Instant>> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn contains(&self, id: &SessionId) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        let mut ids = self.lock();
        match ids.get(id) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                ids.remove(id);
                false
            }
            None => false,
        }
    }

    fn insert(&self, id: &SessionId) {
        if self.ttl.is_zero() || self.max == 0 {
            return;
        }
        let now = Instant::now();
        let mut ids = self.lock();
        if ids.len() >= self.max {
            ids.retain(|_, until| *until > now);
        }
        if ids.len() < self.max {
            ids.insert(id.clone(), now + self.ttl);
        }
    }

    /// Forgets `id` (it was just created here).
    pub fn forget(&self, id: &SessionId) {
        if !self.ttl.is_zero() {
            self.lock().remove(id);
        }
    }
}

/// The session as the other regions know it; `NotFound` or `Undecidable` otherwise.
pub async fn from_peers(
    cluster: &Cluster,
    copies: &Copies,
    unknown: &Unknown,
    session_id: &SessionId,
) -> Result<Session, GatewayError> {
    if unknown.contains(session_id) {
        metrics::peer_lookup("cached");
        return Err(GatewayError::NotFound(session_id.clone()));
    }
    metrics::peer_lookup("asked");
    match cluster.lookup(session_id).await {
        Lookup::Found(s, raw) => {
            if let Err(e) = copies.store_copy(&s.home_region, session_id, &raw).await {
                tracing::debug!(
                    session = %session_id,
                    error = %crate::cause::chain(&e),
                    "could not keep the copy found at a peer"
                );
            }
            Ok(*s)
        }
        Lookup::Absent => {
            unknown.insert(session_id);
            Err(GatewayError::NotFound(session_id.clone()))
        }
        Lookup::Unknown(source) => Err(GatewayError::Undecidable {
            session_id: session_id.clone(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_within_bounds_and_time() {
        let u = Unknown::new(60_000, 2);
        let (a, b, c) = (
            SessionId::from("a"),
            SessionId::from("b"),
            SessionId::from("c"),
        );
        u.insert(&a);
        u.insert(&b);
        u.insert(&c);
        assert!(u.contains(&a) && u.contains(&b) && !u.contains(&c));
        u.forget(&a);
        assert!(!u.contains(&a));
        let off = Unknown::new(0, 10);
        off.insert(&a);
        assert!(!off.contains(&a));
    }
}
