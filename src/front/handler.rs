//! One HTTP request, start to end, in v2's middleware order: CORS preflight →
//! operational routes → general rate limiter (also for unknown routes) → route →
//! error envelope; then CORS and rate-limit headers and metrics on every response.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCESS_CONTROL_REQUEST_HEADERS, ORIGIN};
use hyper::{Method, Request};

use super::http::{self, Resp};
use super::router::{self, Matched, Route};
use super::{body, history, limits, ops, rest, ws, Ctx};
use crate::error::{ApiError, Blame};
use crate::metrics;
use crate::ratelimit::Bucket;

type RateHeaders = Vec<(&'static str, String)>;

pub async fn handle(
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Resp, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let origin = req.headers().get(ORIGIN).cloned();
    let path = req.uri().path().to_owned();
    let mut rate: RateHeaders = Vec::new();
    let (label, mut resp) = if method == Method::OPTIONS {
        let requested = req.headers().get(ACCESS_CONTROL_REQUEST_HEADERS).cloned();
        ("preflight", http::preflight(requested.as_ref()))
    } else {
        let client = client_key(&ctx, &req, peer);
        match router::route(&method, &path) {
            Matched::Route(route) => (
                route.label(),
                dispatch(&ctx, route, req, &client, &mut rate).await,
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
    Ok(resp)
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
fn client_key(ctx: &Ctx, req: &Request<Incoming>, peer: SocketAddr) -> String {
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

async fn general_limit(ctx: &Ctx, client: &str, rate: &mut RateHeaders) -> Result<(), ApiError> {
    let (result, decision) = match limits::check(ctx, Bucket::General, client).await {
        Ok(d) => (Ok(()), d),
        Err((e, d)) => (Err(e), d),
    };
    if let Some(d) = decision {
        rate.extend(d.headers());
    }
    result
}

async fn unmatched(
    ctx: &Ctx,
    m: Matched<'_>,
    method: &Method,
    path: &str,
    client: &str,
    rate: &mut RateHeaders,
) -> Resp {
    if let Err(e) = general_limit(ctx, client, rate).await {
        return http::error(&e);
    }
    let e = match m {
        Matched::MethodNotAllowed => ApiError::method_not_allowed(method.as_str(), path),
        _ => ApiError::route_not_found(method.as_str(), path),
    };
    http::error(&e)
}

async fn dispatch(
    ctx: &Arc<Ctx>,
    route: Route<'_>,
    req: Request<Incoming>,
    client: &str,
    rate: &mut RateHeaders,
) -> Resp {
    let result = match route {
        Route::Health => Ok(ops::health()),
        Route::Ready => Ok(ops::ready(ctx).await),
        Route::Metrics => Ok(ops::metrics(ctx)),
        Route::ApiDocsJson => Ok(ops::api_docs_json()),
        Route::ApiDocs => Ok(ops::api_docs()),
        Route::WebSocket => Ok(ws::upgrade(ctx, req)),
        _ => match general_limit(ctx, client, rate).await {
            Err(e) => Err(e),
            Ok(()) => limited_route(ctx, route, req, rate).await,
        },
    };
    result.unwrap_or_else(|e| {
        if e.blame != Blame::Client {
            tracing::warn!(code = e.code, status = e.status.as_u16(), message = %e.message, "request failed");
        }
        http::error(&e)
    })
}

async fn limited_route(
    ctx: &Arc<Ctx>,
    route: Route<'_>,
    req: Request<Incoming>,
    rate: &mut RateHeaders,
) -> Result<Resp, ApiError> {
    match route {
        Route::Time => Ok(ops::time()),
        Route::Events(id) => history::events(ctx, id, req.uri().query()).await,
        Route::GetSession(id) => rest::get(ctx, id).await,
        Route::DeleteSession(id) => rest::delete(ctx, id).await,
        Route::CreateSession => {
            let (parts, bytes) = body::read(req, ctx.cfg.server.body_limit_bytes).await?;
            rest::create(ctx, &body::json(&parts, &bytes)?).await
        }
        Route::Op(id, op) => {
            let (parts, bytes) = body::read(req, ctx.cfg.server.body_limit_bytes).await?;
            let json = body::json(&parts, &bytes)?;
            rest::operation(ctx, id, op, &json, rate).await
        }
        _ => Ok(http::error(&ApiError::internal())),
    }
}
