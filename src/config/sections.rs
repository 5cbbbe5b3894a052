//! The configuration sections and their defaults (one struct per `[section]`).
//!
//! Owns: every setting's name, meaning and default. Must not: load or validate (the
//! parent module does).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    pub port: u16,
    /// Largest accepted request body (v2: 1 MB); larger → 413.
    pub body_limit_bytes: usize,
    /// Time allowed for in-flight work after a shutdown signal.
    pub shutdown_grace_ms: u64,
    /// Allowed CORS origins; `["*"]` allows any origin without credentials. A string
    /// is read as a comma-separated list (v2 `CORS_ORIGIN`).
    #[serde(deserialize_with = "string_or_list")]
    pub cors_origins: Vec<String>,
    /// A header carrying the real client address (e.g. `fly-client-ip`) when behind a
    /// trusted proxy; otherwise the socket peer address is used.
    pub client_ip_header: Option<String>,
    /// Close idle keep-alive HTTP connections after this long without a request.
    pub header_read_timeout_ms: u64,
    /// A request body must arrive completely within this long (408 otherwise).
    pub body_read_timeout_ms: u64,
    /// Open connections (HTTP and WebSocket) of this instance; more are refused (503).
    pub max_connections: usize,
    /// Open connections per client address (the `client_ip_header` address for
    /// WebSockets behind a proxy); more are refused (429). 0 disables.
    pub max_connections_per_address: usize,
    /// Threads that run requests and sockets; 0 = one per CPU the process may use.
    /// Fewer than the CPUs when other busy processes (a Redis on the same machine)
    /// share them: threads that outnumber the free cores hand work to each other and
    /// get descheduled (README "At the limit").
    pub worker_threads: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Requests per 60 s per client address (v2 `RATE_LIMIT_GENERAL`); 0 disables.
    pub general_per_minute: u32,
    /// Switches per 1 s per session (v2 `RATE_LIMIT_SWITCH`); 0 disables.
    pub switch_per_second: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WsConfig {
    /// Protocol-level ping interval; a peer that misses one is dropped.
    pub ping_interval_ms: u64,
    /// Largest accepted client message (after reassembly); larger → close 1009.
    pub max_message_bytes: usize,
    /// Client messages per second per connection before they are refused.
    pub messages_per_second: u32,
    /// Unsent messages per connection; a connection that overflows is closed (1013).
    pub queue_capacity: usize,
    /// A single frame write that takes longer than this closes the connection (1013).
    pub write_timeout_ms: u64,
    /// Frames of any kind (text, binary, continuation, ping, pong) per second per
    /// connection; beyond it the connection is closed (1008). 0 disables.
    pub frames_per_second: u32,
    /// With auth on and no `?token=` in the URL, how long a connection may take to
    /// send its first message, `{"type":"AUTH","token":…}`, before it is closed (4401).
    pub auth_timeout_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Idle and finished sessions are forgotten this long after their last write.
    pub ttl_secs: u64,
    /// How often the scheduler looks for due deadlines when nothing woke it.
    pub deadline_poll_ms: u64,
    /// How long a claimed deadline stays leased before another instance may retry it.
    pub deadline_lease_ms: u64,
    /// Claimed deadlines applied at once by one instance (each is a load and a commit:
    /// one at a time, a thousand falling in the same second queue behind each other).
    pub deadline_concurrency: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `REDIS_URL`; absent → embedded memory store.
    pub url: Option<String>,
    /// An in-region read replica (optional) for client reads.
    pub replica_url: Option<String>,
    /// Fan-out channels per region; each session's updates use one of them.
    pub fanout_shards: u32,
    /// Connect and command timeout; past it a request gets a 503.
    pub timeout_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            replica_url: None,
            fanout_shards: 64,
            timeout_ms: 1_000,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// `DATABASE_URL`; absent → no audit trail (said at start-up).
    pub database_url: Option<String>,
    /// Apply `migrations/` at start-up (also `synckairos migrate`).
    pub migrate_on_start: bool,
    /// Records per PostgreSQL transaction at most.
    pub batch_max: usize,
    /// How long the writer waits for records when the outbox is empty.
    pub batch_wait_ms: u64,
    /// Records a consumer has held this long unacknowledged are taken over.
    pub claim_idle_ms: u64,
    /// Deprecated, ignored: `/ready` no longer depends on the audit backlog (a backlog
    /// is shared by every instance, so gating readiness on it turned a PostgreSQL outage
    /// into a full outage). Alert on `synckairos_db_write_queue_size` and
    /// `synckairos_audit_backlog_age_ms` instead (`deploy/prometheus/alerts.yml`).
    /// Still accepted so that existing files load; start-up logs a warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_max_backlog: Option<u64>,
    /// Deprecated, ignored (see `ready_max_backlog`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_max_age_secs: Option<u64>,
    pub pool_size: u32,
    /// Records the outbox may hold while PostgreSQL is unreachable; past this (or
    /// `outbox_max_bytes`, estimated) the oldest are dropped and counted
    /// (`synckairos_audit_outbox_dropped_total`), so that Redis never fills up.
    pub outbox_max: u64,
    pub outbox_max_bytes: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            database_url: None,
            migrate_on_start: true,
            batch_max: 1_000,
            batch_wait_ms: 100,
            claim_idle_ms: 10_000,
            ready_max_backlog: None,
            ready_max_age_secs: None,
            pool_size: 4,
            outbox_max: 1_000_000,
            outbox_max_bytes: 512 * 1024 * 1024,
        }
    }
}

