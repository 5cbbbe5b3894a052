//! Switching and time accounting over REST (CONTRACT.md §1.4, §1.6, §1.7): round
//! robin in array order (not `participant_index`), `next_participant_id`, a single
//! participant switching to itself with the Fischer increment, exact charging of
//! elapsed time at switch, pause and complete (never while paused), and every
//! `sync_mode` accepted and echoed.

use crate::support::server::{
    check_session_shape, check_switch_shape, iso_ms, participant, pid, session_body, TestServer,
};
use serde_json::{json, Value};

#[tokio::test]
async fn switch_to_a_named_participant() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000, 60_000, 60_000]).await;
    s.op_ok(&id, "start").await;
    let path = format!("/v1/sessions/{id}/switch");
    let d = s
        .http
        .post_json(&path, &json!({"next_participant_id": pid(2)}))
        .await
        .expect(200)
        .data();
    assert_eq!(d["active_participant_id"], pid(2).as_str());
    assert_eq!(participant(&d, &pid(0))["cycle_count"], 1);
    // To the current participant: allowed, still counts a cycle.
    let d = s
        .http
        .post_json(&path, &json!({"next_participant_id": pid(2)}))
        .await
        .expect(200)
        .data();
    assert_eq!(d["active_participant_id"], pid(2).as_str());
    assert_eq!(participant(&d, &pid(2))["cycle_count"], 1);
    // Unknown participant: 400 with v2's message, nothing stored.
    let unknown = "323e4567-e89b-12d3-a456-426614174999";
    let r = s
        .http
        .post_json(&path, &json!({"next_participant_id": unknown}))
        .await
        .expect(400);
    assert_eq!(r.error_code(), "VALIDATION_ERROR");
    assert_eq!(
        r.error_message(),
        format!("Participant {unknown} not found in session")
    );
    assert_eq!(s.state(&id).await["version"], 4);
}

#[tokio::test]
async fn a_single_participant_switches_to_itself_with_increment() {
    let s = TestServer::start().await;
    let (id, _) = s
        .create_with(&[10_000], json!({"increment_ms": 1_000}))
        .await;
    s.op_ok(&id, "start").await;
    let d = s.op_ok(&id, "switch").await;
    let p = participant(&d, &pid(0));
    assert_eq!(d["active_participant_id"], pid(0).as_str());
    assert_eq!(p["cycle_count"], 1);
    assert_eq!(p["is_active"], true);
    let used = p["time_used_ms"].as_u64().unwrap();
    assert_eq!(p["total_time_ms"].as_u64().unwrap(), 10_000 - used + 1_000);
}

#[tokio::test]
async fn every_sync_mode_is_accepted_and_echoed() {
    let s = TestServer::start().await;
    for mode in [
        "per_participant",
        "per_cycle",
        "per_group",
        "global",
        "count_up",
    ] {
        let mut body: Value = session_body(&crate::support::server::uuid(), &[60_000, 60_000]);
        body["sync_mode"] = json!(mode);
        body["time_per_cycle_ms"] = json!(10_000);
        let d = s
            .http
            .post_json("/v1/sessions", &body)
            .await
            .expect(201)
            .data();
        assert_eq!(d["sync_mode"], mode);
        check_session_shape(&d);
        let id = d["session_id"].as_str().unwrap().to_owned();
        assert_eq!(s.op_ok(&id, "start").await["status"], "running");
        check_switch_shape(&s.op_ok(&id, "switch").await);
    }
}

#[tokio::test]
async fn per_cycle_without_time_per_cycle_is_accepted_as_in_v2() {
    let s = TestServer::start().await;
    let mut body = session_body(&crate::support::server::uuid(), &[60_000, 60_000]);
    body["sync_mode"] = json!("per_cycle");
    s.http.post_json("/v1/sessions", &body).await.expect(201);
}

#[tokio::test]
async fn time_is_charged_on_switch_pause_and_complete_never_while_paused() {
    use std::time::Duration;
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000, 60_000]).await;
    let started = iso_ms(&s.op_ok(&id, "start").await["cycle_started_at"]);
    tokio::time::sleep(Duration::from_millis(60)).await;
    // GET does not recompute: time_remaining_ms is the snapshot of the last write.
    let st = s.state(&id).await;
    assert_eq!(participant(&st, &pid(0))["time_remaining_ms"], 60_000);
    assert_eq!(participant(&st, &pid(0))["time_used_ms"], 0);
    // Pause charges exactly the time since the cycle started (server timestamps).
    let paused = s.op_ok(&id, "pause").await;
    let used = participant(&paused, &pid(0))["time_used_ms"]
        .as_i64()
        .unwrap();
    assert!(used >= 60, "charged at pause: {used}");
    assert_eq!(used, iso_ms(&paused["updated_at"]) - started);
    assert_eq!(
        participant(&paused, &pid(0))["total_time_ms"],
        60_000 - used
    );
    // Paused time is never charged: only resume → switch counts.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let resumed = iso_ms(&s.op_ok(&id, "resume").await["cycle_started_at"]);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let sw = s.op_ok(&id, "switch").await;
    let switched = iso_ms(&sw["cycle_started_at"]);
    let p0 = participant(&sw, &pid(0));
    let used2 = p0["time_used_ms"].as_i64().unwrap();
    assert_eq!(
        used2,
        used + (switched - resumed),
        "paused time was charged"
    );
    assert_eq!(p0["total_time_ms"].as_i64().unwrap() + used2, 60_000);
    // complete charges the running cycle (a fix over v2, which dropped that time).
    tokio::time::sleep(Duration::from_millis(40)).await;
    let done = s.op_ok(&id, "complete").await;
    let p1 = participant(&done, &pid(1));
    let used1 = p1["time_used_ms"].as_i64().unwrap();
    assert_eq!(used1, iso_ms(&done["session_completed_at"]) - switched);
    assert!(used1 >= 40, "running cycle charged at complete: {used1}");
    assert_eq!(p1["total_time_ms"].as_i64().unwrap() + used1, 60_000);
}

#[tokio::test]
async fn rotation_follows_array_order_not_participant_index() {
    let s = TestServer::start().await;
    let id = crate::support::server::uuid();
    let mut body = session_body(&id, &[60_000, 60_000, 60_000]);
    for (i, idx) in [7, 0, 3].iter().enumerate() {
        body["participants"][i]["participant_index"] = json!(idx);
    }
    let d = s
        .http
        .post_json("/v1/sessions", &body)
        .await
        .expect(201)
        .data();
    assert_eq!(
        d["participants"][0]["participant_index"], 7,
        "echoed, order kept"
    );
    assert_eq!(
        s.op_ok(&id, "start").await["active_participant_id"],
        pid(0).as_str()
    );
    assert_eq!(
        s.op_ok(&id, "switch").await["active_participant_id"],
        pid(1).as_str()
    );
    assert_eq!(
        s.op_ok(&id, "switch").await["active_participant_id"],
        pid(2).as_str()
    );
}

#[tokio::test]
async fn per_group_with_unequal_member_budgets_is_accepted_as_in_v2() {
    let s = TestServer::start().await;
    let group = "a23e4567-e89b-12d3-a456-426614175001";
    let mut body = session_body(&crate::support::server::uuid(), &[60_000, 30_000]);
    body["sync_mode"] = json!("per_group");
    body["participants"][0]["group_id"] = json!(group);
    body["participants"][1]["group_id"] = json!(group);
    s.http.post_json("/v1/sessions", &body).await.expect(201);
}
