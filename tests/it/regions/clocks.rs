//! Timing across regions whose clocks disagree: lhr's authoritative clock runs 50 ms
//! slow and nrt's 50 ms fast, iad's is this machine's. (libfaketime cannot be preloaded
//! into Debian's jemalloc-linked `redis-server`, so those two regions take their
//! instances' clocks as the authority, `clock.source = "system"`, and run them under
//! libfaketime.)
//!
//! - every region estimates every other region's clock (NTP-style over the internal
//!   API, through the delaying links) and exposes it as a metric, right within its
//!   stated bound (and within a few ms: the emulated links are symmetric);
//! - a client connected anywhere gets `PONG` and `/v1/time?sessionId=` in the
//!   session's home timebase and computes the home's remaining time within the bound
//!   it derives from them;
//! - deadlines and a synchronized start (`start_at`) are applied once, at the home,
//!   within 10 ms of the instant on the home's clock, and every region sees them.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::clock::{collect, faketime, gauge, now_ms_f, of_type, pong_fix, spread};
use crate::support::redis::{now_ms, poll};
use crate::support::regions::{Setup, World, REGIONS};
use crate::support::server::{iso_ms, session_body_with, uuid};
use synckairos_cluster::delay_ms;

/// Each region's authoritative clock minus this machine's (ms).
fn skew(region: &str) -> f64 {
    match region {
        "lhr" => -50.0,
        "nrt" => 50.0,
        _ => 0.0,
    }
}

async fn skewed_world() -> World {
    let region = |offset: &str| {
        let mut env = faketime(offset);
        env.push(("SYNCKAIROS_CLOCK__SOURCE".into(), "system".into()));
        env
    };
    World::start_with(Setup {
        region_env: vec![("lhr", region("-0.05")), ("nrt", region("+0.05"))],
        ..Setup::default()
    })
    .await
}

