//! One HTTP request, start to end, in v2's middleware order: CORS preflight →
//! operational routes → general rate limiter (also for unknown routes) → route →
//! error envelope; then CORS and rate-limit headers and metrics on every response.
//! The same path serves writes another region forwarded here (`Via::Forwarded`):
//! those skip the general limiter (the edge applied it) and are never forwarded again.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCESS_CONTROL_REQUEST_HEADERS, CONTENT_TYPE, ORIGIN};
use hyper::{Method, Request};

use super::http::{self, Resp};
use super::router::{self, Matched, Route};
use super::{body, history, limits, ops, rest, ws, Ctx};
use crate::error::{ApiError, Blame};
use crate::metrics;
use crate::ratelimit::Bucket;

type RateHeaders = Vec<(&'static str, String)>;

/// How a request reached this instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// From a client.
    Public,
    /// From another region, which received it from a client (`origin`).
    Forwarded { origin: String },
}

/// A request as the route handlers see it: enough to handle it here or to send it on
/// to the session's home region unchanged.
pub struct Call {
    pub via: Via,
    pub method: Method,
    pub path_and_query: String,
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
}

impl Call {
    /// The region that handled the client's request.
    pub fn origin<'a>(&'a self, ctx: &'a Ctx) -> &'a str {
        match &self.via {
            Via::Public => &ctx.cfg.region,
            Via::Forwarded { origin } => origin,
        }
    }

    pub fn forwarded(&self) -> bool {
        matches!(self.via, Via::Forwarded { .. })
    }
}

/// The public listener's service function.
pub async fn handle(
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Resp, Infallible> {
    Ok(serve(ctx, peer, req, Via::Public).await)
}

pub async fn serve(ctx: Arc<Ctx>, peer: SocketAddr, req: Request<Incoming>, via: Via) -> Resp {
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
                dispatch(&ctx, route, req, &client, &mut rate, via).await,
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

async fn unmatched(
    ctx: &Ctx,
    m: Matched<'_>,
    method: &Method,
    path: &str,
    client: &str,
    rate: &mut RateHeaders,
) -> Resp {
    if let Err(e) = limits::apply(ctx, Bucket::General, client, rate).await {
        return http::error(&e);
    }
    if m == Matched::MethodNotAllowed {
        let mut resp = http::error(&ApiError::method_not_allowed(method.as_str(), path));
        if let Ok(v) = HeaderValue::from_str(&router::allowed(path)) {
            resp.headers_mut().insert(hyper::header::ALLOW, v);
        }
        return resp;
    }
    http::error(&ApiError::route_not_found(method.as_str(), path))
}

async fn dispatch(
    ctx: &Arc<Ctx>,
    route: Route<'_>,
    req: Request<Incoming>,
    client: &str,
    rate: &mut RateHeaders,
    via: Via,
) -> Resp {
    let result = match route {
        Route::Health => Ok(ops::health()),
        Route::Ready => Ok(ops::ready(ctx).await),
        Route::Metrics => Ok(ops::metrics(ctx)),
        Route::ApiDocsJson => Ok(ops::api_docs_json()),
        Route::ApiDocs => Ok(ops::api_docs()),
        Route::Dashboard => Ok(ops::dashboard()),
        Route::Demo => Ok(ops::demo()),
        Route::DemoScript => Ok(ops::demo_script()),
        Route::WebSocket => Ok(ws::upgrade(ctx, req)),
        _ => {
            let limited = match via {
                Via::Public => limits::apply(ctx, Bucket::General, client, rate).await,
                Via::Forwarded { .. } => Ok(()),
            };
            match limited {
                Err(e) => Err(e),
                Ok(()) => limited_route(ctx, route, req, rate, via).await,
            }
        }
    };
    result.unwrap_or_else(|e| {
        if e.blame != Blame::Client {
            tracing::warn!(code = e.code, status = e.status.as_u16(), message = %e.message, "request failed");
        }
        http::error(&e)
    })
}

/// Reads the body (POST routes) and packs the request into a `Call`.
async fn call_of(
    ctx: &Ctx,
    req: Request<Incoming>,
    via: Via,
    with_body: bool,
) -> Result<Call, ApiError> {
    let method = req.method().clone();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let content_type = req.headers().get(CONTENT_TYPE).cloned();
    let body = if with_body {
        body::read(req, ctx.cfg.server.body_limit_bytes).await?.1
    } else {
        Bytes::new()
    };
    Ok(Call {
        via,
        method,
        path_and_query,
        content_type,
        body,
    })
}

async fn limited_route(
    ctx: &Arc<Ctx>,
    route: Route<'_>,
    req: Request<Incoming>,
    rate: &mut RateHeaders,
    via: Via,
) -> Result<Resp, ApiError> {
    match route {
        Route::Time => Ok(ops::time()),
        Route::Events(id) => history::events(ctx, id, req.uri().query()).await,
        Route::GetSession(id) => {
            let call = call_of(ctx, req, via, false).await?;
            rest::get(ctx, id, &call).await
        }
        Route::DeleteSession(id) => {
            let call = call_of(ctx, req, via, false).await?;
            rest::delete(ctx, id, &call).await
        }
        Route::CreateSession => {
            let call = call_of(ctx, req, via, true).await?;
            let json = body::json(call.content_type.as_ref(), &call.body)?;
            rest::create(ctx, &json, &call).await
        }
        Route::Op(id, op) => {
            let call = call_of(ctx, req, via, true).await?;
            let json = body::json(call.content_type.as_ref(), &call.body)?;
            rest::operation(ctx, id, op, &json, rate, &call).await
        }
        _ => Ok(http::error(&ApiError::internal())),
    }
}
