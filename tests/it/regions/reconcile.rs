//! Reconciliation on real processes (three regions, real `redis-server`s, delaying
//! proxies; see `support::regions`): regions that missed history converge without
//! anyone reading through them (checked on the Redis bytes, so peer lookups cannot
//! mask a missing copy).
//!
//! - `lhr` started after sessions homed in `iad` and `nrt` exist (one already
//!   deleted): its Redis gets byte-identical copies of the live ones and none of the
//!   deleted one; afterwards the relay carries new writes to its watchers;
//! - `lhr`'s instance killed while writes happen elsewhere, restarted (catch-up from
//!   the homes' logs), then killed again, its Redis flushed and restarted (full
//!   reconciliation): byte-identical both times;
//! - bug (ignored until fixed): the same session id created in two regions while they
//!   cannot see each other gets two homes; after the heal the relay or reconciliation
//!   overwrites one acknowledged session with the other (or swaps them for good).

use std::time::Duration;

use crate::support::regions::{versions_until, Setup, World};
use crate::support::server::{session_body, uuid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_started_late_converges_by_reconciliation() {
    let mut w = World::start_with(Setup {
        deferred: vec!["lhr"],
        ..Setup::default()
    })
    .await;
    let (a, _) = w.create("iad", None).await;
    w.op("iad", &a, "start").await.expect(200);
    for _ in 0..3 {
        w.op("nrt", &a, "switch").await.expect(200);
    }
    let (b, _) = w.create("nrt", None).await;
    w.op("nrt", &b, "start").await.expect(200);
    let (gone, _) = w.create("iad", None).await;
    w.http("iad")
        .delete(&format!("/v1/sessions/{gone}"))
        .await
        .expect(204);
    let ids = vec![a.clone(), b.clone()];
    w.converge(&ids, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("iad/nrt: {e}"));

    w.start_region("lhr").await;
    let took = w
        .converge(&ids, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("lhr never caught up:\n{e}"));
    eprintln!("late lhr converged {took:?} after its links came up");
    assert_eq!(w.region("lhr").version(&a), Some(5));
    assert_eq!(w.region("lhr").version(&gone), None);

    // From now on the relay carries new writes there.
    let mut ws = w.node("lhr").watch(&a).await;
    let v = w.op("iad", &a, "switch").await.expect(200).data()["version"]
        .as_u64()
        .expect("version");
    assert_eq!(
        versions_until(&mut ws, v, Duration::from_secs(3)).await,
        vec![v]
    );
    w.converge(&ids, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_or_flushed_region_converges() {
    let mut w = World::start().await;
    let (a, _) = w.create("iad", None).await;
    let (b, _) = w.create("nrt", None).await;
    w.op("iad", &a, "start").await.expect(200);
    w.op("nrt", &b, "start").await.expect(200);
    let ids = vec![a.clone(), b.clone()];
    w.converge(&ids, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    for flush in [false, true] {
        w.kill_region("lhr");
        for _ in 0..3 {
            w.op("iad", &a, "switch").await.expect(200);
            w.op("iad", &b, "switch").await.expect(200);
        }
        if flush {
            assert_eq!(w.region("lhr").redis.cli(&["FLUSHALL"]), "OK");
        }
        w.start_region("lhr").await;
        let took = w
            .converge(&ids, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("flush={flush}: lhr never caught up:\n{e}"));
        eprintln!("restarted lhr (flush={flush}) converged {took:?} after its links came up");
    }
    assert_eq!(w.region("lhr").version(&a), Some(8));
    assert_eq!(w.region("lhr").version(&b), Some(8));
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// Creates stay available in a cut-off region (ids are client UUIDs; a local copy of a
/// session created elsewhere already makes a create 409). If the same id is created
/// on both sides of a partition anyway, every region converges on the incarnation
/// created first (README "Regions"): one owner, no swap, no split brain.
async fn one_id_created_in_two_cut_off_regions_converges_on_the_first_created() {
    let w = World::start().await;
    w.partition("lhr");
    let id = uuid();
    let body = session_body(&id, &[600_000, 600_000]);
    let first = w
        .http("iad")
        .post_json("/v1/sessions", &body)
        .await
        .expect(201);
    assert_eq!(first.data()["home_region"], "iad");
    w.op("iad", &id, "start").await.expect(200);
    let second = w.http("lhr").post_json("/v1/sessions", &body).await;
    w.heal("lhr");

    // One owner (iad, created first) everywhere.
    let settled = crate::support::redis::poll(Duration::from_secs(6), || async {
        let mut homes = Vec::new();
        for r in ["iad", "lhr", "nrt"] {
            let d = w.get(r, &id).await.data();
            homes.push((d["home_region"].clone(), d["version"].clone()));
        }
        let one_owner = homes.iter().all(|h| h.0 == "iad" && h.1 == 2);
        let same = w.converge(&[&id], Duration::ZERO).await.is_ok();
        (one_owner && same).then_some(())
    })
    .await;
    let mut seen = Vec::new();
    for r in ["iad", "lhr", "nrt"] {
        let d = w.get(r, &id).await.data();
        seen.push(format!("{r}: home {} v{}", d["home_region"], d["version"]));
    }
    assert!(
        settled.is_some(),
        "second create via cut-off lhr answered {}; after the heal: {seen:?}\n{}",
        second.status,
        w.describe(&[&id])
    );
    w.assert_healthy();
}
