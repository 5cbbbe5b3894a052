//! What each role may do with auth on, in one region: a service token everything (a
//! tenant-limited one only its tenant's sessions), a participant token reads its
//! session, switches only while it is the active participant (atomically at the
//! commit: concurrent switches by both players never pass two turns) and pauses or
//! resumes as the session's pause policy says; a watcher token reads. Everything else
//! is 403 with a reason.

use std::sync::Arc;

use serde_json::json;

use crate::support::auth::{self, reason, Authed};
use crate::support::server::{pid, session_body_with, uuid, TestServer};

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        auth::on(c);
        c.rate_limit.switch_per_second = 0;
    })
    .await
}

/// A started two-player session created by `svc`; participant 0 is active.
async fn started(s: &TestServer, svc: &str, extra: serde_json::Value) -> String {
    let id = uuid();
    let a = Authed {
        http: &s.http,
        token: svc,
    };
    a.post(
        "/v1/sessions",
        &session_body_with(&id, &[600_000, 600_000], extra),
    )
    .await
    .expect(201);
    a.op(&id, "start").await.expect(200);
    id
}

#[tokio::test]
async fn each_role_does_exactly_what_it_should() {
    let s = server().await;
    let svc = auth::service("backend", None);
    let id = started(&s, &svc, json!({})).await;
    let p0 = auth::participant("alice", &id, &pid(0));
    let p1 = auth::participant("bob", &id, &pid(1));
    let w = auth::watcher("spectator", &id);
    let (as0, as1, asw) = (
        Authed {
            http: &s.http,
            token: &p0,
        },
        Authed {
            http: &s.http,
            token: &p1,
        },
        Authed {
            http: &s.http,
            token: &w,
        },
    );
    // Everyone in scope reads.
    for a in [&as0, &as1, &asw] {
        a.get(&format!("/v1/sessions/{id}")).await.expect(200);
    }
    // Only the active participant passes the turn.
    let r = as1.op(&id, "switch").await.expect(403);
    assert_eq!(reason(&r), "not_your_turn");
    assert_eq!(r.error_code(), "FORBIDDEN");
    let d = as0.op(&id, "switch").await.expect(200).data();
    assert_eq!(d["active_participant_id"], pid(1));
    as0.op(&id, "switch").await.expect(403);
    // Naming another current participant is refused before anything is read.
    let r = as1
        .post(
            &format!("/v1/sessions/{id}/switch"),
            &json!({"current_participant_id": pid(0)}),
        )
        .await
        .expect(403);
    assert_eq!(reason(&r), "not_your_turn");
    as1.op(&id, "switch").await.expect(200);
    // Participants and watchers cannot start, complete, create or delete.
    for a in [&as0, &asw] {
        for op in ["start", "complete"] {
            assert_eq!(reason(&a.op(&id, op).await.expect(403)), "role");
        }
        let r = a
            .post(
                "/v1/sessions",
                &session_body_with(&uuid(), &[60_000], json!({})),
            )
            .await
            .expect(403);
        assert_eq!(reason(&r), "role");
        a.delete(&format!("/v1/sessions/{id}")).await.expect(403);
    }
    assert_eq!(reason(&asw.op(&id, "switch").await.expect(403)), "role");
    assert_eq!(reason(&asw.op(&id, "pause").await.expect(403)), "role");
    // The default pause policy leaves pausing to the service.
    assert_eq!(
        reason(&as0.op(&id, "pause").await.expect(403)),
        "pause_policy"
    );
    let svc_a = Authed {
        http: &s.http,
        token: &svc,
    };
    svc_a.op(&id, "pause").await.expect(200);
    svc_a.op(&id, "resume").await.expect(200);
    svc_a.op(&id, "switch").await.expect(200);
    svc_a.op(&id, "complete").await.expect(200);
    svc_a
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
}

#[tokio::test]
async fn tokens_limited_to_a_session_cannot_touch_another() {
    let s = server().await;
    let svc = auth::service("backend", None);
    let one = started(&s, &svc, json!({})).await;
    let two = started(&s, &svc, json!({})).await;
    let p = auth::participant("alice", &one, &pid(0));
    let w = auth::watcher("w", &one);
    for token in [&p, &w] {
        let a = Authed {
            http: &s.http,
            token,
        };
        let r = a.get(&format!("/v1/sessions/{two}")).await.expect(403);
        assert_eq!(reason(&r), "other_session");
        a.op(&two, "switch").await.expect(403);
        a.get(&format!("/v1/sessions/{two}/events"))
            .await
            .expect(403);
    }
    // A participant token naming someone who is not in the session.
    let stranger = auth::participant("eve", &one, &pid(7));
    let r = Authed {
        http: &s.http,
        token: &stranger,
    }
    .op(&one, "switch")
    .await
    .expect(403);
    assert_eq!(reason(&r), "not_a_participant");
    // A service token limited to a session creates only that one.
    let mut c = auth::claims("service", "one-shot");
    c.sid = Some(one.clone());
    let narrow = auth::sign("k1", &c);
    let r = Authed {
        http: &s.http,
        token: &narrow,
    }
    .post(
        "/v1/sessions",
        &session_body_with(&uuid(), &[60_000], json!({})),
    )
    .await
    .expect(403);
    assert_eq!(reason(&r), "other_session");
}

