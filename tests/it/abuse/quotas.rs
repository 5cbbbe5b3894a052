//! Quotas: creates per minute and live sessions per client (the token's subject, else
//! the address) → 429 `QUOTA_EXCEEDED` naming the limit; participants × warning
//! thresholds → 413; `participant_index` within PostgreSQL's `integer`; a session that
//! advances by itself (`skip` loops nobody plays) ends after
//! `quotas.max_unattended_writes` deadline writes.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::abuse::{bystander, Rss, BYSTANDER_P99_MS};
use crate::support::auth::{self, Authed};
use crate::support::http::Response;
use crate::support::server::{pid, session_body, session_body_with, uuid, TestServer};

fn limit_of(r: &Response) -> String {
    assert_eq!(r.error_code(), "QUOTA_EXCEEDED", "{}", r.text());
    r.json()["error"]["details"]["limit"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn big_body(id: &str, participants: usize, thresholds: usize) -> Value {
    let ps: Vec<Value> = (0..participants)
        .map(|i| json!({"participant_id": pid(i), "participant_index": i, "total_time_ms": 60_000}))
        .collect();
    let ts: Vec<u64> = (0..thresholds as u64).map(|t| 1_000 + t * 1_000).collect();
    json!({"session_id": id, "sync_mode": "per_participant", "total_time_ms": 60_000,
           "participants": ps, "warning_thresholds_ms": ts})
}

/// The abuse: 300 creates of 1,000-participant sessions as fast as possible.
/// Only `quotas.creates_per_minute` (default) are accepted; the rest get 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mass_creates_are_bounded_per_client() {
    let s = TestServer::start().await;
    let rss = Rss::start("mass creates (300 x 1,000 participants)");
    let limit = s.server().ctx().cfg.quotas.creates_per_minute as usize;
    let abuser = {
        let http = crate::support::http::Client::new(s.addr());
        tokio::spawn(async move {
            let (mut ok, mut refused) = (0, 0);
            for _ in 0..300 {
                let r = http
                    .post_json("/v1/sessions", &big_body(&uuid(), 1_000, 0))
                    .await;
                match r.status {
                    201 => ok += 1,
                    429 => {
                        assert_eq!(limit_of(&r), "creates_per_minute");
                        assert!(r.header("retry-after").is_some());
                        refused += 1;
                    }
                    other => panic!("{other}: {}", r.text()),
                }
            }
            (ok, refused)
        })
    };
    let l = bystander(&s, 100).await;
    let (ok, refused) = abuser.await.unwrap();
    rss.report();
    // The bystander's own create counts for the same address.
    assert_eq!((ok, refused), (limit - 1, 301 - limit));
    assert!(l.p99 < BYSTANDER_P99_MS, "{l:?}");
}

#[tokio::test]
async fn quotas_count_per_token_subject() {
    let s = TestServer::start_with(|c| {
        auth::on(c);
        c.quotas.creates_per_minute = 0;
        c.quotas.live_sessions = 3;
    })
    .await;
    let (a, b) = (auth::service("a", None), auth::service("b", None));
    let (aa, ab) = (
        Authed {
            http: &s.http,
            token: &a,
        },
        Authed {
            http: &s.http,
            token: &b,
        },
    );
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = uuid();
        aa.post("/v1/sessions", &session_body(&id, &[60_000]))
            .await
            .expect(201);
        ids.push(id);
    }
    let r = aa
        .post("/v1/sessions", &session_body(&uuid(), &[60_000]))
        .await
        .expect(429);
    assert_eq!(limit_of(&r), "live_sessions");
    assert_eq!(r.json()["error"]["details"]["max"], 3);
    // Another subject has its own count; deleting frees a slot.
    ab.post("/v1/sessions", &session_body(&uuid(), &[60_000]))
        .await
        .expect(201);
    aa.delete(&format!("/v1/sessions/{}", ids[0]))
        .await
        .expect(204);
    aa.post("/v1/sessions", &session_body(&uuid(), &[60_000]))
        .await
        .expect(201);
    // A refused create (validation) gives its slot back.
    aa.delete(&format!("/v1/sessions/{}", ids[1]))
        .await
        .expect(204);
    aa.post("/v1/sessions", &json!({"session_id": uuid()}))
        .await
        .expect(400);
    aa.post("/v1/sessions", &session_body(&uuid(), &[60_000]))
        .await
        .expect(201);
}

#[tokio::test]
async fn sessions_too_large_get_413_and_indices_stay_in_range() {
    let s = TestServer::start().await;
    let r = s
        .http
        .post_json("/v1/sessions", &big_body(&uuid(), 200, 8))
        .await
        .expect(413);
    assert_eq!(limit_of(&r), "max_participants_x_thresholds");
    assert_eq!(r.json()["error"]["details"]["requested"], 1_600);
    s.http
        .post_json("/v1/sessions", &big_body(&uuid(), 125, 8))
        .await
        .expect(201);
    s.http
        .post_json("/v1/sessions", &big_body(&uuid(), 1_000, 0))
        .await
        .expect(201);
    let index = |i: u64| {
        json!({"session_id": uuid(), "sync_mode": "per_participant", "total_time_ms": 60_000,
               "participants": [{"participant_id": pid(0), "participant_index": i, "total_time_ms": 60_000}]})
    };
    let r = s
        .http
        .post_json("/v1/sessions", &index(1 << 31))
        .await
        .expect(400);
    assert_eq!(
        r.json()["error"]["details"][0]["field"],
        "participants.0.participant_index"
    );
    s.http
        .post_json("/v1/sessions", &index(u32::MAX as u64))
        .await
        .expect(400);
    s.http
        .post_json("/v1/sessions", &index((1 << 31) - 1))
        .await
        .expect(201);
}

/// The abuse: running per_cycle + skip sessions with 8 warning thresholds and
/// no clients. Each ends after `max_unattended_writes` deadline writes; meanwhile a
/// bystander is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unattended_skip_loops_end_by_themselves() {
    let s = TestServer::start_with(|c| {
        c.quotas.max_unattended_writes = 18;
        c.rate_limit.general_per_minute = 0;
    })
    .await;
    let rss = Rss::start("50 unattended per_cycle+skip sessions, 8 thresholds");
    let mut ids = Vec::new();
    for _ in 0..50 {
        let id = uuid();
        let body = session_body_with(
            &id,
            &[1_000, 1_000],
            json!({"sync_mode": "per_cycle", "time_per_cycle_ms": 1_000, "action_on_timeout": "skip",
                   "warning_thresholds_ms": [100, 200, 300, 400, 500, 600, 700, 800]}),
        );
        s.http.post_json("/v1/sessions", &body).await.expect(201);
        s.op_ok(&id, "start").await;
        ids.push(id);
    }
    let l = bystander(&s, 100).await;
    // 18 writes: two turns of 8 warnings + 1 expiry each; the loop ends in ~2 s.
    let mut expired = 0;
    for _ in 0..80 {
        expired = 0;
        for id in &ids {
            let st = s.state(id).await;
            if st["status"] == "expired" {
                expired += 1;
            }
        }
        if expired == ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    rss.report();
    assert_eq!(expired, ids.len(), "every unattended loop ended");
    let st = s.state(&ids[0]).await;
    assert_eq!(st["version"].as_u64().unwrap() - 2, 18, "{st}");
    assert!(st["active_participant_id"].is_null(), "{st}");
    assert!(l.p99 < BYSTANDER_P99_MS, "{l:?}");
}
