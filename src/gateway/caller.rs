//! Who asks the gateway: the region whose client sent the request (recorded as the
//! audit trail's origin), the identity the request acts with (its verified token's
//! `Actor`; `None` in the open mode), and whether this is the first region to handle
//! it (it may ask peers and send the request to the session's home) or a home serving
//! a peer's typed call (it never sends it further: one hop at most). A forwarded call
//! carries the actor, so the home judges and records the client's own identity.
//!
//! A peer's call also carries what the sending region knew of the session (`known`:
//! its state and ownership epoch), so a home that missed a hand-over installs it, and
//! an old home forwards once more only to an owner of a higher epoch than the sender
//! knew (each hop raises the epoch: no loops).
//!
//! Must not: carry transport details beyond the one fly-replay permission.

use crate::domain::{Actor, RegionId};
use crate::region::wire::Known;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hop {
    /// A client's request, received here. `replay`: plain HTTP, so it may be answered
    /// with `fly-replay` instead of being forwarded (when the cluster is configured so).
    Edge { replay: bool },
    /// A peer region's typed call: this region is supposed to be the home.
    FromPeer,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The region that received the client's request.
    pub origin: RegionId,
    pub hop: Hop,
    /// The identity the request acts with (`None`: open mode, everything allowed).
    pub actor: Option<Actor>,
    /// A peer's call: the sending region's state of the session, if it sent one.
    pub known: Option<Known>,
}

impl Caller {
    /// A client's REST request received in `region`.
    pub fn rest(region: &RegionId, actor: Option<Actor>) -> Caller {
        Caller {
            origin: region.clone(),
            hop: Hop::Edge { replay: true },
            actor,
            known: None,
        }
    }

    /// A client's WebSocket command received in `region` (never fly-replayed).
    pub fn socket(region: &RegionId, actor: Option<Actor>) -> Caller {
        Caller {
            origin: region.clone(),
            hop: Hop::Edge { replay: false },
            actor,
            known: None,
        }
    }

    /// A typed call from a peer, on behalf of `actor`, a client of `origin`.
    pub fn peer(origin: &RegionId, actor: Option<Actor>) -> Caller {
        Caller {
            origin: origin.clone(),
            hop: Hop::FromPeer,
            actor,
            known: None,
        }
    }

    /// With what the sending region knew of the session.
    pub fn knowing(mut self, known: Option<Known>) -> Caller {
        self.known = known;
        self
    }

    /// The ownership epoch the sender knew (0: nothing sent).
    pub fn known_epoch(&self) -> u32 {
        self.known.as_ref().map_or(0, |k| k.epoch)
    }

    pub fn is_edge(&self) -> bool {
        matches!(self.hop, Hop::Edge { .. })
    }

    pub fn may_replay(&self) -> bool {
        self.hop == Hop::Edge { replay: true }
    }

    pub fn actor(&self) -> Option<&Actor> {
        self.actor.as_ref()
    }
}
