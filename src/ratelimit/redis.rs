//! Rate-limit windows shared by every instance of the region: the same fixed windows
//! as the memory limiter, counted by one Lua script (one round trip) in Redis.

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::Script;

use super::{Bucket, Decision, RateLimitError, RateLimiter};
use crate::store::{keys, scripts};

pub struct RedisRateLimiter {
    conn: ConnectionManager,
    script: Script,
}

impl RedisRateLimiter {
    pub fn new(conn: ConnectionManager) -> Self {
        RedisRateLimiter {
            conn,
            script: scripts::rate_limit(),
        }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, bucket: Bucket, key: &str, limit: u32) -> Result<Decision, RateLimitError> {
        let short = match bucket {
            Bucket::General => "g",
            Bucket::Switch => "s",
            Bucket::Create => "c",
        };
        let window_ms = bucket.window_secs() * 1000;
        let mut conn = self.conn.clone();
        let (count, ttl_ms): (u64, i64) = self
            .script
            .key(keys::rate_limit(short, key))
            .arg(window_ms)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| RateLimitError::Unavailable(e.into()))?;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        Ok(Decision {
            allowed: count <= limit,
            limit,
            remaining: limit.saturating_sub(count),
            reset_secs: ((ttl_ms.max(0) as u64).div_ceil(1000)).max(1),
            window_secs: bucket.window_secs(),
        })
    }
}
