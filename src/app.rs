//! Wiring and ordered shutdown: builds the store, hub, limiter, service, scheduler and
//! fronts from a `Config`, serves, and on shutdown stops accepting, turns `/ready` to
//! 503, sends 1001 to every WebSocket, lets in-flight requests finish, and stops the
//! background tasks, all within the configured grace.
//!
//! Owns: the lifetime of one server instance. Must not: contain request logic.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::backends::{backends, regional, start_audit, Backends, StartError};
use crate::clock::now_ms;
use crate::config::Config;
use crate::dashboard::sampler;
use crate::dashboard::trends::Trends;
use crate::domain::RegionId;
use crate::front::conns::Connections;
use crate::front::{self, Ctx};
use crate::gateway::locate::Unknown;
use crate::gateway::{Gateway, Remote};
use crate::hub::Hub;
use crate::metrics;
use crate::protocol::close;
use crate::relay::follower;
use crate::scheduler::{self, SchedulerConfig};
use crate::service::{SessionLimits, Sessions};
use crate::store::Store;
use crate::timebase::{redis_time, ClockPolicy, TimeBase};
use crate::wakeup::Wakeup;

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
pub async fn start(cfg: Config) -> Result<Server, StartError> {
    let listener = bind(&cfg.server.bind, cfg.server.port).await?;
    start_on(cfg, listener).await
}

/// Binds `host:port`; `host` is an IP address (v4, or v6 such as Fly's `::`) or a name.
async fn bind(host: &str, port: u16) -> Result<TcpListener, StartError> {
    let result = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => TcpListener::bind(SocketAddr::new(ip, port)).await,
        Err(_) => TcpListener::bind((host, port)).await,
    };
    result.map_err(|source| StartError::Bind {
        addr: format!("{host} port {port}"),
        source,
    })
}

