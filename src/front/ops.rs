//! Operational routes: `/health`, `/ready`, `/metrics`, `/v1/time`, `/api-docs*`,
//! `/dashboard`, `/demo`.

use hyper::StatusCode;
use serde_json::json;

use super::ctx::Ctx;
use super::http::{self, Resp};
use crate::clock::{mono_us, now_ms};
use crate::config::is_region_name;
use crate::dashboard::{gather, view};
use crate::domain::uuid::is_loose_uuid;
use crate::domain::{RegionId, SessionId};
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
    if let Err(e) = ctx.gateway.time().check() {
        return not_ready(format!("clock untrusted: {e}"));
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

fn param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Server time for clock-offset estimation; `server_version` and
/// `drift_tolerance_ms` are the constants v2 clients assert. `timestamp_ms` is the
/// region's authoritative time (its Redis clock). Extension: with `?sessionId=<id>`
/// (or `?region=<name>`) it is that session's home region's time when this region
/// holds the session and this instance knows that clock; `timebase` names the region
/// whose clock it is and `timebase_error_ms` how uncertain this instance is of it.
pub async fn time(ctx: &Ctx, query: Option<&str>) -> Resp {
    let session = param(query, "sessionId").or_else(|| param(query, "session_id"));
    // Only what this region knows (no peers are asked: the route needs no token).
    let home = match session.filter(|id| is_loose_uuid(id)) {
        Some(id) => ctx.gateway.home_here(&SessionId::from(id)).await,
        None => param(query, "region")
            .filter(|r| is_region_name(r))
            .map(RegionId::from),
    };
    let stamp = ctx.gateway.time().stamp(home.as_ref(), mono_us());
    let mut body = json!({
        "timestamp_ms": stamp.reading.ms(),
        "server_version": "2.0.0",
        "drift_tolerance_ms": 50,
        "timebase": stamp.region.as_str(),
    });
    if let Some(e) = stamp.reading.bound_ms() {
        body["timebase_error_ms"] = json!((e * 1000.0).ceil() / 1000.0);
    }
    http::json(StatusCode::OK, &body)
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
