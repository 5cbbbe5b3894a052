//! What every request handler and WebSocket connection can reach.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::AuditStats;
use crate::config::Config;
use crate::hub::Hub;
use crate::ratelimit::RateLimiter;
use crate::relay::Regional;
use crate::service::Sessions;

pub struct Ctx {
    pub cfg: Arc<Config>,
    pub sessions: Arc<Sessions>,
    pub hub: Arc<Hub>,
    pub limiter: Arc<dyn RateLimiter>,
    pub metrics: PrometheusHandle,
    /// Cancelled when shutdown begins: `/ready` turns 503, sockets get 1001.
    pub draining: CancellationToken,
    /// WebSocket connection tasks, awaited during shutdown.
    pub ws_tasks: TaskTracker,
    /// The audit trail, when `DATABASE_URL` is set.
    pub audit: Option<AuditHandle>,
    /// Multi-region: peers, forwarding, the relay. `None` when single-region.
    pub region: Option<Arc<Regional>>,
}

pub struct AuditHandle {
    pub pool: sqlx::postgres::PgPool,
    pub stats: Arc<AuditStats>,
}
