//! Client reads through an in-region replica (`SYNCKAIROS_REDIS__REPLICA_URL`): three
//! instances, a real primary and a real replica. GET works through the replica (and
//! keeps working from it while the primary is down, which proves where it reads);
//! a lagging replica (emulated with `CLIENT PAUSE … WRITE` on it, which stalls the
//! replication stream but not reads) never makes a `RECONNECT` answer older than a
//! `STATE_UPDATE` the same client already received, nor a GET older than a version
//! the serving instance wrote itself or pushed to its own WebSocket clients.

use std::time::Duration;

use crate::support::procs::Redis;
use crate::support::redis::{next_state, poll, version_of, Cluster};
use crate::support::ws::{WsClient, WAIT};
use serde_json::json;

/// A primary, a replica whose link is up, and three instances reading from it.
async fn cluster_with_replica(extra: &[(&str, &str)]) -> (Cluster, Redis) {
    let primary = Redis::start();
    let replica = Redis::replica_of(&primary);
    let up = poll(Duration::from_secs(5), || async {
        replica
            .cli(&["INFO", "replication"])
            .contains("master_link_status:up")
            .then_some(())
    })
    .await;
    assert!(up.is_some(), "replica never synced");
    let url = replica.url();
    let mut env = vec![("SYNCKAIROS_REDIS__REPLICA_URL", url.as_str())];
    env.extend_from_slice(extra);
    let c = Cluster::on(primary, 3, &env);
    (c, replica)
}

/// A numeric field of `INFO replication`.
fn repl_field(r: &Redis, field: &str) -> u64 {
    let info = r.cli(&["INFO", "replication"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {info}"))
}

/// Waits until the replica has applied everything the primary has written so far.
/// (`WAIT` from redis-cli would not do: it only waits for that connection's writes.)
async fn replicated(primary: &Redis, replica: &Redis) {
    let target = repl_field(primary, "master_repl_offset");
    let done = poll(Duration::from_secs(3), || async {
        (repl_field(replica, "slave_repl_offset") >= target).then_some(())
    })
    .await;
    assert!(done.is_some(), "replica did not reach offset {target}");
}

async fn reconnect(w: &mut WsClient) -> u64 {
    w.send_json(&json!({"type": "RECONNECT"})).await;
    let (m, _) = next_state(w, WAIT).await;
    assert_eq!(m["type"], "STATE_SYNC");
    version_of(&m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_is_never_older_than_an_update_already_received() {
    let (c, replica) = cluster_with_replica(&[]).await;
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    let mut ws = [c.node(1).watch(&id).await, c.node(2).watch(&id).await];
    c.op(0, &id, "start").await.expect(200);
    for w in ws.iter_mut() {
        assert_eq!(version_of(&next_state(w, WAIT).await.0), 2);
    }
    // Live replication: after every update, RECONNECT answers at least that version.
    for round in 0..10u64 {
        c.op(round as usize % 3, &id, "switch").await.expect(200);
        for w in ws.iter_mut() {
            let v = version_of(&next_state(w, WAIT).await.0);
            assert_eq!(v, round + 3);
            assert!(
                reconnect(w).await >= v,
                "STATE_SYNC older than STATE_UPDATE {v}"
            );
        }
    }
    // A stalled replica: it keeps answering reads with the old version.
    replicated(&c.redis, &replica).await;
    assert_eq!(replica.cli(&["CLIENT", "PAUSE", "4000", "WRITE"]), "OK");
    for k in 0..3u64 {
        let v = c.op(0, &id, "switch").await.expect(200).data()["version"]
            .as_u64()
            .unwrap();
        assert_eq!(v, 13 + k);
        for w in ws.iter_mut() {
            let (m, _) = next_state(w, WAIT).await;
            assert_eq!(version_of(&m), v);
            let synced = reconnect(w).await;
            assert!(
                synced >= v,
                "STATE_SYNC {synced} older than STATE_UPDATE {v}"
            );
        }
        // The writing instance never reads back older than its own write.
        let got = c.get(0, &id).await.expect(200).data()["version"].clone();
        assert_eq!(got, v, "GET on the writer after its own write");
    }
    // A client connecting now also gets the newest state, not the replica's.
    let mut late = c.node(2).watch(&id).await;
    assert_eq!(reconnect(&mut late).await, 15);
    replica.cli(&["CLIENT", "UNPAUSE"]);
    replicated(&c.redis, &replica).await;
    for i in 0..3 {
        assert_eq!(c.get(i, &id).await.expect(200).data()["version"], 15);
    }
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_is_served_by_the_replica_even_with_the_primary_down() {
    // The general limiter counts in the primary and fails closed (503) without it;
    // switched off here to show what the read path itself does.
    let (mut c, replica) =
        cluster_with_replica(&[("SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE", "0")]).await;
    let (id, created) = c.create(0, &[600_000, 600_000]).await;
    replicated(&c.redis, &replica).await;
    for i in 0..3 {
        assert_eq!(c.get(i, &id).await.expect(200).data(), created);
    }
    let started = c.op(1, &id, "start").await.expect(200).data();
    replicated(&c.redis, &replica).await;
    c.redis.stop(true);
    // Writes need the primary; reads of what the replica holds do not.
    let r = c.op(0, &id, "pause").await;
    assert_eq!(r.status, 503, "{}", r.text());
    for i in [0, 2] {
        let got = c.get(i, &id).await.expect(200).data();
        assert_eq!(
            got, started,
            "instance {i} reads version 2 from the replica"
        );
    }
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_is_never_older_than_an_update_this_instance_already_pushed() {
    let (c, replica) = cluster_with_replica(&[]).await;
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    let mut w = c.node(1).watch(&id).await;
    c.op(0, &id, "start").await.expect(200);
    assert_eq!(version_of(&next_state(&mut w, WAIT).await.0), 2);
    replicated(&c.redis, &replica).await;
    assert_eq!(replica.cli(&["CLIENT", "PAUSE", "3000", "WRITE"]), "OK");
    c.op(0, &id, "switch").await.expect(200);
    assert_eq!(version_of(&next_state(&mut w, WAIT).await.0), 3);
    // Instance 1 pushed version 3 to its client; its GET must not answer version 2.
    let got = c.get(1, &id).await.expect(200).data()["version"].clone();
    replica.cli(&["CLIENT", "UNPAUSE"]);
    assert_eq!(got, 3, "GET on instance 1 after it delivered version 3");
}
