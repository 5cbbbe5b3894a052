//! The `[clock]` section: how this instance keeps its region's authoritative time
//! (the region's Redis clock, read with `TIME`) and how it estimates the other
//! regions' clocks, and when it refuses to act because its time cannot be trusted.
//!
//! Owns: those settings and their defaults. Must not: load or validate.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClockConfig {
    /// Whose clock is the region's authoritative time: `redis` (the region's Redis
    /// primary, read with `TIME`: every instance agrees whatever its own clock says)
    /// or `system` (this host's clock, trusted as is: only for hosts whose clocks are
    /// disciplined together; nothing is corrected or refused). The embedded memory
    /// store always uses `system`.
    pub source: String,
    /// How often the region's Redis clock is sampled (`TIME`, NTP-style).
    pub sample_interval_ms: u64,
    /// An instance whose system clock is further than this from the region's
    /// authoritative time refuses to act (writes 503, no deadlines, `/ready` 503): its
    /// host clock is broken, even though acting would use the corrected time.
    pub max_offset_ms: u64,
    /// An instance whose authoritative time is uncertain by more than ± this (no
    /// recent `TIME` answer) refuses to act.
    pub max_error_ms: u64,
    /// Multi-region: how often each other region's clock is sampled over the internal
    /// API (NTP-style; the offsets are metrics and convert times for clients).
    pub peer_interval_ms: u64,
    /// Assumed worst rate difference between two clocks (widens old samples).
    pub drift_ppm: u32,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            source: "redis".into(),
            sample_interval_ms: 1_000,
            max_offset_ms: 5_000,
            max_error_ms: 10,
            peer_interval_ms: 1_000,
            drift_ppm: 50,
        }
    }
}
