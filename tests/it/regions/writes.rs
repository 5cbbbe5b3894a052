//! Writes for remote-homed sessions on real processes (three regions, real
//! `redis-server`s, delaying proxies; see `support::regions`):
//!
//! - switches sent to `nrt` (two instances per region here) for an `iad` session are
//!   committed in `iad` (its Redis holds the new version before the answer), one
//!   version per write (CAS at the home), and reach WebSocket watchers on every
//!   instance of all three regions in version order, each version exactly once;
//! - switches released at once through `lhr` and `nrt` for one `iad` session: the 200s
//!   carry distinct contiguous versions, every loser is a 409 `CONFLICT`, nothing is
//!   lost (stored version and cycle counts match the winners), watchers everywhere see
//!   strictly increasing versions;
//! - WebSocket commands on sockets in `lhr`/`nrt` for an `iad` session are ACKed with
//!   the home's version (request ids echoed), errors carry the home's error code, an
//!   unknown session is `SESSION_NOT_FOUND`; the socket also gets the relayed updates.

use std::sync::Arc;
use std::time::Duration;

use crate::support::redis::cycle_sum;
use crate::support::regions::{assert_in_order, versions_until, Setup, World, REGIONS};
use crate::support::ws::WsClient;
use serde_json::{json, Value};
use tokio::sync::Barrier;

const PER_REGION: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_via_nrt_commits_in_iad_and_fans_out_in_order_everywhere() {
    // Two instances per region: one relay follower each (lease), fan-out to both.
    let w = World::start_with(Setup {
        instances: 2,
        ..Setup::default()
    })
    .await;
    let (id, _) = w.create("iad", None).await;
    // Watch once every region has the copy (else its arrival is an update too).
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut watchers = Vec::new();
    for r in REGIONS {
        for (i, node) in w.nodes(r).iter().enumerate() {
            watchers.push((format!("{r}#{i}"), node.watch(&id).await));
        }
    }
    let nrt = w.nodes("nrt");
    let path = format!("/v1/sessions/{id}");
    let started = nrt[0].http.post_empty(&format!("{path}/start")).await;
    assert_eq!(started.expect(200).data()["version"], 2);
    let mut active = w.get("iad", &id).await.data()["active_participant_id"].clone();
    for want in 3..=12u64 {
        let before = w.region("iad").version(&id);
        let via = &nrt[want as usize % nrt.len()].http;
        let d = via
            .post_empty(&format!("{path}/switch"))
            .await
            .expect(200)
            .data();
        assert_eq!(before, Some(want - 1));
        assert_eq!(d["version"], want, "one version per write: {d}");
        assert_eq!(
            w.region("iad").version(&id),
            Some(want),
            "committed at home"
        );
        assert_ne!(d["active_participant_id"], active, "the turn moved: {d}");
        active = d["active_participant_id"].clone();
    }
    for (r, ws) in watchers.iter_mut() {
        let seen = versions_until(ws, 12, Duration::from_secs(5)).await;
        assert_eq!(
            seen,
            (2..=12).collect::<Vec<_>>(),
            "{r}: every version once, in order"
        );
    }
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_switches_through_two_regions_are_serialized_at_the_home() {
    let w = World::start().await;
    let (id, _) = w.create("iad", None).await;
    w.op("iad", &id, "start").await.expect(200);
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut watchers = Vec::new();
    for r in REGIONS {
        watchers.push((r, w.node(r).watch(&id).await));
    }

    let barrier = Arc::new(Barrier::new(2 * PER_REGION));
    let mut tasks = Vec::new();
    for via in ["lhr", "nrt"] {
        for _ in 0..PER_REGION {
            let (http, barrier, path) = (
                w.http(via).clone(),
                barrier.clone(),
                format!("/v1/sessions/{id}/switch"),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let r = http.post_empty(&path).await;
                (via, r.status, r.json())
            }));
        }
    }
    let mut versions = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let (via, status, body) = t.await.expect("writer");
        match status {
            200 => versions.push(body["data"]["version"].as_u64().expect("version")),
            409 => {
                assert_eq!(body["error"]["code"], "CONFLICT", "via {via}: {body}");
                let d = &body["error"]["details"];
                let (e, a) = (d["expected_version"].as_u64(), d["actual_version"].as_u64());
                assert!(e.is_some() && a.is_some() && e < a, "via {via}: {body}");
                conflicts += 1;
            }
            s => panic!("via {via}: unexpected {s}: {body}"),
        }
    }
    versions.sort_unstable();
    let ok = versions.len() as u64;
    eprintln!("{ok} switches won, {conflicts} got 409");
    assert_eq!(
        versions,
        (3..3 + ok).collect::<Vec<_>>(),
        "contiguous, distinct"
    );
    assert!(
        conflicts >= 1,
        "simultaneous writes at the home must conflict"
    );
    let stored = w.get("iad", &id).await.expect(200).data();
    assert_eq!(stored["version"], 2 + ok);
    assert_eq!(cycle_sum(&stored), ok, "cycle_count sum == winners");
    for (r, ws) in watchers.iter_mut() {
        let seen = versions_until(ws, 2 + ok, Duration::from_secs(5)).await;
        assert_in_order(r, &seen);
    }
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    w.assert_healthy();
}

