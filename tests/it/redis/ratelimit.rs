//! Rate limits shared through Redis (CONTRACT.md §6.1): the fixed windows are counted
//! by one Lua script in the shared Redis, so requests spread over several instances
//! draw from one window: the switch limit (3/s here) per session, and the general
//! limit per client address. Refusals are 429 `RATE_LIMIT_EXCEEDED` with v2's message,
//! `retry_after_seconds`, a `Retry-After` header and the draft-6 `RateLimit-*` headers.

use std::time::{Duration, Instant};

use crate::support::http::Response;
use crate::support::redis::{poll, Cluster};

#[track_caller]
fn assert_limited(r: &Response, message: &str, limit: &str) {
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.error_code(), "RATE_LIMIT_EXCEEDED");
    assert_eq!(r.error_message(), message);
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After on 429")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry >= 1, "Retry-After {retry}");
    assert_eq!(r.json()["error"]["retry_after_seconds"], retry);
    assert_eq!(r.header("ratelimit-limit").as_deref(), Some(limit));
    assert_eq!(r.header("ratelimit-remaining").as_deref(), Some("0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_switch_limit_is_one_window_across_instances() {
    let c = Cluster::start(2, &[("SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND", "3")]);
    let (id, _) = c.create(0, &[600_000, 600_000]).await;
    let (other, _) = c.create(1, &[600_000, 600_000]).await;
    c.op(0, &id, "start").await.expect(200);
    c.op(1, &other, "start").await.expect(200);

    // Six switches alternating between the instances, well inside one second: three
    // pass (one window for the session, not three per instance), three are refused.
    let t = Instant::now();
    let mut statuses = Vec::new();
    for k in 0..6 {
        let r = c.op(k % 2, &id, "switch").await;
        if r.status == 200 {
            let remaining = r.header("ratelimit-remaining").expect("remaining");
            assert_eq!(remaining, (2 - statuses.len()).to_string());
            assert_eq!(r.header("ratelimit-policy").as_deref(), Some("3;w=1"));
            statuses.push(k);
        } else {
            assert_limited(
                &r,
                "Too many cycle switches for this session, please slow down",
                "3",
            );
        }
    }
    let elapsed = t.elapsed();
    assert!(elapsed < Duration::from_millis(900), "took {elapsed:?}");
    assert_eq!(statuses, vec![0, 1, 2], "the first three pass, then 429");
    // Refused switches changed nothing; the window is per session.
    assert_eq!(c.get(1, &id).await.expect(200).data()["version"], 5);
    c.op(1, &other, "switch").await.expect(200);

    // After the window, switches pass again, on either instance.
    let again = poll(Duration::from_secs(3), || async {
        (c.op(1, &id, "switch").await.status == 200).then_some(())
    })
    .await;
    assert!(again.is_some(), "switching resumes after the window");
    c.op(0, &id, "switch").await.expect(200);
    c.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_general_limit_is_shared_by_client_address() {
    let c = Cluster::start(3, &[("SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE", "7")]);
    // Seven requests from this address through three instances, then 429 everywhere.
    for k in 0..7 {
        let r = c.nodes[k % 3].http.get("/v1/time").await.expect(200);
        assert_eq!(r.header("ratelimit-limit").as_deref(), Some("7"));
        assert_eq!(
            r.header("ratelimit-remaining"),
            Some((6 - k).to_string()),
            "request {k}"
        );
    }
    for i in 0..3 {
        let r = c.nodes[i].http.get("/v1/time").await;
        assert_limited(&r, "Too many requests, please try again later", "7");
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        // The unlimited routes stay open.
        c.nodes[i].http.get("/health").await.expect(200);
        c.nodes[i].http.get("/ready").await.expect(200);
    }
    c.assert_healthy();
}
