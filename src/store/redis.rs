//! The production store: session state in the region's Redis, every change committed
//! by one Lua script (EVALSHA) that compare-and-sets the version, writes the state with
//! its lifetime, maintains the deadline index, bumps the region sequence and publishes
//! the MessagePack envelope, all atomically. Reads for clients may use an in-region
//! replica, never returning a version older than one this instance has seen.
//!
//! Writes start from the last state this instance committed or loaded (`recent`), so a
//! write is one round trip (the commit script's compare-and-set catches a stale copy
//! and answers with the stored state).
//!
//! Must not: deliver to local sockets itself (the fan-out subscription does that, for
//! every instance alike) or hold any session state beyond the bounded `Recent` cache.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, Script, TlsCertificates};

use super::recent::Recent;
use super::{decode_state, keys, scripts, Commit, Expected, Store, StoreError};
use crate::domain::{Millis, RegionId, Session, SessionId};

pub struct RedisStore {
    pub(super) primary: ConnectionManager,
    replica: Option<ConnectionManager>,
    pub(super) shards: u32,
    pub(super) home_region: RegionId,
    /// The audit outbox's cap when commits also append their audit record to it.
    pub(super) audit: Option<StreamCap>,
    /// The relay log's cap when multi-region (commits append their envelope and keep
    /// the index of this home's sessions), else `None`.
    pub(super) relay_log: Option<StreamCap>,
    /// Commits need this region's ownership lease (`keys::OWNER_LEASE`): fencing on.
    pub(super) fencing: bool,
    pub(super) commit: Script,
    pub(super) delete: Script,
    claim: Script,
    reschedule: Script,
    /// The last state this instance committed, read from the primary or was answered
    /// by a conflict, per session it recently served.
    pub(super) recent: Recent,
}

/// How far a stream may grow: entries, and bytes (estimated from the entries' average
/// size). Past either, its oldest entries are trimmed in the appending script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamCap {
    pub max_len: u64,
    pub max_bytes: u64,
}

/// The URL query parameter naming a PEM file of CA certificates (the name PostgreSQL
/// URLs use): a `rediss://` connection then trusts only those CAs instead of the
/// built-in public roots. Managed services need none; a private CA does.
pub const CA_FILE_PARAM: &str = "sslrootcert";

/// Where to connect and how, from a Redis URL: `redis://` in the clear; `rediss://`
/// over TLS (rustls), the server certificate verified against the public web roots,
/// or only against the CAs of `?sslrootcert=/path/ca.pem`. Credentials travel in the
/// URL (`rediss://user:password@host:port`, an ACL user; percent-encode specials).
/// Every Redis connection of the process is opened from what this returns.
pub fn connection_info(url: &str) -> redis::RedisResult<ConnectionInfo> {
    let info = url.into_connection_info()?;
    let parsed = url::Url::parse(url).ok();
    let ca_file = parsed.as_ref().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == CA_FILE_PARAM)
            .map(|(_, v)| v.into_owned())
    });
    let Some(path) = ca_file else {
        return Ok(info);
    };
    let pem = std::fs::read(&path).map_err(|e| {
        RedisError::from((
            ErrorKind::InvalidClientConfig,
            "cannot read the CA file of sslrootcert",
            format!("{path}: {e}"),
        ))
    })?;
    let certs = TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    };
    Ok(redis::Client::build_with_tls(info, certs)?
        .get_connection_info()
        .clone())
}

/// A lazily connecting, self-reconnecting connection; commands fail fast (→ 503) while
/// Redis is unreachable instead of queueing without bound.
pub fn connect(
    url: &str,
    config: ConnectionManagerConfig,
) -> Result<ConnectionManager, StoreError> {
    let info = connection_info(url).map_err(StoreError::unavailable("parse the Redis URL"))?;
    let client = redis::Client::open(info).map_err(StoreError::unavailable("open a client"))?;
    ConnectionManager::new_lazy_with_config(client, config)
        .map_err(StoreError::unavailable("connect"))
}

pub fn command_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

