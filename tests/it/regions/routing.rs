//! Multi-region routing on real processes (three regions, real `redis-server`s,
//! delaying proxies; see `support::regions`):
//!
//! - a session created in `iad` is readable at once from `lhr` and `nrt` (same state,
//!   not marked stale), whether or not the relay has delivered it yet;
//! - `home_region` in the create body: unknown or not a string → 400; another region →
//!   the create is committed there (its Redis has it before the answer) and the home's
//!   answer is returned unchanged; later writes through any region land at that home;
//! - the internal API answers only on `cluster.internal_port` and only with the secret
//!   (none, empty, wrong, prefix → 403, nothing committed); `/internal/...` on the
//!   public port is 404, secret or not; public routes are not served on the internal
//!   port; a typed call sent to a region that is not the session's home is refused
//!   (503 in the reply), never committed there nor forwarded a second time;
//! - `DELETE` through a remote region deletes at the home; watchers in all three
//!   regions get `SESSION_DELETED` and close 1000; every region then answers 404.

use std::time::Duration;

use crate::support::regions::{World, REGIONS, SECRET};
use hyper::Method;
use serde_json::json;
use synckairos::domain::Op;
use synckairos::region::wire::{self, PeerCall, PeerReply, CALL_PATH};

const STALE: &str = "x-synckairos-stale";
const SECRET_HEADER: &str = "x-synckairos-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_anywhere_readable_everywhere_and_home_region_picks_the_home() {
    let w = World::start().await;

    // Read immediately from the other regions (relay or peer lookup, either way).
    let (id, created) = w.create("iad", None).await;
    assert_eq!(created["home_region"], "iad");
    assert_eq!(created["version"], 1);
    for r in ["lhr", "nrt"] {
        let got = w.get(r, &id).await.expect(200);
        assert_eq!(got.data(), created, "GET from {r}");
        assert_eq!(got.header(STALE), None, "GET from {r}");
    }

    // Unknown or malformed home_region: 400, nothing created anywhere.
    for bad in [json!("syd"), json!(7), json!("IAD")] {
        let (bad_id, r) = w.create_via("lhr", json!({ "home_region": bad })).await;
        let r = r.expect(400);
        assert_eq!(r.error_code(), "VALIDATION_ERROR", "{}", r.text());
        assert!(r.text().contains("home_region"), "{}", r.text());
        for region in REGIONS {
            assert_eq!(w.region(region).version(&bad_id), None);
        }
    }

    // Another region: committed there before the answer, answered as the home did.
    let (remote, data) = w.create("iad", Some("nrt")).await;
    assert_eq!(data["home_region"], "nrt");
    assert_eq!(w.region("nrt").version(&remote), Some(1));
    assert_eq!(w.get("nrt", &remote).await.expect(200).data(), data);
    // Writes through any region land at nrt, with nrt's versions.
    let started = w.op("lhr", &remote, "start").await.expect(200).data();
    assert_eq!(started["version"], 2);
    assert_eq!(w.region("nrt").version(&remote), Some(2));
    let switched = w.op("iad", &remote, "switch").await.expect(200).data();
    assert_eq!(switched["version"], 3);
    assert_eq!(w.region("nrt").version(&remote), Some(3));

    // Its own region as home_region is a plain local create.
    let (local, d) = w.create("lhr", Some("lhr")).await;
    assert_eq!(d["home_region"], "lhr");
    assert_eq!(w.region("lhr").version(&local), Some(1));

    // Creating an id that exists (homed elsewhere) is refused, not a second home.
    let dup = crate::support::server::session_body(&remote, &[1000, 1000]);
    for via in ["lhr", "nrt"] {
        let r = w
            .http(via)
            .post_json("/v1/sessions", &dup)
            .await
            .expect(409);
        assert_eq!(r.error_code(), "SESSION_EXISTS", "via {via}");
    }

    let ids = vec![id, remote, local];
    let took = w
        .converge(&ids, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("not converged:\n{e}"));
    eprintln!("converged in {took:?}");
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_api_needs_the_secret_and_is_not_on_the_public_port() {
    let w = World::start().await;
    let (id, _) = w.create("iad", None).await;
    let internal = w.internal("iad", 0);
    let raw_path = format!("/internal/sessions/{id}");
    let start_path = format!("/v1/sessions/{id}/start");
    let wrong_same_len = "x".repeat(SECRET.len());
    let refused: [Option<&str>; 4] = [None, Some(""), Some(&wrong_same_len), Some(&SECRET[..16])];
    for secret in refused {
        let headers: Vec<(&str, &str)> = secret.map(|s| (SECRET_HEADER, s)).into_iter().collect();
        for (method, path) in [
            (Method::GET, raw_path.as_str()),
            (Method::GET, "/internal/sync/summary"),
            (Method::GET, "/internal/relay?since=0"),
            (Method::POST, CALL_PATH),
        ] {
            let r = internal.send(method.clone(), path, &headers, "{}").await;
            assert_eq!(
                r.status,
                403,
                "{method} {path} with {secret:?}: {}",
                r.text()
            );
            assert_eq!(r.error_code(), "FORBIDDEN");
        }
    }
    assert_eq!(
        w.region("iad").version(&id),
        Some(1),
        "a refused write committed"
    );

    // With the secret: the exact stored bytes.
    let ok = internal
        .send(Method::GET, &raw_path, &[(SECRET_HEADER, SECRET)], "")
        .await
        .expect(200);
    assert_eq!(Some(ok.body.to_vec()), w.region("iad").bytes(&id));

    // Not on the public port, secret or not.
    for path in [
        raw_path.as_str(),
        "/internal/sync/summary",
        "/internal/relay?since=0",
    ] {
        for headers in [vec![], vec![(SECRET_HEADER, SECRET)]] {
            let r = w.http("iad").send(Method::GET, path, &headers, "").await;
            assert_eq!(r.status, 404, "public {path}: {}", r.text());
        }
    }

    // Public routes are not served on the internal port, secret or not.
    let r = internal
        .send(
            Method::POST,
            &start_path,
            &[
                (SECRET_HEADER, SECRET),
                ("content-type", "application/json"),
            ],
            "{}",
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());

    // A typed call to a region that holds only a copy: refused (503), neither
    // committed there nor forwarded a second time.
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lhr_internal = w.internal("lhr", 0);
    let call = PeerCall::Apply {
        origin: "nrt".into(),
        session_id: id.clone().into(),
        op: Op::Start,
        moved_at: None,
        actor: None,
        known: None,
    };
    let r = lhr_internal
        .send(
            Method::POST,
            CALL_PATH,
            &[
                (SECRET_HEADER, SECRET),
                ("content-type", "application/msgpack"),
            ],
            wire::encode(&call),
        )
        .await
        .expect(200);
    match wire::decode::<PeerReply>(&r.body).expect("a typed reply") {
        PeerReply::Refused(e) => {
            assert_eq!(e.status, 503, "{e:?}");
            assert!(e.retry_after.is_some(), "{e:?}");
        }
        other => panic!("a copy must refuse the call: {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for r in REGIONS {
        assert_eq!(w.region(r).version(&id), Some(1), "{r}");
    }
    w.assert_healthy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_through_a_remote_region_closes_watchers_everywhere() {
    let w = World::start().await;
    let (id, _) = w.create("iad", None).await;
    w.op("nrt", &id, "start").await.expect(200);
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut watchers = Vec::new();
    for r in REGIONS {
        watchers.push((r, w.node(r).watch(&id).await));
    }

    w.http("lhr")
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
    assert_eq!(w.region("iad").version(&id), None, "deleted at the home");

    for (r, ws) in watchers.iter_mut() {
        let (m, before) = ws
            .next_of_type("SESSION_DELETED", Duration::from_secs(5))
            .await;
        assert_eq!(m["sessionId"], id.as_str(), "{r}");
        assert!(
            before.iter().all(|m| m["type"] != "STATE_UPDATE"),
            "{r}: state after the delete? {before:?}"
        );
        let (code, _) = ws.expect_close(Duration::from_secs(3)).await;
        assert_eq!(code, 1000, "{r}");
    }
    w.gone_everywhere(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("copies left:\n{e}"));
    for r in REGIONS {
        let resp = w.get(r, &id).await.expect(404);
        assert_eq!(resp.error_code(), "SESSION_NOT_FOUND", "{r}");
    }
    w.assert_healthy();
}
