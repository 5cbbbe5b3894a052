//! Session operations as the fronts (REST, WebSocket) and the scheduler use them:
//! load → pure transition at `now` → compare-and-set commit (which also publishes and
//! re-indexes the deadline). The one place where a request becomes a stored change.
//!
//! Conflicts: a client write that loses the race to another *client* write gets
//! `Conflict` (409), as the contract requires. One that lost only to server deadline
//! writes (ticks) is re-applied on the fresh state, because the client could not have
//! known about them and the settled result is the same.
//!
//! Authorization that depends on the state (whose turn it is, the session's tenant, its
//! pause policy) is judged here, on the state each compare-and-set attempt commits
//! against (`domain::access::may_perform`), so a verdict can never be stale.
//!
//! One round trip per write (Redis): a write starts from the state the store last
//! committed or loaded here (`Store::recent`); a stale one fails the compare-and-set,
//! whose answer carries the stored state, and the write starts again from that as if
//! freshly loaded (a stale copy is not a lost race: never a 409 of its own).
//!
//! Time: `now` is the region's authoritative time (`TimeBase`), never this host's
//! clock; an instance whose clock cannot be trusted refuses (`ServiceError::Clock`).
//!
//! Must not: know about HTTP or sockets; read the clock except through `timebase`.

use std::sync::Arc;

use thiserror::Error;

use crate::domain::{
    self, access, lifetime, quota, Actor, DomainError, Event, Millis, NewSession, Op, Outcome,
    RegionId, Session, SessionId, Transit,
};
use crate::metrics;
use crate::store::{Commit, Expected, Store, StoreError};
use crate::timebase::{ClockRefusal, TimeBase};
use crate::wakeup::Wakeup;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("session {0} not found")]
    NotFound(SessionId),
    /// The session is homed in another region; its writes are committed there.
    #[error("session is homed in region {0}")]
    RemoteHome(RegionId),
    /// A create over a size quota.
    #[error("{0}")]
    Quota(quota::QuotaExceeded),
    /// This instance's clock cannot be trusted: it does not act.
    #[error("this instance refuses to act")]
    Clock(#[from] ClockRefusal),
}

/// The service's own limits (`quotas.*`); 0 disables one.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionLimits {
    /// Participants × warning thresholds of one session.
    pub max_participants_x_thresholds: u64,
    /// Deadline writes without a client operation before a session ends by itself.
    pub max_unattended_writes: u64,
    /// Sessions created without a durability are zero-loss (`owners.zero_loss`).
    pub zero_loss: bool,
}

/// Retries of a client write that lost only to deadline writes.
const TICK_RETRIES: usize = 3;

pub struct Sessions {
    store: Arc<dyn Store>,
    region: RegionId,
    /// Multi-region: refuse to commit sessions homed elsewhere.
    guard_home: bool,
    ttl_ms: u64,
    wakeup: Arc<Wakeup>,
    limits: SessionLimits,
    time: Arc<TimeBase>,
}

impl Sessions {
    pub fn new(
        store: Arc<dyn Store>,
        region: &RegionId,
        ttl_secs: u64,
        wakeup: Arc<Wakeup>,
        guard_home: bool,
        time: Arc<TimeBase>,
    ) -> Self {
        Sessions {
            store,
            region: region.clone(),
            guard_home,
            ttl_ms: ttl_secs.saturating_mul(1000),
            wakeup,
            limits: SessionLimits::default(),
            time,
        }
    }

    /// With quotas (`quotas.*`).
    pub fn with_limits(mut self, limits: SessionLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The region's authoritative time (and the other homes' as estimated here).
    pub fn time(&self) -> &Arc<TimeBase> {
        &self.time
    }

