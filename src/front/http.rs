//! Building HTTP responses: JSON bodies, the error envelope, CORS and rate-limit
//! headers.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue, ALLOW, CONTENT_TYPE, RETRY_AFTER};
use hyper::{HeaderMap, Response, StatusCode};
use serde::Serialize;

use crate::error::ApiError;

pub type Resp = Response<Full<Bytes>>;

const JSON: &str = "application/json; charset=utf-8";

/// Response header telling a client the data came from a copy whose home is unreachable.
pub const STALE_HEADER: &str = "x-synckairos-stale";

pub fn bytes(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// `value` as a JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Resp {
    match serde_json::to_vec(value) {
        Ok(body) => bytes(status, JSON, body),
        Err(_) => error(&ApiError::internal()),
    }
}

#[derive(Serialize)]
struct Data<T> {
    data: T,
}

/// `{"data": value}`, the wrapping of every session endpoint.
pub fn data<T: Serialize>(status: StatusCode, value: T) -> Resp {
    json(status, &Data { data: value })
}

pub fn empty(status: StatusCode) -> Resp {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

pub fn error(e: &ApiError) -> Resp {
    let mut r = bytes(
        e.status,
        JSON,
        serde_json::to_vec(&e.body()).unwrap_or_default(),
    );
    if let Some(secs) = e.retry_after {
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if e.status == StatusCode::REQUEST_TIMEOUT {
        // The rest of the body may never come: do not wait for it on this connection.
        r.headers_mut()
            .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    }
    if e.status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"synckairos\""),
        );
    }
    if e.status == StatusCode::METHOD_NOT_ALLOWED {
        r.headers_mut().insert(
            ALLOW,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
    }
    r
}

/// Fly's proxy replays the request in `home` (an empty 409 carrying `fly-replay`).
pub fn fly_replay(home: &str) -> Resp {
    let mut r = empty(StatusCode::CONFLICT);
    if let Ok(v) = HeaderValue::from_str(&format!("region={home}")) {
        r.headers_mut()
            .insert(HeaderName::from_static("fly-replay"), v);
    }
    r
}

/// CORS for every response. With the default `*`, any origin may read responses but
/// credentials are not offered (v2 sent `*` with credentials, which browsers refuse).
/// With a list, a matching `Origin` is reflected and credentials are allowed.
pub fn set_cors(headers: &mut HeaderMap, origins: &[String], origin: Option<&HeaderValue>) {
    if origins.iter().any(|o| o == "*") {
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        return;
    }
    let Some(origin) = origin else { return };
    let allowed = origin
        .to_str()
        .is_ok_and(|o| origins.iter().any(|a| a.eq_ignore_ascii_case(o)));
    if allowed {
        headers.insert("access-control-allow-origin", origin.clone());
        headers.insert(
            "access-control-allow-credentials",
            HeaderValue::from_static("true"),
        );
        headers.append("vary", HeaderValue::from_static("Origin"));
    }
}

/// The preflight answer (204), with the requested headers reflected as v2 did.
pub fn preflight(requested_headers: Option<&HeaderValue>) -> Resp {
    let mut r = empty(StatusCode::NO_CONTENT);
    let h = r.headers_mut();
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
    );
    if let Some(req) = requested_headers {
        h.insert("access-control-allow-headers", req.clone());
    }
    h.insert("access-control-max-age", HeaderValue::from_static("600"));
    r
}
