//! Operational routes: `/health`, `/ready`, `/metrics`, `/v1/time`, `/api-docs*`,
//! `/dashboard`, `/demo`.

use hyper::StatusCode;
use serde_json::json;

use super::http::{self, Resp};
use super::Ctx;
use crate::clock::now_ms;
use crate::metrics;

pub fn health() -> Resp {
    http::json(StatusCode::OK, &json!({"status": "ok"}))
}

/// 200 when this instance can serve: not draining and its store answers.
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
    if let Err(e) = ctx.sessions.store().ping().await {
        return not_ready(e.to_string());
    }
    if let Some(audit) = &ctx.audit {
        let a = &ctx.cfg.audit;
        let max_age = (a.ready_max_age_secs as i64).saturating_mul(1000);
        if let Some(reason) = audit.stats.not_ready_reason(a.ready_max_backlog, max_age) {
            return not_ready(reason);
        }
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
