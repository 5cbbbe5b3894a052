//! `GET /v1/sessions/:id/events?order=desc|asc&limit=N&cursor=C` (extension): the audit
//! history from PostgreSQL in the contract's `{"data": ...}` envelope. 404 when the
//! session has no recorded events; 503 `AUDIT_DISABLED` without `DATABASE_URL`.

use hyper::StatusCode;

use super::ctx::Ctx;
use super::http::{self, Resp};
use super::validate;
use crate::audit::history::{self, Cursor, Order, DEFAULT_LIMIT, MAX_LIMIT};
use crate::domain::access;
use crate::domain::FieldIssue;
use crate::error::ApiError;
use crate::gateway::caller::Caller;

struct Query {
    order: Order,
    limit: i64,
    cursor: Option<Cursor>,
}

fn parse(query: Option<&str>) -> Result<Query, Vec<FieldIssue>> {
    let mut q = Query {
        order: Order::NewestFirst,
        limit: DEFAULT_LIMIT,
        cursor: None,
    };
    let mut issues = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "order" => match v {
                "desc" | "newest" => q.order = Order::NewestFirst,
                "asc" | "oldest" => q.order = Order::OldestFirst,
                _ => issues.push(FieldIssue::new(
                    "order",
                    "invalid_value",
                    "order must be desc or asc",
                )),
            },
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                _ => issues.push(FieldIssue::new(
                    "limit",
                    "too_big",
                    format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                )),
            },
            "cursor" => match Cursor::parse(v) {
                Some(c) => q.cursor = Some(c),
                None => issues.push(FieldIssue::new(
                    "cursor",
                    "invalid_format",
                    "cursor is not one this API returned",
                )),
            },
            _ => {}
        }
    }
    if issues.is_empty() {
        Ok(q)
    } else {
        Err(issues)
    }
}

/// Who may read a session's history: whoever may watch it (a token limited to that
/// session, or an unlimited one); a tenant-limited token only while the session exists
/// in its tenant (the history itself does not say whose it is).
async fn may_read_history(ctx: &Ctx, id: &str, caller: &Caller) -> Result<(), ApiError> {
    let Some(actor) = caller.actor() else {
        return Ok(());
    };
    access::may_watch(Some(actor), id).map_err(|d| ApiError::forbidden(&d))?;
    if actor.session.is_some() || actor.tenant.is_none() {
        return Ok(());
    }
    ctx.gateway.read(&id.into(), caller).await?;
    Ok(())
}

pub async fn events(
    ctx: &Ctx,
    id: &str,
    query: Option<&str>,
    caller: &Caller,
) -> Result<Resp, ApiError> {
    validate::session_id_param(id).map_err(ApiError::validation)?;
    may_read_history(ctx, id, caller).await?;
    let q = parse(query).map_err(ApiError::validation)?;
    let Some(audit) = &ctx.audit else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "AUDIT_DISABLED",
            "The audit trail is not configured on this server (no DATABASE_URL)",
        ));
    };
    match history::page(&audit.pool, id, q.order, q.limit, q.cursor).await {
        Ok(Some(page)) => Ok(http::data(StatusCode::OK, page)),
        Ok(None) => Err(ApiError::not_found(id)),
        Err(e) => {
            tracing::warn!(error = %crate::cause::chain(&e), "history query failed");
            Err(ApiError::unavailable(
                "The audit database is unavailable, please retry",
                2,
            ))
        }
    }
}