impl RedisStore {
    pub fn new(
        primary: ConnectionManager,
        replica: Option<ConnectionManager>,
        home_region: &RegionId,
        shards: u32,
        audit: Option<StreamCap>,
        relay_log: Option<StreamCap>,
    ) -> Self {
        RedisStore {
            primary,
            replica,
            shards,
            home_region: home_region.clone(),
            audit,
            relay_log,
            fencing: false,
            commit: scripts::commit(),
            delete: scripts::delete(),
            claim: scripts::claim(),
            reschedule: scripts::reschedule(),
            recent: Recent::default(),
        }
    }

    /// Commits only while this region holds its ownership lease (issue 11).
    pub fn with_fencing(mut self, on: bool) -> Self {
        self.fencing = on;
        self
    }

    pub fn shards(&self) -> u32 {
        self.shards
    }

    /// The stored bytes of a session exactly as kept (for peers: byte-identical copies).
    pub async fn raw(&self, session_id: &SessionId) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.primary.clone();
        redis::cmd("GET")
            .arg(keys::session(session_id))
            .query_async(&mut conn)
            .await
            .map_err(StoreError::unavailable("read raw state"))
    }

    async fn get_from(
        &self,
        mut conn: ConnectionManager,
        session_id: &SessionId,
    ) -> Result<Option<(Session, Vec<u8>)>, StoreError> {
        let raw: Option<Vec<u8>> = redis::cmd("GET")
            .arg(keys::session(session_id))
            .query_async(&mut conn)
            .await
            .map_err(StoreError::unavailable("load"))?;
        raw.map(|b| Ok((decode_state(session_id, &b)?, b)))
            .transpose()
    }
}

#[async_trait]
impl Store for RedisStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn load(&self, session_id: &SessionId) -> Result<Option<Arc<Session>>, StoreError> {
        let Some((s, raw)) = self.get_from(self.primary.clone(), session_id).await? else {
            self.recent.forget(session_id);
            return Ok(None);
        };
        let s = Arc::new(s);
        self.recent.put(s.clone(), raw.into());
        Ok(Some(s))
    }

    fn recent(&self, session_id: &SessionId) -> Option<Arc<Session>> {
        self.recent.get(session_id)
    }

    async fn read(&self, session_id: &SessionId) -> Result<Option<Arc<Session>>, StoreError> {
        let Some(replica) = &self.replica else {
            return self.load(session_id).await;
        };
        let known = self.recent.version(session_id);
        match self.get_from(replica.clone(), session_id).await {
            Ok(Some((s, _))) if s.version >= known => Ok(Some(Arc::new(s))),
            // Missing or behind what this instance already saw: ask the primary.
            _ => self.load(session_id).await,
        }
    }

    async fn insert(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        self.run_commit(None, &commit).await
    }

    async fn commit(&self, expected: Expected, commit: Commit<'_>) -> Result<(), StoreError> {
        self.run_commit(Some(expected), &commit).await
    }

    async fn delete(
        &self,
        session_id: &SessionId,
        origin: &RegionId,
        actor: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.run_delete(session_id, origin, actor).await
    }

    async fn claim_due(
        &self,
        now: Millis,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<SessionId>, StoreError> {
        let mut conn = self.primary.clone();
        let ids: Vec<String> = self
            .claim
            .key(keys::DEADLINES)
            .arg(now)
            .arg(now + lease_ms as Millis)
            .arg(limit)
            .invoke_async(&mut conn)
            .await
            .map_err(StoreError::unavailable("claim deadlines"))?;
        Ok(ids.into_iter().map(SessionId::from).collect())
    }

    async fn reschedule(
        &self,
        session_id: &SessionId,
        version: u64,
        deadline: Option<Millis>,
    ) -> Result<(), StoreError> {
        let mut conn = self.primary.clone();
        let _: i64 = self
            .reschedule
            .key(keys::session(session_id))
            .key(keys::DEADLINES)
            .arg(version)
            .arg(deadline.map(|d| d.to_string()).unwrap_or_default())
            .arg(session_id.as_str())
            .invoke_async(&mut conn)
            .await
            .map_err(StoreError::unavailable("reschedule"))?;
        Ok(())
    }

    async fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        let mut conn = self.primary.clone();
        let first: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(keys::DEADLINES)
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await
            .map_err(StoreError::unavailable("read the next deadline"))?;
        Ok(first.first().map(|(_, score)| *score as Millis))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.primary.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(StoreError::unavailable("ping"))?;
        Ok(())
    }
}
