//! `POST /v1/sessions` body validation (CONTRACT.md §2.1, §2.3.1): every rule gives
//! 400 `VALIDATION_ERROR` "Request validation failed" with a `details` array of
//! `{field, message, code}` (zod paths and codes), all issues at once; duplicate
//! participant ids are a 400 (v2: 500); `null` for an optional field is refused;
//! unknown keys and `metadata` are accepted and not echoed; a non-JSON content type
//! counts as `{}`. Also the switch body (`next_participant_id`).

use crate::support::http::Response;
use crate::support::server::{pid, session_body, session_body_with, uuid, TestServer};
use serde_json::{json, Value};

/// The `details` array of a 400 `VALIDATION_ERROR`, after checking the envelope.
#[track_caller]
fn issues(r: &Response) -> Vec<Value> {
    assert_eq!(r.status, 400, "body: {}", r.text());
    let e = &r.json()["error"];
    assert_eq!(e["code"], "VALIDATION_ERROR", "{e}");
    assert_eq!(e["message"], "Request validation failed", "{e}");
    let details = e["details"]
        .as_array()
        .expect("details is an array")
        .clone();
    for d in &details {
        assert!(d["field"].is_string(), "{d}");
        assert!(d["message"].is_string(), "{d}");
        assert!(d["code"].is_string(), "{d}");
    }
    details
}

