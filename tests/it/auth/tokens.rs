//! Tokens that must be refused, each with its 401 reason: none, malformed, tampered,
//! signed with a wrong key, an unknown key id, expired, not yet valid, an unsigned
//! (`alg: none`) one, bad claims; and key rotation by key id.

use serde_json::json;
use synckairos::auth::issue;

use crate::support::auth::{self, reason, Authed};
use crate::support::server::{session_body, uuid, TestServer};

fn b64(s: &str) -> String {
    // base64url without padding, enough for these small JSON headers.
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, &x| (a << 8) | x as u32) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn session_routes_need_a_token_and_operational_routes_do_not() {
    let s = TestServer::start_with(auth::on).await;
    let id = uuid();
    let r = s
        .http
        .post_json("/v1/sessions", &session_body(&id, &[60_000]))
        .await;
    let r = r.expect(401);
    assert_eq!(r.error_code(), "UNAUTHORIZED");
    assert_eq!(reason(&r), "missing");
    assert!(r
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Bearer")));
    for path in [
        format!("/v1/sessions/{id}"),
        format!("/v1/sessions/{id}/events"),
    ] {
        assert_eq!(
            s.http.get(&path).await.expect(401).error_code(),
            "UNAUTHORIZED"
        );
    }
    s.http
        .post_empty(&format!("/v1/sessions/{id}/start"))
        .await
        .expect(401);
    s.http
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(401);
    for open in [
        "/health",
        "/ready",
        "/v1/time",
        "/metrics",
        "/api-docs.json",
    ] {
        s.http.get(open).await.expect(200);
    }
}

#[tokio::test]
async fn bad_tokens_are_refused_with_their_reason() {
    let s = TestServer::start_with(auth::on).await;
    let good = auth::service("backend", None);
    let (h, p, sig) = {
        let mut it = good.split('.');
        (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
    };
    let mut expired = auth::claims("service", "backend");
    expired.exp -= 7200;
    let mut early = auth::claims("service", "backend");
    early.nbf = Some(early.exp);
    let mut bad_role = auth::claims("admin", "backend");
    bad_role.sid = None;
    let mut other = auth::config(&["k1"]);
    other.keys.get_mut("k1").unwrap().secret = Some("another-secret-0123456789abcdefghijk".into());
    let wrong_key = issue::sign(&other, Some("k1"), None, &auth::claims("service", "x")).unwrap();
    let tampered_payload =
        b64(&json!({"sub":"backend","role":"service","exp":9_999_999_999u64}).to_string());
    let none_header = b64(r#"{"alg":"none","typ":"JWT"}"#);
    let cases: Vec<(String, &str)> = vec![
        ("abc".into(), "malformed"),
        (format!("{h}.{p}"), "malformed"),
        (format!("{h}.{tampered_payload}.{sig}"), "bad_signature"),
        (format!("{none_header}.{p}."), "malformed"),
        (wrong_key, "bad_signature"),
        (
            auth::sign("k2", &auth::claims("service", "x")),
            "unknown_key",
        ),
        (auth::sign("k1", &expired), "expired"),
        (auth::sign("k1", &early), "not_yet_valid"),
        (auth::sign("k1", &bad_role), "claims"),
    ];
    for (token, want) in cases {
        let r = Authed {
            http: &s.http,
            token: &token,
        }
        .post("/v1/sessions", &session_body(&uuid(), &[60_000]))
        .await
        .expect(401);
        assert_eq!(reason(&r), want, "{token}: {}", r.text());
    }
    // The good one works, and so does the CLI's way of signing.
    Authed {
        http: &s.http,
        token: &good,
    }
    .post("/v1/sessions", &session_body(&uuid(), &[60_000]))
    .await
    .expect(201);
}

#[tokio::test]
async fn keys_rotate_by_key_id() {
    let both = TestServer::start_with(|c| c.auth = auth::config(&["k1", "k2"])).await;
    let only_new = TestServer::start_with(|c| c.auth = auth::config(&["k2"])).await;
    let old = auth::sign("k1", &auth::claims("service", "backend"));
    let new = auth::sign("k2", &auth::claims("service", "backend"));
    for token in [&old, &new] {
        Authed {
            http: &both.http,
            token,
        }
        .post("/v1/sessions", &session_body(&uuid(), &[60_000]))
        .await
        .expect(201);
    }
    let r = Authed {
        http: &only_new.http,
        token: &old,
    }
    .post("/v1/sessions", &session_body(&uuid(), &[60_000]))
    .await
    .expect(401);
    assert_eq!(reason(&r), "unknown_key");
    Authed {
        http: &only_new.http,
        token: &new,
    }
    .post("/v1/sessions", &session_body(&uuid(), &[60_000]))
    .await
    .expect(201);
    // A token without a kid is accepted only when there is a single key.
    let no_kid = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &auth::claims("service", "x"),
        &jsonwebtoken::EncodingKey::from_secret(auth::SECRET_K2.as_bytes()),
    )
    .unwrap();
    let t = no_kid;
    Authed {
        http: &only_new.http,
        token: &t,
    }
    .post("/v1/sessions", &session_body(&uuid(), &[60_000]))
    .await
    .expect(201);
    let r = Authed {
        http: &both.http,
        token: &t,
    }
    .post("/v1/sessions", &session_body(&uuid(), &[60_000]))
    .await
    .expect(401);
    assert_eq!(reason(&r), "unknown_key");
}
