//! The inter-region relay: each home region keeps a log of its commits' MessagePack
//! envelopes (appended by the commit script, ids = the home's sequence numbers); every
//! other region follows it over the internal API, applies envelopes newer than its
//! copy and republishes them locally; sequence gaps and partitions are healed by
//! catching up from the log and, when the log no longer reaches back, by a full
//! reconciliation against the home's digest.
//!
//! Must not: write a session's state except as a copy of what its home committed.

pub mod apply;
pub mod follower;
pub mod frame;
pub mod reconcile;
pub mod source;
pub mod verdict;

use std::sync::Arc;

use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::RelayConfig;
use crate::region::Cluster;
use crate::store::redis::RedisStore;
use apply::Applier;

/// What the relay and the internal API need in a multi-region instance.
pub struct Regional {
    pub cluster: Arc<Cluster>,
    pub store: Arc<RedisStore>,
    pub applier: Applier,
    pub conn: ConnectionManager,
    pub redis_url: String,
    pub cfg: RelayConfig,
    /// Identifies this instance in leases.
    pub instance_id: String,
}

impl Regional {
    /// Starts one follower per other region.
    pub fn start_followers(self: &Arc<Self>, tasks: &TaskTracker, stop: &CancellationToken) {
        for home in self.cluster.others() {
            tasks.spawn(follower::follow(
                self.clone(),
                home.to_owned(),
                stop.clone(),
            ));
        }
    }
}
