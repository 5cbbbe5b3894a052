//! What every request handler and WebSocket connection can reach.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::AuditStats;
use crate::config::Config;
use crate::dashboard::trends::Trends;
use crate::gateway::Gateway;
use crate::hub::Hub;
use crate::ratelimit::RateLimiter;
use crate::relay::context::RelayContext;

pub struct Ctx {
    pub cfg: Arc<Config>,
    /// Every session read and write goes through it.
    pub gateway: Arc<Gateway>,
    pub hub: Arc<Hub>,
    pub limiter: Arc<dyn RateLimiter>,
    pub metrics: PrometheusHandle,
    /// Cancelled when shutdown begins: `/ready` turns 503, sockets get 1001.
    pub draining: CancellationToken,
    /// WebSocket connection tasks, awaited during shutdown.
    pub ws_tasks: TaskTracker,
    /// The audit trail, when `DATABASE_URL` is set.
    pub audit: Option<AuditHandle>,
    /// Multi-region: what the internal API serves to peers (relay stream, digest,
    /// raw states). `None` when single-region.
    pub relay: Option<Arc<RelayContext>>,
    /// The dashboard's history of this instance and region.
    pub trends: Arc<Trends>,
}

pub struct AuditHandle {
    pub pool: sqlx::postgres::PgPool,
    pub stats: Arc<AuditStats>,
}
