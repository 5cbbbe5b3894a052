//! The internal API, on its own listener (`cluster.internal_port`, never public): every
//! request must carry the shared secret, anything else is refused (403). It serves
//! peers: writes forwarded to this home region (handled like public requests, on behalf
//! of the origin region), raw session bytes, the relay stream and the digest.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::mpsc;

use super::{ORIGIN_HEADER, SECRET_HEADER};
use crate::error::ApiError;
use crate::front::handler::{self, Via};
use crate::front::{http, Ctx};
use crate::relay::source;

pub type InternalBody = BoxBody<Bytes, Infallible>;

fn boxed(r: http::Resp) -> Response<InternalBody> {
    r.map(|b| b.boxed())
}

fn bytes(status: StatusCode, body: Vec<u8>) -> Response<InternalBody> {
    boxed(http::bytes(status, "application/octet-stream", body))
}

/// A response body fed from a channel (the relay stream).
struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub async fn handle(
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<InternalBody>, Infallible> {
    let Some(regional) = ctx.region.clone() else {
        return Ok(boxed(http::error(&ApiError::route_not_found(
            req.method().as_str(),
            req.uri().path(),
        ))));
    };
    let secret = req.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    if !regional.cluster.authorized(secret) {
        return Ok(boxed(http::error(&ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "Internal endpoint: a valid cluster secret is required",
        ))));
    }
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let get = req.method() == Method::GET;
    match segs.as_slice() {
        ["internal", "sessions", id] if get => Ok(match regional.store.raw(id).await {
            Ok(Some(raw)) => bytes(StatusCode::OK, raw),
            Ok(None) => bytes(StatusCode::NOT_FOUND, Vec::new()),
            Err(e) => boxed(http::error(&ApiError::from(e))),
        }),
        ["internal", "relay"] if get => {
            let since = query_param(query.as_deref(), "since")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let (tx, rx) = mpsc::channel(256);
            let heartbeat = Duration::from_millis(regional.cfg.heartbeat_ms);
            tokio::spawn(source::stream(
                regional.redis_url.clone(),
                since,
                heartbeat,
                tx,
                ctx.draining.clone(),
            ));
            let mut r = Response::new(ChannelBody(rx).boxed());
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/x-synckairos-relay"),
            );
            Ok(r)
        }
        ["internal", "digest"] if get => {
            let cursor = query_param(query.as_deref(), "cursor").unwrap_or("0");
            let mut conn = regional.conn.clone();
            Ok(
                match source::digest_page(&mut conn, &regional.cluster.region, cursor).await {
                    Ok(page) => bytes(StatusCode::OK, rmp_serde::to_vec(&page).unwrap_or_default()),
                    Err(e) => boxed(http::error(&ApiError::unavailable(e.to_string(), 1))),
                },
            )
        }
        ["internal", ..] => Ok(boxed(http::error(&ApiError::route_not_found(
            req.method().as_str(),
            &path,
        )))),
        _ => {
            // A public route, forwarded by the region that received it.
            let origin = req
                .headers()
                .get(ORIGIN_HEADER)
                .and_then(|v| v.to_str().ok())
                .filter(|o| regional.cluster.knows(o))
                .unwrap_or(&regional.cluster.region)
                .to_owned();
            let resp = handler::serve(ctx, peer, req, Via::Forwarded { origin }).await;
            Ok(boxed(resp))
        }
    }
}
