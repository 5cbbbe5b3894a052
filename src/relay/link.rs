//! One connection of a follower to a home's relay stream, from a position: applies
//! every envelope in order (newer versions only) to this region's Redis, which
//! republishes it to local WebSocket clients, and ends the connection with the reason
//! when the stream cannot go on as it is: a catch-up is needed (a gap, a rollback, a
//! jump, a stall, this region's Redis lost its data), the link is lost, or the lease
//! moved. An entry that cannot be applied (undecodable, oversized, refused by the home)
//! is counted, logged with its sequence number and skipped; the copies are marked
//! diverged until a check repairs them. Nothing here can make the follower wait on one
//! entry forever.
//!
//! Must not: reconcile (the follower and the checker do).

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use http_body_util::BodyExt;
use hyper::Method;
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;

use super::context::RelayContext;
use super::error::RelayError;
use super::frame::{Frame, Reader, SKIP_OVERSIZED};
use super::lease::{self, Position};
use super::offered::Offered;
use super::progress::{Progress, Verdict};
use super::state::HomeState;
use crate::clock::now_ms;
use crate::metrics;
use crate::region::client::{PeerError, PeerRequest};
use crate::region::wire;
use crate::store::envelope::Envelope;

/// Why a follower must catch up from a snapshot of the home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Nothing applied here yet (a new region, or its Redis was flushed).
    Fresh,
    /// The home's log no longer holds entries this region needs.
    Gap,
    /// The home's log went back or took another course.
    Rollback,
    /// An entry arrived out of order.
    Jump,
    /// Heartbeats, but no entries while the home's head moved.
    Stalled,
    /// This region's Redis lost the position (flushed or replaced).
    LocalLoss,
    /// A check found copies that differ at equal versions.
    Check,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Fresh => "fresh",
            Reason::Gap => "gap",
            Reason::Rollback => "rollback",
            Reason::Jump => "jump",
            Reason::Stalled => "stalled",
            Reason::LocalLoss => "local-loss",
            Reason::Check => "check",
        }
    }
}

pub enum End {
    /// Stream closed or failed; reconnect.
    Lost(RelayError),
    /// The lease went to another instance.
    NotLeader,
    CatchUp(Reason),
    Stopped,
}

/// Follows `home` from `from` until the stream ends.
pub async fn run(
    r: &Arc<RelayContext>,
    st: &HomeState,
    from: Position,
    stop: &CancellationToken,
) -> End {
    let home = &st.home;
    let link_timeout = Duration::from_millis(r.cfg.link_timeout_ms);
    let path = wire::relay_path(from.seq, from.fingerprint);
    let req = PeerRequest {
        method: Method::GET,
        path: &path,
        headers: None,
        body: Default::default(),
    };
    let resp = match r.cluster.open(home, req, link_timeout).await {
        Ok(resp) if resp.status().is_success() => resp,
        Ok(resp) => {
            return End::Lost(RelayError::Peer(PeerError::Status {
                region: home.clone(),
                status: resp.status(),
            }))
        }
        Err(e) => return End::Lost(e.into()),
    };
    let mut body = resp.into_body();
    let mut reader = Reader::default();
    let mut progress = Progress::new(home, from.seq, link_timeout, Instant::now());
    let mut last_lease = Instant::now();
    let mut reported: Option<&'static str> = Some("unknown");
    let mut last_report: Option<Instant> = None;
    let mut opened = false;
    loop {
        if last_lease.elapsed() > link_timeout / 2 {
            match lease::renew(r, home, progress.applied()).await {
                lease::Renewal::Held => {}
                lease::Renewal::Lost => return End::NotLeader,
                lease::Renewal::PositionGone => return End::CatchUp(Reason::LocalLoss),
            }
            last_lease = Instant::now();
        }
        if st.take_catch_up() {
            return End::CatchUp(Reason::Check);
        }
        let chunk = tokio::select! {
            c = timeout(link_timeout, body.frame()) => c,
            _ = stop.cancelled() => return End::Stopped,
        };
        let ended = |why| {
            End::Lost(RelayError::Ended {
                home: home.clone(),
                why,
            })
        };
        let data = match chunk {
            Err(_) => return ended("no frame within the link timeout"),
            Ok(None) => return ended("the home closed it"),
            Ok(Some(Err(source))) => {
                return End::Lost(RelayError::Body {
                    home: home.clone(),
                    source,
                })
            }
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(d) => d,
                Err(_) => continue,
            },
        };
        reader.push(&data);
        metrics::relay_frames(home);
        // Whatever else has already arrived joins this batch (`frame()` is cancel-safe).
        while let Some(Some(Ok(more))) = body.frame().now_or_never() {
            if let Ok(d) = more.into_data() {
                reader.push(&d);
                metrics::relay_frames(home);
            }
        }
        // Consecutive envelopes are applied together (one read, one pipeline).
        let mut pending: Vec<(u64, Offered)> = Vec::new();
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return End::Lost(e.into()),
            };
            if let Frame::Envelope { seq, payload } = frame {
                let at = pending.last().map_or(progress.applied(), |(s, _)| *s);
                if seq <= at {
                    continue; // already applied (a duplicate after a reconnect)
                }
                if at == 0 || seq == at + 1 {
                    let fingerprint = Envelope::fingerprint(&payload);
                    match Offered::from_log(payload) {
                        Ok(o) => pending.push((seq, o)),
                        Err(e) => {
                            if let Some(end) = apply(r, &mut progress, &mut pending).await {
                                return end;
                            }
                            let p = Position { seq, fingerprint };
                            let why = crate::cause::chain(&e).to_string();
                            if let Some(end) =
                                skip(r, st, &mut progress, p, "undecodable", &why).await
                            {
                                return end;
                            }
                        }
                    }
                    continue;
                }
                let frame = Frame::Envelope { seq, payload };
                if let Some(end) = apply(r, &mut progress, &mut pending).await {
                    return end;
                }
                if let Some(end) = take(r, st, &mut progress, &mut opened, frame).await {
                    return end;
                }
                continue;
            }
            if let Some(end) = apply(r, &mut progress, &mut pending).await {
                return end;
            }
            if let Some(end) = take(r, st, &mut progress, &mut opened, frame).await {
                return end;
            }
        }
        if let Some(end) = apply(r, &mut progress, &mut pending).await {
            return end;
        }
        let reason = st
            .stale_reason()
            .or_else(|| progress.behind().then_some("behind"));
        // The health stamp only needs to be fresher than the link timeout: at most
        // one write per REPORT_EVERY unless the stale mark changes.
        if reason != reported || last_report.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
            r.cluster.health.heard(home, reason).await;
            if reason.is_none() && reported.is_some() {
                r.cluster.health.restored(home).await;
            }
            if reason != reported {
                metrics::relay_stale(home, reason.is_some());
                reported = reason;
            }
            last_report = Some(Instant::now());
        }
    }
}

