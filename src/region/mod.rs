//! Regions: every session has a home region whose Redis primary alone commits its
//! writes. This module knows the deployment's regions and how to reach each one's
//! instances (static URLs or Fly's `.internal` DNS), forwards writes for remote-homed
//! sessions to their home (returning the home's answer unchanged), asks peers for a
//! session this region has not seen yet, serves the authenticated internal API, and
//! tells whether the link to a home is up (reads of its sessions are marked stale
//! when not).
//!
//! Must not: commit writes for sessions homed elsewhere (never a second writer).

pub mod client;
pub mod forward;
pub mod health;
pub mod internal;
pub mod peers;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::ConnectionManager;

use crate::config::Config;
use crate::domain::Session;
use crate::relay::verdict::replaces;
use crate::store::codec::decode_state;
use client::PeerClient;
use health::LinkHealth;
use peers::Peers;

/// Header carrying the shared secret on every internal request.
pub const SECRET_HEADER: &str = "x-synckairos-secret";
/// Header naming the region that handled the client's request (on forwarded writes).
pub const ORIGIN_HEADER: &str = "x-synckairos-origin";
/// Response header telling a client the data came from a copy whose home is unreachable.
pub const STALE_HEADER: &str = "x-synckairos-stale";

pub struct Cluster {
    pub region: String,
    pub regions: Vec<String>,
    secret: String,
    pub peers: Peers,
    pub client: PeerClient,
    pub health: LinkHealth,
    /// Answer plain HTTP writes with `fly-replay` (only when running on Fly).
    pub fly_replay: bool,
    pub timeout: Duration,
}

impl Cluster {
    /// The cluster of a multi-region configuration, `None` when single-region.
    pub fn new(cfg: &Config, redis: ConnectionManager) -> Option<Arc<Cluster>> {
        if !cfg.multi_region() {
            return None;
        }
        let c = &cfg.cluster;
        let on_fly = std::env::var_os("FLY_REGION").is_some();
        Some(Arc::new(Cluster {
            region: cfg.region.clone(),
            regions: c.regions.clone(),
            secret: c.secret.clone().unwrap_or_default(),
            peers: Peers::new(c),
            client: PeerClient::new(),
            health: LinkHealth::new(redis, Duration::from_millis(cfg.relay.link_timeout_ms)),
            fly_replay: c.fly_replay && on_fly,
            timeout: Duration::from_millis(c.forward_timeout_ms),
        }))
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Constant-time comparison of a presented secret.
    pub fn authorized(&self, presented: Option<&[u8]>) -> bool {
        let Some(p) = presented else { return false };
        let s = self.secret.as_bytes();
        p.len() == s.len() && p.iter().zip(s).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    pub fn knows(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r == region)
    }

    pub fn others(&self) -> impl Iterator<Item = &str> {
        self.regions
            .iter()
            .map(String::as_str)
            .filter(move |r| *r != self.region)
    }

    /// The raw stored bytes of a session at `region` (`None`: it answered 404).
    pub async fn fetch_session(
        &self,
        region: &str,
        session_id: &str,
    ) -> Result<Option<Bytes>, String> {
        let path = format!("/internal/sessions/{session_id}");
        let r = self
            .client
            .call_region(self, region, hyper::Method::GET, &path, None, Bytes::new())
            .await
            .map_err(|e| e.to_string())?;
        match r.status {
            hyper::StatusCode::OK => Ok(Some(r.body)),
            hyper::StatusCode::NOT_FOUND => Ok(None),
            other => Err(format!("{region} answered {other}")),
        }
    }

    /// Asks every other region (concurrently) about a session this region does not
    /// have (it may have been created elsewhere a moment ago). The session's home is
    /// authoritative: its 404 means gone, whatever stale copies others still hold; a
    /// copy is returned with its raw bytes (to keep here byte for byte).
    pub async fn lookup(&self, session_id: &str) -> Lookup {
        let asks = self.others().map(|region| async move {
            let answer = match self.fetch_session(region, session_id).await {
                Ok(Some(body)) => decode_state(session_id, &body)
                    .map(|s| Some((s, body)))
                    .map_err(|_| ()),
                Ok(None) => Ok(None),
                Err(_) => Err(()),
            };
            (region, answer)
        });
        let answers = futures_util::future::join_all(asks).await;
        let best = answers
            .iter()
            .filter_map(|(_, a)| a.as_ref().ok().and_then(Option::as_ref))
            .fold(None::<&(Session, Bytes)>, |acc, c| match acc {
                Some(a) if !replaces(&c.0, Some(&a.0)) => Some(a),
                _ => Some(c),
            });
        let all_answered = answers.iter().all(|(_, a)| a.is_ok());
        let Some((s, raw)) = best else {
            return if all_answered {
                Lookup::Absent
            } else {
                Lookup::Unknown
            };
        };
        if s.home_region == self.region {
            // Our own session, and we do not have it: gone here, gone everywhere.
            return Lookup::Absent;
        }
        match answers
            .iter()
            .find(|(r, _)| *r == s.home_region)
            .map(|(_, a)| a)
        {
            Some(Ok(None)) => Lookup::Absent,
            Some(Ok(Some((h, hraw)))) => Lookup::Found(Box::new(h.clone()), hraw.clone()),
            _ => Lookup::Found(Box::new(s.clone()), raw.clone()),
        }
    }
}

/// What the other regions know about a session.
pub enum Lookup {
    /// A copy (the home's own when it answered).
    Found(Box<Session>, Bytes),
    /// Its home (or every region) says it does not exist.
    Absent,
    /// Nobody who answered has it, and some region did not answer.
    Unknown,
}
