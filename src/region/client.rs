//! HTTP client for peer regions: keep-alive connections (a forwarded switch must cost
//! one round trip, not a handshake too), the shared secret on every request, a
//! timeout, and failover across a region's instances for requests that never left.
//!
//! Must not: know what is asked (callers build the request) or which regions exist.

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

use super::wire::SECRET_HEADER;
use crate::domain::RegionId;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Error)]
pub enum PeerError {
    #[error("no known instance of region {region}")]
    NoInstances { region: RegionId },
    #[error("region {region} did not answer within {ms} ms")]
    Timeout { region: RegionId, ms: u128 },
    /// No instance of the region accepted a connection: the request was never sent.
    #[error("cannot connect to region {region}")]
    Connect {
        region: RegionId,
        #[source]
        source: BoxError,
    },
    /// The exchange failed after the request was sent: it may have been applied.
    #[error("exchange with region {region} failed")]
    Exchange {
        region: RegionId,
        #[source]
        source: BoxError,
    },
    #[error("region {region} answered {status}")]
    Status {
        region: RegionId,
        status: StatusCode,
    },
    #[error("region {region} sent an answer that cannot be decoded")]
    Decode {
        region: RegionId,
        #[source]
        source: BoxError,
    },
}

impl PeerError {
    /// Whether the request certainly did not reach the peer, so sending it again (to
    /// another instance, or later) cannot apply it twice.
    pub fn never_sent(&self) -> bool {
        matches!(
            self,
            PeerError::NoInstances { .. } | PeerError::Connect { .. }
        )
    }
}

/// Where a request goes: a region's name (for errors), its instances' base URLs and
/// the cluster secret.
pub struct Target<'a> {
    pub region: &'a RegionId,
    pub urls: &'a [String],
    pub secret: &'a str,
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

    /// Sends a request to one instance of the target region (failing over to the next
    /// when a connection cannot be made) and returns the response head with its
    /// streaming body.
    pub async fn open(
        &self,
        to: &Target<'_>,
        req: PeerRequest<'_>,
        timeout: Duration,
    ) -> Result<Response<Incoming>, PeerError> {
        let region = to.region.clone();
        if to.urls.is_empty() {
            return Err(PeerError::NoInstances { region });
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last: Option<BoxError> = None;
        for k in 0..to.urls.len() {
            let base = &to.urls[(start + k) % to.urls.len()];
            let mut builder = Request::builder()
                .method(req.method.clone())
                .uri(format!("{base}{}", req.path));
            if let Some(h) = builder.headers_mut() {
                if let Some(extra) = req.headers {
                    h.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                if let Ok(v) = HeaderValue::from_str(to.secret) {
                    h.insert(HeaderName::from_static(SECRET_HEADER), v);
                }
            }
            let request =
                builder
                    .body(Full::new(req.body.clone()))
                    .map_err(|e| PeerError::Exchange {
                        region: region.clone(),
                        source: e.into(),
                    })?;
            match tokio::time::timeout(timeout, self.http.request(request)).await {
                Ok(Ok(resp)) => return Ok(resp),
                Ok(Err(e)) if e.is_connect() => last = Some(e.into()),
                Ok(Err(e)) => {
                    return Err(PeerError::Exchange {
                        region,
                        source: e.into(),
                    })
                }
                Err(_) => {
                    return Err(PeerError::Timeout {
                        region,
                        ms: timeout.as_millis(),
                    })
                }
            }
        }
        Err(PeerError::Connect {
            region,
            source: last.unwrap_or_else(|| "no instance accepted".into()),
        })
    }

    /// A whole request/response exchange within `timeout`.
    pub async fn call(
        &self,
        to: &Target<'_>,
        req: PeerRequest<'_>,
        timeout: Duration,
    ) -> Result<PeerResponse, PeerError> {
        let started = tokio::time::Instant::now();
        let resp = self.open(to, req, timeout).await?;
        let (parts, body) = resp.into_parts();
        let left = timeout.saturating_sub(started.elapsed());
        let body = match tokio::time::timeout(left, body.collect()).await {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(e)) => {
                return Err(PeerError::Exchange {
                    region: to.region.clone(),
                    source: e.into(),
                })
            }
            Err(_) => {
                return Err(PeerError::Timeout {
                    region: to.region.clone(),
                    ms: timeout.as_millis(),
                })
            }
        };
        Ok(PeerResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}
