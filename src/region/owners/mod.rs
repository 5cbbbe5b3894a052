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
mod takeover;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::cluster::Cluster;
use crate::config::OwnersConfig;
use crate::domain::RegionId;
use crate::service::Sessions;
use crate::store::{keys, scripts};

/// POST `LeaseAsk` → `LeaseReply`.
pub const LEASE_PATH: &str = "/internal/v1/owners/lease";
/// POST `VoteAsk` → `VoteReply`.
pub const VOTE_PATH: &str = "/internal/v1/owners/vote";
/// POST `Taken` → `VoteReply` (acknowledged).
pub const TAKEN_PATH: &str = "/internal/v1/owners/taken";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseAsk {
    pub from: RegionId,
    /// The position the asker applied of each other region's log.
    pub applied: Vec<(RegionId, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseReply {
    pub granted: bool,
    /// Why not (`voted`, `taken`).
    pub why: Option<String>,
    /// The takeover the asker must apply first (`"<successor>:<seq>"`).
    pub taken: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteAsk {
    /// The region to take over.
    pub target: RegionId,
    /// Who asks (the successor).
    pub by: RegionId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteReply {
    pub granted: bool,
}

/// A finished takeover: `of`'s sessions are `by`'s, whose log holds them up to `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taken {
    pub of: RegionId,
    pub by: RegionId,
    pub seq: u64,
}

/// What this instance last saw of the cluster (for `synckairos region status`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct View {
    /// Whether this region holds its ownership lease (always true without failover).
    pub leased: bool,
    /// Milliseconds of lease left when last renewed.
    pub lease_left_ms: u64,
    /// Per other region: whether it granted our last lease ask, and why not.
    pub grants: BTreeMap<String, String>,
    /// Takeovers this instance ran: region → sessions taken over.
    pub takeovers: BTreeMap<String, u64>,
}

pub struct Owners {
    pub cfg: OwnersConfig,
    pub cluster: Arc<Cluster>,
    conn: ConnectionManager,
    sessions: Arc<Sessions>,
    started: Instant,
    view: Mutex<View>,
}

impl Owners {
    pub fn new(
        cfg: &OwnersConfig,
        cluster: Arc<Cluster>,
        conn: ConnectionManager,
        sessions: Arc<Sessions>,
    ) -> Arc<Owners> {
        Arc::new(Owners {
            cfg: cfg.clone(),
            cluster,
            conn,
            sessions,
            started: Instant::now(),
            view: Mutex::new(View {
                leased: !cfg.failover,
                ..View::default()
            }),
        })
    }

    /// Starts the lease loop and the successor's watch (failover on only).
    pub fn start(self: &Arc<Self>, tasks: &TaskTracker, stop: &CancellationToken) {
        if !self.cfg.failover {
            return;
        }
        tasks.spawn(lease::run(self.clone(), stop.clone()));
        tasks.spawn(takeover::run(self.clone(), stop.clone()));
    }

    /// A majority of the cluster's regions.
    fn majority(&self) -> usize {
        self.cluster.regions.len() / 2 + 1
    }

    fn lease_ms(&self) -> u64 {
        self.cfg.lease_ms.max(100)
    }

    fn every(&self) -> Duration {
        Duration::from_millis(self.lease_ms() / 4)
    }

    /// The region whose sessions this region takes over when it is lost.
    fn successor_of(&self, region: &RegionId) -> Option<RegionId> {
        let regions: Vec<String> = self.cluster.regions.iter().map(|r| r.to_string()).collect();
        self.cfg.successor(region, &regions).map(RegionId::from)
    }

    pub fn view(&self) -> View {
        self.view.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut View)) {
        f(&mut self.view.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Serves another region's lease ask.
    pub async fn grant(&self, ask: &LeaseAsk) -> LeaseReply {
        let mut c = self.conn.clone();
        let taken: Option<String> = redis::cmd("GET")
            .arg(keys::owner_taken(&ask.from))
            .query_async(&mut c)
            .await
            .unwrap_or(None);
        let applied = taken
            .as_deref()
            .and_then(|t| t.split_once(':'))
            .and_then(|(by, _)| ask.applied.iter().find(|(r, _)| r.as_str() == by))
            .map(|(_, seq)| seq.to_string())
            .unwrap_or_default();
        let hold = self.lease_ms() + self.cfg.margin_ms;
        let reply: redis::RedisResult<(i64, Option<String>, Option<String>)> =
            scripts::owner_grant()
                .key(keys::owner_granted(&ask.from))
                .key(keys::owner_voted(&ask.from))
                .key(keys::owner_taken(&ask.from))
                .arg(hold)
                .arg(applied)
                .invoke_async(&mut c)
                .await;
        match reply {
            Ok((1, _, _)) => LeaseReply {
                granted: true,
                why: None,
                taken: None,
            },
            Ok((_, why, taken)) => LeaseReply {
                granted: false,
                why,
                taken: taken.filter(|t| !t.is_empty()),
            },
            Err(e) => LeaseReply {
                granted: false,
                why: Some(format!("redis: {e}")),
                taken: None,
            },
        }
    }

    /// Votes (here) for a takeover of `target` by `by`.
    pub async fn vote(&self, target: &RegionId, by: &RegionId) -> bool {
        if *target == self.cluster.region {
            return false;
        }
        let mut c = self.conn.clone();
        let voted: redis::RedisResult<i64> = scripts::owner_vote()
            .key(keys::owner_granted(target))
            .key(keys::owner_voted(target))
            .arg(self.cfg.vote_hold_ms)
            .arg(by.as_str())
            .invoke_async(&mut c)
            .await;
        matches!(voted, Ok(1))
    }

    /// Records another region's finished takeover.
    pub async fn taken(&self, t: &Taken) {
        let mut c = self.conn.clone();
        let _: redis::RedisResult<()> = redis::cmd("SET")
            .arg(keys::owner_taken(&t.of))
            .arg(format!("{}:{}", t.by, t.seq))
            .query_async(&mut c)
            .await;
        tracing::warn!(of = %t.of, by = %t.by, seq = t.seq, "a region's sessions were taken over");
    }
}
