//! Who did what: with auth on, every audit event carries the actor of the request
//! behind it (`role:subject`), through the Redis commit script and the PostgreSQL
//! writer (migration 0002); the server's own deadline events carry none; the history
//! route shows it. Real `redis-server`, PostgreSQL and `synckairos` binary.

use std::time::Duration;

use serde_json::json;

use crate::support::audit::{client, Stack};
use crate::support::auth::{self, Authed};
use crate::support::server::{pid, session_body_with, uuid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_records_who_did_what() {
    let stack = Stack::start();
    let env: Vec<(&'static str, String)> = vec![
        ("SYNCKAIROS_AUTH__MODE", "on".into()),
        ("SYNCKAIROS_AUTH__KEYS__K1__ALG", "HS256".into()),
        ("SYNCKAIROS_AUTH__KEYS__K1__SECRET", auth::SECRET_K1.into()),
    ];
    let inst = stack.instance(&env);
    let c = client(&inst);
    let id = uuid();
    let svc = auth::service("backend", None);
    let alice = auth::participant("alice", &id, &pid(0));
    let s = Authed {
        http: &c,
        token: &svc,
    };
    // A 1 s budget with action `end`: the expiry is the server's own event.
    s.post(
        "/v1/sessions",
        &session_body_with(&id, &[60_000, 1_000], json!({"action_on_timeout": "end"})),
    )
    .await
    .expect(201);
    s.op(&id, "start").await.expect(200);
    Authed {
        http: &c,
        token: &alice,
    }
    .op(&id, "switch")
    .await
    .expect(200);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let want = [
        ("session_created", "service:backend"),
        ("session_started", "service:backend"),
        ("cycle_switched", "participant:alice"),
        ("participant_expired", ""),
        ("session_expired", ""),
    ];
    let sql = format!(
        "SELECT event_type || '|' || coalesce(actor, '') FROM sync_events \
         WHERE session_id = '{id}' ORDER BY seq, event_index"
    );
    let mut rows = String::new();
    for _ in 0..100 {
        rows = stack.pg.query(&sql);
        if rows.lines().count() >= want.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got: Vec<&str> = rows.lines().collect();
    let want: Vec<String> = want.iter().map(|(t, a)| format!("{t}|{a}")).collect();
    assert_eq!(got, want, "{rows}");
    let page = s
        .get(&format!("/v1/sessions/{id}/events?order=asc"))
        .await
        .expect(200)
        .data();
    assert_eq!(page["events"][2]["actor"], "participant:alice", "{page}");
    assert!(page["events"][3].get("actor").is_none(), "{page}");
}
