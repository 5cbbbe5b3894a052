//! The `[dashboard]` section: how the operators' page samples and keeps its history.
//!
//! Owns: those settings and their defaults. Must not: load or validate.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardConfig {
    /// Length of one sampled interval (p50/p99 per interval), aligned to the clock.
    pub interval_ms: u64,
    /// History kept per instance (the page shows this much).
    pub keep_secs: u64,
    /// A region whose figures do not arrive within this long shows as unreachable.
    pub peer_timeout_ms: u64,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            interval_ms: 5_000,
            keep_secs: 900,
            peer_timeout_ms: 1_500,
        }
    }
}
