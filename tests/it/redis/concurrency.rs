//! Concurrent writes through three instances sharing one Redis (CONTRACT.md §1.8 as
//! fixed by the decisions: every write is an atomic compare-and-set on `version`).
//! 24 switches released at once, 8 per instance: the 200s carry contiguous, distinct
//! versions, the stored version is 2 + their number, the participants' `cycle_count`
//! sum equals it too (no lost update), every loser is a 409 `CONFLICT` with versions in
//! `details`, and watchers on all three instances see strictly increasing versions
//! ending at the stored one. Then the same 24 writers retry until each succeeds once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::redis::{cycle_sum, drain, version_of, Cluster};
use crate::support::server::check_switch_shape;
use crate::support::ws::WsClient;
use serde_json::Value;
use tokio::sync::Barrier;

const WRITERS: usize = 24;

/// Releases one switch per writer at once (writer `w` uses instance `w % 3`); with
/// `retry`, each writer repeats after a 409 until it gets a 200. Returns every
/// response's status and body.
async fn burst(c: &Arc<Cluster>, id: &str, retry: bool) -> Vec<(u16, Value)> {
    let barrier = Arc::new(Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (c, id, barrier) = (c.clone(), id.to_owned(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let http = c.nodes[w % 3].http.clone();
            let path = format!("/v1/sessions/{id}/switch");
            barrier.wait().await;
            let mut seen = Vec::new();
            for _ in 0..200 {
                let r = http.post_empty(&path).await;
                let done = r.status != 409 || !retry;
                seen.push((r.status, r.json()));
                if done {
                    break;
                }
            }
            seen
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("writer task"));
    }
    all
}

/// Checks the responses of a burst that started at stored version `base`; returns
/// the number of 200s.
fn check_burst(all: &[(u16, Value)], base: u64) -> u64 {
    let mut versions = BTreeSet::new();
    for (status, body) in all {
        match status {
            200 => {
                check_switch_shape(&body["data"]);
                let v = body["data"]["version"].as_u64().expect("version");
                assert!(versions.insert(v), "version {v} acknowledged twice");
            }
            409 => {
                assert_eq!(body["error"]["code"], "CONFLICT", "{body}");
                let d = &body["error"]["details"];
                let (e, a) = (d["expected_version"].as_u64(), d["actual_version"].as_u64());
                assert!(e.is_some() && a.is_some() && e < a, "{body}");
            }
            s => panic!("unexpected status {s}: {body}"),
        }
    }
    let ok = versions.len() as u64;
    let want: BTreeSet<u64> = (base + 1..=base + ok).collect();
    assert_eq!(versions, want, "acknowledged versions must be contiguous");
    ok
}

/// Strictly increasing state versions in everything a watcher received, ending at
/// `last`.
async fn check_watcher(w: &mut WsClient, last: u64) {
    let mut prev = 0;
    let end = tokio::time::Instant::now() + Duration::from_secs(3);
    while prev < last {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        assert!(!left.is_zero(), "watcher stuck at version {prev} < {last}");
        let m = w.next_json(left).await;
        if m["type"] != "STATE_UPDATE" {
            continue;
        }
        let v = version_of(&m);
        assert!(
            v > prev,
            "version {v} after {prev}: out of order or duplicated"
        );
        prev = v;
    }
    let (extra, _) = drain(w, Duration::from_millis(100)).await;
    assert!(extra.is_empty(), "after the last version: {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_switches_over_three_instances_lose_nothing() {
    let c = Arc::new(Cluster::start(
        3,
        &[("SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND", "0")],
    ));
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    let mut watchers = Vec::new();
    for i in 0..3 {
        watchers.push(c.node(i).watch(&id).await);
    }
    c.op(1, &id, "start").await.expect(200);

    // One shot each: some win, the rest get 409.
    let all = burst(&c, &id, false).await;
    assert_eq!(all.len(), WRITERS);
    let ok = check_burst(&all, 2);
    assert!(ok >= 1, "at least one switch must win");
    let stored = c.get(2, &id).await.expect(200).data();
    assert_eq!(stored["version"], 2 + ok, "stored version");
    assert_eq!(cycle_sum(&stored), ok, "cycle_count sum == number of 200s");
    for w in watchers.iter_mut() {
        check_watcher(w, 2 + ok).await;
    }

    // Retrying after 409: all 24 land, still contiguous and countable.
    let all = burst(&c, &id, true).await;
    let ok2 = check_burst(&all, 2 + ok);
    assert_eq!(ok2, WRITERS as u64, "every writer succeeds once");
    let stored = c.get(0, &id).await.expect(200).data();
    assert_eq!(stored["version"], 2 + ok + ok2);
    assert_eq!(cycle_sum(&stored), ok + ok2);
    for w in watchers.iter_mut() {
        check_watcher(w, 2 + ok + ok2).await;
    }
    eprintln!(
        "first burst: {ok}/{WRITERS} won; retry burst: {} requests for {WRITERS} wins",
        all.len()
    );
    c.assert_healthy();
}
