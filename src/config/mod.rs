//! Configuration: built-in defaults → `regions/default.toml` → `regions/<region>.toml`
//! → environment (`SYNCKAIROS_*` with `__` between levels, plus the v2 names `PORT`,
//! `REDIS_URL`, `DATABASE_URL`, `CORS_ORIGIN`, `RATE_LIMIT_GENERAL`, `RATE_LIMIT_SWITCH`,
//! `LOG_LEVEL`, and Fly's `FLY_REGION`, `PRIMARY_REGION`) → `REDIS_URL_<REGION>`.
//!
//! Owns: every setting, its default and its validation. Unknown keys and bad values
//! are errors that name the key and the source. Must not: start anything.

mod auth;
mod clock;
mod dashboard;
mod owners;
mod sections;

pub use auth::{AuthConfig, KeyConfig, QuotaConfig};
pub use clock::ClockConfig;
pub use dashboard::DashboardConfig;
pub use owners::OwnersConfig;
pub use sections::{
    AuditConfig, ClusterConfig, LogConfig, RateLimitConfig, RedisConfig, RelayConfig, ServerConfig,
    SessionConfig, WsConfig,
};

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        // One line per problem; figment names the key and the file or variable.
        let msgs: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
        ConfigError::Invalid(msgs.join("; "))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// This instance's region (`FLY_REGION` on Fly). `local` when single-node.
    pub region: String,
    /// Fly's `PRIMARY_REGION`; informational.
    pub primary_region: Option<String>,
    /// Where `default.toml` and `<region>.toml` are read from.
    pub regions_dir: PathBuf,
    pub server: ServerConfig,
    pub rate_limit: RateLimitConfig,
    pub ws: WsConfig,
    pub sessions: SessionConfig,
    pub redis: RedisConfig,
    pub audit: AuditConfig,
    pub cluster: ClusterConfig,
    pub relay: RelayConfig,
    pub dashboard: DashboardConfig,
    pub log: LogConfig,
    pub clock: ClockConfig,
    pub auth: AuthConfig,
    pub quotas: QuotaConfig,
    pub owners: OwnersConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region: "local".into(),
            primary_region: None,
            regions_dir: "regions".into(),
            server: ServerConfig::default(),
            rate_limit: RateLimitConfig::default(),
            ws: WsConfig::default(),
            sessions: SessionConfig::default(),
            redis: RedisConfig::default(),
            audit: AuditConfig::default(),
            cluster: ClusterConfig::default(),
            relay: RelayConfig::default(),
            dashboard: DashboardConfig::default(),
            log: LogConfig::default(),
            clock: ClockConfig::default(),
            auth: AuthConfig::default(),
            quotas: QuotaConfig::default(),
            owners: OwnersConfig::default(),
        }
    }
}

/// v2 and Fly variable names and the keys they set.
const PLAIN_ENV: [(&str, &str); 10] = [
    ("PORT", "server.port"),
    ("REDIS_URL", "redis.url"),
    ("DATABASE_URL", "audit.database_url"),
    ("CORS_ORIGIN", "server.cors_origins"),
    ("RATE_LIMIT_GENERAL", "rate_limit.general_per_minute"),
    ("RATE_LIMIT_SWITCH", "rate_limit.switch_per_second"),
    ("LOG_LEVEL", "log.level"),
    ("FLY_REGION", "region"),
    ("PRIMARY_REGION", "primary_region"),
    ("FLY_APP_NAME", "cluster.fly_app"),
];

fn env_layers(fig: Figment) -> Figment {
    let plain = Env::raw()
        .only(&PLAIN_ENV.map(|(k, _)| k))
        .map(|k| {
            let key = k.as_str().to_ascii_uppercase();
            PLAIN_ENV
                .iter()
                .find(|(name, _)| *name == key)
                .map_or(k.as_str().into(), |(_, target)| (*target).into())
        })
        .split(".");
    fig.merge(Env::prefixed("SYNCKAIROS_").split("__"))
        .merge(plain)
}

