//! Counting live sessions per client (the `quotas.live_sessions` limit) behind a trait,
//! so that every instance of a region shares one count (Redis) or a single node keeps
//! its own (memory). A client's session counts from its create until it is deleted or
//! its creation is `sessions.ttl_secs` old, whichever comes first.
//!
//! Owns: the counters. Must not: decide who the client is or answer requests (the front
//! does), or hold the limit's rule (`domain::quota::admits`).

pub mod memory;
pub mod redis;

use async_trait::async_trait;
use thiserror::Error;

use crate::domain::Millis;

#[derive(Debug, Error)]
pub enum QuotaError {
    #[error("quota counter unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What counting one more session found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    pub admitted: bool,
    /// Live sessions of the client before this one.
    pub live: u64,
}

#[async_trait]
pub trait LiveSessions: Send + Sync + 'static {
    /// Counts `session_id` for `client` until `until` unless the client already has
    /// `max` live sessions at `now` (`max` = 0: no limit).
    async fn admit(
        &self,
        client: &str,
        session_id: &str,
        now: Millis,
        until: Millis,
        max: u64,
    ) -> Result<Admission, QuotaError>;

    /// Stops counting `session_id` for `client` (deleted, or its create failed).
    async fn release(&self, client: &str, session_id: &str) -> Result<(), QuotaError>;
}
