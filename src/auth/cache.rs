//! Tokens already verified, so that a client sending the same token with every switch
//! pays the signature check once: keyed by the whole token text (signature included:
//! only the identical token hits), each entry kept until the token's `exp` (plus the
//! leeway), at most `MAX` entries (full: expired ones are dropped, then everything).
//! A cached token is as trusted as when it was verified; keys are fixed for the life of
//! the process (a rotation restarts instances), so nothing it trusted changes.
//!
//! Must not: cache refusals (a bad token costs its check every time, as it should).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use crate::domain::Actor;

const SHARDS: usize = 16;
/// Entries per shard.
const MAX: usize = 4_096;

struct Entry {
    actor: Arc<Actor>,
    /// Usable until this Unix time (seconds): `exp` plus the leeway.
    until: u64,
}

type Shard = Mutex<HashMap<Box<str>, Entry>>;

pub struct TokenCache {
    shards: Box<[Shard]>,
    hasher: RandomState,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl TokenCache {
    fn shard(&self, token: &str) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Entry>> {
        let i = (self.hasher.hash_one(token) as usize) % SHARDS;
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The actor of a token verified before and still valid at `now` (Unix seconds).
    pub fn get(&self, token: &str, now: u64) -> Option<Arc<Actor>> {
        let mut shard = self.shard(token);
        match shard.get(token) {
            Some(e) if e.until >= now => Some(e.actor.clone()),
            Some(_) => {
                shard.remove(token);
                None
            }
            None => None,
        }
    }

    /// Remembers a verified token until `until` (Unix seconds).
    pub fn put(&self, token: &str, actor: Arc<Actor>, until: u64, now: u64) {
        let mut shard = self.shard(token);
        if shard.len() >= MAX {
            shard.retain(|_, e| e.until >= now);
            if shard.len() >= MAX {
                shard.clear();
            }
        }
        shard.insert(token.into(), Entry { actor, until });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    #[test]
    fn hits_until_expiry_and_stays_bounded() {
        let c = TokenCache::default();
        let a = Arc::new(Actor {
            subject: "s".into(),
            role: Role::Watcher,
            tenant: None,
            session: None,
            participant: None,
        });
        c.put("t", a.clone(), 100, 0);
        assert!(c.get("t", 100).is_some());
        assert!(c.get("t", 101).is_none());
        assert!(c.get("t", 0).is_none(), "expired entries are dropped");
        for i in 0..(SHARDS * MAX * 2) {
            c.put(&i.to_string(), a.clone(), 10, 0);
        }
        let total: usize = c.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(total <= SHARDS * MAX);
    }
}
