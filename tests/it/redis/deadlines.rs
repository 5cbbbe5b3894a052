//! Server-side deadlines with three instances sharing one Redis (ARCHITECTURE.md,
//! Scheduler): a participant's clock running out is committed once (one version bump)
//! and pushed once: every watcher, on every instance, gets exactly one `TIME_EXPIRED`
//! per expiry, at the exact `expiredAt` = cycle start + budget. The deadline still
//! fires (once) when the instance that created, started and switched the session is
//! SIGKILLed before it, and when a claimer died holding the lease (emulated by moving
//! the index entry to the end of a lease, as the claim script does).

use crate::support::procs::Redis;
use crate::support::redis::{drain, metric, now_ms, until, Cluster};
use crate::support::server::{iso_ms, pid};
use crate::support::ws::WsClient;
use serde_json::Value;

/// How long after a deadline the watchers keep listening for (duplicate) expiries.
const MARGIN_MS: i64 = 700;

/// Everything a watcher receives until epoch ms `end`; returns the `TIME_EXPIRED`
/// messages and the highest state version seen.
async fn expiries(w: &mut WsClient, end: i64) -> (Vec<Value>, u64) {
    let (msgs, close) = drain(w, until(end)).await;
    assert!(close.is_none(), "watcher closed: {close:?}");
    let top = msgs
        .iter()
        .filter_map(|m| m["state"]["version"].as_u64())
        .max()
        .unwrap_or(0);
    let expired = msgs
        .into_iter()
        .filter(|m| m["type"] == "TIME_EXPIRED")
        .collect();
    (expired, top)
}

/// Exactly one `TIME_EXPIRED` for participant `who` at `at`, committed as `version`.
#[track_caller]
fn assert_one_expiry(got: &[Value], who: &str, at: i64, version: u64) {
    assert_eq!(got.len(), 1, "exactly one TIME_EXPIRED, got {got:?}");
    let m = &got[0];
    assert_eq!(m["participantId"], who, "{m}");
    assert_eq!(m["expiredAt"].as_i64(), Some(at), "{m}");
    assert_eq!(m["version"], version, "{m}");
    assert_eq!(m["action"], "continue", "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_fire_once_across_three_instances() {
    let c = Cluster::start(3, &[]);
    // Six sessions created and started through different instances, one watcher per
    // instance each; budgets 1.0 s .. 1.5 s for the first participant.
    let mut sessions = Vec::new();
    for k in 0..6u64 {
        let budget = 1000 + 100 * k;
        let (id, _) = c.create(k as usize % 3, &[budget, 60_000]).await;
        let mut ws = Vec::new();
        for i in 0..3 {
            ws.push(c.node(i).watch(&id).await);
        }
        let started = c
            .op((k as usize + 1) % 3, &id, "start")
            .await
            .expect(200)
            .data();
        let at = iso_ms(&started["cycle_started_at"]) + budget as i64;
        sessions.push((id, ws, at));
    }
    let end = sessions.iter().map(|s| s.2).max().unwrap() + MARGIN_MS;
    for (id, ws, at) in sessions.iter_mut() {
        for (i, w) in ws.iter_mut().enumerate() {
            let (got, top) = expiries(w, end).await;
            assert_one_expiry(&got, &pid(0), *at, 3);
            assert_eq!(top, 3, "session {id} watcher on instance {i}");
        }
        // One commit for the expiry, visible from every instance.
        for i in 0..3 {
            let s = c.get(i, id).await.expect(200).data();
            assert_eq!(s["version"], 3, "{s}");
            assert_eq!(s["participants"][0]["has_expired"], true);
            assert_eq!(s["participants"][0]["time_remaining_ms"], 0);
        }
    }
    // Each expiry was applied by exactly one instance.
    let mut fired = 0.0;
    for n in &c.nodes {
        fired += metric(n, "synckairos_deadlines_fired_total").await;
    }
    assert_eq!(
        fired,
        sessions.len() as f64,
        "deadlines fired over all instances"
    );
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_fires_once_after_the_scheduling_instance_is_killed() {
    let mut c = Cluster::start(3, &[]);
    let (id, _) = c.create(0, &[1000, 1500]).await;
    let mut ws = vec![
        c.node(0).watch(&id).await,
        c.node(1).watch(&id).await,
        c.node(2).watch(&id).await,
    ];
    // First deadline with all three instances up.
    let s = c.op(0, &id, "start").await.expect(200).data();
    let at = iso_ms(&s["cycle_started_at"]) + 1000;
    for w in ws.iter_mut() {
        let (got, _) = expiries(w, at + MARGIN_MS).await;
        assert_one_expiry(&got, &pid(0), at, 3);
    }
    // Instance 0 hands the turn over (so it indexed the next deadline and its own
    // scheduler is aimed at it), then dies well before that deadline.
    let s = c.op(0, &id, "switch").await.expect(200).data();
    assert_eq!(s["version"], 4);
    let at = iso_ms(&s["cycle_started_at"]) + 1500;
    c.nodes[0].proc.kill();
    assert!(
        now_ms() < at - 500,
        "instance 0 died well before the deadline"
    );
    ws.remove(0);
    for w in ws.iter_mut() {
        let (got, _) = expiries(w, at + MARGIN_MS).await;
        assert_one_expiry(&got, &pid(1), at, 5);
        let late = got[0]["timestamp"].as_i64().unwrap() - at;
        assert!(
            late < 500,
            "fired {late} ms late without its scheduling instance"
        );
    }
    for i in 1..3 {
        let s = c.get(i, &id).await.expect(200).data();
        assert_eq!(s["version"], 5);
        assert_eq!(s["participants"][1]["has_expired"], true);
    }
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_left_by_a_dead_claimer_runs_out_and_the_deadline_fires_once() {
    let redis = Redis::start();
    let c = Cluster::on(
        redis,
        3,
        &[("SYNCKAIROS_SESSIONS__DEADLINE_LEASE_MS", "600")],
    );
    let (id, _) = c.create(0, &[1000, 60_000]).await;
    let mut ws = [c.node(1).watch(&id).await, c.node(2).watch(&id).await];
    let s = c.op(0, &id, "start").await.expect(200).data();
    let at = iso_ms(&s["cycle_started_at"]) + 1000;
    // What claim.lua does for a claimer that then dies: the entry moves to the end of
    // its lease. (White-box: `dl` is the deadline index of src/store/keys.rs.)
    let lease_end = at + 600;
    let moved = c
        .redis
        .cli(&["ZADD", "dl", "XX", "CH", &lease_end.to_string(), &id]);
    assert_eq!(moved, "1", "the deadline index entry exists");
    for w in ws.iter_mut() {
        let (got, _) = expiries(w, lease_end + MARGIN_MS).await;
        assert_one_expiry(&got, &pid(0), at, 3);
        let sent = got[0]["timestamp"].as_i64().unwrap();
        assert!(
            sent >= lease_end,
            "fired at {sent}, before the lease ran out ({lease_end})"
        );
    }
    assert_eq!(c.get(1, &id).await.expect(200).data()["version"], 3);
    c.assert_healthy();
}
