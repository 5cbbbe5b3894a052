//! The `[owners]` section (issue 11): ownership that moves. Fencing and takeover (a
//! lease-based failure detector), successors per region, the durability default and
//! automatic re-homing.
//!
//! Owns: those settings and their defaults. Must not: load or validate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OwnersConfig {
    /// Fencing and failover: a region commits only while a majority of regions
    /// (counting itself) vouches for it (its ownership lease), and the successor of a
    /// region that a majority has not heard from for `lease_ms + margin_ms` takes its
    /// sessions over. Off: a lost home's sessions wait for it (503).
    pub failover: bool,
    /// How long a majority's grants keep this region unfenced, from when it asked.
    pub lease_ms: u64,
    /// How much longer a region that granted a lease waits before it votes for a
    /// takeover (covers clock-rate differences and the grant's transit).
    pub margin_ms: u64,
    /// How long a takeover vote keeps a region from granting the lost home a lease
    /// (the successor finishes its takeover within it, or gives up).
    pub vote_hold_ms: u64,
    /// Region → the regions that take its sessions over, in order (only the first is
    /// used; unset: the next regions of `cluster.regions`, wrapping around).
    pub successors: BTreeMap<String, Vec<String>>,
    /// Sessions created without `durability` are zero-loss (acknowledged only once
    /// the successor holds the write) when true; else local (the default, fast).
    pub zero_loss: bool,
    /// Automatic re-homing: a session whose recent writes came mostly from one other
    /// region moves there.
    pub auto_rehome: bool,
    /// The writes of a session looked at (most recent).
    pub auto_window: usize,
    /// The share of those writes one other region must have sent (0..1).
    pub auto_share: f64,
    /// Writes seen before a session is considered at all.
    pub auto_min_writes: usize,
}

impl Default for OwnersConfig {
    fn default() -> Self {
        OwnersConfig {
            failover: false,
            lease_ms: 3_000,
            margin_ms: 1_000,
            vote_hold_ms: 30_000,
            successors: BTreeMap::new(),
            zero_loss: false,
            auto_rehome: false,
            auto_window: 20,
            auto_share: 0.8,
            auto_min_writes: 10,
        }
    }
}

impl OwnersConfig {
    /// The successor of `region` among `regions` (configured, else the next one).
    pub fn successor<'a>(&'a self, region: &str, regions: &'a [String]) -> Option<&'a str> {
        if let Some(first) = self.successors.get(region).and_then(|s| s.first()) {
            return Some(first.as_str());
        }
        let i = regions.iter().position(|r| r == region)?;
        let n = regions.len();
        (n > 1).then(|| regions[(i + 1) % n].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successors_are_configured_or_the_next_region() {
        let regions: Vec<String> = ["iad", "lhr", "nrt"].map(String::from).to_vec();
        let mut c = OwnersConfig::default();
        assert_eq!(c.successor("iad", &regions), Some("lhr"));
        assert_eq!(c.successor("nrt", &regions), Some("iad"));
        c.successors.insert("iad".into(), vec!["nrt".into()]);
        assert_eq!(c.successor("iad", &regions), Some("nrt"));
        assert_eq!(c.successor("syd", &regions), None);
    }
}
