//! The session lifecycle over REST (CONTRACT.md §1.5, §1.6, §1.8, §2.3): create 201
//! (version 1, v2's shape, absent-not-null keys) → start (stored version 2: the fix of
//! v2's pre-increment quirk) → switch (round robin, `version`, cycle_count, Fischer
//! increment) → pause → resume → complete; every invalid
//! transition's 400 message; complete from any status; 409 `SESSION_EXISTS` on a
//! taken id; idempotent DELETE and 404 after it.

use crate::support::server::{
    check_session_shape, check_switch_shape, iso_ms, participant, pid, session_body, TestServer,
};
use serde_json::json;

#[track_caller]
fn assert_transition_error(r: crate::support::http::Response, message: String) {
    assert_eq!(r.status, 400, "{}", r.text());
    let e = &r.json()["error"];
    assert_eq!(e["code"], "INVALID_STATE_TRANSITION");
    assert_eq!(e["message"], message.as_str());
    assert!(e.get("details").is_none(), "{e}");
}

#[tokio::test]
async fn create_returns_201_with_v2_shape() {
    let s = TestServer::start().await;
    let before = synckairos::clock::now_ms();
    let (id, d) = s.create(&[300_000, 200_000]).await;
    check_session_shape(&d);
    assert_eq!(d["session_id"], id.as_str());
    assert_eq!(d["sync_mode"], "per_participant");
    assert_eq!(d["status"], "pending");
    assert_eq!(d["version"], 1);
    assert_eq!(d["total_time_ms"], 300_000);
    assert_eq!(d["increment_ms"], 0);
    for k in [
        "active_participant_id",
        "time_per_cycle_ms",
        "cycle_started_at",
        "session_started_at",
        "session_completed_at",
    ] {
        assert!(d[k].is_null(), "{k} should be null: {d}");
    }
    assert!(d.get("max_time_ms").is_none(), "max_time_ms must be absent");
    let created = iso_ms(&d["created_at"]);
    assert!(created >= before - 5, "{created} vs {before}");
    assert_eq!(d["created_at"], d["updated_at"]);
    let ps = d["participants"].as_array().unwrap();
    assert_eq!(ps.len(), 2);
    for (i, p) in ps.iter().enumerate() {
        assert_eq!(p["participant_id"], pid(i).as_str(), "request order kept");
        assert_eq!(p["participant_index"], i);
        assert_eq!(p["time_used_ms"], 0);
        assert_eq!(p["total_time_ms"], p["time_remaining_ms"]);
        assert_eq!(p["cycle_count"], 0);
        assert_eq!(p["is_active"], false);
        assert_eq!(p["has_expired"], false);
        assert!(p.get("group_id").is_none(), "group_id must be absent");
    }
    assert_eq!(ps[0]["total_time_ms"], 300_000);
    // GET returns the stored copy, identical to the create response.
    assert_eq!(s.state(&id).await, d);
}

#[tokio::test]
async fn optional_fields_are_echoed_when_given() {
    let s = TestServer::start().await;
    let group = "a23e4567-e89b-12d3-a456-426614175001";
    let mut body = session_body(&crate::support::server::uuid(), &[60_000]);
    body["participants"][0]["group_id"] = json!(group);
    body["max_time_ms"] = json!(90_000);
    body["time_per_cycle_ms"] = json!(30_000);
    body["increment_ms"] = json!(2_000);
    let d = s
        .http
        .post_json("/v1/sessions", &body)
        .await
        .expect(201)
        .data();
    check_session_shape(&d);
    assert_eq!(d["max_time_ms"], 90_000);
    assert_eq!(d["time_per_cycle_ms"], 30_000);
    assert_eq!(d["increment_ms"], 2_000);
    assert_eq!(d["participants"][0]["group_id"], group);
}

