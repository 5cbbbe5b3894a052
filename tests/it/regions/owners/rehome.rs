//! Planned re-homing under continuous writes, and automatic re-homing:
//!
//! - a session created in `iad` is re-homed to `nrt` (the operator's call arrives in
//!   `lhr`) while one writer switches it without pause through `nrt`, `lhr` and `iad`
//!   in turn: every switch is acknowledged, the acknowledged versions are 3, 4, ...
//!   with only the re-home's own version missing (nothing lost, nothing duplicated),
//!   every region ends byte-identical at epoch 1 homed in `nrt`, and the relay logs
//!   are one chain (epoch 0 by `iad`, then the hand-over, then `nrt`);
//! - the operator route refuses a token that is not an operator's (403) and an
//!   unknown region (400);
//! - `synckairos region drain lhr` (sent to iad) moves every session of lhr to its
//!   successor nrt and homes lhr's new sessions there until `--undo`; `region status`
//!   and `region rehome` work against instances;
//! - with `owners.auto_rehome` on, a session created in `iad` and switched only from
//!   `nrt` moves to `nrt` by itself, after which `nrt`'s switches commit locally.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{chains, everywhere, rehome, switch};
use crate::support::regions::{Setup, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planned_rehome_under_continuous_writes_loses_and_duplicates_nothing() {
    let w = Arc::new(World::start().await);
    let (id, _) = w.create("iad", None).await;
    w.op("iad", &id, "start").await.expect(200);
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (w, id, stop) = (w.clone(), id.clone(), stop.clone());
        tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) || acked.len() < 12 {
                let via = ["nrt", "lhr", "iad"][i % 3];
                i += 1;
                match switch(&w, via, &id).await {
                    Ok(d) => acked.push(d["version"].as_u64().expect("version")),
                    Err(r) => panic!("switch via {via}: {} {}", r.status, r.text()),
                }
            }
            acked
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    let moved = loop {
        let r = rehome(&w, "lhr", &id, "nrt").await;
        if r.status == 409 {
            continue; // raced a switch at the home: the operator retries
        }
        break r.expect(200).data();
    };
    assert_eq!(moved["session"]["home_region"], "nrt");
    assert_eq!(moved["epoch"], 1);
    let moved_at = moved["session"]["version"].as_u64().expect("version");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let acked = writer.await.expect("writer");

    let mut expected: Vec<u64> = (3..=acked.last().copied().unwrap_or(2)).collect();
    expected.retain(|v| *v != moved_at);
    assert_eq!(
        acked, expected,
        "acknowledged versions (re-home at {moved_at})"
    );
    assert!(acked.iter().any(|v| *v > moved_at), "writes after the move");

    everywhere(&w, &id, "nrt", 1, Duration::from_secs(5)).await;
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let c = chains(&w, std::slice::from_ref(&id)).await;
    assert!(c.superseded.is_empty(), "{:?}", c.superseded);
    let cs = &c.commits[&id];
    assert!(cs.iter().all(|c| (c.epoch == 0) == (c.writer == "iad")));
    assert!(cs.iter().any(|c| c.writer == "nrt" && c.epoch == 1));
    assert_eq!(c.last(&id).map(|c| c.version), acked.last().copied());
    assert_eq!(cs.len() as u64, acked.last().copied().unwrap_or(0));

    // Operators only; known regions only.
    let r = rehome(&w, "iad", &id, "syd").await;
    assert_eq!(r.status, 400, "{}", r.text());
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_rehome_moves_an_iad_session_written_from_nrt_to_nrt() {
    let w = World::start_with(Setup {
        env: vec![
            ("SYNCKAIROS_OWNERS__AUTO_REHOME", "true"),
            ("SYNCKAIROS_OWNERS__AUTO_WINDOW", "10"),
            ("SYNCKAIROS_OWNERS__AUTO_MIN_WRITES", "5"),
        ],
        ..Setup::default()
    })
    .await;
    let (id, _) = w.create("iad", None).await;
    w.op("iad", &id, "start").await.expect(200);
    let mut versions = Vec::new();
    for _ in 0..12 {
        versions.push(switch(&w, "nrt", &id).await.expect("switch")["version"].clone());
    }
    everywhere(&w, &id, "nrt", 1, Duration::from_secs(5)).await;
    // From now on nrt's switches are committed in nrt (none forwarded).
    let before =
        crate::support::relay::metric(w.http("nrt"), "synckairos_forwarded_requests_total", &[])
            .await;
    for _ in 0..5 {
        switch(&w, "nrt", &id).await.expect("switch");
    }
    let after =
        crate::support::relay::metric(w.http("nrt"), "synckairos_forwarded_requests_total", &[])
            .await;
    assert_eq!(
        before, after,
        "switches from nrt still forwarded after the move"
    );
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let c = chains(&w, std::slice::from_ref(&id)).await;
    assert!(c.superseded.is_empty());
    w.assert_healthy();
}

/// `synckairos region …` against an instance's public port; its stdout.
fn cli(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_synckairos"))
        .args(args)
        .env("SYNCKAIROS_REGIONS_DIR", "/nonexistent")
        .output()
        .expect("running synckairos");
    assert!(
        out.status.success(),
        "synckairos {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_moves_every_session_of_a_region_to_its_successor_and_status_shows_it() {
    let w = World::start().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (id, _) = w.create("lhr", None).await;
        w.op("lhr", &id, "start").await.expect(200);
        ids.push(id);
    }
    w.converge(&ids, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = |r: &str| {
        let port = w
            .region(r)
            .running_instances()
            .next()
            .expect("instance")
            .port;
        format!("http://127.0.0.1:{port}")
    };
    // Any region serves the drain; each move is committed at the home (lhr).
    let out = cli(&["region", "drain", "lhr", "--url", &url("iad")]);
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(report["moved"], 3, "{out}");
    assert_eq!(report["to"], "nrt", "lhr's successor: the next region");
    for id in &ids {
        everywhere(&w, id, "nrt", 1, Duration::from_secs(5)).await;
        switch(&w, "lhr", id)
            .await
            .expect("the drained region forwards");
    }
    let status = cli(&[
        "region",
        "status",
        "--url",
        &url("nrt"),
        "--url",
        &url("lhr"),
    ]);
    assert!(status.contains("\"sessions_per_home\""), "{status}");
    assert!(status.contains("\"region\": \"lhr\""), "{status}");
    let one = cli(&["region", "rehome", &ids[0], "iad", "--url", &url("lhr")]);
    assert!(one.contains("\"epoch\": 2"), "{one}");
    everywhere(&w, &ids[0], "iad", 2, Duration::from_secs(5)).await;
    w.converge(&ids, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let c = chains(&w, &ids).await;
    assert!(c.superseded.is_empty());
    w.assert_healthy();
}
