//! The internal API, on its own listener (`cluster.internal_port`, never public): every
//! request must carry the shared secret, anything else is refused (403). It serves
//! peer regions: the typed call (a write for a session homed here, straight to the
//! gateway), raw session bytes, the relay stream and reconciliation (summary, bucket
//! digests, index entries, state pages). Nothing here goes through the public handler.
//!
//! Must not: serve public routes, or forward a peer's call further (one hop at most).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::mpsc;

use super::conns::ConnGuard;
use super::ctx::Ctx;
use super::http;
use super::limits;
use crate::domain::Op;
use crate::error::ApiError;
use crate::gateway::caller::Caller;
use crate::gateway::error::to_wire;
use crate::gateway::transit::Measured;
use crate::ratelimit::Bucket;
use crate::region::cluster::Cluster;
use crate::region::sync_wire::{
    EntriesRequest, StatesRequest, BUCKETS_PATH, ENTRIES_PATH, STATES_PATH, SUMMARY_PATH,
};
use crate::region::wire::{
    self, PeerCall, PeerReply, TimeReply, CALL_PATH, FIGURES_PATH, MSGPACK, SECRET_HEADER,
};
use crate::relay::context::RelayContext;
use crate::relay::{serve, source};
use crate::store::codec::encode_state;

pub type InternalBody = BoxBody<Bytes, Infallible>;

fn boxed(r: http::Resp) -> Response<InternalBody> {
    r.map(|b| b.boxed())
}

