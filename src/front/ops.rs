//! Operational routes: `/health`, `/ready`, `/metrics`, `/v1/time`, `/api-docs*`,
//! `/dashboard`, `/demo`.

use hyper::StatusCode;
use serde_json::json;

use super::ctx::Ctx;
use super::http::{self, Resp};
use crate::clock::now_ms;
use crate::dashboard::{gather, view};
use crate::metrics;

pub fn health() -> Resp {
    http::json(StatusCode::OK, &json!({"status": "ok"}))
}

/// 200 when this instance can serve: not draining and its store answers. Nothing
/// else: every instance shares the region's Redis and audit outbox, so a condition
/// they all see (a PostgreSQL outage, an old audit backlog) would take every instance
/// out of rotation at once. Those are metrics and alerts (`deploy/prometheus/`).
pub async fn ready(ctx: &Ctx) -> Resp {
    let not_ready = |msg: String| {
        http::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "not_ready", "error": msg}),
        )
    };
    if ctx.draining.is_cancelled() {
        return not_ready("shutting down".into());
    }
    if let Err(e) = ctx.gateway.storage_ready().await {
        return not_ready(crate::cause::chain(&e));
    }
    http::json(StatusCode::OK, &json!({"status": "ready"}))
}

pub fn metrics(ctx: &Ctx) -> Resp {
    http::bytes(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        metrics::render(&ctx.metrics),
    )
}

/// Server time for clock-offset estimation; `server_version` and
/// `drift_tolerance_ms` are the constants v2 clients assert.
pub fn time() -> Resp {
    http::json(
        StatusCode::OK,
        &json!({"timestamp_ms": now_ms(), "server_version": "2.0.0", "drift_tolerance_ms": 50}),
    )
}

pub fn api_docs_json() -> Resp {
    http::bytes(
        StatusCode::OK,
        "application/json; charset=utf-8",
        include_str!("openapi.json"),
    )
}

pub fn api_docs() -> Resp {
    http::bytes(
        StatusCode::OK,
        "text/html; charset=utf-8",
        include_str!("api_docs.html"),
    )
}

/// Every region's figures for the dashboard page (this region's from its Redis, the
/// others' over the internal API, each within `dashboard.peer_timeout_ms`).
pub async fn dashboard_data(ctx: &Ctx) -> Resp {
    let now = now_ms();
    let timeout = std::time::Duration::from_millis(ctx.cfg.dashboard.peer_timeout_ms);
    let cluster = ctx.gateway.cluster().map(|c| &**c);
    let regions = gather::all(&ctx.trends, cluster, ctx.gateway.region(), now, timeout).await;
    let mut resp = http::json(
        StatusCode::OK,
        &view::build(now, ctx.trends.interval_ms(), regions),
    );
    resp.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    resp
}

pub fn dashboard() -> Resp {
    http::bytes(
        StatusCode::OK,
        "text/html; charset=utf-8",
        include_str!("dashboard.html"),
    )
}

/// The JS client's demo page (a two-player clock); built files are committed, so
/// building the server needs no Node.
pub fn demo() -> Resp {
    http::bytes(
        StatusCode::OK,
        "text/html; charset=utf-8",
        include_str!("../../clients/js/demo/index.html"),
    )
}

pub fn demo_script() -> Resp {
    http::bytes(
        StatusCode::OK,
        "text/javascript; charset=utf-8",
        include_str!("../../clients/js/dist/synckairos.js"),
    )
}