#[tokio::test]
async fn full_lifecycle_with_stored_versions() {
    let s = TestServer::start().await;
    let (id, _) = s
        .create_with(&[60_000, 60_000, 60_000], json!({"increment_ms": 5_000}))
        .await;

    let started = s.op_ok(&id, "start").await;
    check_session_shape(&started);
    assert_eq!(
        started["version"], 2,
        "stored version, not v2's pre-increment 1"
    );
    assert_eq!(started["status"], "running");
    assert_eq!(started["active_participant_id"], pid(0).as_str());
    assert_eq!(participant(&started, &pid(0))["is_active"], true);
    assert_eq!(started["cycle_started_at"], started["session_started_at"]);
    iso_ms(&started["cycle_started_at"]);
    assert_eq!(s.state(&id).await["version"], 2);

    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let sw = s.op_ok(&id, "switch").await;
    check_switch_shape(&sw);
    assert_eq!(sw["version"], 3);
    assert_eq!(sw["status"], "running");
    assert_eq!(sw["active_participant_id"], pid(1).as_str());
    assert!(sw.get("expired_participant_id").is_none());
    let p0 = participant(&sw, &pid(0));
    let used = p0["time_used_ms"].as_u64().unwrap();
    assert!(used >= 30, "elapsed charged: {used}");
    assert_eq!(p0["cycle_count"], 1);
    assert_eq!(p0["is_active"], false);
    // Fischer increment: remaining = budget - used + increment.
    assert_eq!(p0["total_time_ms"].as_u64().unwrap(), 60_000 - used + 5_000);
    assert_eq!(p0["time_remaining_ms"], p0["total_time_ms"]);
    assert_eq!(participant(&sw, &pid(1))["is_active"], true);
    assert!(iso_ms(&sw["cycle_started_at"]) >= iso_ms(&started["cycle_started_at"]) + 30);

    let stored = s.state(&id).await;
    assert_eq!(stored["version"], 3);
    assert_eq!(stored["cycle_started_at"], sw["cycle_started_at"]);
    assert_eq!(stored["participants"], sw["participants"]);

    // Round robin in array order, wrapping.
    assert_eq!(
        s.op_ok(&id, "switch").await["active_participant_id"],
        pid(2).as_str()
    );
    let wrap = s.op_ok(&id, "switch").await;
    assert_eq!(wrap["active_participant_id"], pid(0).as_str());
    assert_eq!(wrap["version"], 5);
    for i in 0..3 {
        assert_eq!(participant(&wrap, &pid(i))["cycle_count"], 1);
    }

    let paused = s.op_ok(&id, "pause").await;
    check_session_shape(&paused);
    assert_eq!(paused["version"], 6);
    assert_eq!(paused["status"], "paused");
    assert!(paused["cycle_started_at"].is_null());
    assert_eq!(paused["active_participant_id"], pid(0).as_str(), "kept");
    assert_eq!(participant(&paused, &pid(0))["is_active"], true, "kept");

    let resumed = s.op_ok(&id, "resume").await;
    assert_eq!(resumed["version"], 7);
    assert_eq!(resumed["status"], "running");
    assert_eq!(resumed["active_participant_id"], pid(0).as_str());
    iso_ms(&resumed["cycle_started_at"]);

    let done = s.op_ok(&id, "complete").await;
    check_session_shape(&done);
    assert_eq!(done["version"], 8);
    assert_eq!(done["status"], "completed");
    assert!(done["active_participant_id"].is_null());
    assert!(done["cycle_started_at"].is_null());
    iso_ms(&done["session_completed_at"]);
    assert!(done["participants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["is_active"] == false));
    assert_eq!(s.state(&id).await, done);
}

#[tokio::test]
async fn invalid_transitions_are_400_with_the_current_status() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000, 60_000]).await;
    let msg = |what: &str, st: &str| format!("Session {id} {what} (current status: {st})");
    assert_transition_error(s.op(&id, "switch").await, msg("not running", "pending"));
    assert_transition_error(s.op(&id, "pause").await, msg("cannot be paused", "pending"));
    assert_transition_error(
        s.op(&id, "resume").await,
        msg("cannot be resumed", "pending"),
    );
    s.op_ok(&id, "start").await;
    assert_transition_error(
        s.op(&id, "start").await,
        msg("cannot be started", "running"),
    );
    assert_transition_error(
        s.op(&id, "resume").await,
        msg("cannot be resumed", "running"),
    );
    s.op_ok(&id, "pause").await;
    assert_transition_error(s.op(&id, "switch").await, msg("not running", "paused"));
    assert_transition_error(s.op(&id, "pause").await, msg("cannot be paused", "paused"));
    assert_transition_error(s.op(&id, "start").await, msg("cannot be started", "paused"));
    s.op_ok(&id, "complete").await;
    assert_transition_error(
        s.op(&id, "start").await,
        msg("cannot be started", "completed"),
    );
    assert_transition_error(s.op(&id, "switch").await, msg("not running", "completed"));
    assert_transition_error(
        s.op(&id, "resume").await,
        msg("cannot be resumed", "completed"),
    );
    // Refusals do not change the stored version.
    assert_eq!(s.state(&id).await["version"], 4);
}

#[tokio::test]
async fn complete_is_allowed_from_any_status() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000]).await;
    let d = s.op_ok(&id, "complete").await;
    assert_eq!(d["status"], "completed");
    assert_eq!(d["version"], 2);
    assert!(d["session_started_at"].is_null());
    let first = iso_ms(&d["session_completed_at"]);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = s.op_ok(&id, "complete").await;
    assert_eq!(again["version"], 3);
    assert!(
        iso_ms(&again["session_completed_at"]) >= first,
        "overwritten"
    );

    let (id, _) = s.create(&[60_000]).await;
    s.op_ok(&id, "start").await;
    s.op_ok(&id, "pause").await;
    assert_eq!(s.op_ok(&id, "complete").await["status"], "completed");
}

#[tokio::test]
async fn create_on_a_taken_id_is_409_session_exists() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000]).await;
    s.op_ok(&id, "start").await;
    let r = s
        .http
        .post_json("/v1/sessions", &session_body(&id, &[90_000]))
        .await
        .expect(409);
    assert_eq!(r.error_code(), "SESSION_EXISTS");
    assert!(r.error_message().contains(&id));
    let kept = s.state(&id).await;
    assert_eq!(kept["version"], 2);
    assert_eq!(kept["status"], "running");
    // After a delete the id is free again.
    s.http
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
    let d = s
        .http
        .post_json("/v1/sessions", &session_body(&id, &[90_000]))
        .await
        .expect(201)
        .data();
    assert_eq!(d["version"], 1);
}

#[tokio::test]
async fn delete_is_idempotent_and_get_after_it_is_404() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000]).await;
    s.op_ok(&id, "start").await;
    let r = s
        .http
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
    assert!(r.body.is_empty());
    s.http
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
    let r = s.http.get(&format!("/v1/sessions/{id}")).await.expect(404);
    assert_eq!(r.error_code(), "SESSION_NOT_FOUND");
    assert_eq!(r.error_message(), format!("Session {id} not found"));
    for op in ["start", "switch", "pause", "resume", "complete"] {
        assert_eq!(s.op(&id, op).await.status, 404, "{op}");
    }
}

#[tokio::test]
async fn json_responses_carry_the_v2_content_type() {
    let s = TestServer::start().await;
    let id = crate::support::server::uuid();
    let r = s
        .http
        .post_json("/v1/sessions", &session_body(&id, &[60_000]))
        .await
        .expect(201);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    let r = s.op(&id, "start").await.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    let r = s.op(&id, "start").await.expect(400);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
}
