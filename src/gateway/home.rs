//! Sending a write to the session's home region as a typed call, and turning the
//! home's reply into what this region's caller gets: the committed state (decoded from
//! the home's exact bytes), the deletion result, or the home's refusal as the client
//! should see it. A home that cannot be reached is a 503, never a second writer.
//!
//! Must not: decide whether a call may be sent on (the gateway does: one hop, or a
//! second one only towards an owner of a higher epoch than the sender knew).

use std::sync::Arc;

use super::caller::Caller;
use super::error::GatewayError;
use crate::domain::{ParticipantId, RegionId, Session, SessionId};
use crate::metrics;
use crate::region::cluster::Cluster;
use crate::region::wire::{PeerCall, PeerReply};
use crate::store::decode_state;

/// What a home answered to a call this region sent.
pub enum Answer {
    /// A create or an operation committed at the home.
    Committed {
        session: Arc<Session>,
        expired_participant_id: Option<ParticipantId>,
    },
    Deleted(bool),
}

/// Sends `call` for `session_id` to `home` on behalf of `caller`.
pub async fn send(
    cluster: &Cluster,
    home: &RegionId,
    session_id: &SessionId,
    call: PeerCall,
    caller: &Caller,
) -> Result<Answer, GatewayError> {
    if caller.may_replay() && cluster.fly_replay {
        metrics::forwarded(home, "fly-replay");
        return Err(GatewayError::Replay { home: home.clone() });
    }
    metrics::forwarded(home, "forward");
    let started = std::time::Instant::now();
    let reply = cluster.call_home(home, &call).await;
    metrics::forward_duration(home, started.elapsed().as_secs_f64() * 1000.0);
    let reply = reply.map_err(|source| GatewayError::HomeUnreachable {
        home: home.clone(),
        source,
    })?;
    let committed = |state: Vec<u8>, expired_participant_id| {
        let session =
            decode_state(session_id, &state).map_err(|e| GatewayError::HomeUnreachable {
                home: home.clone(),
                source: crate::region::client::PeerError::Decode {
                    region: home.clone(),
                    source: e.into(),
                },
            })?;
        Ok(Answer::Committed {
            session: Arc::new(session),
            expired_participant_id,
        })
    };
    match reply {
        PeerReply::Created { state } => committed(state, None),
        PeerReply::Applied {
            state,
            expired_participant_id,
        } => committed(state, expired_participant_id),
        PeerReply::Deleted { existed } => Ok(Answer::Deleted(existed)),
        PeerReply::Installed { .. } => Err(GatewayError::HomeUnreachable {
            home: home.clone(),
            source: crate::region::client::PeerError::Status {
                region: home.clone(),
                status: hyper::StatusCode::BAD_GATEWAY,
            },
        }),
        PeerReply::Refused(w) => Err(GatewayError::Refused(w)),
    }
}
