//! PostgreSQL outages on real components: stopped for part of a run under load and
//! started again, every event still lands exactly once; while it is down the outbox
//! stream keeps every record (it is never trimmed) and `/ready` stays 200 (the backlog
//! is a metric and an alert, not readiness: tests/ready.rs).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::audit::*;
use crate::support::http::Client;

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_run_and_started_again_still_exactly_once() {
    let stack = Stack::start_private();
    let inst = stack.instance(&[]);
    let c = client(&inst);
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    let load = load(&c, &t, 6, &Arc::new(AtomicBool::new(false)));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        stack.events() > 0,
        "the writer is writing before the outage"
    );

    blocking(|| stack.pg.stop());
    let at_stop = stack.xlen();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let during = stack.xlen();
    assert!(
        during > at_stop + 50,
        "records wait in the outbox while PostgreSQL is down ({at_stop} -> {during})"
    );
    blocking(|| stack.pg.start_again());
    tokio::time::sleep(Duration::from_millis(600)).await;
    load.finish().await;

    let tally = t.lock().unwrap().clone();
    assert!(
        stack.drained(tally.total(), Duration::from_secs(20)).await,
        "not drained: XLEN {}, {} of {} events; log:\n{}",
        stack.xlen(),
        stack.events(),
        tally.total(),
        inst.log_text()
    );
    assert_eq!(stack.pending(), 0);
    check_exactly_once(&stack.pg, &tally);
    check_one_event_per_commit(&stack.pg);
    check_summaries(&stack.pg, &tally, false);
}

async fn ready(c: &Client) -> (u16, String) {
    let r = c.get("/ready").await;
    (r.status, r.text())
}

async fn ready_becomes(c: &Client, want: u16, limit: Duration) -> (u16, String) {
    let end = tokio::time::Instant::now() + limit;
    loop {
        let got = ready(c).await;
        if got.0 == want || tokio::time::Instant::now() >= end {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_is_kept_untrimmed_and_ready_ignores_it() {
    let stack = Stack::start_private();
    let inst = stack.instance(&[("SYNCKAIROS_AUDIT__READY_MAX_BACKLOG", "20".into())]);
    let c = client(&inst);
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    script(&c, &t, 1, false).await;
    let first = t.lock().unwrap().total();
    assert!(stack.drained(first, Duration::from_secs(10)).await);
    assert_eq!(ready(&c).await.0, 200);

    blocking(|| stack.pg.stop());
    let before = t.lock().unwrap().total();
    for _ in 0..3 {
        script(&c, &t, 3, true).await;
    }
    let during = t.lock().unwrap().total() - before;
    assert_eq!(during, 30);
    // Every record of the outage is in the stream: nothing trimmed, nothing dropped.
    assert_eq!(stack.xlen(), during);
    // The deprecated limit (20 records) no longer turns readiness off.
    let (status, body) = ready_becomes(&c, 503, Duration::from_secs(2)).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(stack.xlen(), during, "still untrimmed after a while");
    // Requests are still served while PostgreSQL is away.
    let health = c.get("/health").await;
    assert_eq!(health.status, 200);

    blocking(|| stack.pg.start_again());
    let tally = t.lock().unwrap().clone();
    assert!(
        stack.drained(tally.total(), Duration::from_secs(20)).await,
        "not drained: XLEN {}, {} of {} events; log:\n{}",
        stack.xlen(),
        stack.events(),
        tally.total(),
        inst.log_text()
    );
    let (status, body) = ready_becomes(&c, 200, Duration::from_secs(4)).await;
    assert_eq!(status, 200, "ready once drained: {body}");
    check_exactly_once(&stack.pg, &tally);
    check_summaries(&stack.pg, &tally, false);
}
