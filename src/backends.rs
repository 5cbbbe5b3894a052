//! Building the backends an instance runs on from its configuration: the store, the
//! rate limiter and the audit outbox (Redis, or the embedded memory twins), the audit
//! writer, and, in a multi-region deployment, the cluster and the relay.
//!
//! Must not: serve requests (`app` wires these into the fronts).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::outbox::Outbox;
use crate::audit::outbox_memory::MemoryOutbox;
use crate::audit::outbox_redis::RedisOutbox;
use crate::audit::writer::WriterConfig;
use crate::audit::{self, AuditStats};
use crate::config::Config;
use crate::domain::RegionId;
use crate::fanout::redis::{self as redis_fanout, FeedTargets};
use crate::front::AuditHandle;
use crate::hub::Hub;
use crate::quota::memory::MemoryLiveSessions;
use crate::quota::redis::RedisLiveSessions;
use crate::quota::LiveSessions;
use crate::ratelimit::memory::MemoryRateLimiter;
use crate::ratelimit::redis::RedisRateLimiter;
use crate::ratelimit::RateLimiter;
use crate::region::cluster::Cluster;
use crate::relay::context::RelayContext;
use crate::relay::copies::Copies;
use crate::store::memory::MemoryStore;
use crate::store::redis::{self as redis_store, RedisStore, StreamCap};
use crate::store::{AuditAppend, Store, StoreError};
use crate::wakeup::Wakeup;

/// Why an instance could not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot reach the address of a bound listener")]
    LocalAddr(#[source] std::io::Error),
    #[error("Redis configuration")]
    Redis(#[source] StoreError),
    #[error("audit database configuration")]
    Audit(#[source] crate::audit::AuditError),
    #[error("auth configuration")]
    Auth(#[source] crate::auth::AuthError),
}

pub struct Backends {
    pub store: Arc<dyn Store>,
    pub limiter: Arc<dyn RateLimiter>,
    /// Live sessions per client (quotas).
    pub live: Arc<dyn LiveSessions>,
    /// The audit outbox, when audit is on.
    pub outbox: Option<Arc<dyn Outbox>>,
    /// The Redis store and its primary connection, when Redis is configured.
    pub redis: Option<(Arc<RedisStore>, ConnectionManager)>,
}

/// The store, rate limiter and outbox: Redis when `redis.url` is set, else the
/// embedded ones.
pub fn backends(
    cfg: &Config,
    hub: &Arc<Hub>,
    wakeup: &Arc<Wakeup>,
    stop: &CancellationToken,
) -> Result<Backends, StartError> {
    let audit = cfg.audit.database_url.is_some();
    let Some(url) = cfg.redis.url.as_deref() else {
        let outbox = audit.then(|| Arc::new(MemoryOutbox::default()));
        let appender = outbox.clone().map(|o| o as Arc<dyn AuditAppend>);
        return Ok(Backends {
            store: Arc::new(MemoryStore::new(hub.in_commit(), appender)),
            limiter: Arc::new(MemoryRateLimiter::default()),
            live: Arc::new(MemoryLiveSessions::default()),
            outbox: outbox.map(|o| o as Arc<dyn Outbox>),
            redis: None,
        });
    };
    let setup = StartError::Redis;
    let timeout = Duration::from_millis(cfg.redis.timeout_ms);
    let primary = redis_store::connect(url, redis_store::command_config(timeout)).map_err(setup)?;
    let replica = match cfg.redis.replica_url.as_deref() {
        Some(r) => {
            Some(redis_store::connect(r, redis_store::command_config(timeout)).map_err(setup)?)
        }
        None => None,
    };
    let relay_log = cfg.multi_region().then_some(StreamCap {
        max_len: cfg.relay.log_max,
        max_bytes: cfg.relay.log_max_bytes,
    });
    let outbox_cap = audit.then_some(StreamCap {
        max_len: cfg.audit.outbox_max,
        max_bytes: cfg.audit.outbox_max_bytes,
    });
    let redis = Arc::new(
        RedisStore::new(
            primary.clone(),
            replica,
            &RegionId::from(&cfg.region),
            cfg.redis.fanout_shards,
            outbox_cap,
            relay_log,
        )
        .with_fencing(cfg.owners.failover && cfg.multi_region()),
    );
    let store: Arc<dyn Store> = redis.clone();
    let feed = redis_fanout::start(
        url,
        cfg.redis.fanout_shards,
        timeout,
        FeedTargets {
            audience: hub.clone(),
            store: store.clone(),
            wakeup: wakeup.clone(),
        },
        stop.clone(),
    )
    .map_err(setup)?;
    hub.set_interest(feed);
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
        limiter: Arc::new(RedisRateLimiter::new(primary.clone())),
        live: Arc::new(RedisLiveSessions::new(primary.clone())),
        outbox,
        redis: Some((redis, primary)),
    })
}

/// Starts the audit writer (after migrations, retried until PostgreSQL answers).
pub fn start_audit(
    cfg: &Config,
    outbox: Arc<dyn Outbox>,
    bg: &TaskTracker,
    stop: &CancellationToken,
) -> Result<AuditHandle, StartError> {
    let url = cfg.audit.database_url.as_deref().unwrap_or_default();
    let pool = audit::pg::pool(url, cfg.audit.pool_size).map_err(StartError::Audit)?;
    let stats = Arc::new(AuditStats::default());
    let writer = WriterConfig {
        batch_max: cfg.audit.batch_max,
        batch_wait_ms: cfg.audit.batch_wait_ms,
    };
    let migrate = cfg.audit.migrate_on_start;
    let (p, o, st, s) = (pool.clone(), outbox.clone(), stats.clone(), stop.clone());
    bg.spawn(async move {
        if migrate {
            loop {
                match audit::pg::migrate(&p).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(error = %crate::cause::chain(&e), "audit migrations not applied yet; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = s.cancelled() => return,
                        }
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

/// The region layer and relay of a multi-region instance (`None` when single-region).
pub fn regional(
    cfg: &Config,
    redis: Option<&(Arc<RedisStore>, ConnectionManager)>,
) -> Option<Arc<RelayContext>> {
    let (store, conn) = redis?;
    let cluster = Cluster::new(cfg, conn.clone())?;
    Some(Arc::new(RelayContext {
        cluster,
        store: store.clone(),
        copies: Arc::new(Copies::new(
            conn.clone(),
            store.shards(),
            cfg.sessions.ttl_secs,
            &RegionId::from(&cfg.region),
            cfg.audit.database_url.is_some(),
        )),
        conn: conn.clone(),
        redis_url: cfg.redis.url.clone().unwrap_or_default(),
        cfg: cfg.relay.clone(),
        instance_id: format!(
            "{}-{}-{}",
            cfg.region,
            std::process::id(),
            crate::clock::now_us()
        ),
    }))
}
