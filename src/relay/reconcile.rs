//! Reconciliation with one home region, from the home's index of its sessions and the
//! copy of that index kept here (`store::index`): compare the summaries, then the
//! bucket digests, then the entries of the buckets that differ, and move full states
//! in pages (by bucket where this region holds none of it, else by id), several in
//! flight, each applied with one local pipeline. The cost of a comparison that finds
//! nothing is one small request; a flushed region moves bytes, not round trips.
//!
//! - `catch_up` (authoritative): while the follower is not applying the home's log;
//!   makes the copies here equal to the home's states and returns the snapshot whose
//!   position the follower resumes from. After a fresh start, a gap, a rollback, a stall.
//! - `check` (newer wins): periodic, concurrent with the relay; compares summaries
//!   taken at the same position of the log, so a busy home is not mistaken for a
//!   difference, and repairs only what is really behind.
//!
//! Must not: apply the home's log (the follower does) or write sessions homed here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use super::context::RelayContext;
use super::error::RelayError;
use crate::domain::{RegionId, SessionId};
use crate::region::precedence::{copy_behind, Authority};
use crate::region::sync_wire::{
    BucketDigests, Entries, EntriesRequest, StatesPage, StatesRequest, Summary, BUCKETS_PATH,
    ENTRIES_PATH, STATES_PATH, SUMMARY_PATH,
};
use crate::region::wire;
use crate::store::index::{self, Entry};

/// One request of a reconciliation must be answered within this.
const TIMEOUT: Duration = Duration::from_secs(15);
/// State requests in flight at once.
const IN_FLIGHT: usize = 4;
/// Buckets per states request where this region holds none of them (the home stops
/// at its page size and the rest is asked again), and per entries request.
const BUCKETS_PER_PAGE: usize = 256;
const BUCKETS_PER_REQUEST: usize = 64;
const IDS_PER_REQUEST: usize = 1000;
/// How long a check waits for the relay to reach the home's position, and how often
/// it asks again when the home moved on meanwhile.
const SETTLE: Duration = Duration::from_secs(1);
const ATTEMPTS: usize = 3;

/// What one check or catch-up compared and did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CheckReport {
    /// Buckets whose digests differed.
    pub buckets: usize,
    /// Sessions whose entries or states were compared.
    pub compared: usize,
    pub repaired: usize,
    pub dropped: usize,
}

/// How a periodic check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The digests at the same position were equal.
    Equal,
    /// Buckets were compared and what differed was repaired; `exact`: the summaries
    /// were taken at the same position, so the difference was real.
    Repaired { report: CheckReport, exact: bool },
    /// No comparison at one position was possible (the home kept moving, or the relay
    /// lags behind it): nothing was compared.
    Busy,
}

async fn home_summary(r: &RelayContext, home: &RegionId) -> Result<Summary, RelayError> {
    Ok(r.cluster.sync(home, SUMMARY_PATH, None, TIMEOUT).await?)
}

