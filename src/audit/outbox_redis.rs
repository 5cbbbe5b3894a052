//! The Redis Stream outbox, drained by consumer group `audit` (one consumer per
//! instance). A record stays in the stream until the writer acknowledges it after its
//! PostgreSQL transaction committed; a record a dead consumer was holding is claimed by
//! a live one after `claim_idle_ms`. Uses its own connection: `XREADGROUP ... BLOCK`
//! would otherwise stall the commands multiplexed on the shared one.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamRangeReply, StreamReadReply};
use redis::Value;

use super::outbox::{Backlog, Outbox, RawEntry};
use super::AuditError;
use crate::clock::now_ms;
use crate::domain::Millis;
use crate::store::keys::{AUDIT_GROUP, OUTBOX, OUTBOX_DEAD};

/// How often abandoned records of dead consumers are looked for.
const CLAIM_EVERY_MS: Millis = 2_000;

pub struct RedisOutbox {
    conn: ConnectionManager,
    consumer: String,
    claim_idle_ms: u64,
    group_ready: AtomicBool,
    /// True until this consumer has re-read what it was given before a restart.
    own_pending: AtomicBool,
    /// Where the re-reading of own pending records continues (an id, `0` at first).
    pending_from: std::sync::Mutex<String>,
    last_claim: AtomicI64,
}

fn err(e: redis::RedisError) -> AuditError {
    AuditError::Outbox(e)
}

