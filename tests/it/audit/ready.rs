//! Readiness gates only what makes this instance unable to serve. With PostgreSQL
//! stopped for longer than the old backlog age limit (the deprecated
//! `audit.ready_max_age_secs`, set to 1 s and still accepted), `/ready` stays 200 at
//! every poll and sessions keep being created and switched; the backlog shows in the
//! metrics instead (`synckairos_db_write_queue_size`, `synckairos_audit_backlog_age_ms`,
//! which the alert rules watch), start-up warns that the old keys do nothing, and
//! once PostgreSQL is back everything lands exactly once and the age returns to 0.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::audit::*;
use crate::support::http::Client;

/// The value of an unlabelled-but-for-region series in a `/metrics` text.
async fn gauge(c: &Client, name: &str) -> f64 {
    let text = c.get("/metrics").await.expect(200).text();
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_stays_200_while_postgres_is_down_past_the_backlog_age_limit() {
    let stack = Stack::start_private();
    let inst = stack.instance(&[
        ("SYNCKAIROS_AUDIT__READY_MAX_AGE_SECS", "1".into()),
        ("SYNCKAIROS_AUDIT__READY_MAX_BACKLOG", "5".into()),
    ]);
    let c = client(&inst);
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    script(&c, &t, 1, false).await;
    let first = t.lock().unwrap().total();
    assert!(stack.drained(first, Duration::from_secs(10)).await);
    c.get("/ready").await.expect(200);

    tokio::task::block_in_place(|| stack.pg.stop());
    let down = Instant::now();
    // Writes during the outage: well past the old backlog limit (5 records).
    for _ in 0..2 {
        script(&c, &t, 2, false).await;
    }
    let mut polls = 0;
    while down.elapsed() < Duration::from_millis(3_500) {
        let r = c.get("/ready").await;
        assert_eq!(
            r.status,
            200,
            "{} ms into the outage: {}",
            down.elapsed().as_millis(),
            r.text()
        );
        polls += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(polls >= 20, "polled /ready {polls} times");
    // Sessions are still served...
    script(&c, &t, 1, false).await;
    // ...and the backlog is a metric, older than the old limit of 1 s.
    let age = gauge(&c, "synckairos_audit_backlog_age_ms").await;
    assert!(age > 1_000.0, "backlog age {age} ms");
    let size = gauge(&c, "synckairos_db_write_queue_size").await;
    assert!(size > 5.0, "backlog {size} records");
    let log = inst.log_text();
    for key in ["audit.ready_max_backlog", "audit.ready_max_age_secs"] {
        assert!(
            log.contains(key),
            "no deprecation warning for {key}:\n{log}"
        );
    }

    tokio::task::block_in_place(|| stack.pg.start_again());
    let tally = t.lock().unwrap().clone();
    assert!(
        stack.drained(tally.total(), Duration::from_secs(20)).await,
        "not drained; log:\n{}",
        inst.log_text()
    );
    check_exactly_once(&stack.pg, &tally);
    let until = Instant::now() + Duration::from_secs(5);
    while gauge(&c, "synckairos_audit_backlog_age_ms").await > 0.0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(gauge(&c, "synckairos_audit_backlog_age_ms").await, 0.0);
    c.get("/ready").await.expect(200);
}
