//! The relay at scale and under faults, on real processes (three regions, real
//! `redis-server`s, delaying proxies; `support::regions`), checked on the Redis bytes
//! and digests:
//!
//! - `nrt`'s Redis flushed while 20,000 sessions are homed in `iad`: `nrt` holds every
//!   one of them again, byte for byte, within 10 s of its link coming back (bulk pages,
//!   not a round trip per session);
//! - an undecodable and an oversized entry in `iad`'s relay log, carrying a change
//!   `nrt` has not seen: skipped, counted, `nrt`'s reads of the session are marked
//!   stale for as long as its copy differs, and reconciliation repairs it within 10 s;
//! - `iad`'s Redis restored from an older snapshot (its sequence goes back): `lhr`
//!   (connected) sees the head below its position, `nrt` (cut off meanwhile, back when
//!   the home's head is past its position again) sees a log entry unlike the one it
//!   applied; both catch up and hold the home's state byte for byte, new writes too;
//! - 100 DELETEs of sessions that do not exist use no sequence number: no follower
//!   catches up, no key is scanned.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::support::redis::poll;
use crate::support::regions::{Setup, World};
use crate::support::relay::{digest, head, metric, replace_log_entry, same_bytes, seed};
use crate::support::server::uuid;

const STALE: &str = "x-synckairos-stale";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_region_with_20000_sessions_homed_elsewhere_converges_within_10s() {
    // lhr stays down: its following would only compete for the two cores.
    let w = World::start_with(Setup {
        deferred: vec!["lhr"],
        ..Setup::default()
    })
    .await;
    w.partition("nrt");
    let ids = seed(&w.region("iad").redis.url(), "iad", 20_000, 64).await;
    let (mut iad, mut nrt) = (w.redis("iad").await, w.redis("nrt").await);
    let () = redis::cmd("FLUSHALL")
        .query_async(&mut nrt)
        .await
        .expect("flush");
    let want = digest(&mut iad, "iad").await;
    assert_eq!(want.1, 20_000);

    w.heal("nrt");
    let healed = Instant::now();
    let caught_up = poll(Duration::from_secs(10), || {
        let (mut nrt, want) = (nrt.clone(), want);
        async move { (digest(&mut nrt, "iad").await == want).then_some(()) }
    })
    .await;
    let took = healed.elapsed();
    let got = digest(&mut nrt, "iad").await;
    assert!(
        caught_up.is_some(),
        "nrt holds {} of 20,000 after {took:?}",
        got.1
    );
    same_bytes(&mut iad, &mut nrt, &ids)
        .await
        .unwrap_or_else(|e| panic!("digests equal but bytes: {e}"));
    eprintln!(
        "flushed nrt: 20,000 sessions byte-identical {took:?} after the heal ({:.0} sessions/s)",
        20_000.0 / took.as_secs_f64()
    );
    let nrt_http = w.http("nrt");
    let catchups = metric(
        nrt_http,
        "synckairos_relay_catchups_total",
        &[("home", "iad")],
    )
    .await;
    assert!(catchups >= 1.0, "no catch-up counted");
    w.assert_healthy();
}

