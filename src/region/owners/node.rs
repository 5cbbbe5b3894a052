//! One region's part in ownership failover: its settings, its Redis, the service it
//! takes sessions over with, what it last saw (`View`), the wire shapes of leases,
//! votes and takeover notices, and the granting side (`grant`, `vote`, `taken`).
//!
//! Must not: run loops (`lease`, `takeover`) or route requests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

use crate::config::OwnersConfig;
use crate::domain::RegionId;
use crate::region::cluster::Cluster;
use crate::service::Sessions;
use crate::store::{keys, scripts};

/// POST `LeaseAsk` → `LeaseReply`.
pub const LEASE_PATH: &str = "/internal/v1/owners/lease";
/// POST `VoteAsk` → `VoteReply`.
pub const VOTE_PATH: &str = "/internal/v1/owners/vote";
/// POST `Taken` → `VoteReply` (acknowledged).
pub const TAKEN_PATH: &str = "/internal/v1/owners/taken";
/// POST `DrainAsk` → `VoteReply` (acknowledged).
pub const DRAIN_PATH: &str = "/internal/v1/owners/drain";

/// Drain (`on`) or return to service the receiving region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainAsk {
    pub on: bool,
}

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

/// The sequence of a pending takeover record: no applied position reaches it.
pub const PENDING: u64 = u64::MAX;

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
    pub(super) conn: ConnectionManager,
    pub(super) sessions: Arc<Sessions>,
    pub(super) started: Instant,
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

    /// A majority of the cluster's regions.
    pub(super) fn majority(&self) -> usize {
        self.cluster.regions.len() / 2 + 1
    }

    pub(super) fn lease_ms(&self) -> u64 {
        self.cfg.lease_ms.max(100)
    }

    pub(super) fn every(&self) -> Duration {
        Duration::from_millis(self.lease_ms() / 4)
    }

    /// The region whose sessions this region takes over when it is lost.
    pub(super) fn successor_of(&self, region: &RegionId) -> Option<RegionId> {
        let regions: Vec<String> = self.cluster.regions.iter().map(|r| r.to_string()).collect();
        self.cfg.successor(region, &regions).map(RegionId::from)
    }

    pub fn view(&self) -> View {
        self.view.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut View)) {
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
            .key(keys::owner_taken(target))
            .arg(self.cfg.vote_hold_ms)
            .arg(by.as_str())
            .invoke_async(&mut c)
            .await;
        matches!(voted, Ok(1))
    }

    /// Marks `region` drained (its new sessions are homed at its successor) or back in
    /// service: here, or by asking it.
    pub async fn set_drained(&self, region: &RegionId, on: bool) -> Result<(), String> {
        if *region != self.cluster.region {
            let ask = crate::region::wire::encode(&DrainAsk { on });
            return self
                .cluster
                .sync::<VoteReply>(region, DRAIN_PATH, Some(ask), self.cluster.timeout)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
        }
        let mut c = self.conn.clone();
        let mut cmd = if on {
            redis::cmd("SET")
        } else {
            redis::cmd("DEL")
        };
        cmd.arg(keys::OWNER_DRAINED);
        if on {
            cmd.arg("1");
        }
        cmd.query_async::<()>(&mut c)
            .await
            .map_err(|e| e.to_string())
    }

    /// Records a region's finished takeover (`seq` > 0: where the successor's log
    /// holds it), or clears the pending one its successor gave up (`seq` 0).
    pub async fn taken(&self, t: &Taken) {
        let mut c = self.conn.clone();
        let key = keys::owner_taken(&t.of);
        if t.seq == 0 {
            let cur: Option<String> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut c)
                .await
                .unwrap_or(None);
            if cur.is_some_and(|v| v == format!("{}:{PENDING}", t.by)) {
                let _: redis::RedisResult<()> =
                    redis::cmd("DEL").arg(&key).query_async(&mut c).await;
            }
            return;
        }
        let _: redis::RedisResult<()> = redis::cmd("SET")
            .arg(&key)
            .arg(format!("{}:{}", t.by, t.seq))
            .query_async(&mut c)
            .await;
        tracing::warn!(of = %t.of, by = %t.by, seq = t.seq, "a region's sessions were taken over");
    }

    /// This region's own record of a finished takeover of `of` (`Some(seq)`), if any.
    pub(super) async fn own_takeover(&self, of: &RegionId) -> Option<u64> {
        let mut c = self.conn.clone();
        let cur: Option<String> = redis::cmd("GET")
            .arg(keys::owner_taken(of))
            .query_async(&mut c)
            .await
            .unwrap_or(None);
        let (by, seq) = cur?
            .split_once(':')
            .map(|(b, s)| (b.to_owned(), s.to_owned()))?;
        let seq: u64 = seq.parse().ok()?;
        (by == self.cluster.region.as_str() && seq != PENDING && seq > 0).then_some(seq)
    }
}
