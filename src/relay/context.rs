//! What the relay's tasks share in a multi-region instance: the cluster, this region's
//! Redis (store, copies, a raw connection and its URL for blocking stream reads), the
//! relay settings and this instance's id in leases.
//!
//! Must not: run anything itself (`follower` and `source` do).

use std::sync::Arc;

use redis::aio::ConnectionManager;

use super::copies::Copies;
use crate::config::RelayConfig;
use crate::region::cluster::Cluster;
use crate::store::redis::RedisStore;

pub struct RelayContext {
    pub cluster: Arc<Cluster>,
    pub store: Arc<RedisStore>,
    pub copies: Arc<Copies>,
    pub conn: ConnectionManager,
    pub redis_url: String,
    pub cfg: RelayConfig,
    /// Identifies this instance in leases.
    pub instance_id: String,
}
