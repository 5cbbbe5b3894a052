//! Whether this region currently hears from a home region. The relay's receiving
//! leader stamps `rh:<home>` in the local Redis on every frame; any instance reads it
//! (cached for a moment) to mark reads of that home's sessions stale when it is silent.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use crate::clock::now_ms;
use crate::domain::{Millis, RegionId};
use crate::store::keys;

const CACHE_FOR: Duration = Duration::from_millis(250);

pub struct LinkHealth {
    redis: ConnectionManager,
    timeout: Duration,
    cache: Mutex<HashMap<RegionId, (Instant, bool)>>,
}

impl LinkHealth {
    pub fn new(redis: ConnectionManager, timeout: Duration) -> Self {
        LinkHealth {
            redis,
            timeout,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Records that a frame from `home` just arrived (called by the relay receiver).
    pub async fn heard(&self, home: &RegionId) {
        let mut c = self.redis.clone();
        let ttl = (self.timeout.as_millis() as u64).saturating_mul(10);
        let _: Result<(), _> = redis::cmd("SET")
            .arg(keys::relay_health(home))
            .arg(now_ms())
            .arg("PX")
            .arg(ttl)
            .query_async(&mut c)
            .await;
    }

    /// True when `home` was heard from within the link timeout.
    pub async fn is_up(&self, home: &RegionId) -> bool {
        if let Some((at, up)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(home)
        {
            if at.elapsed() < CACHE_FOR {
                return *up;
            }
        }
        let mut c = self.redis.clone();
        let last: Option<Millis> = redis::cmd("GET")
            .arg(keys::relay_health(home))
            .query_async(&mut c)
            .await
            .unwrap_or(None);
        let up = last.is_some_and(|t| now_ms() - t <= self.timeout.as_millis() as Millis);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(home.clone(), (Instant::now(), up));
        up
    }
}
