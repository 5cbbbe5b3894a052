//! Wiring and ordered shutdown: builds the store, hub, limiter, service, scheduler and
//! fronts from a `Config`, serves, and on shutdown stops accepting, turns `/ready` to
//! 503, sends 1001 to every WebSocket, lets in-flight requests finish, and stops the
//! background tasks, all within the configured grace.
//!
//! Owns: the lifetime of one server instance. Must not: contain request logic.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::outbox::Outbox;
use crate::audit::outbox_memory::MemoryOutbox;
use crate::audit::outbox_redis::RedisOutbox;
use crate::audit::writer::WriterConfig;
use crate::audit::{self, AuditStats};
use crate::clock::now_ms;
use crate::config::Config;
use crate::front::{self, AuditHandle, Ctx};
use crate::hub::Hub;
use crate::metrics;
use crate::protocol::close;
use crate::ratelimit::memory::MemoryRateLimiter;
use crate::ratelimit::redis::RedisRateLimiter;
use crate::ratelimit::RateLimiter;
use crate::scheduler::{self, SchedulerConfig, Wakeup};
use crate::service::Sessions;
use crate::store::memory::MemoryStore;
use crate::store::redis::{self as redis_store, RedisStore};
use crate::store::{feed, Store, StoreError};

#[derive(Debug, Error)]
pub enum AppError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
}

/// A running instance.
pub struct Server {
    addr: SocketAddr,
    draining: CancellationToken,
    done: JoinHandle<()>,
    ctx: Arc<Ctx>,
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn ctx(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// Starts the ordered shutdown without waiting for it.
    pub fn trigger_shutdown(&self) {
        self.draining.cancel();
    }

    /// Waits until the instance has shut down (after a trigger).
    pub async fn wait(self) {
        let _ = self.done.await;
    }

    pub async fn shutdown(self) {
        self.trigger_shutdown();
        self.wait().await;
    }
}

/// Binds `server.bind:server.port` and starts.
pub async fn start(cfg: Config) -> Result<Server, AppError> {
    let addr = format!("{}:{}", cfg.server.bind, cfg.server.port);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| AppError::Bind { addr, source })?;
    start_on(cfg, listener).await
}

/// Starts on an already bound listener (tests bind port 0).
pub async fn start_on(cfg: Config, listener: TcpListener) -> Result<Server, AppError> {
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::Setup(e.to_string()))?;
    let cfg = Arc::new(cfg);
    let handle = metrics::install(&cfg.region);
    metrics::ws_connections(0.0);
    let hub = Hub::new();
    let wakeup = Arc::new(Wakeup::default());
    let background = CancellationToken::new();
    let Backends {
        store,
        limiter,
        outbox,
    } = backends(&cfg, &hub, &wakeup, &background)?;
    let bg = TaskTracker::new();
    tracing::info!(
        region = %cfg.region,
        store = store.kind(),
        %addr,
        "synckairos starting: {}",
        match store.kind() {
            "memory" => "embedded memory store, single node (set REDIS_URL for Redis)",
            _ => "Redis store, stateless instance",
        }
    );
    let audit = match outbox {
        Some(outbox) => {
            tracing::info!("audit trail on: outbox drained into PostgreSQL");
            Some(start_audit(&cfg, outbox, &bg, &background)?)
        }
        None => {
            tracing::info!("audit trail off (no DATABASE_URL)");
            None
        }
    };
    let sessions = Arc::new(Sessions::new(
        store.clone(),
        &cfg.region,
        cfg.sessions.ttl_secs,
        wakeup.clone(),
    ));
    let draining = CancellationToken::new();
    let ctx = Arc::new(Ctx {
        cfg: cfg.clone(),
        sessions: sessions.clone(),
        hub: hub.clone(),
        limiter,
        metrics: handle.clone(),
        draining: draining.clone(),
        ws_tasks: TaskTracker::new(),
        audit,
    });
    bg.spawn(scheduler::run(
        sessions,
        wakeup,
        SchedulerConfig {
            poll: Duration::from_millis(cfg.sessions.deadline_poll_ms),
            lease_ms: cfg.sessions.deadline_lease_ms,
            batch: 256,
        },
        background.clone(),
    ));
    bg.spawn(housekeeping(store, background.clone()));
    bg.spawn(metrics::upkeep(handle, background.clone()));
    let http_tasks = TaskTracker::new();
    let listening = tokio::spawn(front::serve(listener, ctx.clone(), http_tasks.clone()));
    let done = tokio::spawn(shutdown_sequence(
        ctx.clone(),
        listening,
        http_tasks,
        bg,
        background,
    ));
    Ok(Server {
        addr,
        draining,
        done,
        ctx,
    })
}

struct Backends {
    store: Arc<dyn Store>,
    limiter: Arc<dyn RateLimiter>,
    /// The audit outbox, when audit is on.
    outbox: Option<Arc<dyn Outbox>>,
}

