//! The session gateway: the one place between the fronts (REST, WebSocket, the
//! internal API a peer region calls) and the service that knows where a session
//! lives. For every read and write it decides: here (this region is the home, or holds
//! a copy for reads), elsewhere (send the write to the home as a typed call, or let
//! Fly replay it), or unknown (ask the peers first, keep what they return). It also
//! answers reads with "never older than what fan-out delivered here" and marks copies
//! whose home is silent as stale.
//!
//! It applies the caller's access rules (`domain::access`) where it has what they need:
//! the stateless ones before any IO, a read's once the state is read; write rules that
//! depend on the state are the service's, at the home, inside its commit.
//!
//! Owns: routing by home region, peer lookups, forwarding, freshness, and carrying a
//! move's measured transit to its home (`transit`). Must not: parse HTTP or WebSocket
//! input, render responses, or apply rate limits (fronts do), nor commit anything
//! itself (the service does, at the home only).

pub mod affinity;
pub mod caller;
pub mod error;
mod fresh;
mod home;
pub mod locate;
mod owners;
pub mod transit;

use std::sync::Arc;

use crate::domain::{
    access, DomainError, NewSession, Op, ParticipantId, RegionId, Session, SessionId,
};
use crate::hub::Hub;
use crate::metrics;
use crate::region::cluster::Cluster;
use crate::region::wire::{Known, PeerCall};
use crate::relay::copies::Copies;
use crate::service::{ServiceError, Sessions};
use crate::store::StoreError;
use crate::timebase::TimeBase;
use caller::Caller;
use error::GatewayError;
use home::Answer;
use transit::Measured;

/// The multi-region parts the gateway needs: the cluster, this region's copies and
/// the ids recently found in no region.
pub struct Remote {
    pub cluster: Arc<Cluster>,
    pub copies: Arc<Copies>,
    pub unknown: locate::Unknown,
    /// The region that holds this region's zero-loss writes before they are
    /// acknowledged (and takes its sessions over when it is lost).
    pub successor: Option<RegionId>,
    /// Automatic re-homing (`owners.auto_rehome`), when on.
    pub affinity: Option<affinity::Affinity>,
    /// This region is drained (`synckairos region drain`): new sessions are homed at
    /// its successor. Kept up to date from its Redis by the app (`own:drained`).
    pub drained: Arc<std::sync::atomic::AtomicBool>,
}

/// A state for a client read.
pub struct Reading {
    pub session: Arc<Session>,
    /// A copy whose home region this region does not currently hear from.
    pub stale: bool,
}

/// A committed operation, wherever it was committed.
pub struct Applied {
    pub session: Arc<Session>,
    /// Switch only: the outgoing participant whose budget is at zero (as v2 reported).
    pub expired_participant_id: Option<ParticipantId>,
}

pub struct Gateway {
    region: RegionId,
    sessions: Arc<Sessions>,
    hub: Arc<Hub>,
    ttl_ms: u64,
    /// `None` when single-region.
    remote: Option<Remote>,
}

impl Gateway {
    pub fn new(
        region: &RegionId,
        sessions: Arc<Sessions>,
        hub: Arc<Hub>,
        ttl_secs: u64,
        remote: Option<Remote>,
    ) -> Self {
        Gateway {
            region: region.clone(),
            sessions,
            hub,
            ttl_ms: ttl_secs.saturating_mul(1000),
            remote,
        }
    }