/// How often the health stamp is refreshed at most while frames keep arriving.
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Applies the envelopes gathered so far, in order; `Some` ends the connection.
async fn apply(
    r: &RelayContext,
    progress: &mut Progress,
    pending: &mut Vec<(u64, Offered)>,
) -> Option<End> {
    let last = pending.last()?.0;
    let entries: Vec<Offered> = pending.drain(..).map(|(_, o)| o).collect();
    if let Err(e) = r.copies.offer_log(&entries).await {
        return Some(End::Lost(e.into()));
    }
    progress.advanced(last, Instant::now());
    let now = now_ms();
    for o in &entries {
        if let Some(s) = &o.incoming {
            metrics::relay_latency(&o.envelope.body.home, (now - s.updated_at).max(0) as f64);
        }
    }
    None
}

/// Handles one frame; `Some` ends the connection.
async fn take(
    r: &RelayContext,
    st: &HomeState,
    progress: &mut Progress,
    opened: &mut bool,
    frame: Frame,
) -> Option<End> {
    let home = &st.home;
    let at = progress.applied();
    match frame {
        Frame::Heartbeat { head } => match progress.heartbeat(head, Instant::now()) {
            Verdict::Fine if !*opened => {
                *opened = true;
                progress.opened(head);
                None
            }
            Verdict::Fine => None,
            Verdict::Rollback => {
                metrics::relay_rollback(home);
                tracing::warn!(%home, head, applied = at, "relay: the home's head is below what was applied here (rollback)");
                Some(End::CatchUp(Reason::Rollback))
            }
            Verdict::Stalled => {
                metrics::relay_stall(home);
                tracing::warn!(%home, head, applied = at, "relay: heartbeats but no entries (stalled)");
                st.set_stalled(true);
                Some(End::CatchUp(Reason::Stalled))
            }
        },
        Frame::Gap { log_start, head } => {
            metrics::relay_gap(home);
            tracing::warn!(%home, log_start, head, applied = at, "relay: the home's log no longer reaches back here (gap)");
            Some(End::CatchUp(Reason::Gap))
        }
        Frame::Reset { head } => {
            metrics::relay_rollback(home);
            tracing::warn!(%home, head, applied = at, "relay: the home's log is not the one applied here (rollback)");
            Some(End::CatchUp(Reason::Rollback))
        }
        Frame::Envelope { seq, .. } | Frame::Skip { seq, .. } | Frame::Oversized { seq, .. }
            if seq <= at =>
        {
            None // already applied (a duplicate after a reconnect)
        }
        Frame::Envelope { seq, .. } | Frame::Skip { seq, .. } | Frame::Oversized { seq, .. }
            if at != 0 && seq != at + 1 =>
        {
            tracing::warn!(%home, seq, applied = at, "relay: an entry out of order");
            Some(End::CatchUp(Reason::Jump))
        }
        // Applied in runs by the caller; one here is out of order.
        Frame::Envelope { .. } => None,
        Frame::Skip { seq, why } => {
            let reason = if why == SKIP_OVERSIZED {
                "oversized"
            } else {
                "malformed"
            };
            let p = Position {
                seq,
                fingerprint: 0,
            };
            skip(r, st, progress, p, reason, "the home could not send it").await
        }
        Frame::Oversized { seq, len } => {
            let p = Position {
                seq,
                fingerprint: 0,
            };
            let why = format!("a frame of {len} bytes");
            skip(r, st, progress, p, "oversized", &why).await
        }
    }
}

/// Skips the entry at `p`: counted, logged, the copies marked diverged and a check
/// asked for; the position moves past it.
async fn skip(
    r: &RelayContext,
    st: &HomeState,
    progress: &mut Progress,
    p: Position,
    reason: &'static str,
    why: &str,
) -> Option<End> {
    let home = &st.home;
    metrics::relay_skipped(home, reason);
    tracing::warn!(%home, seq = p.seq, reason, why, "relay: entry skipped; reconciliation will repair its session");
    st.skipped();
    if let Err(e) = lease::record(r, home, p, true).await {
        return Some(End::Lost(e));
    }
    progress.advanced(p.seq, Instant::now());
    None
}
