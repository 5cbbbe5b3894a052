//! What every request handler and WebSocket connection can reach.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::conns::Connections;
use crate::audit::AuditStats;
use crate::auth::Auth;
use crate::config::Config;
use crate::dashboard::trends::Trends;
use crate::gateway::Gateway;
use crate::hub::Hub;
use crate::quota::LiveSessions;
use crate::ratelimit::RateLimiter;
use crate::relay::context::RelayContext;

pub struct Ctx {
    pub cfg: Arc<Config>,
    /// Every session read and write goes through it.
    pub gateway: Arc<Gateway>,
    pub hub: Arc<Hub>,
    pub limiter: Arc<dyn RateLimiter>,
    /// Token checks (`auth.mode`).
    pub auth: Arc<Auth>,
    /// Live sessions per client (`quotas.live_sessions`).
    pub live: Arc<dyn LiveSessions>,
    /// Open client connections (caps per instance and per address).
    pub conns: Arc<Connections>,
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
    /// Multi-region: leases, fencing and takeovers (issue 11).
    pub owners: Option<Arc<crate::region::owners::Owners>>,
}

pub struct AuditHandle {
    pub pool: sqlx::postgres::PgPool,
    pub stats: Arc<AuditStats>,
}