/// The periodic comparison; `buckets`: compare bucket by bucket even if no exact
/// comparison of the summaries was possible.
pub async fn check(
    r: &Arc<RelayContext>,
    home: &RegionId,
    buckets: bool,
) -> Result<Checked, RelayError> {
    let mut differs = buckets;
    let mut exact = false;
    'attempts: for _ in 0..ATTEMPTS {
        let theirs = home_summary(r, home).await?;
        let until = Instant::now() + SETTLE;
        let ours = loop {
            let ours = index::copies_summary(&r.conn, home)
                .await
                .map_err(RelayError::redis("read the local digest"))?;
            if ours.seq >= theirs.seq || Instant::now() >= until {
                break ours;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if ours.seq == theirs.seq {
            if (ours.total, ours.count) == (theirs.total, theirs.count) {
                return Ok(Checked::Equal);
            }
            differs = true;
            exact = true;
            break 'attempts;
        }
        if ours.seq < theirs.seq {
            break 'attempts; // the relay lags; the follower watches that
        }
    }
    if !differs {
        return Ok(Checked::Busy);
    }
    let report = repair(r, home, Authority::Newer).await?;
    Ok(Checked::Repaired { report, exact })
}

/// Makes the copies here of `home`'s sessions equal to the home's states; returns the
/// home's summary taken first (resume its log from `seq`).
pub async fn catch_up(
    r: &Arc<RelayContext>,
    home: &RegionId,
) -> Result<(Summary, CheckReport), RelayError> {
    let snapshot = home_summary(r, home).await?;
    let report = repair(r, home, Authority::Home).await?;
    Ok((snapshot, report))
}

async fn repair(
    r: &Arc<RelayContext>,
    home: &RegionId,
    authority: Authority,
) -> Result<CheckReport, RelayError> {
    let theirs: BucketDigests = r.cluster.sync(home, BUCKETS_PATH, None, TIMEOUT).await?;
    let theirs: BTreeMap<u32, u64> = theirs.digests.into_iter().collect();
    let ours = index::bucket_digests(&r.conn, home)
        .await
        .map_err(RelayError::redis("read local bucket digests"))?;
    let mut none_here = Vec::new();
    let mut both = Vec::new();
    for b in theirs
        .keys()
        .chain(ours.keys().filter(|b| !theirs.contains_key(b)))
    {
        if theirs.get(b) != ours.get(b) {
            if ours.contains_key(b) {
                both.push(*b);
            } else {
                none_here.push(*b);
            }
        }
    }
    let mut report = CheckReport {
        buckets: none_here.len() + both.len(),
        ..CheckReport::default()
    };
    let mut asks: VecDeque<StatesRequest> = none_here
        .chunks(BUCKETS_PER_PAGE)
        .map(|c| StatesRequest {
            buckets: c.to_vec(),
            ids: Vec::new(),
        })
        .collect();
    let mut wanted = Vec::new();
    for chunk in both.chunks(BUCKETS_PER_REQUEST) {
        report.compared += differing_ids(r, home, chunk, authority, &mut wanted).await?;
    }
    asks.extend(wanted.chunks(IDS_PER_REQUEST).map(|c| StatesRequest {
        buckets: Vec::new(),
        ids: c.to_vec(),
    }));
    let mut running = FuturesUnordered::new();
    while !asks.is_empty() || !running.is_empty() {
        while running.len() < IN_FLIGHT {
            let Some(ask) = asks.pop_front() else { break };
            running.push(fetch_and_apply(r, home, ask, authority));
        }
        let Some(done) = running.next().await else {
            break;
        };
        let (rest, applied, received, by_bucket) = done?;
        if by_bucket {
            report.compared += received;
        }
        report.repaired += applied.repaired;
        report.dropped += applied.dropped;
        if !rest.buckets.is_empty() || !rest.ids.is_empty() {
            asks.push_back(rest);
        }
    }
    Ok(report)
}

/// Compares the entries of `buckets` here and at the home; pushes the ids whose state
/// must be fetched (behind here, or here but not at the home: the fetch confirms).
async fn differing_ids(
    r: &RelayContext,
    home: &RegionId,
    buckets: &[u32],
    authority: Authority,
    wanted: &mut Vec<SessionId>,
) -> Result<usize, RelayError> {
    let req = EntriesRequest {
        buckets: buckets.to_vec(),
    };
    let theirs: Entries = r
        .cluster
        .sync(home, ENTRIES_PATH, Some(wire::encode(&req)), TIMEOUT)
        .await?;
    let mut ours: HashMap<SessionId, Entry> = index::entries(&r.conn, home, buckets)
        .await
        .map_err(RelayError::redis("read local index entries"))?
        .into_iter()
        .flat_map(|(_, es)| es)
        .collect();
    let mut compared = 0;
    for (id, version, created_at, content, epoch) in theirs.entries {
        compared += 1;
        let theirs = Entry {
            version,
            created_at,
            content,
            epoch,
        };
        if copy_behind(&theirs, ours.remove(&id).as_ref(), authority) {
            wanted.push(id);
        }
    }
    compared += ours.len();
    wanted.extend(ours.into_keys());
    Ok(compared)
}

/// One states request and the repair of what it brought; returns what is left to ask
/// for, what changed, how many states came and whether it asked by bucket.
async fn fetch_and_apply(
    r: &RelayContext,
    home: &RegionId,
    ask: StatesRequest,
    authority: Authority,
) -> Result<(StatesRequest, super::copies::Applied, usize, bool), RelayError> {
    let page: StatesPage = r
        .cluster
        .sync(home, STATES_PATH, Some(wire::encode(&ask)), TIMEOUT)
        .await?;
    if page.ids_done == 0 && page.buckets_done.is_empty() {
        return Err(RelayError::Ended {
            home: home.clone(),
            why: "a reconciliation page made no progress",
        });
    }
    let rest = StatesRequest {
        ids: ask.ids.get(page.ids_done..).unwrap_or_default().to_vec(),
        buckets: ask
            .buckets
            .iter()
            .copied()
            .filter(|b| !page.buckets_done.contains(b))
            .collect(),
    };
    let received = page.states.len();
    let states = page
        .states
        .into_iter()
        .map(|(id, b)| (id, b.map(|b| b.into_vec())))
        .collect();
    let applied = r.copies.offer_page(home, states, authority).await?;
    Ok((rest, applied, received, !ask.buckets.is_empty()))
}