/// The regions of a multi-region deployment and how this instance reaches its peers.
/// Multi-region mode is on when this instance's region is listed in `regions` next
/// to at least one other region.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    pub regions: Vec<String>,
    /// The internal listener (forwarding, relay, reconciliation); never public.
    pub internal_port: u16,
    pub internal_bind: String,
    /// Required on every internal request (`x-synckairos-secret`); set it with
    /// `SYNCKAIROS_CLUSTER__SECRET` (a Fly secret), never in a file.
    pub secret: Option<String>,
    /// `static` (the `peers` table) or `fly-dns` (`<region>.<fly_app>.internal`).
    pub discovery: String,
    /// Fly's `FLY_APP_NAME`.
    pub fly_app: Option<String>,
    /// Static discovery: region → internal base URLs of its instances.
    pub peers: BTreeMap<String, Vec<String>>,
    /// On Fly, answer plain HTTP writes for remote-homed sessions with
    /// `fly-replay: region=<home>` instead of forwarding them.
    pub fly_replay: bool,
    /// A forwarded write or peer lookup that takes longer fails (503).
    pub forward_timeout_ms: u64,
    /// An id that no region has is remembered as unknown this long (peer lookups of
    /// unknown ids are not repeated meanwhile). 0 disables.
    pub negative_cache_ms: u64,
    /// Unknown ids remembered at most (per instance).
    pub negative_cache_entries: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            regions: Vec::new(),
            internal_port: 3001,
            internal_bind: "0.0.0.0".into(),
            secret: None,
            discovery: "static".into(),
            fly_app: None,
            peers: BTreeMap::new(),
            fly_replay: false,
            forward_timeout_ms: 3_000,
            negative_cache_ms: 1_000,
            negative_cache_entries: 10_000,
        }
    }
}

/// The inter-region relay: how long the home's relay log is, how links are watched,
/// how often regions compare their copies.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// Envelopes kept in the home's relay log for catch-up.
    pub log_max: u64,
    /// Bytes the home's relay log may hold (estimated from its entries' average size);
    /// whichever cap is reached first trims the oldest entries. A follower that still
    /// needed them sees a gap and catches up from the home's index instead.
    pub log_max_bytes: u64,
    /// A relay stream sends a heartbeat this often when idle.
    pub heartbeat_ms: u64,
    /// A link without any frame for this long is down (reconnect; reads marked stale).
    /// A link that sends heartbeats but no entries while the home's head moves is
    /// stalled after as long (reads marked stale, catch-up).
    pub link_timeout_ms: u64,
    /// How often a region compares its copies of each home's sessions with the home's
    /// index digest (one small request when nothing differs).
    pub check_interval_ms: u64,
    /// A home too busy for an exact comparison (its head keeps moving) is compared
    /// bucket by bucket every this many checks instead.
    pub full_check_every: u32,
    /// At most one check or catch-up per home at a time, and no more often than this
    /// (a burst of skipped entries or gaps causes one).
    pub min_check_interval_ms: u64,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            log_max: 100_000,
            log_max_bytes: 64 * 1024 * 1024,
            heartbeat_ms: 500,
            link_timeout_ms: 2_000,
            check_interval_ms: 5_000,
            full_check_every: 12,
            min_check_interval_ms: 1_000,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter (`info`, `synckairos=debug,warn`); `LOG_LEVEL` in v2.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "0.0.0.0".into(),
            port: 3000,
            body_limit_bytes: 1024 * 1024,
            shutdown_grace_ms: 10_000,
            cors_origins: vec!["*".into()],
            client_ip_header: None,
            header_read_timeout_ms: 30_000,
            body_read_timeout_ms: 10_000,
            max_connections: 16_000,
            max_connections_per_address: 1_000,
            worker_threads: 0,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        // Generous enough for a whole test run from one address; tighten in production.
        RateLimitConfig {
            general_per_minute: 10_000,
            switch_per_second: 50,
        }
    }
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            ping_interval_ms: 5_000,
            max_message_bytes: 64 * 1024,
            messages_per_second: 50,
            queue_capacity: 64,
            write_timeout_ms: 10_000,
            frames_per_second: 500,
            auth_timeout_ms: 5_000,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            ttl_secs: 3_600,
            deadline_poll_ms: 250,
            deadline_lease_ms: 2_000,
            deadline_concurrency: 32,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Either::deserialize(d)? {
        Either::One(s) => s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect(),
        Either::Many(v) => v,
    })
}
