//! Whether this region currently hears from a home region and holds a faithful copy of
//! its sessions. The relay's receiving leader stamps `rh:<home>` in the local Redis on
//! every frame, and `rd:<home>` while the link is up but the copies cannot be trusted
//! (an entry skipped until reconciliation repaired it, a stalled link, a catch-up in
//! progress); any instance reads both (cached for a moment) to mark reads of that
//! home's sessions stale.

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

    fn ttl_ms(&self) -> u64 {
        (self.timeout.as_millis() as u64).saturating_mul(10)
    }

    /// Records that a frame from `home` just arrived (called by the relay receiver);
    /// `degraded`: why reads of its sessions are stale nonetheless.
    pub async fn heard(&self, home: &RegionId, degraded: Option<&str>) {
        let mut c = self.redis.clone();
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys::relay_health(home))
            .arg(now_ms())
            .arg("PX")
            .arg(self.ttl_ms())
            .ignore();
        if let Some(why) = degraded {
            pipe.cmd("SET")
                .arg(keys::relay_degraded(home))
                .arg(why)
                .arg("PX")
                .arg(self.ttl_ms())
                .ignore();
        }
        let _: Result<(), _> = pipe.query_async(&mut c).await;
    }

    /// Records why reads of `home`'s sessions are stale while no frame arrives (a
    /// catch-up in progress), without claiming the link is up.
    pub async fn degraded(&self, home: &RegionId, why: &str) {
        let mut c = self.redis.clone();
        let _: Result<(), _> = redis::cmd("SET")
            .arg(keys::relay_degraded(home))
            .arg(why)
            .arg("PX")
            .arg(self.ttl_ms())
            .query_async(&mut c)
            .await;
    }

    /// Records that the copies of `home`'s sessions are faithful again.
    pub async fn restored(&self, home: &RegionId) {
        let mut c = self.redis.clone();
        let _: Result<(), _> = redis::cmd("DEL")
            .arg(keys::relay_degraded(home))
            .query_async(&mut c)
            .await;
    }

    /// True when `home` was heard from within the link timeout and its copies here
    /// are not known to differ.
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
        let (last, degraded): (Option<Millis>, Option<String>) = redis::cmd("MGET")
            .arg(keys::relay_health(home))
            .arg(keys::relay_degraded(home))
            .query_async(&mut c)
            .await
            .unwrap_or((None, None));
        let heard = last.is_some_and(|t| now_ms() - t <= self.timeout.as_millis() as Millis);
        let up = heard && degraded.is_none();
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(home.clone(), (Instant::now(), up));
        up
    }
}
