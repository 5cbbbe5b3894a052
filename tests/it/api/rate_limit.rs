//! Rate limits (CONTRACT.md §6.1, §2.4) with limits lowered through the config: the
//! general limiter per client address (429 `RATE_LIMIT_EXCEEDED`, `retry_after_seconds`
//! in the error, `Retry-After` > 0, the draft-6 `RateLimit-*` headers; exempt routes
//! carry none; unknown routes count), the switch limiter per session (counted after
//! validation; its headers win on the switch route), and the trusted client-IP header.

use crate::support::http::Response;
use crate::support::server::TestServer;
use hyper::Method;

#[track_caller]
fn rate_headers(r: &Response) -> (String, u64, u64, u64) {
    let num = |h: &str| -> u64 {
        r.header(h)
            .unwrap_or_else(|| panic!("missing {h}; status {}", r.status))
            .parse()
            .unwrap_or_else(|_| panic!("{h} not a number"))
    };
    (
        r.header("ratelimit-policy").expect("RateLimit-Policy"),
        num("ratelimit-limit"),
        num("ratelimit-remaining"),
        num("ratelimit-reset"),
    )
}

#[track_caller]
fn assert_429(r: &Response, message: &str, max_retry: u64) {
    assert_eq!(r.status, 429, "{}", r.text());
    let e = &r.json()["error"];
    assert_eq!(e["code"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(e["message"], message);
    let retry = e["retry_after_seconds"]
        .as_u64()
        .expect("retry_after_seconds");
    assert!(
        retry > 0 && retry <= max_retry,
        "retry_after_seconds {retry}"
    );
    let header: u64 = r
        .header("retry-after")
        .expect("Retry-After header")
        .parse()
        .unwrap();
    assert!(header > 0 && header <= max_retry, "Retry-After {header}");
}

const GENERAL_MSG: &str = "Too many requests, please try again later";
const SWITCH_MSG: &str = "Too many cycle switches for this session, please slow down";

#[tokio::test]
async fn general_limit_gives_429_with_headers() {
    let s = TestServer::start_with(|c| c.rate_limit.general_per_minute = 5).await;
    for i in 0..5u64 {
        let r = s.http.get("/v1/time").await.expect(200);
        let (policy, limit, remaining, reset) = rate_headers(&r);
        assert_eq!(policy, "5;w=60");
        assert_eq!(limit, 5);
        assert_eq!(remaining, 4 - i);
        assert!((1..=60).contains(&reset), "reset {reset}");
    }
    let r = s.http.get("/v1/time").await;
    assert_429(&r, GENERAL_MSG, 60);
    let (_, _, remaining, _) = rate_headers(&r);
    assert_eq!(remaining, 0);
    // Session routes share the same per-address quota.
    let r = s
        .http
        .get("/v1/sessions/223e4567-e89b-12d3-a456-426614174001")
        .await;
    assert_429(&r, GENERAL_MSG, 60);
    // Exempt routes keep working, without RateLimit headers.
    for path in ["/health", "/ready", "/metrics", "/api-docs.json"] {
        let r = s.http.get(path).await.expect(200);
        assert!(r.header("ratelimit-limit").is_none(), "{path}");
    }
    // So does the WebSocket endpoint (not rate limited in v2).
    let id = crate::support::server::uuid();
    let (mut ws, _) = crate::support::ws::WsClient::connect_ready(&s.ws_url(&id)).await;
    ws.ping_pong().await;
}

#[tokio::test]
async fn unknown_routes_and_bad_requests_count_against_the_quota() {
    let s = TestServer::start_with(|c| c.rate_limit.general_per_minute = 3).await;
    s.http.get("/nope").await.expect(404);
    s.http
        .send(Method::PUT, "/v1/time", &[], "")
        .await
        .expect(405);
    s.http.get("/v1/sessions/not-a-uuid").await.expect(400);
    let r = s.http.get("/nope").await;
    assert_429(&r, GENERAL_MSG, 60);
    assert_429(&s.http.get("/v1/time").await, GENERAL_MSG, 60);
}

#[tokio::test]
async fn switch_limit_per_session_with_its_headers_winning() {
    let s = TestServer::start_with(|c| {
        c.rate_limit.general_per_minute = 1000;
        c.rate_limit.switch_per_second = 2;
    })
    .await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    let (other, _) = s.create(&[600_000, 600_000]).await;
    s.op_ok(&id, "start").await;
    s.op_ok(&other, "start").await;
    let r1 = s.op(&id, "switch").await.expect(200);
    let (policy, limit, remaining, reset) = rate_headers(&r1);
    assert_eq!(
        policy, "2;w=1",
        "switch limiter's headers win on the switch route"
    );
    assert_eq!((limit, remaining, reset), (2, 1, 1));
    // Other routes show the general limiter.
    let g = s.op(&id, "pause").await;
    assert_eq!(g.header("ratelimit-policy").as_deref(), Some("1000;w=60"));
    s.op_ok(&id, "resume").await;
    s.op(&id, "switch").await.expect(200);
    let r3 = s.op(&id, "switch").await;
    assert_429(&r3, SWITCH_MSG, 1);
    assert_eq!(r3.json()["error"]["retry_after_seconds"], 1);
    assert_eq!(r3.header("ratelimit-policy").as_deref(), Some("2;w=1"));
    // Per session: another session can still switch.
    s.op(&other, "switch").await.expect(200);
    // The refused switch changed nothing.
    assert_eq!(s.state(&id).await["version"], 6);
    // A new one-second window allows switches again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    s.op(&id, "switch").await.expect(200);
}

#[tokio::test]
async fn switch_limit_counts_only_after_validation() {
    let s = TestServer::start_with(|c| c.rate_limit.switch_per_second = 1).await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    s.op_ok(&id, "start").await;
    let path = format!("/v1/sessions/{id}/switch");
    for _ in 0..3 {
        s.http
            .post_json(&path, &serde_json::json!({"next_participant_id": "bad"}))
            .await
            .expect(400);
        s.http
            .post_empty("/v1/sessions/not-a-uuid/switch")
            .await
            .expect(400);
    }
    s.op(&id, "switch").await.expect(200);
    assert_429(&s.op(&id, "switch").await, SWITCH_MSG, 1);
}

#[tokio::test]
async fn switch_counts_against_the_general_limit_too() {
    let s = TestServer::start_with(|c| c.rate_limit.general_per_minute = 3).await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    s.op_ok(&id, "start").await;
    s.op(&id, "switch").await.expect(200);
    assert_429(&s.op(&id, "switch").await, GENERAL_MSG, 60);
}

#[tokio::test]
async fn zero_disables_a_limiter() {
    let s = TestServer::start_with(|c| {
        c.rate_limit.general_per_minute = 0;
        c.rate_limit.switch_per_second = 0;
    })
    .await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    s.op_ok(&id, "start").await;
    for _ in 0..30 {
        let r = s.op(&id, "switch").await.expect(200);
        assert!(r.header("ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn trusted_client_ip_header_separates_clients() {
    let s = TestServer::start_with(|c| {
        c.rate_limit.general_per_minute = 2;
        c.server.client_ip_header = Some("fly-client-ip".into());
    })
    .await;
    let get = |ip: &'static str| {
        let http = s.http.clone();
        async move {
            http.send(Method::GET, "/v1/time", &[("fly-client-ip", ip)], "")
                .await
        }
    };
    get("203.0.113.1").await.expect(200);
    get("203.0.113.1").await.expect(200);
    assert_429(&get("203.0.113.1").await, GENERAL_MSG, 60);
    get("203.0.113.2").await.expect(200);
    // A forwarded list: the first address is the client.
    get("203.0.113.3, 10.0.0.1").await.expect(200);
}

#[tokio::test]
async fn the_default_limits_do_not_get_in_the_way_of_a_test_run() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    s.op_ok(&id, "start").await;
    for _ in 0..20 {
        s.op(&id, "switch").await.expect(200);
    }
    for _ in 0..200 {
        s.http.get("/v1/time").await.expect(200);
    }
}
