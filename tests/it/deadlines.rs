//! Server-side deadlines (the "beyond v2" timeout extension, CONTRACT.md §9): a
//! started session left alone gets `TIME_EXPIRED` (participantId, expiredAt, action,
//! version) and then a `STATE_UPDATE` at the deadline, for each `action_on_timeout`
//! (`continue`, `skip`, `end`); `warning_thresholds_ms` give `TIME_WARNING`s first;
//! each deadline fires exactly once, also with no one watching; pause and switch move
//! the deadline. Lateness (receipt − deadline) is printed.

use std::time::Duration;

use crate::support::server::{iso_ms, participant, pid, TestServer};
use crate::support::ws::WsClient;
use serde_json::{json, Value};

/// How late a deadline may be observed by a local client (typically 1-3 ms here).
const MAX_LATENESS_MS: i64 = 100;
const LONG: Duration = Duration::from_secs(4);

/// Creates and starts a session with `budgets` and `extra` keys, with a client
/// watching it; returns (id, client, started_at ms).
async fn running(s: &TestServer, budgets: &[u64], extra: Value) -> (String, WsClient, i64) {
    let (id, _) = s.create_with(budgets, extra).await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let st = s.op_ok(&id, "start").await;
    assert_eq!(ws.next_json(LONG).await["state"]["version"], 2);
    (id, ws, iso_ms(&st["cycle_started_at"]))
}

/// Expects `TIME_EXPIRED` for `participant` at exactly `due` with `action` and
/// `version`, then the `STATE_UPDATE` of that version; returns the state.
async fn expect_expiry(
    ws: &mut WsClient,
    participant_id: &str,
    due: i64,
    action: &str,
    version: u64,
) -> Value {
    let m = ws.next_json(LONG).await;
    let got = synckairos::clock::now_ms();
    assert_eq!(m["type"], "TIME_EXPIRED", "{m}");
    assert_eq!(m["participantId"], participant_id);
    assert_eq!(m["expiredAt"], due, "expiry is at the exact deadline: {m}");
    assert_eq!(m["action"], action);
    assert_eq!(m["version"], version);
    assert!(m["sessionId"].is_string() && m["timestamp"].is_i64());
    let late = got - due;
    println!("TIME_EXPIRED ({action}) received {late} ms after the deadline");
    assert!(
        (0..=MAX_LATENESS_MS).contains(&late),
        "deadline observed {late} ms late"
    );
    let u = ws.next_json(LONG).await;
    assert_eq!(u["type"], "STATE_UPDATE", "{u}");
    assert_eq!(u["state"]["version"], version);
    u["state"].clone()
}