#[tokio::test]
async fn pause_policies() {
    let s = server().await;
    let svc = auth::service("backend", None);
    for (policy, active_may, other_may) in [
        ("service", false, false),
        ("active_participant", true, false),
        ("any_participant", true, true),
    ] {
        let id = started(&s, &svc, json!({"pause_policy": policy})).await;
        let state = Authed {
            http: &s.http,
            token: &svc,
        }
        .get(&format!("/v1/sessions/{id}"))
        .await
        .expect(200)
        .data();
        if policy != "service" {
            assert_eq!(state["pause_policy"], policy);
        }
        let p0 = auth::participant("alice", &id, &pid(0));
        let p1 = auth::participant("bob", &id, &pid(1));
        let (a0, a1) = (
            Authed {
                http: &s.http,
                token: &p0,
            },
            Authed {
                http: &s.http,
                token: &p1,
            },
        );
        let other = a1.op(&id, "pause").await;
        assert_eq!(other.status == 200, other_may, "{policy}: {}", other.text());
        if other_may {
            a1.op(&id, "resume").await.expect(200);
        }
        let active = a0.op(&id, "pause").await;
        assert_eq!(
            active.status == 200,
            active_may,
            "{policy}: {}",
            active.text()
        );
        if active_may {
            // Paused: the active participant (still the one whose clock stopped) resumes.
            a0.op(&id, "resume").await.expect(200);
        }
    }
    let r = Authed {
        http: &s.http,
        token: &svc,
    }
    .post(
        "/v1/sessions",
        &session_body_with(&uuid(), &[60_000], json!({"pause_policy": "anyone"})),
    )
    .await
    .expect(400);
    assert_eq!(r.error_code(), "VALIDATION_ERROR");
}

#[tokio::test]
async fn tenant_limited_service_tokens_see_only_their_tenant() {
    let s = server().await;
    let acme = auth::service("acme-backend", Some("acme"));
    let globex = auth::service("globex-backend", Some("globex"));
    let root = auth::service("ops", None);
    let id = started(&s, &acme, json!({})).await;
    let a = Authed {
        http: &s.http,
        token: &acme,
    };
    assert_eq!(
        a.get(&format!("/v1/sessions/{id}"))
            .await
            .expect(200)
            .data()["tenant"],
        "acme"
    );
    let g = Authed {
        http: &s.http,
        token: &globex,
    };
    assert_eq!(
        reason(&g.get(&format!("/v1/sessions/{id}")).await.expect(403)),
        "other_tenant"
    );
    assert_eq!(
        reason(&g.op(&id, "switch").await.expect(403)),
        "other_tenant"
    );
    assert_eq!(
        reason(&g.delete(&format!("/v1/sessions/{id}")).await.expect(403)),
        "other_tenant"
    );
    Authed {
        http: &s.http,
        token: &root,
    }
    .op(&id, "switch")
    .await
    .expect(200);
    a.op(&id, "switch").await.expect(200);
    a.delete(&format!("/v1/sessions/{id}")).await.expect(204);
}

/// Both players hammer switch at once: only the active one's switch may commit, so the
/// turns alternate and neither can pass the other's turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_switches_by_both_players_never_pass_the_others_turn() {
    let s = Arc::new(server().await);
    let svc = auth::service("backend", None);
    let id = started(&s, &svc, json!({})).await;
    let mut tasks = Vec::new();
    for i in 0..2 {
        let (s, id) = (s.clone(), id.clone());
        let token = auth::participant(&format!("p{i}"), &id, &pid(i));
        tasks.push(tokio::spawn(async move {
            let a = Authed {
                http: &s.http,
                token: &token,
            };
            let mut won = 0u32;
            for _ in 0..150 {
                let r = a.op(&id, "switch").await;
                match r.status {
                    200 => won += 1,
                    403 => assert_eq!(reason(&r), "not_your_turn", "{}", r.text()),
                    409 => {} // lost the compare-and-set to the other player's switch
                    other => panic!("unexpected {other}: {}", r.text()),
                }
            }
            won
        }));
    }
    let p0 = tasks.remove(0).await.unwrap();
    let p1 = tasks.remove(0).await.unwrap();
    assert!(p0 > 0 && p1 > 0, "both players got turns: {p0} / {p1}");
    assert!(p0 == p1 || p0 == p1 + 1, "turns alternate: {p0} / {p1}");
    let state = Authed {
        http: &s.http,
        token: &svc,
    }
    .get(&format!("/v1/sessions/{id}"))
    .await
    .expect(200)
    .data();
    let active = if p0 == p1 { pid(0) } else { pid(1) };
    assert_eq!(state["active_participant_id"], active);
}
