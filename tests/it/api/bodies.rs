//! Hostile and odd request bodies and path ids (CONTRACT.md "Decisions", §2.1, §1.10):
//! malformed JSON → 400 `VALIDATION_ERROR` (v2: 500); a body over
//! `server.body_limit_bytes` → 413 in the error envelope, with `Content-Length` and
//! chunked; a 1 MB garbage body; the nil UUID (404 on GET, 204 on DELETE), the max
//! UUID accepted, a bad `:id` → 400 with field `"id"` on every session route; and the
//! server keeps serving everyone else after each of these.

use crate::support::http::{is_json, raw, raw_status, Response};
use crate::support::server::{session_body, uuid, TestServer};
use bytes::Bytes;
use hyper::Method;
use serde_json::json;

const NIL: &str = "00000000-0000-0000-0000-000000000000";
const MAX: &str = "ffffffff-ffff-ffff-ffff-ffffffffffff";

#[track_caller]
fn assert_too_large(r: &Response, limit: usize) {
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(is_json(r));
    let e = &r.json()["error"];
    assert_eq!(e["code"], "PAYLOAD_TOO_LARGE");
    assert!(
        e["message"].as_str().unwrap().contains(&limit.to_string()),
        "{e}"
    );
}

/// Pseudo-random bytes (not valid JSON, mostly not UTF-8).
fn garbage(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

async fn still_serving(s: &TestServer) {
    s.http.get("/health").await.expect(200);
    let id = uuid();
    s.http
        .post_json("/v1/sessions", &session_body(&id, &[60_000]))
        .await
        .expect(201);
}

#[tokio::test]
async fn malformed_json_is_400_validation_error() {
    let s = TestServer::start().await;
    for body in [
        &b"{"[..],
        b"{\"session_id\": }",
        b"[1,2,,]",
        b"{'single': 'quotes'}",
        b"\xff\xfe\x00garbage",
        b"{\"a\":1} trailing",
    ] {
        let r = s.http.post_raw("/v1/sessions", body.to_vec()).await;
        assert_eq!(r.status, 400, "{:?}: {}", body, r.text());
        let e = &r.json()["error"];
        assert_eq!(e["code"], "VALIDATION_ERROR");
        let d = e["details"].as_array().expect("details array");
        assert_eq!(d[0]["field"], "");
        assert!(d[0]["message"].as_str().unwrap().contains("Malformed JSON"));
        assert!(e.get("stack").is_none());
    }
    // The same on an operation route.
    let r = s
        .http
        .post_raw(&format!("/v1/sessions/{}/switch", uuid()), "{nope")
        .await
        .expect(400);
    assert_eq!(r.error_code(), "VALIDATION_ERROR");
    still_serving(&s).await;
}

#[tokio::test]
async fn body_over_the_limit_is_413_with_content_length() {
    let limit = 2048;
    let s = TestServer::start_with(|c| c.server.body_limit_bytes = limit).await;
    let r = s.http.post_raw("/v1/sessions", vec![b' '; limit + 1]).await;
    assert_too_large(&r, limit);
    // Exactly at the limit is read (and is then just whitespace: an empty body).
    let mut at_limit = session_body(&uuid(), &[60_000]).to_string().into_bytes();
    at_limit.resize(limit, b' ');
    s.http.post_raw("/v1/sessions", at_limit).await.expect(201);
    // Operation routes read bodies too.
    let r = s
        .http
        .post_raw(
            &format!("/v1/sessions/{}/start", uuid()),
            vec![b'x'; limit * 4],
        )
        .await;
    assert_too_large(&r, limit);
    still_serving(&s).await;
}

#[tokio::test]
async fn body_over_the_limit_is_413_when_chunked() {
    let limit = 2048;
    let s = TestServer::start_with(|c| c.server.body_limit_bytes = limit).await;
    let chunks: Vec<Bytes> = (0..8).map(|_| Bytes::from(vec![b' '; 512])).collect();
    let r = s
        .http
        .try_post_chunked("/v1/sessions", chunks)
        .await
        .expect("413 response, not a dropped connection");
    assert_too_large(&r, limit);
    // A chunked body under the limit is read normally.
    let body = session_body(&uuid(), &[60_000]).to_string();
    let (a, b) = body.split_at(body.len() / 2);
    let ok = s
        .http
        .try_post_chunked(
            "/v1/sessions",
            vec![Bytes::from(a.to_owned()), Bytes::from(b.to_owned())],
        )
        .await
        .expect("response");
    assert_eq!(ok.status, 201, "{}", ok.text());
    still_serving(&s).await;
}

#[tokio::test]
async fn a_1mb_garbage_body_gets_a_clear_error_and_others_are_served() {
    let s = TestServer::start().await;
    let limit = 1024 * 1024;
    // Over the default 1 MB limit: 413 (declared length).
    let r = s.http.post_raw("/v1/sessions", garbage(limit + 1)).await;
    assert_too_large(&r, limit);
    // Over the limit, chunked: 413 once the limit is crossed.
    let chunks: Vec<Bytes> = garbage(limit + 64 * 1024)
        .chunks(64 * 1024)
        .map(Bytes::copy_from_slice)
        .collect();
    let r = s
        .http
        .try_post_chunked("/v1/sessions", chunks)
        .await
        .expect("413 response");
    assert_too_large(&r, limit);
    // Just under the limit: read, then refused as malformed JSON.
    let r = s.http.post_raw("/v1/sessions", garbage(limit - 1)).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.error_code(), "VALIDATION_ERROR");
    // And as a raw request on its own connection.
    let mut req = format!(
        "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        limit * 2
    )
    .into_bytes();
    req.extend(garbage(limit * 2));
    let resp = raw(s.addr(), &req, std::time::Duration::from_secs(3)).await;
    if !resp.is_empty() {
        assert_eq!(
            raw_status(&resp),
            Some(413),
            "{}",
            &resp[..resp.len().min(300)]
        );
    }
    still_serving(&s).await;
}