/// Asserts that the issues contain one for `field` with `code`; returns its message.
#[track_caller]
fn has_issue(details: &[Value], field: &str, code: &str) -> String {
    details
        .iter()
        .find(|d| d["field"] == field && d["code"] == code)
        .unwrap_or_else(|| panic!("no {code} issue on {field:?} in {details:?}"))["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn create(s: &TestServer, body: &Value) -> Response {
    s.http.post_json("/v1/sessions", body).await
}

/// `session_body` with `path` (dot-separated, numeric segments index arrays) set to
/// `value`, or removed when `value` is `None`.
fn mutate(path: &str, value: Option<Value>) -> Value {
    let mut body = session_body(&uuid(), &[60_000, 60_000]);
    let mut cur = &mut body;
    let segs: Vec<&str> = path.split('.').collect();
    for seg in &segs[..segs.len() - 1] {
        cur = match seg.parse::<usize>() {
            Ok(i) => &mut cur[i],
            Err(_) => &mut cur[*seg],
        };
    }
    let last = segs[segs.len() - 1];
    if let Ok(i) = last.parse::<usize>() {
        cur[i] = value.unwrap_or(Value::Null);
        return body;
    }
    let obj = cur.as_object_mut().expect("object parent");
    match value {
        Some(v) => {
            obj.insert(last.to_owned(), v);
        }
        None => {
            obj.remove(last);
        }
    }
    body
}

/// (path, value or `None` = remove it, expected issue field, expected issue code).
type Case = (&'static str, Option<Value>, &'static str, &'static str);

#[rustfmt::skip]
fn create_rules() -> Vec<Case> {
    let p0 = "participants.0";
    vec![
        ("session_id", None, "session_id", "invalid_type"),
        ("session_id", Some(json!("not-a-uuid")), "session_id", "invalid_format"),
        ("session_id", Some(json!(42)), "session_id", "invalid_type"),
        // Version nibble 0 is not RFC 9562.
        ("session_id", Some(json!("223e4567-e89b-02d3-a456-426614174001")), "session_id", "invalid_format"),
        ("sync_mode", None, "sync_mode", "invalid_type"),
        ("sync_mode", Some(json!("chess")), "sync_mode", "invalid_value"),
        ("participants", None, "participants", "invalid_type"),
        ("participants", Some(json!([])), "participants", "too_small"),
        ("participants", Some(json!("x")), "participants", "invalid_type"),
        (p0, Some(json!(7)), p0, "invalid_type"),
        ("participants.0.participant_id", None, "participants.0.participant_id", "invalid_type"),
        ("participants.1.participant_id", Some(json!("nope")), "participants.1.participant_id", "invalid_format"),
        ("participants.0.participant_index", None, "participants.0.participant_index", "invalid_type"),
        ("participants.0.participant_index", Some(json!(-1)), "participants.0.participant_index", "too_small"),
        ("participants.0.participant_index", Some(json!(1.5)), "participants.0.participant_index", "invalid_type"),
        ("participants.0.participant_index", Some(json!("0")), "participants.0.participant_index", "invalid_type"),
        ("participants.0.total_time_ms", None, "participants.0.total_time_ms", "invalid_type"),
        ("participants.0.total_time_ms", Some(json!(999)), "participants.0.total_time_ms", "too_small"),
        ("participants.1.total_time_ms", Some(json!(86_400_001)), "participants.1.total_time_ms", "too_big"),
        ("participants.0.group_id", Some(json!("g")), "participants.0.group_id", "invalid_format"),
        ("participants.0.group_id", Some(Value::Null), "participants.0.group_id", "invalid_type"),
        ("total_time_ms", None, "total_time_ms", "invalid_type"),
        ("total_time_ms", Some(json!(999)), "total_time_ms", "too_small"),
        ("total_time_ms", Some(json!(86_400_001)), "total_time_ms", "too_big"),
        ("total_time_ms", Some(json!("60000")), "total_time_ms", "invalid_type"),
        ("total_time_ms", Some(json!(60_000.5)), "total_time_ms", "invalid_type"),
        ("time_per_cycle_ms", Some(json!(999)), "time_per_cycle_ms", "too_small"),
        ("time_per_cycle_ms", Some(json!(86_400_001)), "time_per_cycle_ms", "too_big"),
        ("time_per_cycle_ms", Some(Value::Null), "time_per_cycle_ms", "invalid_type"),
        ("increment_ms", Some(json!(-1)), "increment_ms", "too_small"),
        ("increment_ms", Some(json!(60_001)), "increment_ms", "too_big"),
        ("increment_ms", Some(Value::Null), "increment_ms", "invalid_type"),
        ("max_time_ms", Some(json!(999)), "max_time_ms", "too_small"),
        ("max_time_ms", Some(json!(86_400_001)), "max_time_ms", "too_big"),
        ("max_time_ms", Some(Value::Null), "max_time_ms", "invalid_type"),
        ("metadata", Some(json!("text")), "metadata", "invalid_type"),
        ("metadata", Some(json!([1])), "metadata", "invalid_type"),
        ("metadata", Some(Value::Null), "metadata", "invalid_type"),
    ]
}

#[tokio::test]
async fn each_create_rule_gives_a_field_issue() {
    let s = TestServer::start().await;
    for (path, value, field, code) in create_rules() {
        let r = create(&s, &mutate(path, value.clone())).await;
        let details = issues(&r);
        has_issue(&details, field, code);
        assert!(
            details.iter().all(|d| d["field"] == field),
            "{path}={value:?}: unrelated issues in {details:?}"
        );
    }
}

#[tokio::test]
async fn contract_messages_for_sync_mode_and_participant_budget() {
    let s = TestServer::start().await;
    let r = create(&s, &mutate("sync_mode", Some(json!("chess")))).await;
    assert_eq!(
        has_issue(&issues(&r), "sync_mode", "invalid_value"),
        "Invalid sync mode. Must be one of: per_participant, per_cycle, per_group, global, count_up"
    );
    let r = create(
        &s,
        &mutate("participants.0.total_time_ms", Some(json!(500))),
    )
    .await;
    assert_eq!(
        has_issue(&issues(&r), "participants.0.total_time_ms", "too_small"),
        "Total time must be at least 1000ms (1 second)"
    );
}

#[tokio::test]
async fn every_issue_is_reported_at_once() {
    let s = TestServer::start().await;
    let body = json!({
        "session_id": "bad",
        "sync_mode": "bad",
        "participants": [{"participant_id": "bad", "participant_index": -1, "total_time_ms": 1}],
        "total_time_ms": 1,
        "increment_ms": 999_999,
    });
    let d = issues(&create(&s, &body).await);
    for (field, code) in [
        ("session_id", "invalid_format"),
        ("sync_mode", "invalid_value"),
        ("participants.0.participant_id", "invalid_format"),
        ("participants.0.participant_index", "too_small"),
        ("participants.0.total_time_ms", "too_small"),
        ("total_time_ms", "too_small"),
        ("increment_ms", "too_big"),
    ] {
        has_issue(&d, field, code);
    }
}

#[tokio::test]
async fn root_that_is_not_an_object_is_a_root_issue() {
    let s = TestServer::start().await;
    for body in [json!([1, 2]), json!("text"), json!(5), Value::Null] {
        let d = issues(&create(&s, &body).await);
        has_issue(&d, "", "invalid_type");
    }
}

#[tokio::test]
async fn missing_body_or_non_json_content_type_counts_as_empty_object() {
    let s = TestServer::start().await;
    let d = issues(&s.http.post_empty("/v1/sessions").await);
    for f in ["session_id", "sync_mode", "participants", "total_time_ms"] {
        has_issue(&d, f, "invalid_type");
    }
    // A valid JSON text sent as text/plain is not read as JSON (v2: express.json).
    let body = session_body(&uuid(), &[60_000]).to_string();
    let r = s
        .http
        .send(
            hyper::Method::POST,
            "/v1/sessions",
            &[("content-type", "text/plain")],
            body,
        )
        .await;
    has_issue(&issues(&r), "session_id", "invalid_type");
}

#[tokio::test]
async fn participant_count_limits() {
    let s = TestServer::start().await;
    let budgets = vec![1000u64; 1001];
    let d = issues(&create(&s, &session_body(&uuid(), &budgets)).await);
    has_issue(&d, "participants", "too_big");
    // Exactly 1000 is fine.
    create(&s, &session_body(&uuid(), &budgets[..1000]))
        .await
        .expect(201);
}

#[tokio::test]
async fn boundary_values_are_accepted() {
    let s = TestServer::start().await;
    let body = session_body_with(
        &uuid(),
        &[1000, 86_400_000],
        json!({"total_time_ms": 86_400_000, "time_per_cycle_ms": 1000, "increment_ms": 60_000, "max_time_ms": 1000}),
    );
    let d = create(&s, &body).await.expect(201).data();
    assert_eq!(d["increment_ms"], 60_000);
    assert_eq!(d["max_time_ms"], 1000);
    assert_eq!(d["time_per_cycle_ms"], 1000);
    let zero = session_body_with(&uuid(), &[1000], json!({"increment_ms": 0}));
    assert_eq!(
        create(&s, &zero).await.expect(201).data()["increment_ms"],
        0
    );
    // 1000.0 is an integer in JavaScript.
    let float = session_body_with(&uuid(), &[1000], json!({"total_time_ms": 1000.0}));
    create(&s, &float).await.expect(201);
}

#[tokio::test]
async fn duplicate_participant_ids_are_400() {
    let s = TestServer::start().await;
    let id = uuid();
    let body = json!({
        "session_id": id,
        "sync_mode": "per_participant",
        "participants": [
            {"participant_id": pid(0), "participant_index": 0, "total_time_ms": 60_000},
            {"participant_id": pid(0), "participant_index": 1, "total_time_ms": 60_000},
        ],
        "total_time_ms": 60_000,
    });
    let r = create(&s, &body).await;
    let d = issues(&r);
    let msg = has_issue(&d, "participants.1.participant_id", "custom");
    assert!(msg.contains(&pid(0)), "{msg}");
    // Nothing was stored.
    s.http.get(&format!("/v1/sessions/{id}")).await.expect(404);
}

#[tokio::test]
async fn unknown_keys_and_metadata_are_accepted_and_not_echoed() {
    let s = TestServer::start().await;
    let mut body = session_body_with(
        &uuid(),
        &[60_000],
        json!({"metadata": {"room": "A", "n": 1}, "surprise": true, "auto_advance": true}),
    );
    body["participants"][0]["extra"] = json!("x");
    let d = create(&s, &body).await.expect(201).data();
    for k in ["metadata", "surprise", "auto_advance"] {
        assert!(d.get(k).is_none(), "{k} echoed: {d}");
    }
    assert!(d["participants"][0].get("extra").is_none());
}

#[tokio::test]
async fn duplicate_participant_index_is_allowed() {
    let s = TestServer::start().await;
    let mut body = session_body(&uuid(), &[60_000, 60_000]);
    body["participants"][1]["participant_index"] = json!(0);
    create(&s, &body).await.expect(201);
}

#[tokio::test]
async fn switch_body_validation() {
    let s = TestServer::start().await;
    let id = uuid();
    create(&s, &session_body(&id, &[60_000, 60_000]))
        .await
        .expect(201);
    s.http
        .post_empty(&format!("/v1/sessions/{id}/start"))
        .await
        .expect(200);
    let path = format!("/v1/sessions/{id}/switch");
    for (v, code) in [
        (json!("nope"), "invalid_format"),
        (json!(12), "invalid_type"),
        (Value::Null, "invalid_type"),
    ] {
        let r = s
            .http
            .post_json(&path, &json!({ "next_participant_id": v }))
            .await;
        has_issue(&issues(&r), "next_participant_id", code);
    }
    let r = s.http.post_json(&path, &json!([1])).await;
    has_issue(&issues(&r), "", "invalid_type");
    // Unknown keys are stripped: the switch goes through.
    let ok = s
        .http
        .post_json(&path, &json!({"whatever": 1}))
        .await
        .expect(200);
    assert_eq!(ok.data()["active_participant_id"], pid(1).as_str());
    // Bodies of the other operations are ignored when they are valid JSON.
    s.http
        .post_json(&format!("/v1/sessions/{id}/pause"), &json!({"x": [1, 2]}))
        .await
        .expect(200);
}

#[tokio::test]
async fn home_region_extension_accepts_only_this_region_when_single() {
    let s = TestServer::start().await;
    let body = session_body_with(&uuid(), &[60_000], json!({"home_region": "local"}));
    let d = create(&s, &body).await.expect(201).data();
    assert_eq!(d["home_region"], "local");
    let body = session_body_with(&uuid(), &[60_000], json!({"home_region": "mars"}));
    has_issue(
        &issues(&create(&s, &body).await),
        "home_region",
        "invalid_value",
    );
    let body = session_body_with(&uuid(), &[60_000], json!({"home_region": 3}));
    has_issue(
        &issues(&create(&s, &body).await),
        "home_region",
        "invalid_type",
    );
}
