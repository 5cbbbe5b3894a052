//! Auth across regions (three regions, `synckairos-cluster`): every region verifies
//! tokens itself (stateless; same keys), and a write forwarded to the session's home
//! carries the caller's identity, so the home judges it on the state it commits: the
//! inactive player's switch sent through another region is refused there with 403
//! `not_your_turn`, a foreign tenant's with `other_tenant`, the active player's
//! commits. Also: `RECONNECT`s for an unknown id are counted against the general limiter
//! and answered from the negative cache after the first peer lookup.

use serde_json::json;

use crate::support::auth::{self, reason, Authed};
use crate::support::regions::{Setup, World};
use crate::support::server::{pid, session_body_with, uuid};
use crate::support::ws::{WsClient, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_write_keeps_its_identity() {
    let w = World::start_with(Setup {
        env: auth::env(),
        ..Setup::default()
    })
    .await;
    let svc = auth::service("backend", Some("acme"));
    let id = uuid();
    // Created through iad, homed in lhr.
    Authed {
        http: w.http("iad"),
        token: &svc,
    }
    .post(
        "/v1/sessions",
        &session_body_with(&id, &[600_000, 600_000], json!({"home_region": "lhr"})),
    )
    .await
    .expect(201);
    // No token is refused in every region, before anything is forwarded.
    for r in ["iad", "lhr", "nrt"] {
        w.http(r)
            .post_empty(&format!("/v1/sessions/{id}/start"))
            .await
            .expect(401);
    }
    Authed {
        http: w.http("nrt"),
        token: &svc,
    }
    .op(&id, "start")
    .await
    .expect(200);
    let p0 = auth::participant("alice", &id, &pid(0));
    let p1 = auth::participant("bob", &id, &pid(1));
    // Bob, not active, through nrt: refused by the home on its own state.
    let r = Authed {
        http: w.http("nrt"),
        token: &p1,
    }
    .op(&id, "switch")
    .await
    .expect(403);
    assert_eq!(reason(&r), "not_your_turn", "{}", r.text());
    // Another tenant's service token through iad: refused by the home.
    let globex = auth::service("globex", Some("globex"));
    let r = Authed {
        http: w.http("iad"),
        token: &globex,
    }
    .op(&id, "switch")
    .await
    .expect(403);
    assert_eq!(reason(&r), "other_tenant", "{}", r.text());
    // Alice, active, through iad: committed at the home.
    let d = Authed {
        http: w.http("iad"),
        token: &p0,
    }
    .op(&id, "switch")
    .await
    .expect(200)
    .data();
    assert_eq!(d["active_participant_id"], pid(1));
    // Now Bob's turn, through nrt over the socket.
    let url = format!("{}&token={p1}", w.node("nrt").ws_url(&id));
    let (mut bob, _) = WsClient::connect_ready(&url).await;
    bob.send_json(&json!({"type": "SWITCH", "requestId": 1}))
        .await;
    let (ack, _) = bob.next_of_type("ACK", WAIT).await;
    assert_eq!(ack["requestId"], 1, "{ack}");
    // A watcher reads anywhere and cannot write anywhere.
    let watcher = auth::watcher("w", &id);
    for r in ["iad", "lhr", "nrt"] {
        let a = Authed {
            http: w.http(r),
            token: &watcher,
        };
        a.get(&format!("/v1/sessions/{id}")).await.expect(200);
        assert_eq!(reason(&a.op(&id, "pause").await.expect(403)), "role");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_for_an_unknown_id_hit_the_negative_cache_and_the_limiter() {
    let mut env = auth::env();
    env.push(("SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE", "40"));
    env.push(("SYNCKAIROS_CLUSTER__NEGATIVE_CACHE_MS", "30000"));
    let w = World::start_with(Setup {
        env,
        ..Setup::default()
    })
    .await;
    let svc = auth::service("backend", None);
    let unknown = uuid();
    let url = format!("{}&token={svc}", w.node("iad").ws_url(&unknown));
    let (mut ws, _) = WsClient::connect_ready(&url).await;
    let mut errors = Vec::new();
    // 50: under the socket's own message rate (`ws.messages_per_second`).
    for _ in 0..50 {
        ws.send_json(&json!({"type": "RECONNECT"})).await;
        let (e, _) = ws.next_of_type("ERROR", WAIT).await;
        errors.push(e["code"].as_str().unwrap_or_default().to_owned());
    }
    let limited = errors
        .iter()
        .filter(|c| *c == "RATE_LIMIT_EXCEEDED")
        .count();
    let not_found = errors.iter().filter(|c| *c == "SESSION_NOT_FOUND").count();
    assert_eq!(
        limited, 10,
        "RECONNECTs beyond the general limit are refused: {errors:?}"
    );
    assert_eq!(not_found, 40, "{errors:?}");
    let metrics = w.http("iad").get("/metrics").await.expect(200).text();
    let count = |outcome: &str| -> f64 {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("synckairos_peer_lookups_total")
                    && l.contains(&format!("outcome=\"{outcome}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    assert!(
        count("asked") <= 2.0,
        "peers asked once per negative-cache period:\n{metrics}"
    );
    assert!(count("cached") >= 1.0, "{metrics}");
}