/// Adds a TOML file if it exists (a missing region file is not an error).
fn toml_layer(fig: Figment, path: PathBuf) -> Figment {
    if path.is_file() {
        fig.merge(Toml::file_exact(path))
    } else {
        fig
    }
}

fn base(dir: &Path, region: Option<&str>) -> Figment {
    let mut fig = toml_layer(
        Figment::from(Serialized::defaults(Config::default())),
        dir.join("default.toml"),
    );
    if let Some(r) = region {
        fig = toml_layer(fig, dir.join(format!("{r}.toml")));
    }
    let fig = env_layers(fig);
    match region {
        Some(r) => fig.merge(region_redis_env(r)),
        None => fig,
    }
}

/// `REDIS_URL_<REGION>` (`REDIS_URL_LHR`, `-` → `_`): this region's Redis URL, kept in
/// a platform secret because it carries the region's password or ACL user
/// (`rediss://user:password@host:port`). One app-wide secret store can so hold every
/// region's credentials; each instance reads only its own region's. Wins over
/// `REDIS_URL` and the region file.
pub fn region_redis_var(region: &str) -> String {
    format!(
        "REDIS_URL_{}",
        region.to_ascii_uppercase().replace('-', "_")
    )
}

fn region_redis_env(region: &str) -> Env {
    let name = region_redis_var(region);
    Env::raw()
        .only(&[name.as_str()])
        .map(|_| "redis.url".into())
        .split(".")
}

impl Config {
    /// Loads the configuration from the process environment and the region files.
    pub fn load() -> Result<Config, ConfigError> {
        Self::load_from(Figment::new())
    }

    /// Loads with `overrides` merged last (tests and tools).
    pub fn load_from(overrides: Figment) -> Result<Config, ConfigError> {
        let dir: PathBuf = env_layers(Figment::from(Serialized::defaults(Config::default())))
            .merge(overrides.clone())
            .extract_inner("regions_dir")?;
        // First pass decides the region; the second adds that region's file.
        let first: Config = base(&dir, None).merge(overrides.clone()).extract()?;
        let cfg: Config = base(&dir, Some(&first.region)).merge(overrides).extract()?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError::Invalid(format!("{key}: {why}")));
        if !is_region_name(&self.region) {
            return bad("region", "must be 1-32 lowercase letters, digits or '-'");
        }
        if self.server.body_limit_bytes == 0 {
            return bad("server.body_limit_bytes", "must be > 0");
        }
        if self.server.worker_threads > 1024 {
            return bad("server.worker_threads", "must be 0 (one per CPU) to 1024");
        }
        if self.ws.max_message_bytes < 128 {
            return bad("ws.max_message_bytes", "must be >= 128");
        }
        if self.ws.queue_capacity == 0 {
            return bad("ws.queue_capacity", "must be > 0");
        }
        if self.ws.ping_interval_ms < 100 {
            return bad("ws.ping_interval_ms", "must be >= 100");
        }
        if !(1..=16_384).contains(&self.redis.fanout_shards) {
            return bad("redis.fanout_shards", "must be 1..=16384");
        }
        if self.redis.timeout_ms == 0 {
            return bad("redis.timeout_ms", "must be > 0");
        }
        if self.audit.batch_max == 0 || self.audit.pool_size == 0 {
            return bad("audit.batch_max / audit.pool_size", "must be > 0");
        }
        if !matches!(self.cluster.discovery.as_str(), "static" | "fly-dns") {
            return bad("cluster.discovery", "must be \"static\" or \"fly-dns\"");
        }
        if let Some(r) = self.cluster.regions.iter().find(|r| !is_region_name(r)) {
            return bad("cluster.regions", &format!("{r:?} is not a region name"));
        }
        if self.multi_region() {
            if self.redis.url.is_none() {
                return bad("redis.url", "multi-region mode needs the Redis store");
            }
            if self.cluster.secret.as_deref().unwrap_or("").len() < 16 {
                return bad("cluster.secret", "multi-region mode needs a shared secret of at least 16 characters (SYNCKAIROS_CLUSTER__SECRET)");
            }
            if self.cluster.discovery == "fly-dns" && self.cluster.fly_app.is_none() {
                return bad("cluster.fly_app", "fly-dns discovery needs FLY_APP_NAME");
            }
        }
        if self.dashboard.interval_ms < 100
            || self.dashboard.keep_secs * 1000 < self.dashboard.interval_ms
        {
            return bad(
                "dashboard.interval_ms / dashboard.keep_secs",
                "interval must be >= 100 ms and keep at least one interval",
            );
        }
        if self.sessions.ttl_secs == 0 {
            return bad("sessions.ttl_secs", "must be > 0");
        }
        let o = &self.owners;
        if o.lease_ms < 100 || o.vote_hold_ms < o.lease_ms + 4 * o.margin_ms {
            return bad(
                "owners.lease_ms / owners.vote_hold_ms",
                "lease must be >= 100 ms and the vote hold at least the lease plus 4 margins",
            );
        }
        if !(o.auto_share > 0.5 && o.auto_share <= 1.0) || o.auto_window == 0 {
            return bad(
                "owners.auto_share / owners.auto_window",
                "share must be in (0.5, 1] and the window > 0",
            );
        }
        if let Some((r, _)) = o
            .successors
            .iter()
            .find(|(r, s)| !is_region_name(r) || s.iter().any(|x| !is_region_name(x) || x == *r))
        {
            return bad(
                "owners.successors",
                &format!("{r:?}: region names, never the region itself"),
            );
        }
        if !matches!(self.clock.source.as_str(), "redis" | "system") {
            return bad("clock.source", "must be \"redis\" or \"system\"");
        }
        if self.clock.sample_interval_ms < 10 || self.clock.peer_interval_ms < 10 {
            return bad(
                "clock.sample_interval_ms / clock.peer_interval_ms",
                "must be >= 10",
            );
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad("log.format", "must be \"text\" or \"json\"");
        }
        if !matches!(self.auth.mode.as_str(), "off" | "on") {
            return bad("auth.mode", "must be \"off\" or \"on\"");
        }
        if self.server.max_connections == 0 {
            return bad("server.max_connections", "must be > 0");
        }
        if self.server.body_read_timeout_ms == 0 {
            return bad("server.body_read_timeout_ms", "must be > 0");
        }
        Ok(())
    }
}

