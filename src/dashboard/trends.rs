//! This instance's trend history, and its region's: every sample is kept in memory
//! (`trend::history`) and, with Redis, also pushed to the region's Redis (a capped
//! list per instance plus a sorted set of live instances), so that a region's figures
//! are all of its instances' figures, whichever instance is asked.
//!
//! Must not: fail a sample because Redis is down (the figures are best effort; the
//! in-memory history keeps going).

use std::sync::Mutex;

use redis::aio::ConnectionManager;

use crate::config::DashboardConfig;
use crate::domain::{Millis, RegionId};
use crate::store::keys;
use crate::trend::history::{Figures, History, Interval};
use crate::trend::series::Totals;

pub struct Trends {
    region: RegionId,
    instance: String,
    history: Mutex<History>,
    keep: usize,
    redis: Option<ConnectionManager>,
}

impl Trends {
    pub fn new(
        region: &RegionId,
        instance: &str,
        cfg: &DashboardConfig,
        redis: Option<ConnectionManager>,
    ) -> Self {
        let history = History::new(cfg.interval_ms, cfg.keep_secs.saturating_mul(1000));
        Trends {
            region: region.clone(),
            instance: instance.to_owned(),
            keep: (cfg.keep_secs.saturating_mul(1000) / history.interval_ms()).max(1) as usize,
            history: Mutex::new(history),
            redis,
        }
    }

    fn history(&self) -> std::sync::MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn interval_ms(&self) -> u64 {
        self.history().interval_ms()
    }

    /// Heap held by the in-memory history (for the cost figure).
    pub fn heap_bytes(&self) -> usize {
        self.history().heap_bytes()
    }

    /// Closes the interval that started at `start_ms` with these totals and gauges,
    /// and publishes it to the region's Redis.
    pub async fn sample(&self, start_ms: Millis, totals: Totals, gauges: Vec<(String, f64)>) {
        let latest = {
            let mut h = self.history();
            h.sample(start_ms, totals, gauges);
            h.intervals().pop()
        };
        let (Some(interval), Some(redis)) = (latest, &self.redis) else {
            return;
        };
        if let Err(e) = self.publish(redis.clone(), &interval).await {
            tracing::debug!(error = %crate::cause::chain(&e), "dashboard figures not published");
        }
    }

    async fn publish(
        &self,
        mut conn: ConnectionManager,
        interval: &Interval,
    ) -> redis::RedisResult<()> {
        let key = keys::trend(&self.instance);
        let bytes = rmp_serde::to_vec(interval).unwrap_or_default();
        let ttl = (self.keep as u64 + 2).saturating_mul(self.interval_ms());
        redis::pipe()
            .cmd("LPUSH")
            .arg(&key)
            .arg(bytes)
            .ignore()
            .cmd("LTRIM")
            .arg(&key)
            .arg(0)
            .arg(self.keep as i64 - 1)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl)
            .ignore()
            .cmd("ZADD")
            .arg(keys::TREND_INSTANCES)
            .arg(interval.start_ms)
            .arg(&self.instance)
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(keys::TREND_INSTANCES)
            .arg("-inf")
            .arg(interval.start_ms - ttl as Millis)
            .ignore()
            .query_async(&mut conn)
            .await
    }

    /// This instance's figures.
    pub fn own(&self) -> Figures {
        let h = self.history();
        Figures {
            region: self.region.to_string(),
            instance: self.instance.clone(),
            interval_ms: h.interval_ms(),
            intervals: h.intervals(),
        }
    }

    /// Every live instance of this region: from Redis when there is one (falling back
    /// to this instance's own figures when it does not answer).
    pub async fn region(&self, now: Millis) -> Vec<Figures> {
        let Some(redis) = &self.redis else {
            return vec![self.own()];
        };
        match self.read_region(redis.clone(), now).await {
            Ok(all) if !all.is_empty() => all,
            Ok(_) => vec![self.own()],
            Err(e) => {
                tracing::debug!(error = %crate::cause::chain(&e), "region figures unreadable; this instance only");
                vec![self.own()]
            }
        }
    }

    async fn read_region(
        &self,
        mut conn: ConnectionManager,
        now: Millis,
    ) -> redis::RedisResult<Vec<Figures>> {
        let interval = self.interval_ms() as Millis;
        let live_since = now - 3 * interval;
        let instances: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(keys::TREND_INSTANCES)
            .arg(live_since)
            .arg("+inf")
            .query_async(&mut conn)
            .await?;
        let mut pipe = redis::pipe();
        for i in &instances {
            pipe.cmd("LRANGE").arg(keys::trend(i)).arg(0).arg(-1);
        }
        let lists: Vec<Vec<Vec<u8>>> = pipe.query_async(&mut conn).await?;
        Ok(instances
            .into_iter()
            .zip(lists)
            .map(|(instance, list)| {
                let mut intervals: Vec<Interval> = list
                    .iter()
                    .filter_map(|b| rmp_serde::from_slice(b).ok())
                    .collect();
                intervals.reverse();
                Figures {
                    region: self.region.to_string(),
                    instance,
                    interval_ms: interval as u64,
                    intervals,
                }
            })
            .collect())
    }
}