    pub fn region(&self) -> &RegionId {
        &self.region
    }

    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.remote.as_ref().map(|r| &r.cluster)
    }

    /// This region's authoritative time and the other homes' as estimated here.
    pub fn time(&self) -> &Arc<TimeBase> {
        self.sessions.time()
    }

    /// Whether this instance's storage answers (for `/ready`).
    pub async fn storage_ready(&self) -> Result<(), StoreError> {
        self.sessions.store().ping().await
    }

    /// Creates a session homed in `home` (this region when `None`).
    pub async fn create(
        &self,
        req: NewSession,
        home: Option<&RegionId>,
        caller: &Caller,
    ) -> Result<Arc<Session>, GatewayError> {
        access::may_create(caller.actor(), &req.session_id).map_err(forbidden)?;
        // A drained region (maintenance) homes its clients' new sessions at its
        // successor; a peer's create is served here as asked (no second hop).
        let drained_to = self.remote.as_ref().and_then(|r| {
            let local = home.is_none_or(|h| *h == self.region);
            let drained = r.drained.load(std::sync::atomic::Ordering::Relaxed);
            (drained && local && caller.is_edge()).then_some(r.successor.as_ref())?
        });
        let home = drained_to.or(home);
        if let (Some(home), Some(r)) = (home.filter(|h| **h != self.region), &self.remote) {
            let id = req.session_id.clone();
            let call = PeerCall::Create {
                origin: caller.origin.clone(),
                session: req,
                actor: caller.actor.clone(),
            };
            return match home::send(&r.cluster, home, &id, call, caller).await? {
                Answer::Committed { session, .. } => Ok(session),
                Answer::Deleted(_) => Err(unexpected(home)),
            };
        }
        let s = self
            .sessions
            .create(req, &caller.origin, caller.actor())
            .await?;
        if let Some(r) = &self.remote {
            r.unknown.forget(&s.session_id);
        }
        metrics::session_created();
        self.durable(&s).await?;
        Ok(Arc::new(s))
    }

    /// The state a client reads: this region's copy (asking the peers when it has
    /// none), never older than what was delivered here, marked when stale; `Forbidden`
    /// when the caller's token does not cover it.
    pub async fn read(
        &self,
        session_id: &SessionId,
        caller: &Caller,
    ) -> Result<Reading, GatewayError> {
        self.may_watch(session_id, caller)?;
        let stored = match self.sessions.read(session_id).await {
            Ok(s) => s,
            Err(ServiceError::NotFound(_)) => Arc::new(self.ask_peers(session_id).await?),
            Err(e) => return Err(e.into()),
        };
        let session = fresh::newest(stored, self.delivered(session_id));
        access::may_read(caller.actor(), &session).map_err(forbidden)?;
        let stale = fresh::stale(self.cluster().map(|c| &**c), &session).await;
        Ok(Reading { session, stale })
    }

    /// The home of a session as this region knows it (its copy or what fan-out
    /// delivered), without asking the peers; `None` when unknown here.
    pub async fn home_here(&self, session_id: &SessionId) -> Option<RegionId> {
        if let Some(s) = self.delivered(session_id) {
            return Some(s.home_region.clone());
        }
        let s = self.sessions.read(session_id).await.ok()?;
        Some(s.home_region.clone())
    }

    /// Whether the caller may watch `session_id` at all (its token's session scope),
    /// before anything is read: a WebSocket subscription asks this first.
    pub fn may_watch(&self, session_id: &SessionId, caller: &Caller) -> Result<(), GatewayError> {
        access::may_watch(caller.actor(), session_id).map_err(forbidden)
    }

    /// The newest state delivered here by fan-out, if any (a fallback while storage
    /// is unavailable).
    pub fn delivered(&self, session_id: &SessionId) -> Option<Arc<Session>> {
        fresh::delivered(&self.hub, session_id, self.ttl_ms)
    }

    /// Applies a client operation at the session's home.
    pub async fn apply(
        &self,
        session_id: &SessionId,
        op: &Op,
        caller: &Caller,
    ) -> Result<Applied, GatewayError> {
        self.apply_measured(session_id, op, caller, Measured::Unmeasured)
            .await
    }

    /// `apply` of an operation whose transit was measured (lag compensation).
    pub async fn apply_measured(
        &self,
        session_id: &SessionId,
        op: &Op,
        caller: &Caller,
        measured: Measured,
    ) -> Result<Applied, GatewayError> {
        access::may_attempt(caller.actor(), session_id, op).map_err(forbidden)?;
        let here = measured.transit(self.time(), &self.region);
        let mut learned = false;
        let home = loop {
            let written = self
                .sessions
                .write_with(session_id, op, &caller.origin, caller.actor(), here)
                .await;
            let e = match written {
                Ok(out) => {
                    if let Some(a) = self.remote.as_ref().and_then(|r| r.affinity.as_ref()) {
                        a.wrote(session_id, &self.region, &caller.origin);
                    }
                    self.durable(&out.session).await?;
                    return Ok(Applied {
                        session: Arc::new(out.session),
                        expired_participant_id: out.expired_participant_id,
                    });
                }
                Err(e) => e,
            };
            match self.elsewhere(session_id, caller, e, &mut learned).await? {
                Next::Retry => continue,
                Next::Home(home) => break home,
            }
        };
        let call = PeerCall::Apply {
            origin: caller.origin.clone(),
            session_id: session_id.clone(),
            op: op.clone(),
            actor: caller.actor.clone(),
            moved_at: measured.moved_at(self.time(), &home),
            known: None,
        };
        match self.send_home(&home, session_id, call, caller).await? {
            Answer::Committed {
                session,
                expired_participant_id,
            } => Ok(Applied {
                session,
                expired_participant_id,
            }),
            Answer::Deleted(_) => Err(unexpected(&home)),
        }
    }

    /// Deletes a session at its home; true if it existed. Only the home deletes: a
    /// region holding a copy forwards, one that does not know the session asks its
    /// peers first (never deletes on a guess).
    pub async fn delete(
        &self,
        session_id: &SessionId,
        caller: &Caller,
    ) -> Result<bool, GatewayError> {
        access::may_delete(caller.actor(), session_id, None).map_err(forbidden)?;
        if self.remote.is_some() {
            let home = match self.sessions.get(session_id).await {
                Ok(s) => Some(s.home_region.clone()),
                Err(ServiceError::NotFound(_)) if !caller.is_edge() => None,
                Err(ServiceError::NotFound(_)) => match self.ask_peers(session_id).await {
                    Ok(s) => Some(s.home_region),
                    Err(GatewayError::NotFound(_)) => None,
                    Err(e) => return Err(e),
                },
                Err(e) => return Err(e.into()),
            };
            if let Some(home) = home.filter(|h| *h != self.region) {
                let call = PeerCall::Delete {
                    origin: caller.origin.clone(),
                    session_id: session_id.clone(),
                    actor: caller.actor.clone(),
                    known: None,
                };
                return match self.send_home(&home, session_id, call, caller).await? {
                    Answer::Deleted(existed) => Ok(existed),
                    Answer::Committed { .. } => Err(unexpected(&home)),
                };
            }
        }
        let existed = self
            .sessions
            .delete(session_id, &caller.origin, caller.actor())
            .await?;
        if existed {
            metrics::session_deleted();
        }
        Ok(existed)
    }

    /// Whether a peer's call may go on to `home`: this region's state names `home` at a
    /// higher epoch than the sender knew, or at the same epoch when the sender's own
    /// state names `home` too (it read the move only after choosing where to send).
    /// Each hop either raises the epoch or reaches the owner its sender named: no loops.
    fn proves_owner(
        &self,
        session_id: &SessionId,
        local: Option<&Session>,
        home: &RegionId,
        caller: &Caller,
    ) -> bool {
        let Some(l) = local.filter(|l| l.home_region == *home) else {
            return false;
        };
        let known = caller.known_epoch();
        if l.epoch != known {
            return l.epoch > known;
        }
        caller.known.as_ref().is_some_and(|k| {
            crate::store::decode_state(session_id, &k.state).is_ok_and(|s| s.home_region == *home)
        })
    }

    /// After a local attempt failed with `e`: homed elsewhere (`RemoteHome`) or not here
    /// (`NotFound`) → retry once when the peer's call taught this region a hand-over it
    /// missed, else the home to send it to (a client's request asks the peers about a
    /// session unknown here); any other error is the answer.
    async fn elsewhere(
        &self,
        session_id: &SessionId,
        caller: &Caller,
        e: ServiceError,
        learned: &mut bool,
    ) -> Result<Next, GatewayError> {
        let home = match e {
            ServiceError::RemoteHome(home) => Some(home),
            ServiceError::NotFound(_) => None,
            e => return Err(e.into()),
        };
        if !*learned && self.learn(session_id, caller).await {
            *learned = true;
            return Ok(Next::Retry);
        }
        match home {
            Some(home) => Ok(Next::Home(home)),
            None if self.remote.is_some() && caller.is_edge() => {
                let s = self.ask_peers(session_id).await?;
                if s.home_region == self.region {
                    return Err(GatewayError::NotFound(session_id.clone()));
                }
                Ok(Next::Home(s.home_region))
            }
            None => Err(GatewayError::NotFound(session_id.clone())),
        }
    }

    async fn ask_peers(&self, session_id: &SessionId) -> Result<Session, GatewayError> {
        match &self.remote {
            Some(r) => locate::from_peers(&r.cluster, &r.copies, &r.unknown, session_id).await,
            None => Err(GatewayError::NotFound(session_id.clone())),
        }
    }

    /// Sends a call for a session homed elsewhere to `home`, with this region's state of
    /// it attached. A client's request goes once; a peer's call goes on only when this
    /// region's state proves a higher-epoch owner than the sender knew (an old home
    /// forwarding after a move). A committed answer newer than the state here is kept
    /// as this region's copy (routing follows the highest epoch seen).
    async fn send_home(
        &self,
        home: &RegionId,
        session_id: &SessionId,
        call: PeerCall,
        caller: &Caller,
    ) -> Result<Answer, GatewayError> {
        // A session homed elsewhere in a single-region instance: nowhere to send it.
        let Some(r) = &self.remote else {
            return Err(GatewayError::Misdirected { home: home.clone() });
        };
        let local = self.sessions.get(session_id).await.ok();
        let local_epoch = local.as_ref().map(|l| l.epoch);
        if !caller.is_edge() && !self.proves_owner(session_id, local.as_deref(), home, caller) {
            return Err(GatewayError::Misdirected { home: home.clone() });
        }
        let known = local.map(|l| Known {
            epoch: l.epoch,
            state: crate::store::codec::encode_state(&l),
        });
        let answer =
            home::send(&r.cluster, home, session_id, call.with_known(known), caller).await?;
        if let Answer::Committed { session, .. } = &answer {
            if session.home_region != *home || local_epoch.is_some_and(|e| session.epoch > e) {
                self.keep_copy(session).await;
            }
        }
        Ok(answer)
    }
}

/// Where a write goes after a local attempt (`Gateway::elsewhere`).
enum Next {
    Retry,
    Home(RegionId),
}

fn forbidden(d: crate::domain::Denied) -> GatewayError {
    GatewayError::Service(ServiceError::Domain(DomainError::Forbidden(d)))
}

/// A home answered a call with a reply of another kind (a version mismatch).
fn unexpected(home: &RegionId) -> GatewayError {
    GatewayError::HomeUnreachable {
        home: home.clone(),
        source: crate::region::client::PeerError::Status {
            region: home.clone(),
            status: hyper::StatusCode::BAD_GATEWAY,
        },
    }
}
