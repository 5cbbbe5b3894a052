//! The cluster as this instance sees it: its region, the other regions and how to
//! reach each (peers, the authenticated client), whether a home is heard from, and the
//! requests every other layer makes to a peer region: the typed call to a home, a
//! session's raw bytes, a lookup across all regions, the relay stream, reconciliation.
//!
//! Must not: decide what to do with the answers (the gateway and the relay do).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use redis::aio::ConnectionManager;

use super::client::{PeerClient, PeerError, PeerRequest, PeerResponse, Target};
use super::health::LinkHealth;
use super::peers::Peers;
use super::precedence::replaces;
use super::wire::{self, PeerCall, PeerReply, CALL_PATH, MSGPACK};
use crate::config::Config;
use crate::domain::{RegionId, Session, SessionId};
use crate::store::decode_state;

pub struct Cluster {
    pub region: RegionId,
    pub regions: Vec<RegionId>,
    secret: String,
    peers: Peers,
    client: PeerClient,
    pub health: LinkHealth,
    /// Answer plain HTTP writes with `fly-replay` (only when running on Fly).
    pub fly_replay: bool,
    /// Limit of one request/response exchange with a peer.
    pub timeout: Duration,
}

/// What the other regions know about a session.
pub enum Lookup {
    /// A copy (the home's own when it answered), with its exact stored bytes.
    Found(Box<Session>, Bytes),
    /// Its home (or every region) says it does not exist.
    Absent,
    /// Nobody who answered has it, and some region did not answer.
    Unknown(PeerError),
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
            region: RegionId::from(&cfg.region),
            regions: c.regions.iter().map(RegionId::from).collect(),
            secret: c.secret.clone().unwrap_or_default(),
            peers: Peers::new(c),
            client: PeerClient::new(),
            health: LinkHealth::new(redis, Duration::from_millis(cfg.relay.link_timeout_ms)),
            fly_replay: c.fly_replay && on_fly,
            timeout: Duration::from_millis(c.forward_timeout_ms),
        }))
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

    pub fn others(&self) -> impl Iterator<Item = &RegionId> {
        self.regions.iter().filter(move |r| **r != self.region)
    }

    /// Opens a request to one instance of `region` (its body streams).
    pub async fn open(
        &self,
        region: &RegionId,
        req: PeerRequest<'_>,
        timeout: Duration,
    ) -> Result<Response<Incoming>, PeerError> {
        let urls = self.peers.urls(region).await;
        let to = Target {
            region,
            urls: &urls,
            secret: &self.secret,
        };
        self.client.open(&to, req, timeout).await
    }

    /// A whole exchange with `region` within the cluster timeout.
    pub async fn exchange(
        &self,
        region: &RegionId,
        req: PeerRequest<'_>,
    ) -> Result<PeerResponse, PeerError> {
        let urls = self.peers.urls(region).await;
        let to = Target {
            region,
            urls: &urls,
            secret: &self.secret,
        };
        self.client.call(&to, req, self.timeout).await
    }

    /// GET `path` at `region`, expecting 200 (`None` on 404).
    pub async fn get(&self, region: &RegionId, path: &str) -> Result<Option<Bytes>, PeerError> {
        let req = PeerRequest {
            method: Method::GET,
            path,
            headers: None,
            body: Bytes::new(),
        };
        let r = self.exchange(region, req).await?;
        match r.status {
            StatusCode::OK => Ok(Some(r.body)),
            StatusCode::NOT_FOUND => Ok(None),
            status => Err(PeerError::Status {
                region: region.clone(),
                status,
            }),
        }
    }

    /// A reconciliation request to `region` (`sync_wire`): GET when `body` is `None`,
    /// else POST it (MessagePack); the answer decoded. Bulk pages get their own
    /// `timeout`, longer than a forwarded write's.
    pub async fn sync<T: serde::de::DeserializeOwned>(
        &self,
        region: &RegionId,
        path: &str,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<T, PeerError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(MSGPACK));
        let req = PeerRequest {
            method: if body.is_some() {
                Method::POST
            } else {
                Method::GET
            },
            path,
            headers: Some(&headers),
            body: body.map(Bytes::from).unwrap_or_default(),
        };
        let urls = self.peers.urls(region).await;
        let to = Target {
            region,
            urls: &urls,
            secret: &self.secret,
        };
        let r = self.client.call(&to, req, timeout).await?;
        if r.status != StatusCode::OK {
            return Err(PeerError::Status {
                region: region.clone(),
                status: r.status,
            });
        }
        wire::decode(&r.body).map_err(|e| PeerError::Decode {
            region: region.clone(),
            source: e.into(),
        })
    }

    /// The typed call to a session's home region.
    pub async fn call_home(
        &self,
        home: &RegionId,
        call: &PeerCall,
    ) -> Result<PeerReply, PeerError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(MSGPACK));
        let req = PeerRequest {
            method: Method::POST,
            path: CALL_PATH,
            headers: Some(&headers),
            body: wire::encode(call).into(),
        };
        let r = self.exchange(home, req).await?;
        if r.status != StatusCode::OK {
            return Err(PeerError::Status {
                region: home.clone(),
                status: r.status,
            });
        }
        wire::decode(&r.body).map_err(|e| PeerError::Decode {
            region: home.clone(),
            source: e.into(),
        })
    }

    /// The raw stored bytes of a session at `region` (`None`: it answered 404).
    pub async fn fetch_session(
        &self,
        region: &RegionId,
        session_id: &SessionId,
    ) -> Result<Option<Bytes>, PeerError> {
        self.get(region, &wire::session_path(session_id)).await
    }

    /// Asks every other region (concurrently) about a session this region does not
    /// have (it may have been created elsewhere a moment ago). The session's home is
    /// authoritative: its 404 means gone, whatever stale copies others still hold.
    pub async fn lookup(&self, session_id: &SessionId) -> Lookup {
        let asks = self.others().map(|region| async move {
            let answer = match self.fetch_session(region, session_id).await {
                Ok(Some(body)) => match decode_state(session_id, &body) {
                    Ok(s) => Ok(Some((s, body))),
                    Err(e) => Err(PeerError::Decode {
                        region: region.clone(),
                        source: e.into(),
                    }),
                },
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            (region, answer)
        });
        let mut answers = futures_util::future::join_all(asks).await;
        let best = answers
            .iter()
            .filter_map(|(_, a)| a.as_ref().ok().and_then(Option::as_ref))
            .fold(None::<&(Session, Bytes)>, |acc, c| match acc {
                Some(a) if !replaces(&c.0, Some(&a.0)) => Some(a),
                _ => Some(c),
            })
            .cloned();
        let Some((s, raw)) = best else {
            let failed = answers
                .iter_mut()
                .find_map(|(_, a)| std::mem::replace(a, Ok(None)).err());
            return match failed {
                None => Lookup::Absent,
                Some(e) => Lookup::Unknown(e),
            };
        };
        if s.home_region == self.region {
            // Our own session, and we do not have it: gone here, gone everywhere.
            return Lookup::Absent;
        }
        match answers.iter().find(|(r, _)| **r == s.home_region) {
            Some((_, Ok(None))) => Lookup::Absent,
            Some((_, Ok(Some((h, hraw))))) => Lookup::Found(Box::new(h.clone()), hraw.clone()),
            _ => Lookup::Found(Box::new(s), raw),
        }
    }
}