fn bytes(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<InternalBody> {
    boxed(http::bytes(status, content_type, body))
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
    _conn: Arc<ConnGuard>,
    req: Request<Incoming>,
) -> Result<Response<InternalBody>, Infallible> {
    let not_found = || {
        boxed(http::error(&ApiError::route_not_found(
            req.method().as_str(),
            req.uri().path(),
        )))
    };
    let (Some(relay), Some(cluster)) = (ctx.relay.clone(), ctx.gateway.cluster().cloned()) else {
        return Ok(not_found());
    };
    let secret = req.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    if !cluster.authorized(secret) {
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
    Ok(match segs.as_slice() {
        _ if path == CALL_PATH && req.method() == Method::POST => call(&ctx, &cluster, req).await,
        ["internal", "sessions", id] if get => match relay.store.raw(&(*id).into()).await {
            Ok(Some(raw)) => bytes(StatusCode::OK, "application/octet-stream", raw),
            Ok(None) => bytes(
                StatusCode::NOT_FOUND,
                "application/octet-stream",
                Vec::new(),
            ),
            Err(e) => boxed(http::error(&ApiError::from(e))),
        },
        _ if path == FIGURES_PATH && get => {
            let figures = ctx.trends.region(crate::clock::now_ms()).await;
            bytes(StatusCode::OK, MSGPACK, wire::encode(&figures))
        }
        ["internal", "relay"] if get => {
            let num = |name| {
                query_param(query.as_deref(), name)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            };
            relay_stream(&ctx, &relay, num("since"), num("fp"))
        }
        ["internal", "v1", "time"] if get => time_reply(&ctx),
        ["internal", "v1", "owners", _] if req.method() == Method::POST => owners(&ctx, req).await,
        ["internal", "sync", _] => sync(&ctx, &relay, &cluster, req).await,
        _ => not_found(),
    })
}

/// This instance's reading of the region's authoritative clock (peers sample it).
fn time_reply(ctx: &Ctx) -> Response<InternalBody> {
    let time = ctx.gateway.time();
    match time.local_at(crate::clock::mono_us()) {
        Some(r) => {
            let reply = TimeReply {
                region: time.region().clone(),
                us: r.us,
                bound_us: r.bound_us.unwrap_or(0),
            };
            bytes(StatusCode::OK, MSGPACK, wire::encode(&reply))
        }
        None => boxed(http::error(&ApiError::unavailable(
            "This instance has no reading of the region's clock yet",
            1,
        ))),
    }
}

fn relay_stream(
    ctx: &Ctx,
    relay: &RelayContext,
    since: u64,
    fingerprint: u64,
) -> Response<InternalBody> {
    let (tx, rx) = mpsc::channel(256);
    let heartbeat = Duration::from_millis(relay.cfg.heartbeat_ms);
    tokio::spawn(source::stream(
        relay.redis_url.clone(),
        since,
        fingerprint,
        heartbeat,
        tx,
        ctx.draining.clone(),
    ));
    let mut r = Response::new(ChannelBody(rx).boxed());
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-synckairos-relay"),
    );
    r
}

/// Serves a peer's reconciliation request about the sessions homed here
/// (`region::sync_wire`).
async fn sync(
    ctx: &Ctx,
    relay: &RelayContext,
    cluster: &Cluster,
    req: Request<Incoming>,
) -> Response<InternalBody> {
    let (conn, home) = (&relay.conn, &cluster.region);
    let path = req.uri().path().to_owned();
    let get = req.method() == Method::GET;
    let body = if get {
        Bytes::new()
    } else {
        let deadline = Duration::from_millis(ctx.cfg.cluster.forward_timeout_ms);
        match super::body::read(req, ctx.cfg.server.body_limit_bytes, deadline).await {
            Ok((_, b)) => b,
            Err(e) => return boxed(http::error(&e)),
        }
    };
    let answer = match path.as_str() {
        SUMMARY_PATH if get => serve::summary(conn, home).await.map(|a| wire::encode(&a)),
        BUCKETS_PATH if get => serve::buckets(conn, home).await.map(|a| wire::encode(&a)),
        ENTRIES_PATH if !get => match wire::decode::<EntriesRequest>(&body) {
            Ok(q) => serve::entries(conn, home, &q.buckets)
                .await
                .map(|a| wire::encode(&a)),
            Err(_) => return bad_sync_request(),
        },
        STATES_PATH if !get => match wire::decode::<StatesRequest>(&body) {
            Ok(q) => serve::states(conn, home, &q)
                .await
                .map(|a| wire::encode(&a)),
            Err(_) => return bad_sync_request(),
        },
        _ => {
            return boxed(http::error(&ApiError::route_not_found(
                if get { "GET" } else { "POST" },
                &path,
            )))
        }
    };
    match answer {
        Ok(b) => bytes(StatusCode::OK, MSGPACK, b),
        Err(e) => boxed(http::error(
            &ApiError::unavailable("Reconciliation data unavailable", 1).caused_by(e),
        )),
    }
}

fn bad_sync_request() -> Response<InternalBody> {
    boxed(http::error(&ApiError::new(
        StatusCode::BAD_REQUEST,
        "BAD_INTERNAL_CALL",
        "The reconciliation request could not be decoded",
    )))
}

/// Serves a peer's lease ask, takeover vote or takeover notice (`region::owners`).
async fn owners(ctx: &Ctx, req: Request<Incoming>) -> Response<InternalBody> {
    use crate::region::owners::{
        DrainAsk, LeaseAsk, Taken, VoteAsk, VoteReply, DRAIN_PATH, LEASE_PATH, TAKEN_PATH,
        VOTE_PATH,
    };
    let Some(o) = ctx.owners.clone() else {
        return bad_sync_request();
    };
    let path = req.uri().path().to_owned();
    let deadline = Duration::from_millis(ctx.cfg.cluster.forward_timeout_ms);
    let body = match super::body::read(req, ctx.cfg.server.body_limit_bytes, deadline).await {
        Ok((_, b)) => b,
        Err(e) => return boxed(http::error(&e)),
    };
    let answer = match path.as_str() {
        LEASE_PATH => match wire::decode::<LeaseAsk>(&body) {
            Ok(ask) => wire::encode(&o.grant(&ask).await),
            Err(_) => return bad_sync_request(),
        },
        VOTE_PATH => match wire::decode::<VoteAsk>(&body) {
            Ok(ask) => wire::encode(&VoteReply {
                granted: o.vote(&ask.target, &ask.by).await,
            }),
            Err(_) => return bad_sync_request(),
        },
        DRAIN_PATH => match wire::decode::<DrainAsk>(&body) {
            Ok(ask) => {
                let here = ctx.gateway.region().clone();
                let done = o.set_drained(&here, ask.on).await.is_ok();
                wire::encode(&VoteReply { granted: done })
            }
            Err(_) => return bad_sync_request(),
        },
        TAKEN_PATH => match wire::decode::<Taken>(&body) {
            Ok(t) => {
                o.taken(&t).await;
                wire::encode(&VoteReply { granted: true })
            }
            Err(_) => return bad_sync_request(),
        },
        _ => return bad_sync_request(),
    };
    bytes(StatusCode::OK, MSGPACK, answer)
}

/// Serves a peer's typed call at this (home) region.
async fn call(ctx: &Ctx, cluster: &Cluster, req: Request<Incoming>) -> Response<InternalBody> {
    let deadline = Duration::from_millis(ctx.cfg.cluster.forward_timeout_ms);
    let body = match super::body::read(req, ctx.cfg.server.body_limit_bytes, deadline).await {
        Ok((_, b)) => b,
        Err(e) => return boxed(http::error(&e)),
    };
    let call: PeerCall = match wire::decode(&body) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %crate::cause::chain(&e), "refusing an undecodable internal call");
            return boxed(http::error(&ApiError::new(
                StatusCode::BAD_REQUEST,
                "BAD_INTERNAL_CALL",
                "The internal call could not be decoded",
            )));
        }
    };
    // The origin is only recorded (audit); an unknown one is recorded as this region.
    let origin = Some(call.origin()).filter(|o| cluster.knows(o));
    let caller = Caller::peer(
        origin.unwrap_or(ctx.gateway.region()),
        call.actor().cloned(),
    )
    .knowing(call.known().cloned());
    let reply = match serve_call(ctx, call, &caller).await {
        Ok(r) => r,
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!(
                    code = %e.code,
                    cause = %e.cause_chain(),
                    "internal call failed"
                );
            }
            PeerReply::Refused(to_wire(&e))
        }
    };
    bytes(StatusCode::OK, MSGPACK, wire::encode(&reply))
}

