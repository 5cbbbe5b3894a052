//! One round trip per write (issue 15): an instance writes from the state it last
//! committed or loaded, and a copy made stale by another instance costs one extra
//! round trip (the conflict answer carries the stored state), never a wrong answer:
//! not a 409 the request did not earn, not a refusal judged on an old state, not a
//! write on a deleted session's old incarnation, nor a write on a version Redis lost
//! (restored from an older snapshot) and wrote again. Round trips are counted with
//! `MONITOR` on the real `redis-server` (commands from clients naming the session's
//! key; the commit script's own calls are Lua's, not round trips).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::redis::{cycle_sum, metric, poll, Cluster};
use crate::support::server::session_body;
use serde_json::Value;

/// Every command `redis-server` executes, as `MONITOR` prints it.
struct Monitor {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Monitor {
    fn start(url: &str) -> Monitor {
        let addr = url.trim_start_matches("redis://").trim_end_matches('/');
        let mut conn = TcpStream::connect(addr).expect("connect to redis for MONITOR");
        conn.write_all(b"MONITOR\r\n").expect("send MONITOR");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(conn).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Monitor { lines }
    }

    /// Client commands (not the scripts' own calls) naming `key` from now until `f`
    /// is done, after the monitor caught up.
    async fn round_trips<F: std::future::Future<Output = Value>>(
        &self,
        key: &str,
        f: F,
    ) -> (usize, Vec<String>, Value) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let from = self.lines.lock().unwrap().len();
        let out = f.await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        let quoted = format!("\"{key}\"");
        let seen: Vec<String> = self.lines.lock().unwrap()[from..]
            .iter()
            .filter(|l| l.contains(&quoted) && !l.contains(" lua] "))
            .cloned()
            .collect();
        (seen.len(), seen, out)
    }
}

async fn op(c: &Cluster, i: usize, id: &str, op: &str, status: u16) -> Value {
    let r = c.op(i, id, op).await;
    assert_eq!(r.status, status, "{op} on instance {i}: {}", r.text());
    r.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_copy_costs_one_round_trip_and_never_a_wrong_answer() {
    let c = Cluster::start(2, &[("SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND", "0")]);
    let mon = Monitor::start(&c.redis.url());
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    let key = format!("s:{id}");
    op(&c, 0, &id, "start", 200).await;

    // Instance 0 holds what it committed: a switch is one round trip (the commit).
    let (trips, seen, body) = mon.round_trips(&key, op(&c, 0, &id, "switch", 200)).await;
    assert_eq!(trips, 1, "a switch from a fresh copy: {seen:#?}");
    assert_eq!(body["data"]["version"], 3);

    // Instance 1 commits; instance 0's copy (version 3) is now stale.
    op(&c, 1, &id, "switch", 200).await;
    let (trips, seen, body) = mon.round_trips(&key, op(&c, 0, &id, "switch", 200)).await;
    assert_eq!(trips, 2, "a stale copy costs one extra trip: {seen:#?}");
    assert!(
        seen.iter()
            .all(|l| l.to_lowercase().contains("\"evalsha\"")),
        "the conflict answer carries the state (no GET): {seen:#?}"
    );
    let data = &body["data"];
    assert_eq!(data["version"], 5, "applied on the stored state, not a 409");
    let stored = c.get(1, &id).await.expect(200).data();
    assert_eq!(stored["version"], 5);
    assert_eq!(cycle_sum(&stored), 3, "no lost update");
    assert_eq!(
        data["active_participant_id"],
        stored["active_participant_id"]
    );
    assert_eq!(
        metric(c.node(0), "synckairos_write_start_stale_total").await,
        1.0
    );

    // A refusal judged on a stale copy is judged again on the stored state: instance 0
    // saw the session paused, instance 1 resumed it, the switch on 0 goes through.
    op(&c, 0, &id, "pause", 200).await;
    op(&c, 1, &id, "resume", 200).await;
    let body = op(&c, 0, &id, "switch", 200).await;
    assert_eq!(body["data"]["version"], 8);
    // And the other way: instance 0 holds it running, instance 1 completed it.
    op(&c, 1, &id, "complete", 200).await;
    let r = c.op(0, &id, "switch").await.expect(400);
    assert_eq!(r.error_code(), "INVALID_STATE_TRANSITION");
    assert!(r.error_message().contains("(current status: completed)"));

    // Deleted and created again elsewhere under the same id: instance 0's copy is of
    // the old incarnation; its switch applies to the new one.
    op(&c, 0, &id, "complete", 200).await; // refresh 0's copy (complete is allowed)
    c.nodes[1]
        .http
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
    c.nodes[1]
        .http
        .post_json("/v1/sessions", &session_body(&id, &[600_000, 600_000]))
        .await
        .expect(201);
    op(&c, 1, &id, "start", 200).await;
    let body = op(&c, 0, &id, "switch", 200).await;
    assert_eq!(
        body["data"]["version"], 3,
        "the new incarnation's next version"
    );
    assert_eq!(cycle_sum(&body["data"]), 1);

    // Deleted elsewhere: 404 as before, not a write.
    c.nodes[1]
        .http
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
    let r = c.op(0, &id, "switch").await.expect(404);
    assert_eq!(r.error_code(), "SESSION_NOT_FOUND");
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_a_version_that_redis_lost_and_wrote_again_is_not_committed_against() {
    // Redis goes back to an older snapshot and another instance writes past it: the
    // same version of the same incarnation is now another state. Instance 0's copy
    // of the lost one must not pass the compare-and-set.
    let mut c = Cluster::start(2, &[("SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND", "0")]);
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    op(&c, 0, &id, "start", 200).await;
    assert_eq!(c.redis.cli(&["SAVE"]), "OK");
    let lost = op(&c, 0, &id, "switch", 200).await; // version 3, held by instance 0
    assert_eq!(lost["data"]["version"], 3);
    tokio::task::block_in_place(|| c.redis.restart());
    // Back at version 2; instance 1 writes another version 3: paused.
    let paused = poll(Duration::from_secs(5), || async {
        let r = c.op(1, &id, "pause").await;
        (r.status == 200).then(|| r.json())
    })
    .await
    .expect("instance 1 pauses after the restart");
    assert_eq!(paused["data"]["version"], 3);
    // Instance 0's switch is judged on the stored state (paused), not on its copy.
    let r = poll(Duration::from_secs(5), || async {
        let r = c.op(0, &id, "switch").await;
        (r.status != 503).then_some(r)
    })
    .await
    .expect("instance 0 answers after the restart");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.error_message().contains("(current status: paused)"));
    let stored = c.get(1, &id).await.expect(200).data();
    assert_eq!(stored["status"], "paused");
    assert_eq!(stored["version"], 3);
}
