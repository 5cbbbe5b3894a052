//! Fencing and takeover with `owners.failover` on (lease 1.5 s, margin 0.5 s;
//! successors: the next region, so `iad` → `lhr`):
//!
//! - `iad` cut off from everyone: within a lease it refuses its own writes (503,
//!   fenced); `lhr` takes its sessions over at epoch 1 and writes through `nrt` are
//!   served again (by `lhr`); a running session's deadline fires in `lhr`; after the
//!   heal `iad` holds the higher epoch too (it gave the sessions up), the writes it
//!   acknowledged while cut off are exactly the superseded versions the checker finds
//!   (and its metric counts), and it commits again (a new session, homed in `iad`);
//! - a partial partition (`lhr`, the successor, cannot reach `iad`; `nrt` can) causes
//!   no takeover: `iad` keeps its lease and its sessions, `lhr`'s writes are 503.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{chains, everywhere, switch};
use crate::support::regions::{Setup, World};
use crate::support::server::session_body_with;

pub fn failover_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SYNCKAIROS_OWNERS__FAILOVER", "true"),
        ("SYNCKAIROS_OWNERS__LEASE_MS", "1500"),
        ("SYNCKAIROS_OWNERS__MARGIN_MS", "500"),
        ("SYNCKAIROS_OWNERS__VOTE_HOLD_MS", "15000"),
    ]
}

/// Creates a session homed in `home` with `budgets` once the region holds its lease.
pub async fn create_when_leased(w: &World, home: &str, budgets: &[u64]) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let id = crate::support::server::uuid();
        let body = session_body_with(&id, budgets, json!({}));
        let r = w.http(home).post_json("/v1/sessions", &body).await;
        if r.status == 201 {
            return id;
        }
        assert!(
            r.status == 503 && Instant::now() < end,
            "create in {home}: {} {}",
            r.status,
            r.text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Switches through `via` until one is acknowledged; how long that took.
pub async fn until_served(w: &World, via: &str, id: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if switch(w, via, id).await.is_ok() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{id}: no write served through {via} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_cut_off_fences_its_sessions_are_taken_over_and_it_gives_up_on_return() {
    let w = World::start_with(Setup {
        env: failover_env(),
        ..Setup::default()
    })
    .await;
    let a = create_when_leased(&w, "iad", &[600_000, 600_000]).await;
    // Runs out 9 s after its start: after the takeover, so the deadline fires in lhr.
    let b = create_when_leased(&w, "iad", &[9_000, 600_000]).await;
    for id in [&a, &b] {
        w.op("iad", id, "start").await.expect(200);
    }
    switch(&w, "nrt", &a).await.expect("switch");
    let ids = vec![a.clone(), b.clone()];
    w.converge(&ids, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    w.partition("iad");
    let cut = Instant::now();
    // iad's own writes: acknowledged until its lease runs out, then 503 (fenced).
    let mut acked_in_iad = Vec::new();
    let fenced_after = loop {
        let r = w.op("iad", &a, "switch").await;
        match r.status {
            200 => acked_in_iad.push(r.data()["version"].as_u64().expect("version")),
            503 => break cut.elapsed(),
            s => panic!("iad's own write while cut off: {s} {}", r.text()),
        }
        assert!(
            cut.elapsed() < Duration::from_secs(3),
            "iad never fenced itself"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "iad fenced {fenced_after:?} after the cut; acknowledged meanwhile: {acked_in_iad:?}"
    );
    let served = until_served(&w, "nrt", &a, Duration::from_secs(15)).await;
    eprintln!("writes served again {:?} after the cut", cut.elapsed());
    let _ = served;
    everywhere_but(&w, &a, "iad", "lhr", 1).await;
    // b's deadline fires in lhr, its new home.
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let s = w.get("nrt", &b).await.expect(200).data();
        if s["participants"][0]["has_expired"] == true {
            break;
        }
        assert!(
            Instant::now() < end,
            "b's deadline never fired after the takeover: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    w.heal("iad");
    everywhere(&w, &a, "lhr", 1, Duration::from_secs(15)).await;
    everywhere(&w, &b, "lhr", 1, Duration::from_secs(15)).await;
    // iad commits again once it has applied the takeover.
    let c = create_when_leased(&w, "iad", &[600_000]).await;
    w.op("iad", &c, "start").await.expect(200);
    switch(&w, "lhr", &a)
        .await
        .expect("a switch after the heal");
    let mut all = ids.clone();
    all.push(c.clone());
    w.converge(&all, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let chains = chains(&w, &all).await;
    let superseded: Vec<u64> = chains
        .superseded
        .iter()
        .filter(|(id, _)| *id == a)
        .map(|(_, v)| *v)
        .collect();
    // What iad acknowledged while cut off and lhr never saw: superseded, not merged.
    assert_eq!(superseded, acked_in_iad, "superseded versions of a");
    let reported =
        crate::support::relay::metric(w.http("iad"), "synckairos_superseded_writes_total", &[])
            .await;
    assert_eq!(
        reported as usize,
        acked_in_iad.len(),
        "superseded writes reported by iad"
    );
    w.assert_healthy();
}

/// Waits until every region but `except` names `home` at `epoch` for `id`.
async fn everywhere_but(w: &World, id: &str, except: &str, home: &str, epoch: u32) {
    let end = Instant::now() + Duration::from_secs(15);
    for r in crate::support::regions::REGIONS
        .iter()
        .filter(|r| **r != except)
    {
        loop {
            let s = w
                .region(r)
                .bytes(id)
                .map(|b| synckairos::store::decode_state(&id.into(), &b).expect("state"));
            if s.is_some_and(|s| s.home_region.as_str() == home && s.epoch == epoch) {
                break;
            }
            assert!(
                Instant::now() < end,
                "{r}: {id} not taken over: {}",
                w.describe(&[id])
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_partition_causes_no_takeover() {
    let w = World::start_with(Setup {
        env: failover_env(),
        ..Setup::default()
    })
    .await;
    let a = create_when_leased(&w, "iad", &[600_000, 600_000]).await;
    w.op("iad", &a, "start").await.expect(200);
    w.converge(&[&a], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // lhr (iad's successor) and iad cannot reach each other; nrt reaches both.
    w.cut("lhr", "iad");
    w.cut("iad", "lhr");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(6) {
        switch(&w, "iad", &a).await.expect("iad keeps its lease");
        switch(&w, "nrt", &a).await.expect("nrt reaches iad");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = w.op("lhr", &a, "switch").await;
    assert_eq!(r.status, 503, "lhr cannot reach the home: {}", r.text());
    w.mend("lhr", "iad");
    w.mend("iad", "lhr");
    everywhere(&w, &a, "iad", 0, Duration::from_secs(10)).await;
    w.converge(&[&a], Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let c = chains(&w, std::slice::from_ref(&a)).await;
    assert!(c.superseded.is_empty());
    assert!(c.commits[&a]
        .iter()
        .all(|c| c.writer == "iad" && c.epoch == 0));
    w.assert_healthy();
}
