//! The operational routes and cross-cutting HTTP behaviour (CONTRACT.md §2.1, §2.2,
//! §2.3.6, §2.3.7, §6.3): `/health`, `/ready`, `/metrics`, `/api-docs.json`,
//! `/api-docs`, `/v1/time`, CORS headers and the OPTIONS preflight, case-insensitive
//! routing with a trailing slash, JSON 404 for unknown routes and JSON 405 for wrong
//! methods, and the history extension route.

use crate::support::http::is_json;
use crate::support::server::{session_body, uuid, TestServer};
use hyper::Method;

#[tokio::test]
async fn health_is_ok_unwrapped_with_cors_and_no_rate_headers() {
    let s = TestServer::start().await;
    let r = s.http.get("/health").await.expect(200);
    assert_eq!(r.json(), serde_json::json!({"status": "ok"}));
    assert!(is_json(&r), "content-type: {:?}", r.header("content-type"));
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    for h in [
        "ratelimit-policy",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
    ] {
        assert!(r.header(h).is_none(), "/health must not carry {h}");
    }
    assert!(r.header("x-powered-by").is_none());
}

#[tokio::test]
async fn ready_is_200_while_serving() {
    let s = TestServer::start().await;
    let r = s.http.get("/ready").await.expect(200);
    assert_eq!(r.json(), serde_json::json!({"status": "ready"}));
}