async fn serve_call(ctx: &Ctx, call: PeerCall, caller: &Caller) -> Result<PeerReply, ApiError> {
    let gw = &ctx.gateway;
    match call {
        PeerCall::Create { session, .. } => {
            let s = gw.create(session, None, caller).await?;
            Ok(PeerReply::Created {
                state: encode_state(&s),
            })
        }
        PeerCall::Apply {
            session_id,
            op,
            moved_at,
            ..
        } => {
            if matches!(op, Op::Switch { .. }) {
                // The home counts every region's switches of the session (§6.1).
                limits::check(ctx, Bucket::Switch, &session_id)
                    .await
                    .map_err(|(e, _)| e)?;
            }
            let measured = moved_at.map_or(Measured::Unmeasured, Measured::MovedAt);
            let out = gw
                .apply_measured(&session_id, &op, caller, measured)
                .await?;
            Ok(PeerReply::Applied {
                state: encode_state(&out.session),
                expired_participant_id: out.expired_participant_id,
            })
        }
        PeerCall::Delete { session_id, .. } => Ok(PeerReply::Deleted {
            existed: gw.delete(&session_id, caller).await?,
        }),
        PeerCall::Rehome { session_id, to, .. } => {
            let s = gw.rehome(&session_id, &to, caller).await?;
            Ok(PeerReply::Applied {
                state: encode_state(&s),
                expired_participant_id: None,
            })
        }
        PeerCall::Install {
            origin,
            session_id,
            state,
        } => Ok(PeerReply::Installed {
            changed: gw.install(&origin, &session_id, &state).await?,
        }),
    }
}
