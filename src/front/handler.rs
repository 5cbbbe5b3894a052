//! One public HTTP request, start to end, in v2's middleware order: CORS preflight →
//! operational routes → general rate limiter (also for unknown routes) → the token
//! (session routes, when auth is on: 401 without a valid one) → route → error
//! envelope; then CORS and rate-limit headers and metrics on every response. A 5xx is
//! logged with its cause chain.
//!
//! Must not: serve peers (the internal API is `internal`) or know where sessions live.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCESS_CONTROL_REQUEST_HEADERS, CONTENT_TYPE, ORIGIN};
use hyper::{Method, Request};

use super::conns::ConnGuard;
use super::ctx::Ctx;
use super::http::{self, Resp};
use super::limits::{self, RateHeaders};
use super::rest::Asker;
use super::routes::{self, Matched, Route};
use super::{auth, body, history, operator, ops, rest, ws};
use crate::error::{ApiError, Blame};
use crate::gateway::caller::Caller;
use crate::metrics;
use crate::ratelimit::Bucket;

/// The public listener's service function; `conn` is the connection's slot under the
/// connection caps (a WebSocket upgrade keeps it for the socket's life).
pub async fn handle(
    ctx: Arc<Ctx>,
    conn: Arc<ConnGuard>,
    req: Request<Incoming>,
) -> Result<Resp, Infallible> {
    Ok(serve(ctx, conn, req).await)
}

async fn serve(ctx: Arc<Ctx>, conn: Arc<ConnGuard>, req: Request<Incoming>) -> Resp {
    let peer = conn.peer();
    let started = Instant::now();
    let method = req.method().clone();
    let origin = req.headers().get(ORIGIN).cloned();
    let path = req.uri().path().to_owned();
    let mut rate = RateHeaders::new();
    let (label, mut resp) = if method == Method::OPTIONS {
        let requested = req.headers().get(ACCESS_CONTROL_REQUEST_HEADERS).cloned();
        ("preflight", http::preflight(requested.as_ref()))
    } else {
        let client = client_key(&ctx, &req, peer);
        match routes::route(&method, &path) {
            Matched::Route(route) => (
                route.label(),
                dispatch(&ctx, route, req, &client, &conn, &mut rate).await,
            ),
            other => (
                "unmatched",
                unmatched(&ctx, other, &method, &path, &client, &mut rate).await,
            ),
        }
    };
    let headers = resp.headers_mut();
    http::set_cors(headers, &ctx.cfg.server.cors_origins, origin.as_ref());
    for (name, value) in rate {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    metrics::http_request(method_label(&method), label, resp.status().as_u16(), ms);
    resp
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// The rate-limit key: the trusted proxy header when configured, else the peer.
pub fn client_key(ctx: &Ctx, req: &Request<Incoming>, peer: SocketAddr) -> String {
    ctx.cfg
        .server
        .client_ip_header
        .as_deref()
        .and_then(|h| req.headers().get(h))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| peer.ip().to_string())
}

async fn unmatched(
    ctx: &Ctx,
    m: Matched<'_>,
    method: &Method,
    path: &str,
    client: &str,
    rate: &mut RateHeaders,
) -> Resp {
    if let Err(e) = limits::count(ctx, Bucket::General, client, rate).await {
        return failure(&e);
    }
    if m == Matched::MethodNotAllowed {
        let mut resp = http::error(&ApiError::method_not_allowed(method.as_str(), path));
        if let Ok(v) = HeaderValue::from_str(&routes::allowed(path)) {
            resp.headers_mut().insert(hyper::header::ALLOW, v);
        }
        return resp;
    }
    http::error(&ApiError::route_not_found(method.as_str(), path))
}

/// The error response; failures that are not the client's are logged with their cause.
fn failure(e: &ApiError) -> Resp {
    if e.blame != Blame::Client {
        tracing::warn!(
            code = %e.code,
            status = e.status.as_u16(),
            message = %e.message,
            cause = %e.cause_chain(),
            "request failed"
        );
    }
    http::error(e)
}

async fn dispatch(
    ctx: &Arc<Ctx>,
    route: Route<'_>,
    req: Request<Incoming>,
    client: &str,
    conn: &Arc<ConnGuard>,
    rate: &mut RateHeaders,
) -> Resp {
    let result = match route {
        Route::Health => Ok(ops::health()),
        Route::Ready => Ok(ops::ready(ctx).await),
        Route::Metrics => Ok(ops::metrics(ctx)),
        Route::ApiDocsJson => Ok(ops::api_docs_json()),
        Route::ApiDocs => Ok(ops::api_docs()),
        Route::Dashboard => Ok(ops::dashboard()),
        Route::DashboardData => Ok(ops::dashboard_data(ctx).await),
        Route::Demo => Ok(ops::demo()),
        Route::DemoScript => Ok(ops::demo_script()),
        Route::WebSocket => Ok(ws::upgrade(ctx, req, client, conn.clone())),
        _ => match limits::count(ctx, Bucket::General, client, rate).await {
            Err(e) => Err(e),
            Ok(()) => limited_route(ctx, route, req, client, rate).await,
        },
    };
    result.unwrap_or_else(|e| failure(&e))
}

async fn limited_route(
    ctx: &Ctx,
    route: Route<'_>,
    req: Request<Incoming>,
    client: &str,
    rate: &mut RateHeaders,
) -> Result<Resp, ApiError> {
    if route == Route::Time {
        return Ok(ops::time(ctx, req.uri().query()).await);
    }
    let actor = auth::actor(ctx, auth::bearer(req.headers()))?;
    let identity = auth::client_identity(actor.as_ref(), client);
    let who = Asker {
        caller: Caller::rest(ctx.gateway.region(), actor),
        client: &identity,
    };
    match route {
        Route::Events(id) => history::events(ctx, id, req.uri().query(), &who.caller).await,
        Route::GetSession(id) => rest::get(ctx, id, &who).await,
        Route::DeleteSession(id) => rest::delete(ctx, id, &who).await,
        Route::CreateSession => {
            // Counted before the body is read: a client over its quota costs no parsing.
            limits::count(ctx, Bucket::Create, who.client, rate).await?;
            let json = json_body(ctx, req).await?;
            rest::create(ctx, &json, &who).await
        }
        Route::Op(id, op) => {
            let json = json_body(ctx, req).await?;
            rest::operation(ctx, id, op, &json, &who, rate).await
        }
        Route::Rehome(id) => {
            let json = json_body(ctx, req).await?;
            operator::rehome(ctx, id, &json, &who.caller).await
        }
        Route::RegionStatus => operator::status(ctx, &who.caller).await,
        Route::RegionDrain(region) => {
            let json = json_body(ctx, req).await?;
            operator::drain(ctx, region, &json, &who.caller).await
        }
        _ => Ok(http::error(&ApiError::internal())),
    }
}

/// Reads the body within the size limit and parses it as JSON.
async fn json_body(ctx: &Ctx, req: Request<Incoming>) -> Result<serde_json::Value, ApiError> {
    let content_type = req.headers().get(CONTENT_TYPE).cloned();
    let (_, bytes) = body::read(req, ctx.cfg.server.body_limit_bytes, body_deadline(ctx)).await?;
    body::json(content_type.as_ref(), &bytes)
}

fn body_deadline(ctx: &Ctx) -> std::time::Duration {
    std::time::Duration::from_millis(ctx.cfg.server.body_read_timeout_ms)
}
