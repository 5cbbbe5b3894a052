//! The contract across instances (CONTRACT.md §2, §3): three real `synckairos`
//! processes share one real `redis-server`; REST goes to instance 0 and WebSocket
//! clients sit on instances 1 and 2. Every REST answer is the same whichever instance
//! serves it, every watcher gets each committed version exactly once and in order
//! (including the create broadcast to a client that subscribed before the session
//! existed), `RECONNECT` answers with the stored state on any instance, and the error
//! codes (404, 400 transition / validation, 409 existing id) hold everywhere.

use std::time::Duration;

use crate::support::redis::{drain, next_state, version_of, Cluster};
use crate::support::server::{check_session_shape, check_switch_shape, pid, session_body, uuid};
use crate::support::ws::WAIT;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_rest_on_one_instance_websockets_on_the_others() {
    let c = Cluster::start(3, &[]);
    let id = uuid();

    // Watchers subscribe before the session exists: two on instance 1, one on 2.
    let mut watchers = [
        c.node(1).watch(&id).await,
        c.node(1).watch(&id).await,
        c.node(2).watch(&id).await,
    ];

    // Create on instance 0; the others serve the identical stored state.
    let created = c.nodes[0]
        .http
        .post_json("/v1/sessions", &session_body(&id, &[300_000, 300_000]))
        .await
        .expect(201)
        .data();
    check_session_shape(&created);
    assert_eq!(created["version"], 1);
    for i in 1..3 {
        assert_eq!(
            c.get(i, &id).await.expect(200).data(),
            created,
            "GET on {i}"
        );
    }
    // An existing id is refused on every instance (this project's answer to Q6).
    for i in 0..3 {
        let r = c.nodes[i]
            .http
            .post_json("/v1/sessions", &session_body(&id, &[1000]))
            .await
            .expect(409);
        assert_eq!(r.error_code(), "SESSION_EXISTS", "instance {i}");
    }
    // A switch before start: 400 with the current status, on any instance.
    for i in 0..3 {
        let r = c.op(i, &id, "switch").await.expect(400);
        assert_eq!(r.error_code(), "INVALID_STATE_TRANSITION");
        assert!(r.error_message().contains("(current status: pending)"));
    }

    // The create broadcast reached the early subscribers.
    for w in watchers.iter_mut() {
        let (m, skipped) = next_state(w, WAIT).await;
        assert!(skipped.is_empty(), "unexpected messages: {skipped:?}");
        assert_eq!(m["type"], "STATE_UPDATE");
        assert_eq!(m["sessionId"], id.as_str());
        assert_eq!(m["state"], created);
    }

    // start → switch → pause → resume → switch → complete, all on instance 0; each
    // watcher gets exactly that version next, with the state the response carried.
    let steps = ["start", "switch", "pause", "resume", "switch", "complete"];
    for (n, op) in steps.iter().enumerate() {
        let want = n as u64 + 2;
        let data = c.op(0, &id, op).await.expect(200).data();
        assert_eq!(data["version"], want, "{op} returns the stored version");
        if *op == "switch" {
            check_switch_shape(&data);
        } else {
            check_session_shape(&data);
        }
        let stored = c.get(1 + n % 2, &id).await.expect(200).data();
        assert_eq!(stored["version"], want);
        for w in watchers.iter_mut() {
            let (m, skipped) = next_state(w, WAIT).await;
            assert!(skipped.is_empty(), "after {op}: {skipped:?}");
            assert_eq!(m["type"], "STATE_UPDATE");
            assert_eq!(version_of(&m), want, "after {op}");
            assert_eq!(m["state"], stored, "after {op}");
        }
    }
    let done = c.get(2, &id).await.expect(200).data();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["active_participant_id"], serde_json::Value::Null);
    assert_eq!(
        done["participants"][0]["cycle_count"].as_u64().unwrap()
            + done["participants"][1]["cycle_count"].as_u64().unwrap(),
        2
    );

    // Invalid transitions from completed, on every instance; complete is allowed (Q2).
    for i in 0..3 {
        for op in ["start", "pause", "resume", "switch"] {
            let r = c.op(i, &id, op).await.expect(400);
            assert_eq!(r.error_code(), "INVALID_STATE_TRANSITION", "{op} on {i}");
        }
    }

    // RECONNECT on either WebSocket instance: STATE_SYNC with the stored state.
    for w in watchers.iter_mut() {
        w.send_json(&json!({"type": "RECONNECT"})).await;
        let (m, _) = next_state(w, WAIT).await;
        assert_eq!(m["type"], "STATE_SYNC");
        assert_eq!(m["state"], done);
    }

    // Nothing else was sent: exactly once, no duplicates.
    for w in watchers.iter_mut() {
        let (extra, close) = drain(w, Duration::from_millis(300)).await;
        assert!(extra.is_empty() && close.is_none(), "{extra:?} {close:?}");
    }
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_missing_sessions_are_the_same_on_every_instance() {
    let c = Cluster::start(3, &[]);
    let (id, _) = c.create(0, &[60_000, 60_000]).await;
    c.op(1, &id, "start").await.expect(200);
    let missing = uuid();
    let nil = "00000000-0000-0000-0000-000000000000";
    for i in 0..3 {
        let n = &c.nodes[i].http;
        for path in [
            format!("/v1/sessions/{missing}"),
            format!("/v1/sessions/{nil}"),
        ] {
            let r = n.get(&path).await.expect(404);
            assert_eq!(r.error_code(), "SESSION_NOT_FOUND");
        }
        for op in ["start", "switch", "pause", "resume", "complete"] {
            let r = c.op(i, &missing, op).await.expect(404);
            assert_eq!(r.error_code(), "SESSION_NOT_FOUND", "{op} on {i}");
            assert_eq!(r.error_message(), format!("Session {missing} not found"));
        }
        n.delete(&format!("/v1/sessions/{nil}")).await.expect(204);
        // Unknown next participant: 400 VALIDATION_ERROR, nothing stored.
        let r = n
            .post_json(
                &format!("/v1/sessions/{id}/switch"),
                &json!({"next_participant_id": pid(7)}),
            )
            .await
            .expect(400);
        assert_eq!(r.error_code(), "VALIDATION_ERROR");
        // Already running: start is refused with the status in the message.
        let r = c.op(i, &id, "start").await.expect(400);
        assert!(r.error_message().contains("(current status: running)"));
    }
    assert_eq!(c.get(2, &id).await.expect(200).data()["version"], 2);

    // RECONNECT for a session that does not exist, on instances 1 and 2.
    for i in 1..3 {
        let mut w = c.node(i).watch(&missing).await;
        w.send_json(&json!({"type": "RECONNECT"})).await;
        let m = w.next_json(WAIT).await;
        assert_eq!(m["type"], "ERROR");
        assert_eq!(m["code"], "SESSION_NOT_FOUND");
        assert_eq!(m["message"], format!("Session {missing} not found"));
    }
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_is_exactly_once_in_order_with_watchers_on_three_instances() {
    let c = Cluster::start(3, &[]);
    // Several sessions (different fan-out shards), three watchers each, one per instance.
    let mut sessions = Vec::new();
    for k in 0..4 {
        let (id, _) = c.create(k % 3, &[600_000, 600_000, 600_000]).await;
        let mut ws = Vec::new();
        for i in 0..3 {
            ws.push(c.node(i).watch(&id).await);
        }
        c.op(k % 3, &id, "start").await.expect(200);
        sessions.push((id, ws));
    }
    for (_, ws) in sessions.iter_mut() {
        for w in ws.iter_mut() {
            assert_eq!(version_of(&next_state(w, WAIT).await.0), 2);
        }
    }
    // Interleaved writes through alternating instances: every watcher receives each
    // version exactly once, in order, whichever instance wrote it.
    for round in 0..12u64 {
        for (k, (id, ws)) in sessions.iter_mut().enumerate() {
            let via = (round as usize + k) % 3;
            let data = c.op(via, id, "switch").await.expect(200).data();
            assert_eq!(data["version"], round + 3);
            for w in ws.iter_mut() {
                let (m, skipped) = next_state(w, WAIT).await;
                assert!(skipped.is_empty(), "{skipped:?}");
                assert_eq!(m["type"], "STATE_UPDATE");
                assert_eq!(m["sessionId"], id.as_str());
                assert_eq!(version_of(&m), round + 3, "session {k} via instance {via}");
            }
        }
    }
    for (_, ws) in sessions.iter_mut() {
        for w in ws.iter_mut() {
            let (extra, close) = drain(w, Duration::from_millis(200)).await;
            assert!(extra.is_empty() && close.is_none(), "{extra:?} {close:?}");
        }
    }
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_commands_commit_through_the_shared_store() {
    let c = Cluster::start(3, &[]);
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    let mut player = c.node(1).watch(&id).await;
    let mut other = c.node(2).watch(&id).await;
    for (k, kind) in ["START", "SWITCH", "PAUSE"].iter().enumerate() {
        let want = k as u64 + 2;
        player
            .send_json(&json!({"type": kind, "requestId": format!("r{k}")}))
            .await;
        // The ACK and the STATE_UPDATE (via Redis) may arrive in either order.
        let (ack, before) = player.next_of_type("ACK", WAIT).await;
        assert_eq!(ack["requestId"], format!("r{k}"));
        assert_eq!(ack["version"], want, "{ack}");
        let update = match before.as_slice() {
            [m] => m.clone(),
            [] => next_state(&mut player, WAIT).await.0,
            more => panic!("unexpected messages {more:?}"),
        };
        assert_eq!(update["type"], "STATE_UPDATE");
        assert_eq!(version_of(&update), want);
        let (m, _) = next_state(&mut other, WAIT).await;
        assert_eq!(version_of(&m), want);
    }
    let s = c.get(0, &id).await.expect(200).data();
    assert_eq!(
        (s["version"].as_u64(), s["status"].as_str()),
        (Some(4), Some("paused"))
    );
    // A refused command is an ERROR with the REST code, and changes nothing.
    player
        .send_json(&json!({"type": "START", "requestId": "late"}))
        .await;
    let (err, _) = player.next_of_type("ERROR", WAIT).await;
    assert_eq!(err["code"], "INVALID_STATE_TRANSITION");
    assert_eq!(err["requestId"], "late");
    c.assert_healthy();
}

/// Subscribers of a fan-out channel, over all instances (`PUBSUB NUMSUB`).
fn subscribers(c: &Cluster, session_id: &str) -> u64 {
    use synckairos::store::keys::{fanout_channel, fanout_shard};
    let channel = fanout_channel(fanout_shard(session_id, 64));
    let out = c.redis.cli(&["PUBSUB", "NUMSUB", &channel]);
    out.lines()
        .nth(1)
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_subscribe_to_watched_shards_only_and_before_connected() {
    let c = Cluster::start(3, &[]);
    let id = uuid();
    assert_eq!(subscribers(&c, &id), 0, "nobody watches yet");
    // CONNECTED is sent once the instance's subscription is live.
    let a = c.node(1).watch(&id).await;
    assert_eq!(subscribers(&c, &id), 1);
    let b = c.node(1).watch(&id).await;
    assert_eq!(subscribers(&c, &id), 1, "one subscription per instance");
    let d = c.node(2).watch(&id).await;
    assert_eq!(subscribers(&c, &id), 2);
    for w in [&a, &b, &d] {
        w.close(1000, "bye").await;
    }
    drop((a, b, d));
    let idle = crate::support::redis::poll(Duration::from_secs(3), || async {
        (subscribers(&c, &id) == 0).then_some(())
    })
    .await;
    assert!(
        idle.is_some(),
        "instances unsubscribe when their last watcher leaves"
    );

    // Churn: connect, write at once, receive, leave; on fresh and reused shards.
    for k in 0..24 {
        let id = uuid();
        let mut w = c.node(1 + k % 2).watch(&id).await;
        c.nodes[0]
            .http
            .post_json("/v1/sessions", &session_body(&id, &[1000]))
            .await
            .expect(201);
        let (m, _) = next_state(&mut w, WAIT).await;
        assert_eq!(
            version_of(&m),
            1,
            "watcher {k} missed the write after CONNECTED"
        );
        w.close(1000, "bye").await;
    }
    c.assert_healthy();
}