#[tokio::test]
async fn nil_uuid_is_a_valid_id() {
    let s = TestServer::start().await;
    let r = s.http.get(&format!("/v1/sessions/{NIL}")).await.expect(404);
    assert_eq!(r.error_code(), "SESSION_NOT_FOUND");
    assert_eq!(r.error_message(), format!("Session {NIL} not found"));
    assert!(r.json()["error"].get("details").is_none());
    let d = s
        .http
        .delete(&format!("/v1/sessions/{NIL}"))
        .await
        .expect(204);
    assert!(d.body.is_empty());
    for op in ["start", "switch", "pause", "resume", "complete"] {
        let r = s
            .http
            .post_empty(&format!("/v1/sessions/{NIL}/{op}"))
            .await
            .expect(404);
        assert_eq!(r.error_code(), "SESSION_NOT_FOUND", "{op}");
    }
}

#[tokio::test]
async fn max_uuid_is_accepted_everywhere() {
    let s = TestServer::start().await;
    let d = s
        .http
        .post_json("/v1/sessions", &session_body(MAX, &[60_000]))
        .await
        .expect(201)
        .data();
    assert_eq!(d["session_id"], MAX);
    s.http.get(&format!("/v1/sessions/{MAX}")).await.expect(200);
    s.http
        .post_empty(&format!("/v1/sessions/{MAX}/start"))
        .await
        .expect(200);
    s.http
        .delete(&format!("/v1/sessions/{MAX}"))
        .await
        .expect(204);
    // Upper-case max is not the literal zod accepts.
    let upper = MAX.to_uppercase();
    let r = s
        .http
        .get(&format!("/v1/sessions/{upper}"))
        .await
        .expect(400);
    assert_eq!(r.json()["error"]["details"][0]["field"], "id");
}

#[tokio::test]
async fn bad_id_param_is_400_with_field_id_on_every_session_route() {
    let s = TestServer::start().await;
    for bad in [
        "not-a-uuid",
        "123",
        "223e4567-e89b-02d3-a456-426614174001",
        "223e4567-e89b-12d3-c456-426614174001",
        "223e4567e89b12d3a456426614174001",
    ] {
        let mut reqs = vec![
            (Method::GET, format!("/v1/sessions/{bad}")),
            (Method::DELETE, format!("/v1/sessions/{bad}")),
        ];
        for op in ["start", "switch", "pause", "resume", "complete"] {
            reqs.push((Method::POST, format!("/v1/sessions/{bad}/{op}")));
        }
        for (m, path) in reqs {
            let r = s.http.send(m.clone(), &path, &[], "").await;
            assert_eq!(r.status, 400, "{m} {path}: {}", r.text());
            let e = &r.json()["error"];
            assert_eq!(e["code"], "VALIDATION_ERROR", "{m} {path}");
            assert_eq!(e["message"], "Request validation failed");
            assert_eq!(e["details"][0]["field"], "id", "{m} {path}");
            assert_eq!(e["details"][0]["code"], "invalid_format");
        }
    }
}

#[tokio::test]
async fn ids_are_case_sensitive_and_kept_as_sent() {
    let s = TestServer::start().await;
    let lower = "6f1c0000-0000-4000-8000-00000000000a";
    let upper = "6F1C0000-0000-4000-8000-00000000000A";
    let d = s
        .http
        .post_json("/v1/sessions", &session_body(upper, &[60_000]))
        .await
        .expect(201)
        .data();
    assert_eq!(d["session_id"], upper);
    s.http
        .get(&format!("/v1/sessions/{upper}"))
        .await
        .expect(200);
    s.http
        .get(&format!("/v1/sessions/{lower}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn a_json_body_with_a_charset_or_suffix_type_is_read() {
    let s = TestServer::start().await;
    let body = json!({"session_id": uuid(), "sync_mode": "global", "participants": [{"participant_id": crate::support::server::pid(0), "participant_index": 0, "total_time_ms": 5000}], "total_time_ms": 5000});
    for ct in [
        "application/json; charset=utf-8",
        "application/vnd.api+json",
        "Application/JSON",
    ] {
        let mut b = body.clone();
        b["session_id"] = json!(uuid());
        let r = s
            .http
            .send(
                Method::POST,
                "/v1/sessions",
                &[("content-type", ct)],
                b.to_string(),
            )
            .await;
        assert_eq!(r.status, 201, "{ct}: {}", r.text());
    }
}

#[tokio::test]
async fn deeply_nested_or_huge_number_json_is_400() {
    let s = TestServer::start().await;
    for body in [
        "[".repeat(100_000),
        format!("{}{}", "{\"a\":".repeat(5_000), "}".repeat(5_000)),
        r#"{"total_time_ms": 1e400}"#.to_owned(),
    ] {
        let r = s.http.post_raw("/v1/sessions", body).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.error_code(), "VALIDATION_ERROR");
    }
    still_serving(&s).await;
}