fn field<'a>(e: &'a StreamId, name: &str) -> Option<&'a [u8]> {
    match e.map.get(name)? {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn parse_num<T: std::str::FromStr>(b: Option<&[u8]>) -> Option<T> {
    std::str::from_utf8(b?).ok()?.parse().ok()
}

/// A stream entry as a `RawEntry`; malformed ones keep their id with empty content so
/// the writer can dead-letter them.
fn to_raw(e: &StreamId) -> RawEntry {
    RawEntry {
        id: e.id.clone(),
        seq: parse_num(field(e, "q")).unwrap_or(0),
        body: field(e, "b").map(<[u8]>::to_vec).unwrap_or_default(),
        origin: field(e, "o")
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
            .to_owned(),
        actor: field(e, "a")
            .and_then(|b| std::str::from_utf8(b).ok())
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        at: parse_num(field(e, "t")).unwrap_or(0),
    }
}

fn stream_ms(id: &str) -> Option<Millis> {
    id.split('-').next()?.parse().ok()
}

impl RedisOutbox {
    pub fn new(conn: ConnectionManager, consumer: String, claim_idle_ms: u64) -> Self {
        RedisOutbox {
            conn,
            consumer,
            claim_idle_ms,
            group_ready: AtomicBool::new(false),
            own_pending: AtomicBool::new(true),
            pending_from: std::sync::Mutex::new("0".into()),
            last_claim: AtomicI64::new(0),
        }
    }

    async fn ensure_group(&self) -> Result<(), AuditError> {
        if self.group_ready.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut c = self.conn.clone();
        let r: redis::RedisResult<Value> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(OUTBOX)
            .arg(AUDIT_GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut c)
            .await;
        match r {
            Ok(_) => {}
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(err(e)),
        }
        self.group_ready.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn read(
        &self,
        max: usize,
        start: &str,
        block_ms: Option<u64>,
    ) -> Result<Vec<RawEntry>, AuditError> {
        let mut c = self.conn.clone();
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(AUDIT_GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(max);
        if let Some(ms) = block_ms {
            cmd.arg("BLOCK").arg(ms);
        }
        cmd.arg("STREAMS").arg(OUTBOX).arg(start);
        let reply: Option<StreamReadReply> = cmd.query_async(&mut c).await.map_err(err)?;
        Ok(reply
            .map(|r| {
                r.keys
                    .iter()
                    .flat_map(|k| k.ids.iter().map(to_raw))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn claim_abandoned(&self, max: usize) -> Result<Vec<RawEntry>, AuditError> {
        let now = now_ms();
        if now - self.last_claim.load(Ordering::Relaxed) < CLAIM_EVERY_MS {
            return Ok(Vec::new());
        }
        self.last_claim.store(now, Ordering::Relaxed);
        let mut c = self.conn.clone();
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(OUTBOX)
            .arg(AUDIT_GROUP)
            .arg(&self.consumer)
            .arg(self.claim_idle_ms)
            .arg("0-0")
            .arg("COUNT")
            .arg(max)
            .query_async(&mut c)
            .await
            .map_err(err)?;
        self.forget_idle_consumers().await;
        Ok(reply.claimed.iter().map(to_raw).collect())
    }

    /// Removes consumers (dead instances) that hold nothing and have been idle for
    /// ten claim periods, so the group does not collect one entry per restart.
    async fn forget_idle_consumers(&self) {
        let mut c = self.conn.clone();
        let consumers: Vec<std::collections::HashMap<String, Value>> = match redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(OUTBOX)
            .arg(AUDIT_GROUP)
            .query_async(&mut c)
            .await
        {
            Ok(v) => v,
            Err(_) => return,
        };
        let int = |m: &std::collections::HashMap<String, Value>, k: &str| match m.get(k) {
            Some(Value::Int(i)) => *i,
            _ => -1,
        };
        let limit = (self.claim_idle_ms as i64).saturating_mul(10);
        for m in consumers {
            let name = match m.get("name") {
                Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                Some(Value::SimpleString(s)) => s.clone(),
                _ => continue,
            };
            if name != self.consumer && int(&m, "pending") == 0 && int(&m, "idle") > limit {
                let _: redis::RedisResult<i64> = redis::cmd("XGROUP")
                    .arg("DELCONSUMER")
                    .arg(OUTBOX)
                    .arg(AUDIT_GROUP)
                    .arg(&name)
                    .query_async(&mut c)
                    .await;
            }
        }
    }
}

#[async_trait]
impl Outbox for RedisOutbox {
    async fn fetch(&self, max: usize, wait_ms: u64) -> Result<Vec<RawEntry>, AuditError> {
        self.ensure_group().await?;
        if self.own_pending.load(Ordering::Relaxed) {
            let from = self
                .pending_from
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let mine = self.read(max, &from, None).await?;
            if let Some(last) = mine.last() {
                *self.pending_from.lock().unwrap_or_else(|e| e.into_inner()) = last.id.clone();
                return Ok(mine);
            }
            self.own_pending.store(false, Ordering::Relaxed);
        }
        let claimed = self.claim_abandoned(max).await?;
        if !claimed.is_empty() {
            return Ok(claimed);
        }
        self.read(max, ">", Some(wait_ms.max(1))).await
    }

    async fn ack(&self, ids: &[String]) -> Result<(), AuditError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut c = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("XACK")
            .arg(OUTBOX)
            .arg(AUDIT_GROUP)
            .arg(ids)
            .ignore();
        pipe.cmd("XDEL").arg(OUTBOX).arg(ids).ignore();
        pipe.query_async::<()>(&mut c).await.map_err(err)
    }

    async fn dead_letter(&self, entries: &[RawEntry]) -> Result<(), AuditError> {
        let mut c = self.conn.clone();
        for e in entries {
            tracing::error!(id = %e.id, seq = e.seq, "undecodable audit record moved to {OUTBOX_DEAD}");
            let _: String = redis::cmd("XADD")
                .arg(OUTBOX_DEAD)
                .arg("*")
                .arg("id")
                .arg(&e.id)
                .arg("b")
                .arg(&e.body)
                .query_async(&mut c)
                .await
                .map_err(err)?;
        }
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        self.ack(&ids).await
    }

    async fn backlog(&self) -> Result<Backlog, AuditError> {
        let mut c = self.conn.clone();
        let (len, first): (u64, StreamRangeReply) = redis::pipe()
            .cmd("XLEN")
            .arg(OUTBOX)
            .cmd("XRANGE")
            .arg(OUTBOX)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut c)
            .await
            .map_err(err)?;
        Ok(Backlog {
            len,
            oldest: first.ids.first().and_then(|e| stream_ms(&e.id)),
        })
    }
}
