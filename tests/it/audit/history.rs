//! The history API (`GET /v1/sessions/:id/events?order=&limit=&cursor=`) and the
//! embedded memory store's outbox twin, on an in-process server (no Redis) writing to
//! a real PostgreSQL: the memory store with `DATABASE_URL` records every event exactly
//! once; history newest and oldest first, paging with `next_cursor` until null,
//! `limit`/`order`/`cursor` validation (400), 404 for an unknown session, still served
//! after the session was deleted; 503 `AUDIT_DISABLED` without a database.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::audit::*;
use crate::support::http::Client;

use crate::support::server::{uuid, TestServer};
use serde_json::Value;

async fn server(pg: &Db) -> TestServer {
    let url = pg.url();
    TestServer::start_with(move |c| {
        c.audit.database_url = Some(url);
        c.audit.batch_wait_ms = 50;
        c.rate_limit.general_per_minute = 0;
        c.rate_limit.switch_per_second = 0;
    })
    .await
}

async fn wait_events(pg: &Db, n: u64) {
    assert!(
        eventually(Duration::from_secs(10), || events_in(pg) == n).await,
        "{} of {n} events in PostgreSQL",
        events_in(pg)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_with_database_url_writes_the_trail_exactly_once() {
    let pg = Db::shared();
    let s = server(&pg).await;
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let (c, t) = (s.http.clone(), t.clone());
            tokio::spawn(async move {
                for n in 0..3 {
                    script(&c, &t, 1 + (w + n) % 3, (w + n) % 2 == 0).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    let tally = t.lock().unwrap().clone();
    wait_events(&pg, tally.total()).await;
    check_exactly_once(&pg, &tally);
    check_one_event_per_commit(&pg);
    check_summaries(&pg, &tally, false);
    // The twin drains: its backlog is empty once everything is written.
    let stats = &s.server().ctx().audit.as_ref().expect("audit on").stats;
    assert!(
        eventually(Duration::from_secs(3), || {
            stats.backlog.load(std::sync::atomic::Ordering::Relaxed) == 0
        })
        .await
    );
    assert_eq!(
        stats.written.load(std::sync::atomic::Ordering::Relaxed),
        tally.total()
    );
}

/// All `events` of every page, following `next_cursor` from `first` until it is null.
async fn walk(c: &Client, id: &str, query: &str) -> (Vec<Value>, usize) {
    let mut all = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(k) => format!("/v1/sessions/{id}/events?{query}&cursor={k}"),
            None => format!("/v1/sessions/{id}/events?{query}"),
        };
        let page = c.get(&path).await.expect(200).data();
        pages += 1;
        assert_eq!(page["session_id"], id);
        all.extend(page["events"].as_array().expect("events").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(k) => cursor = Some(k.to_owned()),
            None => {
                assert!(page["next_cursor"].is_null());
                return (all, pages);
            }
        }
        assert!(pages < 100, "paging does not end");
    }
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event_type"].as_str().expect("event_type").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_both_ways_and_survives_deletion() {
    let pg = Db::shared();
    let s = server(&pg).await;
    let c = &s.http;
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    let id = script(c, &t, 4, false).await;
    let script_kinds = t.lock().unwrap().by_session[&id].clone();
    assert_eq!(script_kinds.len(), 10);
    wait_events(&pg, 10).await;

    // Default: newest first, 50 per page, one page.
    let page = c
        .get(&format!("/v1/sessions/{id}/events"))
        .await
        .expect(200)
        .data();
    assert_eq!(page["order"], "desc");
    assert!(page["next_cursor"].is_null());
    let newest = page["events"].as_array().unwrap().clone();
    let mut reversed = script_kinds.clone();
    reversed.reverse();
    assert_eq!(kinds(&newest), reversed);
    let e = &newest[0];
    assert_eq!(e["event_type"], "session_completed");
    assert_eq!(e["session_id"], id);
    assert_eq!(e["version"], 10);
    assert_eq!(e["state"]["status"], "completed");
    assert_eq!(e["home_region"], "local");
    assert!(e["occurred_at"].as_str().unwrap().ends_with('Z'));
    assert!(e["recorded_at"].as_str().unwrap().ends_with('Z'));
    let versions: Vec<u64> = newest
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, (1..=10).rev().collect::<Vec<u64>>());

    let (oldest, pages) = walk(c, &id, "order=asc&limit=3").await;
    assert_eq!(kinds(&oldest), script_kinds);
    assert_eq!(pages, 4, "3 + 3 + 3 + 1");
    let (desc, pages) = walk(c, &id, "order=desc&limit=4").await;
    assert_eq!(kinds(&desc), reversed);
    assert_eq!(pages, 3, "4 + 4 + 2");
    let (exact, pages) = walk(c, &id, "order=asc&limit=5").await;
    assert_eq!(exact.len(), 10);
    assert_eq!(pages, 2, "a full last page says next_cursor: null");
    let ids: std::collections::BTreeSet<String> = oldest
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 10, "event ids are unique");

    // Deleted: the state is gone, the history stays, newest first starts with it.
    c.delete(&format!("/v1/sessions/{id}")).await.expect(204);
    c.get(&format!("/v1/sessions/{id}")).await.expect(404);
    wait_events(&pg, 11).await;
    let page = c
        .get(&format!("/v1/sessions/{id}/events?limit=2"))
        .await
        .expect(200)
        .data();
    let first = &page["events"][0];
    assert_eq!(first["event_type"], "session_deleted");
    assert!(first["state"].is_null(), "no snapshot for a deletion");
    assert!(page["next_cursor"].is_string());
    let (all, _) = walk(c, &id, "order=asc&limit=500").await;
    assert_eq!(all.len(), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_validates_its_query_and_404s_unknown_sessions() {
    let pg = Db::shared();
    let s = server(&pg).await;
    let c = &s.http;
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    let id = create(c, &t, &[LONG, LONG]).await;
    wait_events(&pg, 1).await;
    for q in [
        "limit=0",
        "limit=501",
        "limit=-1",
        "limit=abc",
        "limit=",
        "order=sideways",
        "cursor=nonsense",
        "cursor=1",
    ] {
        let r = c.get(&format!("/v1/sessions/{id}/events?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert_eq!(r.error_code(), "VALIDATION_ERROR", "{q}");
    }
    for q in [
        "limit=1",
        "limit=500",
        "order=asc",
        "order=desc",
        "order=oldest",
    ] {
        c.get(&format!("/v1/sessions/{id}/events?{q}"))
            .await
            .expect(200);
    }
    let unknown = uuid();
    let r = c.get(&format!("/v1/sessions/{unknown}/events")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.error_code(), "SESSION_NOT_FOUND");
    c.get("/v1/sessions/not-a-uuid/events").await.expect(400);

    // Without a database the route says so.
    let bare = TestServer::start().await;
    let r = bare.http.get(&format!("/v1/sessions/{id}/events")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.error_code(), "AUDIT_DISABLED");
}