#[tokio::test]
async fn continue_flags_the_participant_and_keeps_running() {
    let s = TestServer::start().await;
    let (id, mut ws, t0) = running(&s, &[1000, 60_000], json!({"increment_ms": 500})).await;
    let (mut second, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let st = expect_expiry(&mut ws, &pid(0), t0 + 1000, "continue", 3).await;
    assert_eq!(st["status"], "running");
    assert_eq!(st["action_on_timeout"], "continue");
    assert_eq!(st["active_participant_id"], pid(0).as_str());
    let p0 = participant(&st, &pid(0));
    assert_eq!(p0["has_expired"], true);
    assert_eq!(p0["total_time_ms"], 0);
    assert_eq!(p0["time_remaining_ms"], 0);
    assert_eq!(p0["time_used_ms"], 1000);
    assert_eq!(p0["is_active"], true);
    // The other watcher got exactly the same, once.
    let m = second.next_json(LONG).await;
    assert_eq!(
        (m["type"].as_str(), m["version"].as_u64()),
        (Some("TIME_EXPIRED"), Some(3))
    );
    assert_eq!(second.next_json(LONG).await["state"]["version"], 3);
    // It fires once: nothing more while the expired participant keeps the turn.
    ws.expect_silence(Duration::from_millis(600)).await;
    second.expect_silence(Duration::from_millis(10)).await;
    // The next switch reports the expired participant, without an increment.
    let sw = s.op_ok(&id, "switch").await;
    assert_eq!(sw["expired_participant_id"], pid(0).as_str());
    assert_eq!(sw["active_participant_id"], pid(1).as_str());
    assert_eq!(sw["version"], 4);
    let p0 = participant(&sw, &pid(0));
    assert_eq!(
        p0["total_time_ms"], 0,
        "no increment for an expired participant"
    );
    assert_eq!(p0["cycle_count"], 1);
}

#[tokio::test]
async fn skip_moves_to_the_next_participant_with_time() {
    let s = TestServer::start().await;
    let (id, mut ws, t0) = running(&s, &[1000, 1500], json!({"action_on_timeout": "skip"})).await;
    let st = expect_expiry(&mut ws, &pid(0), t0 + 1000, "skip", 3).await;
    assert_eq!(st["status"], "running");
    assert_eq!(st["active_participant_id"], pid(1).as_str());
    assert_eq!(iso_ms(&st["cycle_started_at"]), t0 + 1000);
    assert_eq!(participant(&st, &pid(0))["has_expired"], true);
    assert_eq!(participant(&st, &pid(0))["is_active"], false);
    assert_eq!(participant(&st, &pid(1))["is_active"], true);
    // The second participant then runs out too: nobody has time, the session ends.
    let st = expect_expiry(&mut ws, &pid(1), t0 + 2500, "skip", 4).await;
    assert_eq!(st["status"], "expired");
    assert!(st["active_participant_id"].is_null());
    ws.expect_silence(Duration::from_millis(300)).await;
    assert_eq!(s.state(&id).await["version"], 4);
}

#[tokio::test]
async fn end_expires_the_session() {
    let s = TestServer::start().await;
    let (id, mut ws, t0) = running(&s, &[1200, 60_000], json!({"action_on_timeout": "end"})).await;
    let st = expect_expiry(&mut ws, &pid(0), t0 + 1200, "end", 3).await;
    assert_eq!(st["status"], "expired");
    assert!(st["active_participant_id"].is_null());
    assert!(st["cycle_started_at"].is_null());
    assert_eq!(iso_ms(&st["session_completed_at"]), t0 + 1200);
    assert!(st["participants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["is_active"] == false));
    let r = s.op(&id, "switch").await.expect(400);
    assert_eq!(r.error_code(), "INVALID_STATE_TRANSITION");
    assert_eq!(
        r.error_message(),
        format!("Session {id} not running (current status: expired)")
    );
    assert_eq!(s.op(&id, "pause").await.status, 400);
    assert_eq!(s.op(&id, "start").await.status, 400);
    // complete is allowed from any status.
    assert_eq!(s.op_ok(&id, "complete").await["status"], "completed");
}

#[tokio::test]
async fn warnings_come_before_the_expiry() {
    let s = TestServer::start().await;
    let (_id, mut ws, t0) = running(
        &s,
        &[1500, 60_000],
        json!({"warning_thresholds_ms": [500, 1000]}),
    )
    .await;
    let mut version = 2;
    for threshold in [1000i64, 500] {
        let m = ws.next_json(LONG).await;
        let got = synckairos::clock::now_ms();
        assert_eq!(m["type"], "TIME_WARNING", "{m}");
        assert_eq!(m["participantId"], pid(0).as_str());
        assert_eq!(m["thresholdMs"], threshold);
        assert_eq!(m["remainingMs"], threshold);
        let at = t0 + 1500 - threshold;
        assert_eq!(m["at"], at);
        println!("TIME_WARNING {threshold} received {} ms late", got - at);
        assert!((0..=MAX_LATENESS_MS).contains(&(got - at)));
        version += 1;
        assert_eq!(m["version"], version);
        let u = ws.next_json(LONG).await;
        assert_eq!(u["type"], "STATE_UPDATE");
        assert_eq!(u["state"]["version"], version);
        assert_eq!(u["state"]["warning_thresholds_ms"], json!([500, 1000]));
    }
    expect_expiry(&mut ws, &pid(0), t0 + 1500, "continue", version + 1).await;
    ws.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn the_deadline_fires_with_no_one_watching() {
    let s = TestServer::start().await;
    let (id, _) = s
        .create_with(&[1000, 60_000], json!({"action_on_timeout": "end"}))
        .await;
    let t0 = iso_ms(&s.op_ok(&id, "start").await["cycle_started_at"]);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // GET reads the stored state: the scheduler has written the expiry already.
    let st = s.state(&id).await;
    assert_eq!(st["status"], "expired");
    assert_eq!(st["version"], 3);
    assert_eq!(
        iso_ms(&st["session_completed_at"]),
        t0 + 1000,
        "at the deadline"
    );
    let written = iso_ms(&st["updated_at"]) - (t0 + 1000);
    assert!(
        (0..=MAX_LATENESS_MS).contains(&written),
        "written {written} ms late"
    );
}

#[tokio::test]
async fn pause_and_switch_move_the_deadline() {
    let s = TestServer::start().await;
    let (id, mut ws, t0) = running(&s, &[1000, 1000], json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paused = s.op_ok(&id, "pause").await;
    let left = participant(&paused, &pid(0))["total_time_ms"]
        .as_i64()
        .unwrap();
    assert_eq!(left, 1000 - (iso_ms(&paused["updated_at"]) - t0));
    assert!(left <= 700, "left {left}");
    assert_eq!(ws.next_json(LONG).await["type"], "STATE_UPDATE");
    // Paused: no expiry even well past the original deadline.
    ws.expect_silence(Duration::from_millis(1000)).await;
    let resumed = s.op_ok(&id, "resume").await;
    let r0 = iso_ms(&resumed["cycle_started_at"]);
    assert_eq!(ws.next_json(LONG).await["type"], "STATE_UPDATE");
    // Switch away before it runs out: p0 never expires, p1's clock starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sw = s.op_ok(&id, "switch").await;
    let s0 = iso_ms(&sw["cycle_started_at"]);
    assert!(s0 < r0 + left, "switched before the deadline");
    assert_eq!(ws.next_json(LONG).await["type"], "STATE_UPDATE");
    let st = expect_expiry(&mut ws, &pid(1), s0 + 1000, "continue", 6).await;
    assert_eq!(participant(&st, &pid(0))["has_expired"], false);
    assert_eq!(participant(&st, &pid(1))["has_expired"], true);
}

#[tokio::test]
async fn complete_and_delete_cancel_the_deadline() {
    let s = TestServer::start().await;
    let (done, mut ws_done, _) = running(&s, &[1000, 60_000], json!({})).await;
    let (gone, _) = s.create_with(&[1000, 60_000], json!({})).await;
    s.op_ok(&gone, "start").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.op_ok(&done, "complete").await;
    assert_eq!(
        ws_done.next_json(LONG).await["state"]["status"],
        "completed"
    );
    s.http
        .delete(&format!("/v1/sessions/{gone}"))
        .await
        .expect(204);
    // A watcher of the deleted id (it may be created again) hears nothing more.
    let (mut ws_gone, _) = WsClient::connect_ready(&s.ws_url(&gone)).await;
    ws_done.expect_silence(Duration::from_millis(1000)).await;
    ws_gone.expect_silence(Duration::from_millis(10)).await;
    assert_eq!(s.state(&done).await["version"], 3);
    s.http
        .get(&format!("/v1/sessions/{gone}"))
        .await
        .expect(404);
}