#[tokio::test]
async fn metrics_is_prometheus_text_with_region_label() {
    let s = TestServer::start().await;
    // Make sure at least one request, a switch and a socket have been counted.
    s.http.get("/v1/time").await.expect(200);
    let (id, _) = s.create(&[60_000, 60_000]).await;
    s.op_ok(&id, "start").await;
    s.op_ok(&id, "switch").await;
    let _ws = crate::support::ws::WsClient::connect_ready(&s.ws_url(&id)).await;
    let r = s.http.get("/metrics").await.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = r.text();
    let line = text
        .lines()
        .find(|l| l.starts_with("synckairos_http_requests_total{"))
        .unwrap_or_else(|| panic!("no synckairos_http_requests_total series in:\n{text}"));
    assert!(line.contains(r#"region="local""#), "line: {line}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("synckairos_http_requests_total{")
                && l.contains(r#"route="/v1/time""#)
                && l.contains(r#"method="GET""#)
                && l.contains(r#"status_code="200""#)),
        "no series for GET /v1/time 200:\n{text}"
    );
    assert!(text.contains("# TYPE synckairos_http_requests_total counter"));
    for series in [
        "synckairos_http_request_duration_ms",
        "synckairos_switch_cycle_duration_ms",
        "synckairos_active_sessions",
        "synckairos_websocket_connections",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(series) && l.contains(r#"region="local""#)),
            "no {series} series with the region label"
        );
    }
}

#[tokio::test]
async fn api_docs_json_is_openapi_3_0_3() {
    let s = TestServer::start().await;
    let r = s.http.get("/api-docs.json").await.expect(200);
    assert!(is_json(&r));
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(doc["info"]["title"], "SyncKairos API");
    assert_eq!(doc["info"]["version"], "2.0.0");
    // Every route of the contract is described, with its methods.
    let id = "/v1/sessions/{id}";
    let mut routes = vec![
        ("/health", "get"),
        ("/ready", "get"),
        ("/metrics", "get"),
        ("/v1/time", "get"),
        ("/v1/sessions", "post"),
        (id, "get"),
        (id, "delete"),
    ];
    let ops: Vec<String> = ["start", "switch", "pause", "resume", "complete"]
        .iter()
        .map(|op| format!("{id}/{op}"))
        .collect();
    routes.extend(ops.iter().map(|p| (p.as_str(), "post")));
    for (path, method) in routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "no {method} {path} in /api-docs.json"
        );
    }
    // The UI page and its sub-paths are served too (v2: Swagger UI).
    let ui = s.http.get("/api-docs").await.expect(200);
    assert!(ui.header("content-type").unwrap().starts_with("text/html"));
    s.http.get("/api-docs/index.html").await.expect(200);
}

#[tokio::test]
async fn time_has_v2_constants_and_a_current_timestamp() {
    let s = TestServer::start().await;
    let before = synckairos::clock::now_ms();
    let r = s.http.get("/v1/time").await.expect(200);
    let after = synckairos::clock::now_ms();
    let t = r.json();
    assert_eq!(t["server_version"], "2.0.0");
    assert_eq!(t["drift_tolerance_ms"], 50);
    let ts = t["timestamp_ms"].as_i64().expect("integer timestamp_ms");
    assert!(before <= ts && ts <= after, "{before} <= {ts} <= {after}");
    assert!(t.get("data").is_none(), "/v1/time is not wrapped");
    // It is behind the general limiter (§2.3.6), so it carries the headers.
    assert!(r.header("ratelimit-limit").is_some());
}

#[tokio::test]
async fn cors_headers_on_responses_and_preflight_is_204() {
    let s = TestServer::start().await;
    let r = s
        .http
        .send(
            Method::GET,
            "/v1/time",
            &[("origin", "https://game.example")],
            "",
        )
        .await
        .expect(200);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("*")
    );

    let id = uuid();
    let pre = s
        .http
        .send(
            Method::OPTIONS,
            &format!("/v1/sessions/{id}/switch"),
            &[
                ("origin", "https://game.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type,x-custom"),
            ],
            "",
        )
        .await
        .expect(204);
    assert!(pre.body.is_empty());
    assert_eq!(
        pre.header("access-control-allow-methods").as_deref(),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        pre.header("access-control-allow-headers").as_deref(),
        Some("content-type,x-custom")
    );
    assert_eq!(
        pre.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    // Preflight is answered before the rate limiter.
    assert!(pre.header("ratelimit-limit").is_none());
    // Even on unknown paths.
    s.http
        .send(Method::OPTIONS, "/no/such/route", &[], "")
        .await
        .expect(204);
}

#[tokio::test]
async fn cors_with_an_origin_list_reflects_allowed_origins_only() {
    let s =
        TestServer::start_with(|c| c.server.cors_origins = vec!["https://ok.example".into()]).await;
    let ok = s
        .http
        .send(
            Method::GET,
            "/health",
            &[("origin", "https://ok.example")],
            "",
        )
        .await
        .expect(200);
    assert_eq!(
        ok.header("access-control-allow-origin").as_deref(),
        Some("https://ok.example")
    );
    assert_eq!(
        ok.header("access-control-allow-credentials").as_deref(),
        Some("true")
    );
    let other = s
        .http
        .send(
            Method::GET,
            "/health",
            &[("origin", "https://evil.example")],
            "",
        )
        .await
        .expect(200);
    assert!(other.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn routing_is_case_insensitive_and_ignores_a_trailing_slash() {
    let s = TestServer::start().await;
    s.http.get("/HEALTH").await.expect(200);
    s.http.get("/health/").await.expect(200);
    s.http.get("/V1/Time/").await.expect(200);
    let id = uuid();
    let created = s
        .http
        .post_json("/V1/SESSIONS/", &session_body(&id, &[60_000, 60_000]))
        .await
        .expect(201);
    assert_eq!(created.data()["session_id"], id.as_str());
    let got = s.http.get(&format!("/v1/Sessions/{id}/")).await.expect(200);
    assert_eq!(got.data()["session_id"], id.as_str());
    s.http
        .post_empty(&format!("/v1/sessions/{id}/START/"))
        .await
        .expect(200);
    s.http
        .delete(&format!("/V1/sessions/{id}/"))
        .await
        .expect(204);
}

#[tokio::test]
async fn unknown_routes_are_json_404() {
    let s = TestServer::start().await;
    for path in [
        "/",
        "/nope",
        "/v1",
        "/v1/sessions/x/y/z",
        "/v2/sessions",
        "/v1/sessions/223e4567-e89b-12d3-a456-426614174001/explode",
    ] {
        let r = s.http.get(path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert!(is_json(&r), "{path}: not JSON");
        let body = r.json();
        assert_eq!(body["error"]["code"], "NOT_FOUND", "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(path));
        assert!(body["error"].get("stack").is_none());
        assert_eq!(
            r.header("access-control-allow-origin").as_deref(),
            Some("*")
        );
    }
    let r = s
        .http
        .post_json(
            "/v1/sessions/223e4567-e89b-12d3-a456-426614174001/explode",
            &serde_json::json!({}),
        )
        .await
        .expect(404);
    assert_eq!(r.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn wrong_methods_are_json_405() {
    let s = TestServer::start().await;
    let id = "223e4567-e89b-12d3-a456-426614174001";
    let cases = [
        (Method::POST, "/health".to_owned(), "GET, HEAD, OPTIONS"),
        (Method::DELETE, "/v1/time".to_owned(), "GET, HEAD, OPTIONS"),
        (Method::GET, "/v1/sessions".to_owned(), "POST, OPTIONS"),
        (
            Method::PUT,
            format!("/v1/sessions/{id}"),
            "GET, HEAD, DELETE, OPTIONS",
        ),
        (
            Method::PATCH,
            format!("/V1/sessions/{id}/"),
            "GET, HEAD, DELETE, OPTIONS",
        ),
        (
            Method::GET,
            format!("/v1/sessions/{id}/switch"),
            "POST, OPTIONS",
        ),
        (
            Method::DELETE,
            format!("/v1/sessions/{id}/start"),
            "POST, OPTIONS",
        ),
        (Method::POST, "/metrics".to_owned(), "GET, HEAD, OPTIONS"),
    ];
    for (m, path, allow) in cases {
        let r = s.http.send(m.clone(), &path, &[], "").await;
        assert_eq!(r.status, 405, "{m} {path}: {}", r.text());
        assert!(is_json(&r));
        assert_eq!(r.error_code(), "METHOD_NOT_ALLOWED", "{m} {path}");
        assert_eq!(r.header("allow").as_deref(), Some(allow), "{m} {path}");
    }
}

#[tokio::test]
async fn head_is_served_like_get() {
    let s = TestServer::start().await;
    let r = s
        .http
        .send(Method::HEAD, "/health", &[], "")
        .await
        .expect(200);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn the_history_extension_route_without_an_audit_database() {
    let s = TestServer::start().await;
    let (id, _) = s.create(&[60_000]).await;
    let r = s
        .http
        .get(&format!("/v1/sessions/{id}/events"))
        .await
        .expect(503);
    assert_eq!(r.error_code(), "AUDIT_DISABLED");
    let r = s
        .http
        .get("/v1/sessions/not-a-uuid/events")
        .await
        .expect(400);
    assert_eq!(r.json()["error"]["details"][0]["field"], "id");
    let r = s
        .http
        .post_empty(&format!("/v1/sessions/{id}/events"))
        .await
        .expect(405);
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, OPTIONS"));
}
