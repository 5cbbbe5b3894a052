//! Sending a client's write to the session's home region and returning the home's
//! answer unchanged (status, body and the headers a client reads), or, on Fly for
//! plain HTTP when configured, a `fly-replay` answer so Fly's proxy replays the request
//! in the home region. A home that cannot be reached gives 503 with `Retry-After`:
//! never a second writer.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};

use super::{Cluster, ORIGIN_HEADER};
use crate::error::ApiError;
use crate::front::http::Resp;
use crate::metrics;

/// A request as it will be sent to the home.
pub struct Outgoing<'a> {
    pub method: Method,
    pub path_and_query: &'a str,
    pub content_type: Option<&'a HeaderValue>,
    pub body: Bytes,
    /// The region that handled the client (this one).
    pub origin: &'a str,
    /// Plain HTTP (may use fly-replay); false for WebSocket-borne commands.
    pub replayable: bool,
}

/// Headers of the home's answer passed through to the client.
const PASSED: [&str; 8] = [
    "content-type",
    "retry-after",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "allow",
    "x-synckairos-stale",
];

pub fn home_unreachable(home: &str) -> ApiError {
    ApiError::unavailable(
        format!("The home region of this session ({home}) is unreachable; please retry"),
        2,
    )
}

pub async fn to_home(cluster: &Cluster, home: &str, req: Outgoing<'_>) -> Result<Resp, ApiError> {
    if cluster.fly_replay && req.replayable {
        metrics::forwarded(home, "fly-replay");
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::CONFLICT;
        if let Ok(v) = HeaderValue::from_str(&format!("region={home}")) {
            r.headers_mut()
                .insert(HeaderName::from_static("fly-replay"), v);
        }
        return Ok(r);
    }
    let mut headers = HeaderMap::new();
    if let Some(ct) = req.content_type {
        headers.insert(CONTENT_TYPE, ct.clone());
    }
    if let Ok(v) = HeaderValue::from_str(req.origin) {
        headers.insert(HeaderName::from_static(ORIGIN_HEADER), v);
    }
    metrics::forwarded(home, "forward");
    let answer = cluster
        .client
        .call_region(
            cluster,
            home,
            req.method,
            req.path_and_query,
            Some(&headers),
            req.body,
        )
        .await
        .map_err(|e| {
            tracing::warn!(home, error = %e, "forwarding to the home region failed");
            home_unreachable(home)
        })?;
    let mut r = Response::new(Full::new(answer.body));
    *r.status_mut() = answer.status;
    for name in PASSED {
        if let Some(v) = answer.headers.get(name) {
            r.headers_mut()
                .insert(HeaderName::from_static(name), v.clone());
        }
    }
    Ok(r)
}
