//! Operator routes (issue 11), for a service token limited to no tenant or session
//! (any request in the open mode): move a session's home, the cluster's status as
//! this region sees it, and draining a region (its sessions re-homed to successors).
//!
//! Must not: decide where a session lives or when it moves (the gateway and
//! `region::owners` do); these only validate and answer.

use hyper::StatusCode;
use serde_json::{json, Value};

use super::ctx::Ctx;
use super::http::{self, Resp};
use super::rest::failed;
use super::validate;
use crate::domain::{access, RegionId};
use crate::error::ApiError;
use crate::gateway::caller::Caller;
use crate::view::SessionView;

fn operator(caller: &Caller) -> Result<(), ApiError> {
    access::may_operate(caller.actor()).map_err(|d| ApiError::forbidden(&d))
}

fn region_param(body: &Value, field: &str) -> Result<RegionId, ApiError> {
    match body.get(field).and_then(Value::as_str) {
        Some(r) if !r.is_empty() && r.len() <= 32 => Ok(RegionId::from(r)),
        _ => Err(ApiError::validation(vec![crate::domain::FieldIssue::new(
            field,
            "invalid_type",
            format!("`{field}`: the name of a region of the cluster is required"),
        )])),
    }
}

/// `POST /v1/sessions/:id/rehome` `{"region": "<to>"}`: the state homed in `<to>`.
pub async fn rehome(ctx: &Ctx, id: &str, body: &Value, caller: &Caller) -> Result<Resp, ApiError> {
    operator(caller)?;
    let id = validate::session_id_param(id).map_err(ApiError::validation)?;
    let to = region_param(body, "region")?;
    match ctx.gateway.rehome(&id, &to, caller).await {
        Ok(s) => Ok(http::data(
            StatusCode::OK,
            json!({"session": SessionView::from(&*s), "epoch": s.epoch}),
        )),
        Err(e) => failed(e),
    }
}

/// `GET /v1/regions/status`: this region's view (run it against every region for the
/// whole matrix: `synckairos region status`).
pub async fn status(ctx: &Ctx, caller: &Caller) -> Result<Resp, ApiError> {
    operator(caller)?;
    let (Some(owners), Some(relay)) = (&ctx.owners, &ctx.relay) else {
        return Ok(http::data(
            StatusCode::OK,
            json!({"region": ctx.cfg.region, "multi_region": false}),
        ));
    };
    let view = owners.view();
    let mut links = serde_json::Map::new();
    let mut homes = serde_json::Map::new();
    for r in &owners.cluster.regions {
        if *r != owners.cluster.region {
            links.insert(r.to_string(), json!(owners.cluster.health.is_up(r).await));
        }
        let (_, n) = crate::store::index::home_summary(&relay.conn, r)
            .await
            .map(|s| (s.total, s.count))
            .unwrap_or((0, 0));
        homes.insert(r.to_string(), json!(n));
    }
    Ok(http::data(
        StatusCode::OK,
        json!({
            "region": ctx.cfg.region,
            "multi_region": true,
            "failover": owners.cfg.failover,
            "leased": view.leased,
            "lease_left_ms": view.lease_left_ms,
            "grants": view.grants,
            "relay_links_up": links,
            "sessions_per_home": homes,
            "takeovers": view.takeovers,
        }),
    ))
}

/// `POST /v1/regions/:region/drain`: marks `region` drained (its new sessions are homed
/// at its successor), then re-homes every session homed in it (as this region's index
/// knows them) to its successor, each move committed at the home. `{"undo": true}`
/// returns it to service (sessions stay where they are).
pub async fn drain(
    ctx: &Ctx,
    region: &str,
    body: &Value,
    caller: &Caller,
) -> Result<Resp, ApiError> {
    operator(caller)?;
    let (Some(owners), Some(relay)) = (&ctx.owners, &ctx.relay) else {
        return Err(ApiError::validation(vec![crate::domain::FieldIssue::new(
            "region",
            "single_region",
            "Draining needs a multi-region cluster",
        )]));
    };
    let region = RegionId::from(region);
    let regions: Vec<String> = owners
        .cluster
        .regions
        .iter()
        .map(|r| r.to_string())
        .collect();
    let Some(to) = owners.cfg.successor(&region, &regions).map(RegionId::from) else {
        return Err(ApiError::validation(vec![crate::domain::FieldIssue::new(
            "region",
            "unknown_region",
            format!("No region {region} (or no successor of it) in this cluster"),
        )]));
    };
    let on = body.get("undo").and_then(Value::as_bool) != Some(true);
    owners.set_drained(&region, on).await.map_err(|e| {
        ApiError::unavailable(format!("Region {region} could not be marked: {e}"), 1)
    })?;
    if !on {
        return Ok(http::data(
            StatusCode::OK,
            json!({"region": region, "drained": false}),
        ));
    }
    let ids = crate::store::index::ids_of(&relay.conn, &region)
        .await
        .map_err(|e| ApiError::unavailable("Cannot list the region's sessions", 1).caused_by(e))?;
    let (mut moved, mut failed_ids) = (0u64, Vec::new());
    for id in &ids {
        match ctx.gateway.rehome(id, &to, caller).await {
            Ok(_) => moved += 1,
            Err(e) => failed_ids.push(json!({"session_id": id, "error": e.to_string()})),
        }
    }
    Ok(http::data(
        StatusCode::OK,
        json!({"region": region, "drained": true, "to": to, "sessions": ids.len(), "moved": moved, "failed": failed_ids}),
    ))
}
