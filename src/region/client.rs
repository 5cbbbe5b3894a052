//! HTTP client for peer regions: keep-alive connections (a forwarded switch must cost
//! one round trip, not a handshake too), the shared secret on every request, a
//! timeout, and failover across a region's instances.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use thiserror::Error;

use super::{Cluster, SECRET_HEADER};

#[derive(Debug, Error)]
pub enum PeerError {
    #[error("no known instance of region {0}")]
    NoInstances(String),
    #[error("region {region} did not answer within {ms} ms")]
    Timeout { region: String, ms: u128 },
    #[error("region {region} unreachable: {reason}")]
    Unreachable { region: String, reason: String },
}

impl PeerError {
    fn unreachable(region: &str, reason: impl ToString) -> Self {
        PeerError::Unreachable {
            region: region.to_owned(),
            reason: reason.to_string(),
        }
    }

    fn timeout(region: &str, limit: Duration) -> Self {
        PeerError::Timeout {
            region: region.to_owned(),
            ms: limit.as_millis(),
        }
    }
}

/// What to send to a peer region.
pub struct PeerRequest<'a> {
    pub method: Method,
    pub path: &'a str,
    pub headers: Option<&'a HeaderMap>,
    pub body: Bytes,
}

/// A peer's complete answer.
pub struct PeerResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct PeerClient {
    http: Client<HttpConnector, Full<Bytes>>,
    next: AtomicUsize,
}

impl Default for PeerClient {
    fn default() -> Self {
        Self::new()
    }
}

impl PeerClient {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .build(connector);
        PeerClient {
            http,
            next: AtomicUsize::new(0),
        }
    }

    /// Sends a request to one instance of `region` (failing over to the next on a
    /// connection error) and returns the response head with its streaming body.
    pub async fn open_region(
        &self,
        cluster: &Cluster,
        region: &str,
        req: PeerRequest<'_>,
        timeout: Duration,
    ) -> Result<Response<Incoming>, PeerError> {
        let PeerRequest {
            method,
            path,
            headers,
            body,
        } = req;
        let urls = cluster.peers.urls(region).await;
        if urls.is_empty() {
            return Err(PeerError::NoInstances(region.to_owned()));
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last = String::new();
        for k in 0..urls.len() {
            let base = &urls[(start + k) % urls.len()];
            let mut req = Request::builder()
                .method(method.clone())
                .uri(format!("{base}{path}"));
            if let Some(h) = req.headers_mut() {
                if let Some(extra) = headers {
                    h.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                if let Ok(v) = HeaderValue::from_str(cluster.secret()) {
                    h.insert(HeaderName::from_static(SECRET_HEADER), v);
                }
            }
            let Ok(req) = req.body(Full::new(body.clone())) else {
                return Err(PeerError::unreachable(region, "bad request"));
            };
            match tokio::time::timeout(timeout, self.http.request(req)).await {
                Ok(Ok(resp)) => return Ok(resp),
                Ok(Err(e)) if e.is_connect() => last = e.to_string(),
                Ok(Err(e)) => return Err(PeerError::unreachable(region, e)),
                Err(_) => return Err(PeerError::timeout(region, timeout)),
            }
        }
        Err(PeerError::unreachable(region, last))
    }

    /// A whole request/response exchange with `region`, within the cluster timeout.
    pub async fn call_region(
        &self,
        cluster: &Cluster,
        region: &str,
        method: Method,
        path: &str,
        headers: Option<&HeaderMap>,
        body: Bytes,
    ) -> Result<PeerResponse, PeerError> {
        let timeout = cluster.timeout;
        let started = tokio::time::Instant::now();
        let req = PeerRequest {
            method,
            path,
            headers,
            body,
        };
        let resp = self.open_region(cluster, region, req, timeout).await?;
        let (parts, body) = resp.into_parts();
        let left = timeout.saturating_sub(started.elapsed());
        let body = match tokio::time::timeout(left, body.collect()).await {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(e)) => return Err(PeerError::unreachable(region, e)),
            Err(_) => return Err(PeerError::timeout(region, timeout)),
        };
        Ok(PeerResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}
