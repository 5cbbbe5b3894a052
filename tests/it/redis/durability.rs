//! Durability with `--appendonly yes --appendfsync always`: whatever a client was
//! told succeeded (a 200) survives a SIGKILL of redis-server and its restart, with the
//! instances left running throughout. Checked after a concurrent burst over three
//! instances (version == 2 + acknowledged switches, and the `cycle_count` sum agrees),
//! after single operations each followed at once by a kill (version and status), and
//! for the deadline index: a deadline scheduled just before the crash still fires,
//! once, after the restart.

use std::time::Duration;

use crate::support::procs::Redis;
use crate::support::redis::{drain, now_ms, poll, until, Cluster};
use crate::support::server::{iso_ms, pid};
use serde_json::Value;

const AOF: &[&str] = &["--appendonly", "yes", "--appendfsync", "always"];

fn aof_cluster() -> Cluster {
    Cluster::on(
        Redis::start_with(AOF),
        3,
        &[("SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND", "0")],
    )
}

/// SIGKILL redis-server, start it again on its AOF, and wait until every instance
/// reads `id` again; returns the stored state.
async fn crash_and_recover(c: &mut Cluster, id: &str) -> Value {
    c.redis.stop(true);
    c.redis.restart();
    for i in 0..3 {
        let back = poll(Duration::from_secs(10), || async {
            let r = c.get(i, id).await;
            (r.status == 200).then(|| r.data())
        })
        .await;
        assert!(back.is_some(), "instance {i} did not read the session back");
    }
    c.get(0, id).await.expect(200).data()
}

fn cycle_sum(s: &Value) -> u64 {
    s["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["cycle_count"].as_u64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_switch_survives_a_redis_crash() {
    let mut c = aof_cluster();
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    c.op(1, &id, "start").await.expect(200);
    // Eight writers over three instances, five acknowledged switches each.
    let mut tasks = Vec::new();
    for w in 0..8 {
        let http = c.nodes[w % 3].http.clone();
        let path = format!("/v1/sessions/{id}/switch");
        tasks.push(tokio::spawn(async move {
            let mut acked = 0u64;
            for _ in 0..400 {
                let r = http.post_empty(&path).await;
                match r.status {
                    200 => acked += 1,
                    409 => {}
                    s => panic!("unexpected {s}: {}", r.text()),
                }
                if acked == 5 {
                    break;
                }
            }
            acked
        }));
    }
    let mut acked = 0;
    for t in tasks {
        acked += t.await.unwrap();
    }
    assert_eq!(acked, 40);
    let s = crash_and_recover(&mut c, &id).await;
    assert_eq!(
        s["version"],
        2 + acked,
        "version == 2 + acknowledged switches"
    );
    assert_eq!(cycle_sum(&s), acked);

    // One acknowledged operation, then an immediate crash, four times over.
    let mut version = 2 + acked;
    for (k, (op, status)) in [
        ("switch", "running"),
        ("pause", "paused"),
        ("resume", "running"),
        ("complete", "completed"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = c.op(k % 3, &id, op).await.expect(200).data();
        version += 1;
        assert_eq!(r["version"], version);
        let s = crash_and_recover(&mut c, &id).await;
        assert_eq!(s["version"], version, "after {op} and a crash");
        assert_eq!(s["status"], status);
    }
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_indexed_before_a_crash_fires_once_after_the_restart() {
    let mut c = aof_cluster();
    let (id, _) = c.create(0, &[1500, 60_000]).await;
    let mut ws = [c.node(1).watch(&id).await, c.node(2).watch(&id).await];
    let s = c.op(0, &id, "start").await.expect(200).data();
    let at = iso_ms(&s["cycle_started_at"]) + 1500;
    let s = crash_and_recover(&mut c, &id).await;
    assert_eq!(s["version"], 2);
    assert!(now_ms() < at - 300, "recovered before the deadline");
    for w in ws.iter_mut() {
        let (msgs, close) = drain(w, until(at + 1000)).await;
        assert!(close.is_none());
        let expired: Vec<&Value> = msgs
            .iter()
            .filter(|m| m["type"] == "TIME_EXPIRED")
            .collect();
        assert_eq!(expired.len(), 1, "one TIME_EXPIRED: {msgs:?}");
        assert_eq!(expired[0]["participantId"], pid(0));
        assert_eq!(expired[0]["expiredAt"].as_i64(), Some(at));
    }
    assert_eq!(c.get(2, &id).await.expect(200).data()["version"], 3);
    c.assert_healthy();
}
