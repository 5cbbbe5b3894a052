//! What a world is made of, before it starts: where the binaries are, the relay
//! timings written into every region's configuration, and the rest of [`Spec`].
//! Plain data; starts nothing.

use std::path::{Path, PathBuf};

/// Where the two binaries are.
#[derive(Clone, Debug)]
pub struct Bins {
    pub server: PathBuf,
    pub proxy: PathBuf,
}

impl Bins {
    /// `synckairos` and `synckairos-delay-proxy` in `dir` (e.g. `target/release`).
    pub fn in_dir(dir: &Path) -> Bins {
        Bins {
            server: dir.join("synckairos"),
            proxy: dir.join("synckairos-delay-proxy"),
        }
    }
}

/// Relay and forwarding timings written into every region's configuration.
#[derive(Clone, Copy, Debug)]
pub struct Relay {
    pub heartbeat_ms: u64,
    pub link_timeout_ms: u64,
    pub check_interval_ms: u64,
    pub full_check_every: u32,
    pub forward_timeout_ms: u64,
}

impl Relay {
    /// Short, so that partitions show quickly in tests.
    pub const TESTS: Relay = Relay {
        heartbeat_ms: 200,
        link_timeout_ms: 800,
        check_interval_ms: 1_000,
        full_check_every: 3,
        forward_timeout_ms: 1_000,
    };
    /// Closer to production, for developers and the bench.
    pub const DEV: Relay = Relay {
        heartbeat_ms: 500,
        link_timeout_ms: 2_000,
        check_interval_ms: 2_000,
        full_check_every: 6,
        forward_timeout_ms: 3_000,
    };
}

/// What to start.
pub struct Spec {
    pub bins: Bins,
    /// Regions dirs, Redis files and `logs/` go here.
    pub root: PathBuf,
    /// Instances per region.
    pub instances: usize,
    /// Regions whose instances are not started (start them with `start_region`).
    pub deferred: Vec<&'static str>,
    pub relay: Relay,
    /// The cluster secret (at least 16 characters).
    pub secret: String,
    /// Variables of every instance on top of the region's own.
    pub env: Vec<(String, String)>,
    /// Variables of one region's instances only (e.g. libfaketime's, `faketime::env`:
    /// clock skew between regions), on top of `env`.
    pub region_env: Vec<(&'static str, Vec<(String, String)>)>,
    /// Leave `root` in place when the world is dropped (logs of a failed `up`).
    pub keep_files: bool,
}