/// Replaces the log entry of a change of `x` that `nrt` has not seen with `entry`, then
/// checks that `nrt` skips it (`reason`), marks its reads of `x` stale while its copy
/// differs, and converges within 10 s.
async fn bad_entry_is_skipped_and_repaired(entry: Vec<u8>, reason: &str) {
    let w = World::start().await;
    let (x, _) = w.create("iad", None).await;
    let (y, _) = w.create("iad", None).await;
    w.converge(&[&x, &y], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut iad = w.redis("iad").await;

    w.cut("nrt", "iad");
    // nrt knows it no longer hears iad before anything happens there.
    let cut_noticed = poll(Duration::from_secs(5), || async {
        w.get("nrt", &x).await.header(STALE).map(|_| ())
    })
    .await;
    assert!(
        cut_noticed.is_some(),
        "nrt never marked iad's sessions stale"
    );
    w.op("iad", &x, "start").await.expect(200);
    let poisoned = head(&mut iad).await;
    w.op("iad", &y, "start").await.expect(200);
    for _ in 0..5 {
        w.op("iad", &y, "switch").await.expect(200);
    }
    replace_log_entry(&mut iad, poisoned, &entry).await;
    let home_version = w.region("iad").version(&x).expect("x at iad");
    assert_eq!(home_version, 2);

    w.mend("nrt", "iad");
    let mended = Instant::now();
    let mut reads = 0;
    loop {
        let r = w.get("nrt", &x).await.expect(200);
        reads += 1;
        let version = r.data()["version"].as_u64().expect("version");
        let converged = w.converge(&[&x, &y], Duration::ZERO).await.is_ok();
        if converged {
            break;
        }
        assert!(
            version == home_version || r.header(STALE).is_some(),
            "nrt served v{version} of x (home at v{home_version}) without a stale mark, {:?} after the mend",
            mended.elapsed()
        );
        assert!(
            mended.elapsed() < Duration::from_secs(10),
            "not converged 10 s after the mend:\n{}",
            w.describe(&[&x, &y])
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "{reason} entry: converged {:?} after the mend ({reads} reads of x at nrt)",
        mended.elapsed()
    );
    let nrt = w.http("nrt");
    let skipped = metric(
        nrt,
        "synckairos_relay_skipped_entries_total",
        &[("home", "iad"), ("reason", reason)],
    )
    .await;
    assert_eq!(skipped, 1.0, "skipped {reason} entries counted at nrt");
    // Repaired: reads are no longer marked stale.
    let fresh = poll(Duration::from_secs(3), || async {
        w.get("nrt", &x)
            .await
            .expect(200)
            .header(STALE)
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        fresh.is_some(),
        "nrt's reads of x still stale after the repair"
    );
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_entry_is_skipped_marked_stale_and_repaired_within_10s() {
    bad_entry_is_skipped_and_repaired(b"\xc1 not MessagePack".to_vec(), "undecodable").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_entry_is_skipped_marked_stale_and_repaired_within_10s() {
    bad_entry_is_skipped_and_repaired(vec![0x90; 5 * 1024 * 1024], "oversized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_restored_from_an_older_snapshot_is_detected_and_followed_again() {
    let mut w = World::start().await;
    let (x, _) = w.create("iad", None).await;
    w.op("iad", &x, "start").await.expect(200);
    w.converge(&[&x], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.region("iad").redis.cli(&["SAVE"]), "OK");
    for _ in 0..3 {
        w.op("iad", &x, "switch").await.expect(200);
    }
    w.converge(&[&x], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.region("nrt").version(&x), Some(5));

    // nrt is cut off while iad goes back to v2 and then writes past nrt's position.
    w.cut("nrt", "iad");
    tokio::task::block_in_place(|| w.cluster_mut().region_mut("iad").redis.restart())
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        w.region("iad").version(&x),
        Some(2),
        "restored from the snapshot"
    );
    // lhr (connected) sees the head below its position and follows the home back.
    let back = poll(Duration::from_secs(10), || async {
        (w.region("lhr").bytes(&x) == w.region("iad").bytes(&x)).then_some(())
    })
    .await;
    assert!(
        back.is_some(),
        "lhr not back to the home's state:\n{}",
        w.describe(&[&x])
    );
    for _ in 0..5 {
        let ok = poll(Duration::from_secs(5), || async {
            (w.op("iad", &x, "switch").await.status == 200).then_some(())
        })
        .await;
        assert!(ok.is_some(), "iad does not commit after its Redis restart");
    }
    assert_eq!(w.region("iad").version(&x), Some(7));
    w.mend("nrt", "iad");
    w.converge(&[&x], Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("nrt not on the home's new history:\n{e}"));
    for r in ["lhr", "nrt"] {
        let rollbacks = metric(
            w.http(r),
            "synckairos_relay_rollbacks_total",
            &[("home", "iad")],
        )
        .await;
        assert!(rollbacks >= 1.0, "{r} counted no rollback of iad");
    }
    // And the relay carries new writes again.
    w.op("lhr", &x, "switch").await.expect(200);
    w.converge(&[&x], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_sessions_that_do_not_exist_causes_no_catch_up() {
    let w = World::start().await;
    let (x, _) = w.create("iad", None).await;
    w.converge(&[&x], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut iad = w.redis("iad").await;
    let seq = head(&mut iad).await;
    let scans = |r: &str| {
        let cli = w.region(r).redis.cli(&["INFO", "commandstats"]);
        cli.lines()
            .find_map(|l| l.strip_prefix("cmdstat_scan:calls="))
            .and_then(|v| v.split(',').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let scans_before: Vec<u64> = ["iad", "lhr", "nrt"].map(scans).to_vec();
    let catchups = |r: &'static str| {
        metric(
            w.http(r),
            "synckairos_relay_catchups_total",
            &[("home", "iad")],
        )
    };
    let before = (catchups("lhr").await, catchups("nrt").await);

    // Ten at a time: each asks the other regions about the id first.
    let deletes = futures_util::stream::iter(0..100)
        .map(|_| async {
            let path = format!("/v1/sessions/{}", uuid());
            let r = w.http("iad").delete(&path).await;
            assert_eq!(r.status, 204, "{}", r.text());
        })
        .buffer_unordered(10)
        .collect::<Vec<()>>();
    deletes.await;
    assert_eq!(
        head(&mut iad).await,
        seq,
        "a missing session's delete used a number"
    );
    w.op("iad", &x, "start").await.expect(200);
    w.converge(&[&x], Duration::from_secs(2))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Two check periods: a gap would have started a catch-up by now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        (catchups("lhr").await, catchups("nrt").await),
        before,
        "catch-ups after deletes of missing sessions"
    );
    let scans_after: Vec<u64> = ["iad", "lhr", "nrt"].map(scans).to_vec();
    assert_eq!(scans_after, scans_before, "SCANs (iad, lhr, nrt)");
    w.assert_healthy();
}