/// Starts on an already bound listener (tests bind port 0).
pub async fn start_on(cfg: Config, listener: TcpListener) -> Result<Server, StartError> {
    let addr = listener.local_addr().map_err(StartError::LocalAddr)?;
    let cfg = Arc::new(cfg);
    let handle = metrics::install(&cfg.region);
    metrics::ws_connections(0.0);
    let hub = Hub::new();
    let wakeup = Arc::new(Wakeup::default());
    let background = CancellationToken::new();
    let auth = Arc::new(Auth::new(&cfg.auth).map_err(StartError::Auth)?);
    let Backends {
        store,
        limiter,
        live,
        outbox,
        redis,
    } = backends(&cfg, &hub, &wakeup, &background)?;
    let relay = regional(&cfg, redis.as_ref());
    let bg = TaskTracker::new();
    tracing::info!(
        region = %cfg.region,
        store = store.kind(),
        %addr,
        "synckairos starting: {}",
        match (store.kind(), &relay) {
            ("memory", _) => "embedded memory store, single node (set REDIS_URL for Redis)",
            (_, None) => "Redis store, stateless instance, single region",
            (_, Some(_)) => "Redis store, stateless instance, multi-region",
        }
    );
    for warning in cfg.deprecated_keys() {
        tracing::warn!("configuration: {warning}");
    }
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
    let region = RegionId::from(&cfg.region);
    let time = authoritative_time(&cfg, &region, &bg, &background).await?;
    hub.set_time(time.clone());
    let sessions = Arc::new(
        Sessions::new(
            store.clone(),
            &region,
            cfg.sessions.ttl_secs,
            wakeup.clone(),
            relay.is_some(),
            time.clone(),
        )
        .with_limits(SessionLimits {
            max_participants_x_thresholds: cfg.quotas.max_participants_x_thresholds,
            max_unattended_writes: cfg.quotas.max_unattended_writes,
            zero_loss: cfg.owners.zero_loss,
        }),
    );
    let drained = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(r) = &relay {
        bg.spawn(watch_drained(
            r.conn.clone(),
            drained.clone(),
            background.clone(),
        ));
    }
    let (proposals, mut proposed) = tokio::sync::mpsc::channel(1024);
    let affinity = cfg.owners.auto_rehome.then(|| {
        crate::gateway::affinity::Affinity::new(
            crate::gateway::affinity::Thresholds {
                window: cfg.owners.auto_window,
                share: cfg.owners.auto_share,
                min_writes: cfg.owners.auto_min_writes,
            },
            proposals,
        )
    });
    let remote = relay.as_ref().map(|r| Remote {
        cluster: r.cluster.clone(),
        copies: r.copies.clone(),
        unknown: Unknown::new(
            cfg.cluster.negative_cache_ms,
            cfg.cluster.negative_cache_entries,
        ),
        successor: cfg
            .owners
            .successor(&cfg.region, &cfg.cluster.regions)
            .map(RegionId::from),
        affinity,
        drained: drained.clone(),
    });
    let gateway = Arc::new(Gateway::new(
        &region,
        sessions.clone(),
        hub.clone(),
        cfg.sessions.ttl_secs,
        remote,
    ));
    let trends = Arc::new(Trends::new(
        &region,
        &format!(
            "{}-{}-{}",
            cfg.region,
            std::process::id(),
            crate::clock::now_us()
        ),
        &cfg.dashboard,
        redis.as_ref().map(|(_, conn)| conn.clone()),
    ));
    let owners = relay.as_ref().map(|r| {
        crate::region::owners::Owners::new(
            &cfg.owners,
            r.cluster.clone(),
            r.conn.clone(),
            sessions.clone(),
        )
    });
    let draining = CancellationToken::new();
    let ctx = Arc::new(Ctx {
        cfg: cfg.clone(),
        gateway,
        hub: hub.clone(),
        limiter,
        auth,
        live,
        conns: Connections::new(
            cfg.server.max_connections,
            cfg.server.max_connections_per_address,
            cfg.server.client_ip_header.is_none(),
        ),
        metrics: handle.clone(),
        draining: draining.clone(),
        ws_tasks: TaskTracker::new(),
        audit,
        relay: relay.clone(),
        trends: trends.clone(),
        owners: owners.clone(),
    });
    bg.spawn(scheduler::run(
        sessions,
        wakeup,
        SchedulerConfig {
            poll: Duration::from_millis(cfg.sessions.deadline_poll_ms),
            lease_ms: cfg.sessions.deadline_lease_ms,
            batch: 256,
            concurrency: cfg.sessions.deadline_concurrency.max(1),
        },
        background.clone(),
    ));
    bg.spawn(housekeeping(store, background.clone()));
    // Automatic re-homing: the moves the gateway proposes, one at a time.
    let (gw, stop) = (ctx.gateway.clone(), background.clone());
    bg.spawn(async move {
        loop {
            let (id, to) = tokio::select! {
                p = proposed.recv() => match p { Some(p) => p, None => return },
                _ = stop.cancelled() => return,
            };
            let caller = crate::gateway::caller::Caller::peer(gw.region(), None);
            match gw.rehome(&id, &to, &caller).await {
                Ok(s) => tracing::info!(session = %id, %to, epoch = s.epoch, "re-homed automatically: its writes come from there"),
                Err(e) => tracing::warn!(session = %id, %to, error = %crate::cause::chain(&e), "automatic re-homing failed"),
            }
        }
    });
    bg.spawn(metrics::upkeep(handle, background.clone()));
    bg.spawn(sampler::run(trends, hub.clone(), background.clone()));
    let http_tasks = TaskTracker::new();
    if let Some(r) = &relay {
        let l = bind(&cfg.cluster.internal_bind, cfg.cluster.internal_port).await?;
        let internal = l.local_addr().map_err(StartError::LocalAddr)?;
        tracing::info!(addr = %internal, peers = ?r.cluster.others().collect::<Vec<_>>(), "internal API listening");
        tokio::spawn(front::serve_internal(l, ctx.clone(), http_tasks.clone()));
        // Followers stop as soon as draining starts, so another instance takes the lease.
        follower::start_all(r, &bg, &draining);
        if let Some(o) = &owners {
            crate::region::owners::start(o, &bg, &background);
        }
        bg.spawn(crate::region::clock::run(
            r.cluster.clone(),
            time.clone(),
            Duration::from_millis(cfg.clock.peer_interval_ms),
            background.clone(),
        ));
    }
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

/// The region's authoritative time: its Redis clock (sampled before serving, then
/// every `clock.sample_interval_ms` on a connection of its own), or this host's clock
/// with the embedded store or `clock.source = "system"`.
async fn authoritative_time(
    cfg: &Config,
    region: &RegionId,
    bg: &TaskTracker,
    stop: &CancellationToken,
) -> Result<Arc<TimeBase>, StartError> {
    let url = cfg
        .redis
        .url
        .as_deref()
        .filter(|_| cfg.clock.source == "redis");
    let Some(url) = url else {
        return Ok(TimeBase::system(region));
    };
    let timeout = Duration::from_millis(cfg.redis.timeout_ms);
    let mut conn = crate::store::redis::connect(url, crate::store::redis::command_config(timeout))
        .map_err(StartError::Redis)?;
    let time = TimeBase::sampled(region, ClockPolicy::from(&cfg.clock));
    redis_time::first(&mut conn, &time, Duration::from_secs(1)).await;
    bg.spawn(redis_time::run(
        conn,
        time.clone(),
        Duration::from_millis(cfg.clock.sample_interval_ms),
        stop.clone(),
    ));
    Ok(time)
}

/// Keeps `drained` equal to whether this region's Redis says it is drained (every
/// 500 ms: a drain takes effect for creates within that).
async fn watch_drained(
    conn: redis::aio::ConnectionManager,
    drained: Arc<std::sync::atomic::AtomicBool>,
    stop: CancellationToken,
) {
    loop {
        let mut c = conn.clone();
        let on: redis::RedisResult<bool> = redis::cmd("EXISTS")
            .arg(crate::store::keys::OWNER_DRAINED)
            .query_async(&mut c)
            .await;
        if let Ok(on) = on {
            drained.store(on, std::sync::atomic::Ordering::Relaxed);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.cancelled() => return,
        }
    }
}

async fn housekeeping(store: Arc<dyn Store>, stop: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(e) = store.housekeeping(now_ms()).await {
                    tracing::warn!(error = %crate::cause::chain(&e), "housekeeping failed");
                }
            }
            _ = stop.cancelled() => return,
        }
    }
}
