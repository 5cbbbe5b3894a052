//! Live-session counts shared by every instance of the region: one sorted set per
//! client (member: session id, score: when it stops counting), checked and added by one
//! Lua script so that concurrent creates cannot both take the last slot.

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::Script;

use super::{Admission, LiveSessions, QuotaError};
use crate::domain::Millis;
use crate::store::{keys, scripts};

pub struct RedisLiveSessions {
    conn: ConnectionManager,
    script: Script,
}

impl RedisLiveSessions {
    pub fn new(conn: ConnectionManager) -> Self {
        RedisLiveSessions {
            conn,
            script: scripts::live_sessions(),
        }
    }
}

fn unavailable(e: redis::RedisError) -> QuotaError {
    crate::metrics::redis_error();
    QuotaError::Unavailable(e.into())
}

#[async_trait]
impl LiveSessions for RedisLiveSessions {
    async fn admit(
        &self,
        client: &str,
        session_id: &str,
        now: Millis,
        until: Millis,
        max: u64,
    ) -> Result<Admission, QuotaError> {
        let mut conn = self.conn.clone();
        let (admitted, live): (u8, u64) = self
            .script
            .key(keys::live_sessions(client))
            .arg(now)
            .arg(until)
            .arg(session_id)
            .arg(max)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(Admission {
            admitted: admitted == 1,
            live,
        })
    }

    async fn release(&self, client: &str, session_id: &str) -> Result<(), QuotaError> {
        let mut conn = self.conn.clone();
        redis::cmd("ZREM")
            .arg(keys::live_sessions(client))
            .arg(session_id)
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }
}