impl Config {
    /// Keys that are still accepted but no longer do anything, each with what to do
    /// instead (logged as warnings at start-up).
    pub fn deprecated_keys(&self) -> Vec<String> {
        let alert = "ignored since readiness stopped depending on the audit backlog; \
                     alert on it instead (deploy/prometheus/alerts.yml)";
        let mut found = Vec::new();
        if self.audit.ready_max_backlog.is_some() {
            found.push(format!("audit.ready_max_backlog is {alert}"));
        }
        if self.audit.ready_max_age_secs.is_some() {
            found.push(format!("audit.ready_max_age_secs is {alert}"));
        }
        found
    }

    /// A copy safe to print (`synckairos config`): the cluster secret and the
    /// passwords in the Redis and PostgreSQL URLs are masked.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        for url in [
            &mut c.redis.url,
            &mut c.redis.replica_url,
            &mut c.audit.database_url,
        ]
        .into_iter()
        .flatten()
        {
            *url = redact_url(url);
        }
        if c.cluster.secret.is_some() {
            c.cluster.secret = Some(REDACTED.into());
        }
        for key in c.auth.keys.values_mut() {
            if key.secret.is_some() {
                key.secret = Some(REDACTED.into());
            }
        }
        c
    }

    /// Whether this instance is one region of several (relay, forwarding, peers).
    pub fn multi_region(&self) -> bool {
        let regions = &self.cluster.regions;
        regions.contains(&self.region) && regions.iter().any(|r| *r != self.region)
    }
}

pub fn is_region_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

const REDACTED: &str = "REDACTED";

/// `scheme://user:password@host/...` with the password masked; anything that does not
/// parse as a URL is masked whole (it may be a secret in an unexpected shape).
fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() && u.set_password(Some(REDACTED)).is_err() {
                return REDACTED.into();
            }
            u.to_string()
        }
        Err(_) => REDACTED.into(),
    }
}
