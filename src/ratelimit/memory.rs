//! In-process fixed-window counters (the embedded default). Sharded maps; windows
//! that have ended are dropped as the map grows, so memory stays bounded by the
//! number of keys active in the last window.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Bucket, Decision, RateLimitError, RateLimiter};
use crate::clock::now_ms;
use crate::domain::Millis;

const SHARDS: usize = 32;
/// A shard sweeps ended windows when it grows past this many keys.
const SWEEP_AT: usize = 4096;

struct Window {
    ends_at: Millis,
    count: u32,
}

type Shard = Mutex<HashMap<(Bucket, String), Window>>;

pub struct MemoryRateLimiter {
    shards: Box<[Shard]>,
    hasher: RandomState,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        MemoryRateLimiter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, bucket: Bucket, key: &str, limit: u32) -> Result<Decision, RateLimitError> {
        let now = now_ms();
        let window_ms = bucket.window_secs() as Millis * 1000;
        let i = (self.hasher.hash_one(key) as usize) % SHARDS;
        let mut shard = self.shards[i].lock().unwrap_or_else(|e| e.into_inner());
        if shard.len() > SWEEP_AT {
            shard.retain(|_, w| w.ends_at > now);
        }
        let w = shard.entry((bucket, key.to_owned())).or_insert(Window {
            ends_at: now + window_ms,
            count: 0,
        });
        if w.ends_at <= now {
            *w = Window {
                ends_at: now + window_ms,
                count: 0,
            };
        }
        w.count = w.count.saturating_add(1);
        Ok(Decision {
            allowed: w.count <= limit,
            limit,
            remaining: limit.saturating_sub(w.count),
            reset_secs: ((w.ends_at - now + 999) / 1000).max(1) as u64,
            window_secs: bucket.window_secs(),
        })
    }
}
