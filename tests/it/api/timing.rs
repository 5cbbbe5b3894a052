//! The timing extensions of the API on one in-process server (the embedded store: the
//! host clock is the authority): `lag_compensation` and `start_at` on create
//! (validation, defaults, the state's shape), a synchronized start fired by the
//! scheduler at the instant, lag credited to a WebSocket move (the socket's measured
//! delay; REST moves have none here), and `/v1/time` / `PONG` naming their timebase.

use std::time::Duration;

use serde_json::json;

use crate::support::clock::{collect, now_ms_f, of_type, pong_fix};
use crate::support::redis::now_ms;
use crate::support::server::{iso_ms, pid, session_body_with, uuid, TestServer};
use crate::support::ws::WsClient;

#[tokio::test]
async fn create_validates_and_shows_lag_compensation_and_start_at() {
    let s = TestServer::start().await;
    let post = |extra: serde_json::Value| {
        let body = session_body_with(&uuid(), &[60_000, 60_000], extra);
        let http = s.http.clone();
        async move { http.post_json("/v1/sessions", &body).await }
    };
    // Off unless asked: no new keys for v2 clients.
    let d = post(json!({})).await.expect(201).data();
    assert!(
        d.get("lag_compensation").is_none() && d.get("start_at").is_none(),
        "{d}"
    );
    assert!(d["participants"][0].get("lag_credited_ms").is_none(), "{d}");
    // `true`: the defaults; an object: each key optional.
    let d = post(json!({"lag_compensation": true}))
        .await
        .expect(201)
        .data();
    assert_eq!(
        d["lag_compensation"],
        json!({"max_per_move_ms": 500, "budget_ms": 10_000})
    );
    assert_eq!(d["participants"][1]["lag_credited_ms"], 0);
    let d = post(json!({"lag_compensation": {"budget_ms": 0}}))
        .await
        .expect(201)
        .data();
    assert_eq!(
        d["lag_compensation"],
        json!({"max_per_move_ms": 500, "budget_ms": 0})
    );
    post(json!({"lag_compensation": false})).await.expect(201);
    // Instants: ISO with an offset or epoch ms, in the future, at most 7 days ahead.
    let at = now_ms() + 60_000;
    let d = post(json!({"start_at": at})).await.expect(201).data();
    assert_eq!(iso_ms(&d["start_at"]), at);
    assert_eq!(d["status"], "pending");
    let iso = synckairos::domain::iso::to_iso(at).replace('Z', "+00:00");
    let d = post(json!({"start_at": iso})).await.expect(201).data();
    assert_eq!(iso_ms(&d["start_at"]), at);
    for (extra, field, code) in [
        (
            json!({"lag_compensation": null}),
            "lag_compensation",
            "invalid_type",
        ),
        (
            json!({"lag_compensation": 3}),
            "lag_compensation",
            "invalid_type",
        ),
        (
            json!({"lag_compensation": {"max_per_move_ms": 5001}}),
            "lag_compensation.max_per_move_ms",
            "too_big",
        ),
        (
            json!({"lag_compensation": {"budget_ms": -1}}),
            "lag_compensation.budget_ms",
            "too_small",
        ),
        (
            json!({"start_at": "tomorrow"}),
            "start_at",
            "invalid_format",
        ),
        (
            json!({"start_at": "2030-01-01T10:00:00"}),
            "start_at",
            "invalid_format",
        ),
        (json!({"start_at": null}), "start_at", "invalid_type"),
        (json!({"start_at": now_ms() - 1}), "start_at", "too_small"),
        (
            json!({"start_at": now_ms() + 8 * 86_400_000}),
            "start_at",
            "too_big",
        ),
    ] {
        let r = post(extra.clone()).await.expect(400);
        let issues = r.json()["error"]["details"].clone();
        assert!(
            issues
                .as_array()
                .is_some_and(|a| a.iter().any(|i| i["field"] == field && i["code"] == code)),
            "{extra}: {issues}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_session_starts_by_itself_at_its_instant() {
    let s = TestServer::start().await;
    let at = now_ms() + 700;
    let (id, d) = s
        .create_with(&[60_000, 60_000], json!({"start_at": at}))
        .await;
    assert_eq!(d["status"], "pending");
    let watcher = collect(WsClient::connect_ready(&s.ws_url(&id)).await.0, at + 600);
    let msgs = watcher.await.expect("watcher");
    let updates = of_type(&msgs, "STATE_UPDATE");
    assert_eq!(updates.len(), 1, "{msgs:?}");
    let (arrived, m) = updates[0];
    let st = &m["state"];
    assert_eq!(st["status"], "running", "{st}");
    assert_eq!(st["version"], 2);
    assert_eq!(iso_ms(&st["session_started_at"]), at);
    assert_eq!(iso_ms(&st["cycle_started_at"]), at);
    assert_eq!(st["active_participant_id"], pid(0));
    let late = *arrived as f64 / 1000.0 - at as f64;
    assert!(
        (0.0..=50.0).contains(&late),
        "started {late} ms after start_at"
    );
    // An explicit start before the instant starts at once and drops the schedule.
    let (id, _) = s
        .create_with(&[60_000, 60_000], json!({"start_at": now_ms() + 60_000}))
        .await;
    let d = s.op_ok(&id, "start").await;
    assert_eq!(d["status"], "running");
    assert!(d.get("start_at").is_none(), "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_move_is_credited_its_measured_transit() {
    let s = TestServer::start().await;
    let (id, _) = s
        .create_with(&[60_000, 60_000], json!({"lag_compensation": true}))
        .await;
    s.op_ok(&id, "start").await;
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    // The socket's first protocol pings measure its (loopback) delay.
    tokio::time::sleep(Duration::from_millis(800)).await;
    ws.send_json(&json!({"type": "SWITCH", "requestId": "a", "current_participant_id": pid(0)}))
        .await;
    ws.next_of_type("ACK", Duration::from_secs(3)).await;
    let st = s.state(&id).await;
    let a = &st["participants"][0];
    // Sub-millisecond on loopback: at most a whole ms of truncation and processing.
    assert!(a["lag_credited_ms"].as_u64().unwrap() <= 2, "{st}");
    assert_eq!(
        a["time_used_ms"].as_u64().unwrap()
            + a["lag_credited_ms"].as_u64().unwrap()
            + a["total_time_ms"].as_u64().unwrap(),
        60_000 + a["lag_credited_ms"].as_u64().unwrap(),
        "used + remaining = budget: {st}"
    );
    // REST moves at the home: no transit measured beyond the server itself.
    let r = s
        .http
        .post_json(
            &format!("/v1/sessions/{id}/switch"),
            &json!({"current_participant_id": pid(1)}),
        )
        .await
        .expect(200)
        .data();
    assert!(
        r["participants"][1]["lag_credited_ms"].as_u64().unwrap() <= 2,
        "{r}"
    );
}

#[tokio::test]
async fn time_and_pong_name_their_timebase() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000, 60_000]).await;
    let t0 = now_ms_f();
    for path in [
        "/v1/time".to_owned(),
        format!("/v1/time?sessionId={id}"),
        "/v1/time?region=local".into(),
    ] {
        let t = s.http.get(&path).await.expect(200).json();
        assert_eq!(t["server_version"], "2.0.0");
        assert_eq!(t["drift_tolerance_ms"], 50);
        assert_eq!(t["timebase"], "local", "{path}: {t}");
        assert_eq!(t["timebase_error_ms"], 0.0, "{path}: {t}");
        let ts = t["timestamp_ms"].as_f64().unwrap();
        assert!(ts >= t0.floor() && ts <= now_ms_f(), "{path}: {t}");
    }
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let fix = pong_fix(&mut ws, 3).await;
    assert_eq!(fix.timebase, "local");
    assert!(fix.offset.abs() <= fix.bound, "{fix:?}");
    // A v2 PING (no timestamp): the v2 shape only.
    ws.send_json(&json!({"type": "PING"})).await;
    let (pong, _) = ws.next_of_type("PONG", Duration::from_secs(3)).await;
    assert!(
        pong.get("timebase").is_none() && pong.get("server_receive_timestamp").is_none(),
        "{pong}"
    );
}