/// The next message of type `kind`, keeping every message received in `log`.
async fn next_kept(ws: &mut WsClient, kind: &str, log: &mut Vec<Value>) -> Value {
    let (m, skipped) = ws.next_of_type(kind, Duration::from_secs(5)).await;
    log.extend(skipped);
    log.push(m.clone());
    m
}

fn state_versions(log: &[Value]) -> Vec<u64> {
    log.iter()
        .filter(|m| m["type"] == "STATE_UPDATE")
        .filter_map(|m| m["state"]["version"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_commands_in_remote_regions_ack_the_home_version() {
    let w = World::start().await;
    let (id, _) = w.create("iad", None).await;
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lhr = w.node("lhr").watch(&id).await;
    let mut log = Vec::new();

    lhr.send_json(&json!({"type": "START", "requestId": "s"}))
        .await;
    let ack = next_kept(&mut lhr, "ACK", &mut log).await;
    assert_eq!(ack["requestId"], "s");
    assert_eq!(ack["op"], "start");
    assert_eq!(ack["version"], 2);
    assert_eq!(w.region("iad").version(&id), Some(2));

    lhr.send_json(&json!({"type": "SWITCH", "requestId": "x"}))
        .await;
    let ack = next_kept(&mut lhr, "ACK", &mut log).await;
    assert_eq!(ack["requestId"], "x");
    assert_eq!(ack["op"], "switch");
    assert_eq!(ack["version"], 3);
    assert_eq!(
        w.region("iad").version(&id),
        Some(3),
        "ACK = the home's version"
    );

    // From the farthest region, with an explicit next participant.
    let mut nrt = w.node("nrt").watch(&id).await;
    let next = crate::support::server::pid(1);
    let current = w.get("iad", &id).await.expect(200).data()["active_participant_id"].clone();
    let target = if current == next.as_str() {
        crate::support::server::pid(0)
    } else {
        next
    };
    nrt.send_json(&json!({"type": "SWITCH", "requestId": 7, "next_participant_id": target}))
        .await;
    let (ack, _) = nrt.next_of_type("ACK", Duration::from_secs(5)).await;
    assert_eq!(ack["requestId"], 7);
    assert_eq!(ack["version"], 4);
    let home = w.get("iad", &id).await.expect(200).data();
    assert_eq!(home["version"], 4);
    assert_eq!(home["active_participant_id"], target.as_str());

    // A refused command carries the home's error code.
    let rest = w.op("iad", &id, "start").await;
    assert!(rest.status >= 400, "{}", rest.text());
    lhr.send_json(&json!({"type": "START", "requestId": "again"}))
        .await;
    let err = next_kept(&mut lhr, "ERROR", &mut log).await;
    assert_eq!(err["requestId"], "again");
    assert_eq!(err["code"], rest.error_code().as_str(), "{err}");
    assert_eq!(w.region("iad").version(&id), Some(4), "nothing committed");

    // An id no region knows.
    let (mut ghost, _) =
        WsClient::connect_ready(&w.node("lhr").ws_url(&crate::support::server::uuid())).await;
    ghost
        .send_json(&json!({"type": "SWITCH", "requestId": "g"}))
        .await;
    let (err, _) = ghost.next_of_type("ERROR", Duration::from_secs(5)).await;
    assert_eq!(err["code"], "SESSION_NOT_FOUND", "{err}");

    // The lhr socket got the relayed updates, in order, once each.
    let mut seen = state_versions(&log);
    if seen.last().is_none_or(|v| *v < 4) {
        seen.extend(versions_until(&mut lhr, 4, Duration::from_secs(5)).await);
    } else {
        let (extra, _) = crate::support::redis::drain(&mut lhr, Duration::from_millis(150)).await;
        seen.extend(state_versions(&extra));
    }
    assert_eq!(seen, vec![2, 3, 4], "lhr watcher: {log:?}");
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    w.assert_healthy();
}
