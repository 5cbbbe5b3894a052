//! The lossless audit trail: every committed change appends its record to an outbox in
//! the same atomic step (Redis Stream, or the memory store's twin); a batching writer
//! drains it into PostgreSQL idempotently (event ids are `<home>:<seq>:<index>`) and
//! acknowledges only after the transaction commits; the history API reads it back.
//!
//! Owns: outbox consumption, row building, SQL, backlog statistics. Must not: sit on
//! the request hot path (commits only append; PostgreSQL is never awaited there).

pub mod history;
pub mod outbox;
pub mod outbox_memory;
pub mod outbox_redis;
pub mod pg;
pub mod record;
pub mod writer;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AuditError {
    #[error("outbox unavailable")]
    Outbox(#[source] redis::RedisError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Live figures about the audit pipeline (exported as metrics; `/ready` ignores them:
/// the backlog is shared by every instance, so it is an alert, not a readiness gate).
#[derive(Default)]
pub struct AuditStats {
    pub backlog: AtomicU64,
    /// Age of the oldest unwritten record (ms), 0 when the backlog is empty.
    pub backlog_age_ms: AtomicI64,
    pub database_ok: AtomicBool,
    pub written: AtomicU64,
}
