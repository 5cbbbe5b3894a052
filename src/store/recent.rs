//! The last state this instance committed, loaded or was told about by a conflict
//! answer, per session it recently served: what a write starts from without a round
//! trip to Redis (issue 15). It may be stale (another instance committed since): the
//! compare-and-set then fails with a conflict that carries the current state, which
//! replaces the entry, so staleness costs one extra trip, never a wrong answer.
//!
//! Bounded by two generations: entries live in `young` until it holds `cap`, then
//! `young` becomes `old` (the previous `old` is dropped). A hit in `old` moves the entry
//! back to `young`, so the sessions served in the last generation stay (an LRU's
//! effect at the cost of one map swap per `cap` insertions).
//!
//! Each state is held with the stored bytes it was read or written as, so that a
//! commit can show the script the exact value it started from (`stored_at`): the
//! compare-and-set is then on the whole value (cheaper than decoding it for the
//! incarnation, and it also refuses a different state at the same version, which a
//! Redis gone back to an older snapshot and written again can hold).
//!
//! Must not: do IO, or decide whether a state is authoritative (callers know where it
//! came from).

use std::collections::HashMap;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::domain::{Session, SessionId};
use crate::store::Expected;

/// Entries per generation: at most twice this many states are held.
pub const RECENT_CAP: usize = 32_768;

/// A state and the stored bytes it is (`codec::encode_state` of it, or what was read).
type Held = (Arc<Session>, Bytes);

#[derive(Default)]
struct Generations {
    young: HashMap<SessionId, Held>,
    old: HashMap<SessionId, Held>,
}

pub struct Recent {
    cap: usize,
    maps: Mutex<Generations>,
}

impl Default for Recent {
    fn default() -> Self {
        Recent::new(RECENT_CAP)
    }
}

impl Recent {
    pub fn new(cap: usize) -> Recent {
        Recent {
            cap: cap.max(1),
            maps: Mutex::new(Generations::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Generations> {
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state held for `id`, if any.
    pub fn get(&self, id: &SessionId) -> Option<Arc<Session>> {
        self.held(id).map(|(s, _)| s)
    }

    fn held(&self, id: &SessionId) -> Option<Held> {
        let mut g = self.lock();
        if let Some(h) = g.young.get(id) {
            return Some(h.clone());
        }
        let h = g.old.remove(id)?;
        let dropped = self.insert(&mut g, id.clone(), h.clone());
        drop(g);
        drop(dropped);
        Some(h)
    }

    /// The stored bytes held for `id` when they are of the version, incarnation and
    /// ownership epoch a compare-and-set `expected`, else `None`.
    pub fn stored_at(&self, id: &SessionId, expected: &Expected) -> Option<Bytes> {
        let (s, b) = self.held(id)?;
        (Expected::of(&s) == *expected).then_some(b)
    }

    /// The version held for `id` (0 when none): reads from a replica must not be older.
    pub fn version(&self, id: &SessionId) -> u64 {
        let g = self.lock();
        g.young
            .get(id)
            .or_else(|| g.old.get(id))
            .map_or(0, |(s, _)| s.version)
    }

    /// Keeps `s`, the state the primary just answered with (loaded, committed, or
    /// carried by a conflict), whatever the entry held: the primary's latest answer
    /// wins even when its version is lower (a Redis restored from an older snapshot
    /// goes back in versions). Two answers landing out of order leave the older one:
    /// that costs the next write one extra trip, never a wrong answer.
    pub fn put(&self, s: Arc<Session>, stored: Bytes) {
        let mut g = self.lock();
        g.old.remove(&s.session_id);
        let id = s.session_id.clone();
        let dropped = self.insert(&mut g, id, (s, stored));
        drop(g);
        drop(dropped);
    }

    /// Forgets `id` (deleted, or found missing).
    pub fn forget(&self, id: &SessionId) {
        let mut g = self.lock();
        g.young.remove(id);
        g.old.remove(id);
    }

    /// Inserts into `young`, turning a full `young` into `old` first; returns the
    /// generation that falls out, for the caller to drop after unlocking (freeing tens
    /// of thousands of states must not stall every writer of the instance).
    fn insert(
        &self,
        g: &mut Generations,
        id: SessionId,
        h: Held,
    ) -> Option<HashMap<SessionId, Held>> {
        let mut dropped = None;
        if g.young.len() >= self.cap && !g.young.contains_key(&id) {
            let young = mem::replace(&mut g.young, HashMap::with_capacity(self.cap));
            dropped = Some(mem::replace(&mut g.old, young));
        }
        g.young.insert(id, h);
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, created_at: i64, version: u64) -> Arc<Session> {
        let mut s = crate::domain::sample::session(id, "iad", created_at);
        s.created_at = created_at;
        s.version = version;
        Arc::new(s)
    }

    fn at(version: u64, created_at: i64) -> Expected {
        Expected {
            version,
            created_at,
            epoch: 0,
        }
    }

    #[test]
    fn keeps_the_primarys_latest_answer_whatever_its_version() {
        let r = Recent::new(4);
        r.put(s("a", 1, 5), Bytes::from_static(b"v5"));
        r.put(s("a", 1, 4), Bytes::from_static(b"v4")); // restored from an older snapshot
        assert_eq!(r.version(&"a".into()), 4);
        assert_eq!(
            r.stored_at(&"a".into(), &at(4, 1)).as_deref(),
            Some(&b"v4"[..])
        );
        assert_eq!(r.stored_at(&"a".into(), &at(5, 1)), None);
        assert_eq!(r.stored_at(&"a".into(), &at(4, 2)), None);
        r.put(s("a", 2, 1), Bytes::new());
        assert_eq!(r.get(&"a".into()).unwrap().created_at, 2);
        r.forget(&"a".into());
        assert!(r.get(&"a".into()).is_none());
    }

    #[test]
    fn holds_at_most_two_generations_and_keeps_what_was_used() {
        let r = Recent::new(2);
        r.put(s("a", 1, 1), Bytes::new());
        r.put(s("b", 1, 1), Bytes::new());
        r.put(s("c", 1, 1), Bytes::new()); // a, b → old
        assert!(r.get(&"a".into()).is_some()); // back to young: [c, a]
        r.put(s("d", 1, 1), Bytes::new()); // [c, a] → old, b dropped
        assert!(r.get(&"b".into()).is_none());
        assert!(r.get(&"a".into()).is_some());
        assert!(r.get(&"c".into()).is_some());
    }
}