    fn commit_of<'a>(
        &self,
        s: &'a Session,
        events: &'a [Event],
        origin: &'a RegionId,
        actor: Option<&'a str>,
    ) -> Commit<'a> {
        Commit {
            session: s,
            events,
            // A session handed to another home has its deadlines armed there.
            deadline: (s.home_region == self.region || !self.guard_home)
                .then(|| domain::next_deadline(s))
                .flatten(),
            keep_until: lifetime::keep_until(s, self.ttl_ms),
            origin,
            actor,
            moved_from: None,
        }
    }

    /// Creates a session homed in this region; `origin` handled the client's request,
    /// `actor` is who asked (the session gets its tenant).
    pub async fn create(
        &self,
        req: NewSession,
        origin: &RegionId,
        actor: Option<&Actor>,
    ) -> Result<Session, ServiceError> {
        access::may_create(actor, &req.session_id).map_err(DomainError::Forbidden)?;
        quota::check_size(&req, self.limits.max_participants_x_thresholds)
            .map_err(ServiceError::Quota)?;
        let policy = req.pause_policy;
        let zero_loss = req.zero_loss.unwrap_or(self.limits.zero_loss);
        let mut s = domain::create_session(req, &self.region, self.time.now("write")?)?;
        s.zero_loss = zero_loss;
        s.access = access::access_for(actor, policy);
        let label = actor.map(Actor::label);
        self.store
            .insert(self.commit_of(&s, &[Event::Created], origin, label.as_deref()))
            .await?;
        Ok(s)
    }

    /// The authoritative current state (what writes start from).
    pub async fn get(&self, session_id: &SessionId) -> Result<Arc<Session>, ServiceError> {
        self.store
            .load(session_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(session_id.clone()))
    }

    /// The state for a client read (may be served by a replica, never older than what
    /// this instance has seen).
    pub async fn read(&self, session_id: &SessionId) -> Result<Arc<Session>, ServiceError> {
        self.store
            .read(session_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(session_id.clone()))
    }

    /// Performs a client operation with compare-and-set on `version`; `RemoteHome`
    /// when the session must be written in another region. `actor` must be allowed to
    /// perform `op` on the very state the commit replaces (`Forbidden` otherwise).
    pub async fn write(
        &self,
        session_id: &SessionId,
        op: &Op,
        origin: &RegionId,
        actor: Option<&Actor>,
    ) -> Result<Outcome, ServiceError> {
        self.write_with(session_id, op, origin, actor, Transit::default())
            .await
    }

    /// `write` of an operation whose `transit` the server measured (lag compensation).
    pub async fn write_with(
        &self,
        session_id: &SessionId,
        op: &Op,
        origin: &RegionId,
        actor: Option<&Actor>,
        transit: Transit,
    ) -> Result<Outcome, ServiceError> {
        // Start from the state this instance last committed or loaded when it holds one
        // (no round trip); a stale copy fails the compare-and-set below.
        let (mut current, mut cached) = match self.store.recent(session_id) {
            Some(s) => (s, true),
            None => (self.get(session_id).await?, false),
        };
        let label = actor.map(Actor::label);
        // The version and client version the request was first judged on.
        let mut first = None;
        let mut attempt = 0;
        loop {
            // Whatever a copy refuses (another home, a rule, a transition) is judged
            // again on the stored state: a stale copy must not answer.
            if self.guard_home && current.home_region != self.region {
                if cached {
                    (current, cached) = (self.get(session_id).await?, false);
                    continue;
                }
                return Err(ServiceError::RemoteHome(current.home_region.clone()));
            }
            let now = self.time.now("write")?;
            let judged = access::may_perform(actor, &current, op, now)
                .map_err(DomainError::Forbidden)
                .and_then(|()| domain::perform_with(&current, op, now, transit));
            let out = match judged {
                Ok(out) => out,
                Err(_) if cached => {
                    (current, cached) = (self.get(session_id).await?, false);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let (first_version, first_client) =
                *first.get_or_insert((current.version, current.client_version));
            let commit = self.commit_of(&out.session, &out.events, origin, label.as_deref());
            let deadline = commit.deadline;
            match self.store.commit(Expected::of(&current), commit).await {
                Ok(()) => {
                    self.wakeup.hint(deadline);
                    observe_credits(&out.events);
                    return Ok(out);
                }
                // A stale copy is not a race this request lost: start again from the
                // stored state (the conflict's answer), as if it had just been loaded.
                Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) if cached => {
                    metrics::write_start_stale();
                    (current, cached) = (self.reload(session_id).await?, false);
                    first = None;
                }
                Err(StoreError::Conflict { actual, .. }) => {
                    let fresh = self.reload(session_id).await?;
                    // Another incarnation (deleted and created again) is never retried on.
                    if self.guard_home && fresh.home_region != self.region {
                        // Moved meanwhile (re-homed, taken over): its new home decides.
                        return Err(ServiceError::RemoteHome(fresh.home_region.clone()));
                    }
                    if fresh.client_version != first_client
                        || fresh.created_at != current.created_at
                        || fresh.epoch != current.epoch
                        || attempt == TICK_RETRIES
                    {
                        return Err(StoreError::Conflict {
                            expected: first_version,
                            actual,
                        }
                        .into());
                    }
                    current = fresh;
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The state to retry on after a failed compare-and-set: the one the conflict
    /// answered with when the store kept it, else loaded from the primary.
    async fn reload(&self, session_id: &SessionId) -> Result<Arc<Session>, ServiceError> {
        match self.store.recent(session_id) {
            Some(s) => Ok(s),
            None => self.get(session_id).await,
        }
    }

    /// Moves a session homed in `from` to `to` at the next ownership epoch (`how`:
    /// planned, by its home (`from` = this region), or a takeover of a lost home's
    /// session from the copy here). The commit moves its index entry and leaves its
    /// deadlines to the new home; `RemoteHome` when the state here does not name `from`.
    pub async fn move_home(
        &self,
        session_id: &SessionId,
        from: &RegionId,
        to: &RegionId,
        how: domain::Move,
        actor: Option<&Actor>,
    ) -> Result<Outcome, ServiceError> {
        let current = self.get(session_id).await?;
        if current.home_region != *from {
            return Err(ServiceError::RemoteHome(current.home_region.clone()));
        }
        let origin = &self.region;
        let now = self.time.now("write")?;
        let out = domain::move_home(&current, to, how, now)?;
        let label = actor.map(Actor::label);
        let mut commit = self.commit_of(&out.session, &out.events, origin, label.as_deref());
        commit.moved_from = Some(&current.home_region);
        let deadline = commit.deadline;
        self.store.commit(Expected::of(&current), commit).await?;
        self.wakeup.hint(deadline);
        Ok(out)
    }

    /// Deletes a session; `actor` must be allowed to (a tenant-limited token: judged
    /// on the session's current state).
    pub async fn delete(
        &self,
        session_id: &SessionId,
        origin: &RegionId,
        actor: Option<&Actor>,
    ) -> Result<bool, ServiceError> {
        let current = if access::needs_state_to_delete(actor) {
            self.store.load(session_id).await?
        } else {
            None
        };
        access::may_delete(actor, session_id, current.as_deref())
            .map_err(DomainError::Forbidden)?;
        let label = actor.map(Actor::label);
        Ok(self
            .store
            .delete(session_id, origin, label.as_deref())
            .await?)
    }

    /// Applies whatever deadline events are due for a claimed session. Returns the
    /// committed outcome, or `None` if nothing was due (or another writer won).
    pub async fn fire_deadline(
        &self,
        session_id: &SessionId,
    ) -> Result<Option<Fired>, ServiceError> {
        let Some(current) = self.store.load(session_id).await? else {
            self.store.reschedule(session_id, 0, None).await?;
            return Ok(None);
        };
        if self.guard_home && current.home_region != self.region {
            // A copy (e.g. a session created here lost to an earlier one created
            // elsewhere): its home keeps the deadline.
            self.store
                .reschedule(session_id, current.version, None)
                .await?;
            return Ok(None);
        }
        let now = self.time.now("deadline")?;
        let Some(out) = quota::tick_bounded(&current, now, self.limits.max_unattended_writes)
        else {
            let next = domain::next_deadline(&current);
            self.store
                .reschedule(session_id, current.version, next)
                .await?;
            self.wakeup.hint(next);
            return Ok(None);
        };
        let commit = self.commit_of(&out.session, &out.events, &self.region, None);
        let deadline = commit.deadline;
        match self.store.commit(Expected::of(&current), commit).await {
            Ok(()) => {
                self.wakeup.hint(deadline);
                Ok(Some(Fired {
                    grace: domain::lag::grace(&current),
                    outcome: out,
                }))
            }
            // The winner of the race re-indexed the deadline in its own commit.
            Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// A deadline commit, and the lag-compensation grace its expiry (if any) waited for.
pub struct Fired {
    pub outcome: Outcome,
    pub grace: Millis,
}

fn observe_credits(events: &[Event]) {
    for e in events {
        if let Event::LagCredited { credit_ms, .. } = e {
            metrics::lag_credited(*credit_ms as f64);
        }
    }
}