/// The store, rate limiter and outbox: Redis when `redis.url` is set, else the
/// embedded ones.
fn backends(
    cfg: &Config,
    hub: &Arc<Hub>,
    wakeup: &Arc<Wakeup>,
    stop: &CancellationToken,
) -> Result<Backends, AppError> {
    let audit = cfg.audit.database_url.is_some();
    let Some(url) = cfg.redis.url.as_deref() else {
        let outbox = audit.then(|| Arc::new(MemoryOutbox::default()));
        return Ok(Backends {
            store: Arc::new(MemoryStore::new(hub.clone(), outbox.clone())),
            limiter: Arc::new(MemoryRateLimiter::default()),
            outbox: outbox.map(|o| o as Arc<dyn Outbox>),
        });
    };
    let setup = |e: StoreError| AppError::Setup(format!("redis: {e}"));
    let timeout = Duration::from_millis(cfg.redis.timeout_ms);
    let primary = redis_store::connect(url, redis_store::command_config(timeout)).map_err(setup)?;
    let replica = match cfg.redis.replica_url.as_deref() {
        Some(r) => {
            Some(redis_store::connect(r, redis_store::command_config(timeout)).map_err(setup)?)
        }
        None => None,
    };
    let store: Arc<dyn Store> = Arc::new(RedisStore::new(
        primary.clone(),
        replica,
        &cfg.region,
        cfg.redis.fanout_shards,
        audit,
    ));
    feed::start(
        url,
        cfg.redis.fanout_shards,
        timeout,
        hub.clone(),
        store.clone(),
        wakeup.clone(),
        stop.clone(),
    )
    .map_err(setup)?;
    let outbox = if audit {
        // Its own connection: blocking stream reads must not stall shared commands.
        let blocking = timeout + Duration::from_millis(cfg.audit.batch_wait_ms);
        let conn =
            redis_store::connect(url, redis_store::command_config(blocking)).map_err(setup)?;
        let consumer = format!(
            "{}-{}-{}",
            cfg.region,
            std::process::id(),
            crate::clock::now_us()
        );
        Some(Arc::new(RedisOutbox::new(conn, consumer, cfg.audit.claim_idle_ms)) as Arc<dyn Outbox>)
    } else {
        None
    };
    Ok(Backends {
        store,
        limiter: Arc::new(RedisRateLimiter::new(primary)),
        outbox,
    })
}

/// Starts the audit writer (after migrations, retried until PostgreSQL answers).
fn start_audit(
    cfg: &Config,
    outbox: Arc<dyn Outbox>,
    bg: &TaskTracker,
    stop: &CancellationToken,
) -> Result<AuditHandle, AppError> {
    let url = cfg.audit.database_url.as_deref().unwrap_or_default();
    let pool =
        audit::pg::pool(url, cfg.audit.pool_size).map_err(|e| AppError::Setup(e.to_string()))?;
    let stats = Arc::new(AuditStats::default());
    let writer = WriterConfig {
        batch_max: cfg.audit.batch_max,
        batch_wait_ms: cfg.audit.batch_wait_ms,
    };
    let migrate = cfg.audit.migrate_on_start;
    let (p, o, st, s) = (pool.clone(), outbox.clone(), stats.clone(), stop.clone());
    bg.spawn(async move {
        while migrate {
            match audit::pg::migrate(&p).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "audit migrations not applied yet; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = s.cancelled() => return,
                    }
                }
            }
        }
        audit::writer::run(o, p, writer, st, s).await;
    });
    bg.spawn(audit::writer::sample_backlog(
        outbox,
        stats.clone(),
        stop.clone(),
    ));
    Ok(AuditHandle { pool, stats })
}

async fn shutdown_sequence(
    ctx: Arc<Ctx>,
    listening: JoinHandle<()>,
    http_tasks: TaskTracker,
    bg: TaskTracker,
    background: CancellationToken,
) {
    ctx.draining.cancelled().await;
    let grace = Duration::from_millis(ctx.cfg.server.shutdown_grace_ms);
    tracing::info!(grace_ms = grace.as_millis() as u64, "shutting down");
    let _ = listening.await;
    ctx.hub.close_all(close::GOING_AWAY, "Server shutting down");
    http_tasks.close();
    ctx.ws_tasks.close();
    let drained = tokio::time::timeout(grace, async {
        tokio::join!(http_tasks.wait(), ctx.ws_tasks.wait());
    })
    .await;
    if drained.is_err() {
        tracing::warn!("grace period over; closing the remaining connections");
    }
    background.cancel();
    bg.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), bg.wait()).await;
    tracing::info!("stopped");
}

async fn housekeeping(store: Arc<dyn Store>, stop: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(e) = store.housekeeping(now_ms()).await {
                    tracing::warn!(error = %e, "housekeeping failed");
                }
            }
            _ = stop.cancelled() => return,
        }
    }
}
