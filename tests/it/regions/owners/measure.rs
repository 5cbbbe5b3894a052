//! Measurements of ownership that moves (issue 11), `#[ignore]`d (`scripts/bench.sh`):
//!
//! - `measure_owners_rehome_pause`: a planned re-home `iad` → `nrt` (one-way 80 ms):
//!   the operator's call at the home (commit, hand-over, answer) and the longest gap
//!   between consecutive acknowledged switches of a writer going through `nrt`,
//!   against its usual gap (5 runs);
//! - `measure_owners_auto_rehome_latency`: switch latency through `nrt` of an
//!   `iad`-created session before (forwarded) and after (local) automatic re-homing;
//! - `measure_owners_zero_loss_cost`: switch latency at the home, local vs zero-loss;
//! - `measure_owners_kill_home`: `kill -9` of the home (instance + Redis) under load,
//!   default and zero-loss modes: acknowledged writes lost, how far the successor's
//!   copy was behind, time to writes served again;
//! - `measure_owners_cut_home`: the same with the home cut off from every region
//!   instead (it acknowledges its own writes until it fences itself).

use std::time::{Duration, Instant};

use serde_json::json;

use super::durability::{lose_home_mid_load, Loss};
use super::{everywhere, rehome, switch};
use crate::support::regions::{Setup, World};
use crate::support::server::session_body_with;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn timed_switches(w: &World, via: &str, id: &str, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        switch(w, via, id).await.expect("switch");
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: scripts/bench.sh"]
async fn measure_owners_rehome_pause() {
    let w = World::start().await;
    for run in 0..5 {
        let (id, _) = w.create("iad", None).await;
        w.op("iad", &id, "start").await.expect(200);
        // The writer's usual gap between acknowledgements through nrt (forwarded).
        let before = timed_switches(&w, "nrt", &id, 10).await;
        let writer = {
            let http = w.http("nrt").clone();
            let id = id.clone();
            tokio::spawn(async move {
                let mut at = Vec::new();
                let start = Instant::now();
                while start.elapsed() < Duration::from_millis(2500) {
                    let r = http.post_empty(&format!("/v1/sessions/{id}/switch")).await;
                    assert_eq!(r.status, 200, "{}", r.text());
                    at.push(Instant::now());
                }
                at
            })
        };
        tokio::time::sleep(Duration::from_millis(800)).await;
        let t = Instant::now();
        let r = loop {
            let r = rehome(&w, "iad", &id, "nrt").await;
            if r.status != 409 {
                break r;
            }
        };
        let call_ms = t.elapsed().as_secs_f64() * 1000.0;
        r.expect(200);
        let at = writer.await.expect("writer");
        let gaps: Vec<f64> = at
            .windows(2)
            .map(|p| (p[1] - p[0]).as_secs_f64() * 1000.0)
            .collect();
        let max_gap = gaps.iter().copied().fold(0.0, f64::max);
        let mut b = before.clone();
        let usual = pct(&mut b, 0.5);
        let mut after = gaps.iter().rev().take(5).copied().collect::<Vec<_>>();
        println!(
            "rehome run {run}: operator call at the home {call_ms:.1} ms (commit + hand-over to nrt); \
             writer via nrt: usual gap (forwarded to iad) p50 {usual:.1} ms, longest gap around the move {max_gap:.1} ms, \
             gap once local p50 {:.1} ms; iad–nrt RTT 160 ms",
            pct(&mut after, 0.5)
        );
        everywhere(&w, &id, "nrt", 1, Duration::from_secs(5)).await;
    }
    let hist =
        crate::support::relay::metric(w.http("iad"), "synckairos_handover_duration_ms_sum", &[])
            .await;
    let n =
        crate::support::relay::metric(w.http("iad"), "synckairos_handover_duration_ms_count", &[])
            .await;
    println!(
        "hand-over (commit at iad to installed in nrt): mean {:.1} ms over {n} moves",
        hist / n.max(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: scripts/bench.sh"]
async fn measure_owners_auto_rehome_latency() {
    let w = World::start_with(Setup {
        env: vec![
            ("SYNCKAIROS_OWNERS__AUTO_REHOME", "true"),
            ("SYNCKAIROS_OWNERS__AUTO_WINDOW", "100"),
            ("SYNCKAIROS_OWNERS__AUTO_MIN_WRITES", "100"),
        ],
        ..Setup::default()
    })
    .await;
    let (id, _) = w.create("iad", None).await;
    w.op("iad", &id, "start").await.expect(200);
    let mut before = timed_switches(&w, "nrt", &id, 99).await;
    everywhere(&w, &id, "nrt", 1, Duration::from_secs(10)).await;
    let mut after = timed_switches(&w, "nrt", &id, 300).await;
    println!(
        "switch via nrt of an iad-created session: before automatic re-homing p50 {:.1} ms p99 {:.1} ms (n={}); \
         after (homed in nrt) p50 {:.2} ms p99 {:.2} ms (n={})",
        pct(&mut before, 0.5),
        pct(&mut before, 0.99),
        before.len(),
        pct(&mut after, 0.5),
        pct(&mut after, 0.99),
        after.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: scripts/bench.sh"]
async fn measure_owners_zero_loss_cost() {
    let w = World::start().await;
    for durability in ["local", "zero_loss"] {
        let id = crate::support::server::uuid();
        let body = session_body_with(&id, &[600_000, 600_000], json!({"durability": durability}));
        w.http("iad")
            .post_json("/v1/sessions", &body)
            .await
            .expect(201);
        w.op("iad", &id, "start").await.expect(200);
        let mut at_home = timed_switches(&w, "iad", &id, 300).await;
        let mut via_nrt = timed_switches(&w, "nrt", &id, 50).await;
        println!(
            "{durability}: switch at the home (iad) p50 {:.2} ms p99 {:.2} ms (n={}); via nrt p50 {:.1} ms p99 {:.1} ms (n={}) \
             [successor lhr, RTT iad–lhr 80 ms]",
            pct(&mut at_home, 0.5),
            pct(&mut at_home, 0.99),
            at_home.len(),
            pct(&mut via_nrt, 0.5),
            pct(&mut via_nrt, 0.99),
            via_nrt.len()
        );
    }
}

/// Loses `iad` under load three times per durability mode; one line per run.
async fn losses(how: Loss, modes: &[(bool, &str)]) {
    for (zero_loss, via) in modes {
        for run in 0..3 {
            let r = lose_home_mid_load(how, *zero_loss, via, Duration::from_millis(3000)).await;
            println!(
                "iad lost ({how:?}: {}) under load via {via}, {} run {run}: acknowledged by iad {}, lost {}, \
                 successor behind by {} versions, relay lag before {:.0} ms, writes served again {:.2} s after, switch p50 {:.1} ms",
                match how {
                    Loss::Kill => "kill -9 of its instance and Redis",
                    Loss::Cut => "cut off from every region, acknowledging until it fenced itself",
                },
                if *zero_loss { "zero-loss" } else { "default (local)" },
                r.acked_before,
                r.lost,
                r.behind,
                r.relay_lag_ms,
                r.served_after.as_secs_f64(),
                r.switch_p50_ms
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: scripts/bench.sh"]
async fn measure_owners_kill_home() {
    let modes = [(false, "iad"), (true, "iad"), (false, "nrt"), (true, "nrt")];
    losses(Loss::Kill, &modes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: scripts/bench.sh"]
async fn measure_owners_cut_home() {
    losses(Loss::Cut, &[(false, "iad"), (true, "iad")]).await;
}
