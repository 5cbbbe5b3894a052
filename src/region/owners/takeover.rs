//! The successor's side: every `lease_ms / 4`, for each region this one succeeds,
//! check whether this region's own lease grant to it ran out (and this instance has
//! been up longer than a lease and its margin, so that a live region had time to
//! ask); then vote for its takeover here, ask the other regions for theirs, and with a
//! majority take its sessions over (`Sessions::move_home`, `Move::TakeOver`) from the
//! copies held here, within the votes' hold. One instance of the region at a time
//! (a Redis lock).
//!
//! Must not: take anything over without a majority of votes, or after they lapse.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use super::{Owners, Taken, VoteAsk, VoteReply, TAKEN_PATH, VOTE_PATH};
use crate::domain::{Move, RegionId, SessionId};
use crate::metrics;
use crate::region::wire;
use crate::service::ServiceError;
use crate::store::{index, keys};

pub async fn run(o: Arc<Owners>, stop: CancellationToken) {
    let wait = Duration::from_millis(o.lease_ms() + o.cfg.margin_ms);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(o.every()) => {}
            _ = stop.cancelled() => return,
        }
        if o.started.elapsed() < wait {
            continue;
        }
        let lost: Vec<RegionId> = o
            .cluster
            .others()
            .filter(|r| o.successor_of(r).as_ref() == Some(&o.cluster.region))
            .cloned()
            .collect();
        for home in lost {
            if let Err(e) = watch(&o, &home).await {
                tracing::warn!(%home, error = %e, "takeover check failed");
            }
        }
    }
}

async fn exists(o: &Owners, key: &str) -> redis::RedisResult<bool> {
    let mut c = o.conn.clone();
    redis::cmd("EXISTS").arg(key).query_async(&mut c).await
}

/// One check of `home`; takes it over when a majority agrees.
async fn watch(o: &Owners, home: &RegionId) -> redis::RedisResult<()> {
    if exists(o, &keys::owner_granted(home)).await? {
        return Ok(()); // still vouched for by this region
    }
    let ids = sessions_of(o, home).await?;
    let mut c = o.conn.clone();
    let hold = o.cfg.vote_hold_ms;
    let locked: Option<String> = redis::cmd("SET")
        .arg(keys::owner_takeover_lock(home))
        .arg(o.cluster.region.as_str())
        .arg("NX")
        .arg("PX")
        .arg(hold)
        .query_async(&mut c)
        .await?;
    if locked.is_none() {
        return Ok(()); // another instance of this region is on it, or did it lately
    }
    if ids.is_empty() {
        // Nothing (left) to take over: tell the regions again where a finished
        // takeover is (a notice may have been lost), once per hold.
        if let Some(seq) = o.own_takeover(home).await {
            let here = o.cluster.region.clone();
            tell(
                o,
                home,
                &Taken {
                    of: home.clone(),
                    by: here,
                    seq,
                },
            )
            .await;
        }
        return Ok(());
    }
    let voted_at = Instant::now();
    let here = o.cluster.region.clone();
    if !o.vote(home, &here).await {
        release(o, home).await; // a grant still runs here after all
        return Ok(());
    }
    let ask = wire::encode(&VoteAsk {
        target: home.clone(),
        by: here.clone(),
    });
    let timeout = Duration::from_millis(o.lease_ms() / 2);
    let asks = o.cluster.others().filter(|r| *r != home).map(|r| {
        let body = ask.clone();
        async move {
            o.cluster
                .sync::<VoteReply>(r, VOTE_PATH, Some(body), timeout)
                .await
                .is_ok_and(|v| v.granted)
        }
    });
    let votes = 1 + join_all(asks).await.into_iter().filter(|v| *v).count();
    if votes < o.majority() {
        tracing::info!(%home, votes, "no majority for a takeover (the region is heard elsewhere)");
        // Give up: this region's vote, and the pending record wherever a vote left one.
        let off = Taken {
            of: home.clone(),
            by: here.clone(),
            seq: 0,
        };
        o.taken(&off).await;
        tell(o, home, &off).await;
        release(o, home).await;
        return Ok(());
    }
    // Commits end well within the votes' hold (minus the margin for clock rates).
    let until = voted_at + Duration::from_millis(hold.saturating_sub(2 * o.cfg.margin_ms));
    tracing::warn!(%home, sessions = ids.len(), votes, "taking over a lost region's sessions");
    let mut moved = 0u64;
    for id in &ids {
        if Instant::now() >= until {
            tracing::error!(%home, moved, "takeover stopped: the votes' hold is running out");
            break;
        }
        match o
            .sessions
            .move_home(id, home, &here, Move::TakeOver, None)
            .await
        {
            Ok(_) => {
                moved += 1;
                metrics::ownership_moved("takeover");
            }
            Err(ServiceError::RemoteHome(_) | ServiceError::NotFound(_)) => {}
            Err(e) => {
                tracing::warn!(%home, session = %id, error = %crate::cause::chain(&e), "could not take a session over")
            }
        }
    }
    metrics::takeover(home);
    o.update(|v| *v.takeovers.entry(home.to_string()).or_default() += moved);
    let seq: Option<u64> = redis::cmd("GET")
        .arg(keys::SEQUENCE)
        .query_async(&mut c)
        .await?;
    let taken = Taken {
        of: home.clone(),
        by: here.clone(),
        seq: seq.unwrap_or(0),
    };
    o.taken(&taken).await;
    tell(o, home, &taken).await;
    tracing::warn!(%home, moved, seq = taken.seq, ms = voted_at.elapsed().as_millis() as u64, "takeover done");
    Ok(())
}

/// Tells every region but the lost one about a takeover (finished, or given up).
async fn tell(o: &Owners, home: &RegionId, t: &Taken) {
    let body = wire::encode(t);
    let timeout = Duration::from_millis(o.lease_ms() / 2);
    let tells = o.cluster.others().filter(|r| *r != home).map(|r| {
        let body = body.clone();
        async move {
            if let Err(e) = o
                .cluster
                .sync::<VoteReply>(r, TAKEN_PATH, Some(body), timeout)
                .await
            {
                tracing::warn!(region = %r, error = %e, "could not tell a region about a takeover");
            }
        }
    });
    join_all(tells).await;
}

/// Gives up an attempt that ran no takeover: the lock and this region's own vote (only
/// this region's successor role ever votes on `home` here).
async fn release(o: &Owners, home: &RegionId) {
    let mut c = o.conn.clone();
    let _: redis::RedisResult<()> = redis::cmd("DEL")
        .arg(keys::owner_takeover_lock(home))
        .arg(keys::owner_voted(home))
        .query_async(&mut c)
        .await;
}

/// The sessions homed in `home` that this region holds copies of (its index of them).
async fn sessions_of(o: &Owners, home: &RegionId) -> redis::RedisResult<Vec<SessionId>> {
    index::ids_of(&o.conn, home).await
}