/// Creates a session homed in `home` (through `home`) with `extra` body keys.
async fn create(w: &World, home: &str, budgets: &[u64], extra: Value) -> String {
    let id = uuid();
    let body = session_body_with(&id, budgets, extra);
    w.http(home)
        .post_json("/v1/sessions", &body)
        .await
        .expect(201);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_anywhere_get_the_homes_time_and_the_home_acts_on_its_own_clock() {
    let w = skewed_world().await;

    // Offsets between regions, as metrics: always within their stated bound, and
    // within a few ms once keep-alive exchanges (a round trip each, twice the link's
    // one-way delay) have replaced the first ones (which also paid for the TCP
    // handshake, on a machine busy starting the world).
    for r in REGIONS {
        for h in REGIONS.iter().filter(|h| **h != r) {
            let label = format!("home=\"{h}\"");
            let http = w.http(r);
            let truth = skew(h) - skew(r);
            let tight = delay_ms(r, h) as f64 + 3.0;
            let found = poll(Duration::from_secs(10), || async {
                let est = gauge(http, "synckairos_region_clock_offset_ms", &label).await?;
                let bound = gauge(http, "synckairos_region_clock_error_bound_ms", &label).await?;
                assert!(
                    (est - truth).abs() <= bound,
                    "{r} vs {h}: {est} ± {bound}, truth {truth}"
                );
                (bound <= tight && (est - truth).abs() <= 5.0).then_some((est, bound))
            })
            .await;
            let (est, bound) = found.unwrap_or_else(|| panic!("{r}: {h}'s clock not within 5 ms"));
            println!("{r}: {h}'s clock {est:+.3} ms ± {bound:.3} (truth {truth:+})");
        }
    }

    // A running session homed in each region, read through the other two.
    for home in REGIONS {
        let id = create(&w, home, &[600_000, 600_000], json!({})).await;
        let s = w.op(home, &id, "start").await.expect(200).data();
        let started = iso_ms(&s["cycle_started_at"]) as f64;
        for via in REGIONS.iter().filter(|v| **v != home) {
            let mut ws = w.node(via).watch(&id).await;
            ws.send_json(&json!({"type": "RECONNECT"})).await;
            ws.next_of_type("STATE_SYNC", Duration::from_secs(3)).await;
            let fix = pong_fix(&mut ws, 6).await;
            assert_eq!(fix.timebase, home, "PONG at {via} for a session of {home}");
            let truth_offset = skew(home);
            assert!(
                (fix.offset - truth_offset).abs() <= fix.bound,
                "client at {via}: {home}'s clock {:.3} ± {:.3}, truth {truth_offset} ({fix:?})",
                fix.offset,
                fix.bound
            );
            let now = now_ms_f();
            let shown = 600_000.0 - (now + fix.offset - started);
            let truth = 600_000.0 - (now + truth_offset - started);
            println!(
                "client at {via}, session of {home}: remaining off by {:+.3} ms (bound ±{:.3}; the server said its clock of the home is within ±{:.3})",
                shown - truth,
                fix.bound,
                fix.server_error
            );
            assert!((shown - truth).abs() <= fix.bound);
            // /v1/time in the home's timebase too.
            let t0 = now_ms_f();
            let t = w
                .http(via)
                .get(&format!("/v1/time?sessionId={id}"))
                .await
                .expect(200)
                .json();
            let t3 = now_ms_f();
            assert_eq!(t["timebase"], home, "{t}");
            let ts = t["timestamp_ms"].as_f64().expect("timestamp_ms");
            let e = t["timebase_error_ms"].as_f64().expect("timebase_error_ms");
            let (lo, hi) = (t0 + truth_offset - e - 1.0, t3 + truth_offset + e + 1.0);
            assert!(
                lo <= ts && ts <= hi,
                "/v1/time at {via}: {ts} not in [{lo}, {hi}]"
            );
        }
    }

    // Deadlines, and a synchronized start, in each region's clock.
    let end = now_ms() + 4_000;
    let mut checks = Vec::new();
    for (k, home) in REGIONS.into_iter().enumerate() {
        let budget = 1_200 + 100 * k as u64;
        let id = create(
            &w,
            home,
            &[budget, 60_000],
            json!({"action_on_timeout": "end"}),
        )
        .await;
        let watchers = watch_everywhere(&w, &id, end).await;
        let before = now_ms_f();
        let s = w.op(home, &id, "start").await.expect(200).data();
        let after = now_ms_f();
        let started = iso_ms(&s["cycle_started_at"]) as f64;
        let sk = skew(home);
        assert!(
            started >= before + sk - 1.0 && started <= after + sk + 1.0,
            "{home}: {s}"
        );
        checks.push((
            home,
            id,
            iso_ms(&s["cycle_started_at"]) + budget as i64,
            watchers,
            "TIME_EXPIRED",
        ));
    }
    let home = "lhr";
    let start_at = (now_ms_f() + skew(home)) as i64 + 1_500;
    let id = create(&w, home, &[60_000, 60_000], json!({"start_at": start_at})).await;
    let watchers = watch_everywhere(&w, &id, end).await;
    checks.push((home, id, start_at, watchers, "STATE_UPDATE"));

    let mut applied = Vec::new();
    for (home, id, due, watchers, kind) in checks {
        for (via, watcher) in watchers {
            let msgs = watcher.await.expect("watcher");
            let seen = of_type(&msgs, kind);
            if kind == "TIME_EXPIRED" {
                assert_eq!(
                    seen.len(),
                    1,
                    "{via} for {home}: one TIME_EXPIRED: {msgs:?}"
                );
                assert_eq!(seen[0].1["expiredAt"].as_i64(), Some(due));
            } else {
                let running: Vec<_> = seen
                    .iter()
                    .filter(|(_, m)| m["state"]["status"] == "running")
                    .collect();
                assert_eq!(running.len(), 1, "{via}: one start: {msgs:?}");
                let st = &running[0].1["state"];
                assert_eq!(st["version"], 2, "{st}");
                assert_eq!(iso_ms(&st["session_started_at"]), due, "{st}");
                assert_eq!(iso_ms(&st["cycle_started_at"]), due, "{st}");
            }
        }
        let s = w.get(home, &id).await.expect(200).data();
        let late = iso_ms(&s["updated_at"]) - due;
        println!("{kind} of a session homed in {home}: applied {late} ms after its instant (home's clock)");
        applied.push(late as f64);
    }
    let (_, _, max) = spread(applied.clone());
    assert!(
        applied.iter().all(|l| *l >= 0.0) && max <= 10.0,
        "{applied:?}"
    );
    w.assert_healthy();
}

/// A watcher of `id` in every region (collecting until `end`).
async fn watch_everywhere(
    w: &World,
    id: &str,
    end: i64,
) -> Vec<(&'static str, tokio::task::JoinHandle<Vec<(i64, Value)>>)> {
    let mut out = Vec::new();
    for via in REGIONS {
        out.push((via, collect(w.node(via).watch(id).await, end)));
    }
    out
}
