//! Ownership that moves when a home region is lost (issue 11): a simple lease-based
//! failure detector, fencing and takeover.
//!
//! - **Leases** (`lease`): every `lease_ms / 4` each region asks every other one for a
//!   lease. A region that a majority (counting itself) granted one, measured from
//!   when it asked, holds its ownership lease until `asked + lease_ms`: the key
//!   `own:lease` in its Redis, with that expiry. With fencing on, the commit script
//!   refuses every commit without it (`FENCED`, a 503): a home cut off from the
//!   majority stops committing by itself within `lease_ms`, atomically with commits.
//! - **Grants** (`grant`, this file): a region granting one records it in its Redis
//!   for `lease_ms + margin_ms` from when it received the request, and promises not
//!   to vote for a takeover of the asker meanwhile. A vote (`vote`) is given only once
//!   that record is gone, and while a vote holds (`vote_hold_ms`) the region grants
//!   the asker nothing. All of it lives in the granting region's Redis (any of its
//!   instances answers alike).
//! - **Takeover** (`takeover`): the successor of a region (first of
//!   `owners.successors`) whose own grant ran out votes for itself, asks the others;
//!   with a majority of votes it commits each session it holds a copy of from that
//!   region at the next ownership epoch, homed here (deadlines armed here), within
//!   its votes' hold, then tells every region (`taken`) where its log holds the
//!   takeover. The lost region gets no lease again until it has applied that much of
//!   the successor's log (it then holds the higher epochs and has given the sessions
//!   up, reporting the writes that were superseded).
//!
//! Safety: a takeover needs a majority of votes, each given only after that voter's
//! last grant plus margin ran out, so no majority can still vouch for the old home:
//! its lease ran out before (clock rates may differ by less than the margin). Two
//! regions never commit at one epoch: the old home commits at `e` only with its lease,
//! the successor at `e + 1` only after it ran out.
//!
//! Must not: route requests (the gateway does) or write sessions other than through
//! the service.

mod lease;
mod node;
mod takeover;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use node::{
    DrainAsk, LeaseAsk, LeaseReply, Owners, Taken, View, VoteAsk, VoteReply, DRAIN_PATH,
    LEASE_PATH, TAKEN_PATH, VOTE_PATH,
};

/// Starts the lease loop and the successor's watch (failover on only).
pub fn start(o: &Arc<Owners>, tasks: &TaskTracker, stop: &CancellationToken) {
    if !o.cfg.failover {
        return;
    }
    tasks.spawn(lease::run(o.clone(), stop.clone()));
    tasks.spawn(takeover::run(o.clone(), stop.clone()));
}
