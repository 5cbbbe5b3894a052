//! Ownership moves as the gateway sees them (issue 11): a planned re-home (committed at
//! the current home, wherever the request arrived, then handed over to the new home
//! with a typed `Install` call), the new home's side of that hand-over, and learning a
//! hand-over from what a peer's call carried (`Caller::known`) or what a home answered.
//!
//! Must not: decide when a session should move (operators, `region::owners` and the
//! automatic re-homing decide) or commit anything itself (the service does).

use std::sync::Arc;

use super::caller::Caller;
use super::error::GatewayError;
use super::home::Answer;
use super::{forbidden, unexpected, Gateway, Next};
use crate::domain::{access, Move, RegionId, Session, SessionId};
use crate::metrics;
use crate::region::wire::{PeerCall, PeerReply};
use crate::service::ServiceError;
use crate::store::codec::encode_state;
use crate::store::decode_state;

impl Gateway {
    /// Moves `session_id`'s home to `to` (an operator's request, a drain, automatic
    /// re-homing): committed at its current home at the next epoch, then installed in
    /// `to`. Returns the state naming `to` its home.
    pub async fn rehome(
        &self,
        session_id: &SessionId,
        to: &RegionId,
        caller: &Caller,
    ) -> Result<Arc<Session>, GatewayError> {
        access::may_operate(caller.actor()).map_err(forbidden)?;
        let Some(r) = &self.remote else {
            return Err(GatewayError::Misdirected { home: to.clone() });
        };
        if !r.cluster.knows(to) {
            return Err(GatewayError::Service(ServiceError::Domain(
                crate::domain::DomainError::Invalid(vec![crate::domain::FieldIssue::new(
                    "region",
                    "unknown_region",
                    format!("No region {to} in this cluster"),
                )]),
            )));
        }
        let mut learned = false;
        let home = loop {
            let moved = self
                .sessions
                .move_home(session_id, &self.region, to, Move::Rehome, caller.actor())
                .await;
            let e = match moved {
                Ok(out) => {
                    metrics::ownership_moved("rehome");
                    let s = Arc::new(out.session);
                    self.hand_over(&s).await;
                    return Ok(s);
                }
                Err(e) => e,
            };
            match self.elsewhere(session_id, caller, e, &mut learned).await? {
                Next::Retry => continue,
                Next::Home(home) => break home,
            }
        };
        if home == *to {
            // Already homed there: nothing moves (the home's state says so).
            return Ok(self.sessions.get(session_id).await?);
        }
        let call = PeerCall::Rehome {
            origin: caller.origin.clone(),
            session_id: session_id.clone(),
            to: to.clone(),
            actor: caller.actor.clone(),
            known: None,
        };
        match self.send_home(&home, session_id, call, caller).await? {
            Answer::Committed { session, .. } => Ok(session),
            Answer::Deleted(_) => Err(unexpected(&home)),
        }
    }

    /// Sends the state that names another region the home to that region, so that it
    /// commits from now on; best effort: a region that misses it learns the move from
    /// this region's relay log, or from the state a forwarded call carries.
    async fn hand_over(&self, s: &Session) {
        let Some(r) = &self.remote else { return };
        let call = PeerCall::Install {
            origin: self.region.clone(),
            session_id: s.session_id.clone(),
            state: encode_state(s),
        };
        let started = std::time::Instant::now();
        match r.cluster.call_home(&s.home_region, &call).await {
            Ok(PeerReply::Installed { .. }) => {
                metrics::handover_duration(started.elapsed().as_secs_f64() * 1000.0);
            }
            Ok(other) => tracing::warn!(
                session = %s.session_id, to = %s.home_region, reply = ?other,
                "hand-over refused; the new home learns the move from the relay"
            ),
            Err(e) => tracing::warn!(
                session = %s.session_id, to = %s.home_region, error = %crate::cause::chain(&e),
                "hand-over not delivered; the new home learns the move from the relay"
            ),
        }
    }

    /// Zero-loss durability: a session that asks for it is acknowledged only once the
    /// successor region holds this state (an `Install`, applied there as its copy).
    /// Local durability (the default) returns at once.
    pub(super) async fn durable(&self, s: &Session) -> Result<(), GatewayError> {
        let Some(r) = &self.remote else { return Ok(()) };
        let Some(successor) = r.successor.as_ref().filter(|_| s.zero_loss) else {
            return Ok(());
        };
        let call = PeerCall::Install {
            origin: self.region.clone(),
            session_id: s.session_id.clone(),
            state: encode_state(s),
        };
        let failed = match r.cluster.call_home(successor, &call).await {
            Ok(PeerReply::Installed { .. }) => return Ok(()),
            Ok(other) => {
                tracing::warn!(session = %s.session_id, %successor, reply = ?other, "zero-loss write refused by the successor");
                None
            }
            Err(e) => Some(e),
        };
        metrics::not_durable();
        tracing::warn!(
            session = %s.session_id, version = s.version, %successor,
            "zero-loss write committed but not confirmed by the successor: answered 503"
        );
        Err(GatewayError::NotDurable {
            successor: successor.clone(),
            version: s.version,
            source: failed,
        })
    }

    /// Serves a hand-over (`PeerCall::Install`) from `from`: keeps `state` here if it
    /// outranks this region's (a higher epoch); true if it changed anything.
    pub async fn install(
        &self,
        from: &RegionId,
        session_id: &SessionId,
        state: &[u8],
    ) -> Result<bool, GatewayError> {
        let Some(r) = &self.remote else {
            return Err(GatewayError::Misdirected { home: from.clone() });
        };
        let s = decode_state(session_id, state).map_err(ServiceError::Store)?;
        let changed = r
            .copies
            .store_copy(&s.home_region, session_id, state)
            .await
            .map_err(ServiceError::Store)?;
        Ok(changed)
    }

    /// Installs what a peer's call knew of the session when it names this region the
    /// home at a higher epoch than the state here; true if the state here changed.
    pub(super) async fn learn(&self, id: &SessionId, caller: &Caller) -> bool {
        let (Some(k), Some(r)) = (&caller.known, &self.remote) else {
            return false;
        };
        let Ok(s) = decode_state(id, &k.state) else {
            return false;
        };
        if s.home_region != self.region {
            return false;
        }
        match r.copies.store_copy(&s.home_region, id, &k.state).await {
            Ok(changed) => {
                if changed {
                    metrics::ownership_learned();
                }
                changed
            }
            Err(e) => {
                tracing::warn!(session = %id, error = %crate::cause::chain(&e), "could not install a forwarded hand-over");
                false
            }
        }
    }

    /// Keeps a state a home answered with as this region's copy (it proved a newer
    /// owner than the one this region knew).
    pub(super) async fn keep_copy(&self, s: &Session) {
        let Some(r) = &self.remote else { return };
        if let Err(e) = r
            .copies
            .store_copy(&s.home_region, &s.session_id, &encode_state(s))
            .await
        {
            tracing::debug!(session = %s.session_id, error = %crate::cause::chain(&e), "could not keep the answered state");
        }
    }
}
