//! Rate limits, v2-compatible: a general limit per client address (per 60 s) and a
//! switch limit per session (per 1 s), fixed windows, with the IETF draft-6 headers
//! v2 sent; plus the creates-per-client quota window. Behind a trait so that the Redis store can make them shared.
//!
//! Owns: the limiter contract and the header values. Must not: decide which routes
//! are limited (the router does).

pub mod memory;
pub mod redis;

use async_trait::async_trait;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RateLimitError {
    #[error("rate limiter unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Per client address, 60 s window.
    General,
    /// Per session, 1 s window.
    Switch,
    /// Creates per client (token subject or address), 60 s window (`quotas`).
    Create,
}

impl Bucket {
    pub fn window_secs(self) -> u64 {
        match self {
            Bucket::General | Bucket::Create => 60,
            Bucket::Switch => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Bucket::General => "general",
            Bucket::Switch => "switch",
            Bucket::Create => "create",
        }
    }
}

/// The outcome of counting one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets (at least 1).
    pub reset_secs: u64,
    pub window_secs: u64,
}

impl Decision {
    /// `(name, value)` pairs of the headers v2 sent (`standardHeaders: true`).
    pub fn headers(&self) -> [(&'static str, String); 4] {
        [
            (
                "ratelimit-policy",
                format!("{};w={}", self.limit, self.window_secs),
            ),
            ("ratelimit-limit", self.limit.to_string()),
            ("ratelimit-remaining", self.remaining.to_string()),
            ("ratelimit-reset", self.reset_secs.to_string()),
        ]
    }
}

#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one request against `key` in `bucket` with `limit` per window.
    async fn hit(&self, bucket: Bucket, key: &str, limit: u32) -> Result<Decision, RateLimitError>;
}
