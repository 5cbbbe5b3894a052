//! An in-process SyncKairos server on 127.0.0.1:0 (`synckairos::app::start_on`), with
//! the default configuration unless a test adjusts it, plus session-body builders
//! shared by the HTTP and WebSocket tests. Binds port 0 itself (no port race); never
//! starts a process.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use synckairos::app::{self, Server};
use synckairos::config::Config;
use tokio::net::TcpListener;

use super::http::Client;

pub struct TestServer {
    addr: SocketAddr,
    server: Option<Server>,
    pub http: Client,
}

impl TestServer {
    /// A server with `Config::default()` (generous rate limits, 5 s WS pings).
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server with the defaults adjusted by `adjust` (rate limits, ping interval,
    /// queue capacity, body limit, grace...). Bind address and port are forced.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut cfg = Config::default();
        cfg.server.shutdown_grace_ms = 3_000;
        adjust(&mut cfg);
        cfg.server.bind = "127.0.0.1".into();
        cfg.server.port = 0;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let server = app::start_on(cfg, listener).await.expect("server starts");
        let addr = server.addr();
        TestServer {
            addr,
            server: Some(server),
            http: Client::new(addr),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://host:port/ws?sessionId=<id>`.
    pub fn ws_url(&self, session_id: &str) -> String {
        format!("ws://{}/ws?sessionId={session_id}", self.addr)
    }

    /// `ws://host:port<path_and_query>` for malformed-parameter cases.
    pub fn ws_url_raw(&self, path_and_query: &str) -> String {
        format!("ws://{}{path_and_query}", self.addr)
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("server still running")
    }

    /// WebSocket connections currently registered in the hub (in-process view).
    pub fn ws_connections(&self) -> usize {
        self.server().ctx().hub.connection_count()
    }

    /// Starts the ordered shutdown without waiting for it.
    pub fn trigger_shutdown(&self) {
        self.server().trigger_shutdown();
    }

    /// Waits for a shutdown started with `trigger_shutdown`.
    pub async fn wait(&mut self) {
        if let Some(s) = self.server.take() {
            s.wait().await;
        }
    }

    /// Full ordered shutdown; returns when the server task has finished.
    pub async fn shutdown(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    /// Polls `cond` every 10 ms until it holds or `limit` passes.
    pub async fn eventually(&self, limit: Duration, mut cond: impl FnMut(&Self) -> bool) -> bool {
        let end = tokio::time::Instant::now() + limit;
        loop {
            if cond(self) {
                return true;
            }
            if tokio::time::Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = &self.server {
            s.trigger_shutdown();
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh strict (RFC 9562, version 4) UUID, unique within the test process.
pub fn uuid() -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id() as u64;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let hi = (pid << 16) ^ nanos;
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        (hi >> 16) as u32,
        (hi & 0xffff) as u16,
        (n >> 12) & 0xfff,
        n & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// Participant ids `p(0)`, `p(1)`, … (strict UUIDs, version 1 / variant a, as in v2's tests).
pub fn pid(i: usize) -> String {
    format!("223e4567-e89b-12d3-a456-{:012}", 426614174001u64 + i as u64)
}

/// A create body: `per_participant`, participants with the given budgets (ms).
pub fn session_body(session_id: &str, budgets: &[u64]) -> Value {
    let participants: Vec<Value> = budgets
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"participant_id": pid(i), "participant_index": i, "total_time_ms": b}))
        .collect();
    json!({
        "session_id": session_id,
        "sync_mode": "per_participant",
        "participants": participants,
        "total_time_ms": budgets.iter().copied().max().unwrap_or(1000).max(1000),
    })
}

/// `session_body` with extra top-level keys merged in.
pub fn session_body_with(session_id: &str, budgets: &[u64], extra: Value) -> Value {
    let mut body = session_body(session_id, budgets);
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    body
}

impl TestServer {
    /// Creates a session with `session_body(new id, budgets)`; returns its id and state.
    pub async fn create(&self, budgets: &[u64]) -> (String, Value) {
        self.create_with(budgets, json!({})).await
    }

    /// Like `create`, with extra top-level body keys.
    pub async fn create_with(&self, budgets: &[u64], extra: Value) -> (String, Value) {
        let id = uuid();
        let data = self
            .http
            .post_json("/v1/sessions", &session_body_with(&id, budgets, extra))
            .await
            .expect(201)
            .data();
        (id, data)
    }

    /// `POST /v1/sessions/<id>/<op>` with no body.
    pub async fn op(&self, id: &str, op: &str) -> super::http::Response {
        self.http
            .post_empty(&format!("/v1/sessions/{id}/{op}"))
            .await
    }

    /// `op`, expecting 200; returns `data`.
    pub async fn op_ok(&self, id: &str, op: &str) -> Value {
        self.op(id, op).await.expect(200).data()
    }

    /// `GET /v1/sessions/<id>`, expecting 200; returns `data`.
    pub async fn state(&self, id: &str) -> Value {
        self.http
            .get(&format!("/v1/sessions/{id}"))
            .await
            .expect(200)
            .data()
    }
}

/// Asserts an ISO 8601 UTC timestamp with a `Z` suffix (zod `datetime()`); returns it
/// as epoch milliseconds.
#[track_caller]
pub fn iso_ms(v: &Value) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("not an ISO string: {v}"));
    let b = s.as_bytes();
    let ok = s.len() >= 20
        && s.ends_with('Z')
        && !s.contains('+')
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':';
    assert!(ok, "not an ISO UTC timestamp ending in Z: {s}");
    let num = |r: std::ops::Range<usize>| -> i64 { s[r].parse().expect("digits") };
    let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
    let (h, mi, sec) = (num(11..13), num(14..16), num(17..19));
    let ms = if b[19] == b'.' {
        let frac = &s[20..s.len() - 1];
        let mut f: String = frac.chars().take(3).collect();
        while f.len() < 3 {
            f.push('0');
        }
        f.parse::<i64>().expect("fraction")
    } else {
        0
    };
    // Days from civil (H. Hinnant).
    let (y2, m2) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + ms
}

/// `Some(ms)` for an ISO string, `None` for `null`; panics on anything else.
#[track_caller]
pub fn iso_or_null(v: &Value) -> Option<i64> {
    (!v.is_null()).then(|| iso_ms(v))
}

/// The constraints v2's e2e `SessionResponse` schema puts on `data` (CONTRACT.md §2.5),
/// plus: keys that must be absent rather than null.
#[track_caller]
pub fn check_session_shape(d: &Value) {
    assert!(d["session_id"].is_string(), "{d}");
    let modes = [
        "per_participant",
        "per_cycle",
        "per_group",
        "global",
        "count_up",
    ];
    assert!(modes.contains(&d["sync_mode"].as_str().unwrap()), "{d}");
    let statuses = [
        "pending",
        "running",
        "paused",
        "expired",
        "completed",
        "cancelled",
    ];
    assert!(statuses.contains(&d["status"].as_str().unwrap()), "{d}");
    assert!(d["version"].is_u64(), "{d}");
    assert!(d["total_time_ms"].is_u64(), "{d}");
    let o = d.as_object().unwrap();
    assert!(
        o.contains_key("time_per_cycle_ms"),
        "time_per_cycle_ms must be present"
    );
    assert!(d["time_per_cycle_ms"].is_null() || d["time_per_cycle_ms"].is_u64());
    assert!(d["active_participant_id"].is_null() || d["active_participant_id"].is_string());
    for k in [
        "cycle_started_at",
        "session_started_at",
        "session_completed_at",
    ] {
        assert!(o.contains_key(k), "{k} must be present");
        iso_or_null(&d[k]);
    }
    iso_ms(&d["created_at"]);
    iso_ms(&d["updated_at"]);
    assert!(
        d["increment_ms"].is_u64(),
        "increment_ms is always present: {d}"
    );
    if let Some(m) = o.get("max_time_ms") {
        assert!(m.is_u64(), "max_time_ms must be absent, not {m}");
    }
    for p in d["participants"].as_array().expect("participants") {
        check_participant_shape(p);
    }
}

#[track_caller]
pub fn check_participant_shape(p: &Value) {
    assert!(p["participant_id"].is_string(), "{p}");
    for k in [
        "participant_index",
        "total_time_ms",
        "time_used_ms",
        "time_remaining_ms",
        "cycle_count",
    ] {
        assert!(p[k].is_u64(), "{k} in {p}");
    }
    assert!(
        p["is_active"].is_boolean() && p["has_expired"].is_boolean(),
        "{p}"
    );
    if let Some(g) = p.as_object().unwrap().get("group_id") {
        assert!(g.is_string(), "group_id must be absent, not {g}");
    }
}

/// v2's `SwitchCycleResponse` constraints, plus this project's `version`.
#[track_caller]
pub fn check_switch_shape(d: &Value) {
    assert!(d["session_id"].is_string(), "{d}");
    assert!(d["active_participant_id"].is_string(), "never null: {d}");
    iso_ms(&d["cycle_started_at"]);
    assert!(d["status"].is_string());
    assert!(
        d["version"].is_u64(),
        "the project adds the stored version: {d}"
    );
    if let Some(e) = d.as_object().unwrap().get("expired_participant_id") {
        assert!(
            e.is_string(),
            "expired_participant_id must be absent, not {e}"
        );
    }
    for p in d["participants"].as_array().expect("participants") {
        check_participant_shape(p);
    }
}

/// The participant object with id `pid` in `state["participants"]`.
#[track_caller]
pub fn participant<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|p| p["participant_id"] == id)
        .unwrap_or_else(|| panic!("no participant {id} in {state}"))
}
