//! Managed services over TLS, against real servers with throwaway certificates: a
//! `redis-server` on a TLS port only with an ACL user, and a PostgreSQL with `ssl=on`
//! that refuses unencrypted clients. The real binary, given
//! `REDIS_URL_LOCAL=rediss://user:password@host:port/?sslrootcert=ca.pem` (the per-region
//! secret form) and `DATABASE_URL=postgres://...?sslmode=verify-full&sslrootcert=ca.pem`,
//! serves sessions, fans them out over a WebSocket and lands their audit rows in
//! PostgreSQL. With certificate verification on, a server certificate from another CA
//! is refused: Redis → 503 and `/ready` says why; PostgreSQL → sessions still served
//! (it is off the hot path) but nothing written, and the log says why. Passwords never
//! show in `synckairos config`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::http::Client;
use crate::support::procs::Instance;
use crate::support::server::{session_body, uuid};
use crate::support::tls::*;
use crate::support::ws::WsClient;

fn client(i: &Instance) -> Client {
    Client::new(([127, 0, 0, 1], i.port).into())
}

fn ca_param(certs: &Certs, name: &str) -> String {
    format!("sslrootcert={}", certs.path(name))
}

async fn until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cond()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_audit_work_over_verified_tls_with_an_acl_user() {
    let certs = Certs::make();
    let redis = TlsRedis::start(&certs);
    let pg = tokio::task::block_in_place(|| TlsPostgres::start(&certs));
    let ca = ca_param(&certs, "ca.pem");
    let inst = Instance::start(&[
        ("REDIS_URL_LOCAL", redis.url(&format!("?{ca}"))),
        (
            "DATABASE_URL",
            pg.url(&format!("?sslmode=verify-full&{ca}")),
        ),
    ]);
    let c = client(&inst);
    c.get("/ready").await.expect(200);
    let id = uuid();
    c.post_json("/v1/sessions", &session_body(&id, &[60_000, 60_000]))
        .await
        .expect(201);
    let url = format!("ws://127.0.0.1:{}/ws?sessionId={id}", inst.port);
    let (mut ws, _) = WsClient::connect_ready(&url).await;
    c.post_empty(&format!("/v1/sessions/{id}/start"))
        .await
        .expect(200);
    let switched = c
        .post_empty(&format!("/v1/sessions/{id}/switch"))
        .await
        .expect(200)
        .data();
    // Fan-out runs over its own TLS connection (RESP3 pub/sub).
    let version = switched["version"].as_u64().unwrap();
    let mut seen = 0;
    while seen < version {
        let (m, _) = ws
            .next_of_type("STATE_UPDATE", Duration::from_secs(5))
            .await;
        seen = m["state"]["version"].as_u64().unwrap();
    }
    let sql = format!("SELECT count(*) FROM sync_events WHERE session_id = '{id}'");
    let landed = until(Duration::from_secs(15), || {
        pg.query(&sql).parse::<u64>().unwrap_or(0) >= 3
    })
    .await;
    assert!(
        landed,
        "audit rows: {}; log:\n{}",
        pg.query(&sql),
        inst.log_text()
    );
    // Every connection of the instance is encrypted and logged in as the ACL user.
    let ssl = pg.query(
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.client_addr IS NOT NULL AND NOT s.ssl",
    );
    assert_eq!(ssl, "0", "an unencrypted PostgreSQL connection");
    let clients = redis.cli(&certs, &["CLIENT", "LIST"]);
    assert!(clients.lines().count() >= 3, "{clients}");
    for line in clients.lines() {
        assert!(line.contains(&format!("user={REDIS_USER}")), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_certificate_from_another_ca_is_refused() {
    let certs = Certs::make();
    let redis = TlsRedis::start(&certs);
    // The wrong CA file, and no CA file (public roots only): both refuse.
    for query in [
        format!("?{}", ca_param(&certs, "other-ca.pem")),
        String::new(),
    ] {
        let inst = Instance::start(&[("REDIS_URL", redis.url(&query))]);
        let c = client(&inst);
        let r = c
            .post_json("/v1/sessions", &session_body(&uuid(), &[60_000]))
            .await;
        assert_eq!(r.status, 503, "{query}: {}", r.text());
        let ready = c.get("/ready").await;
        assert_eq!(ready.status, 503, "{query}");
        let why = ready.text().to_ascii_lowercase();
        assert!(
            why.contains("certificate") || why.contains("unknownissuer"),
            "{query}: /ready does not say why: {why}"
        );
    }
    // And a wrong password with the right CA is refused too.
    let bad = redis
        .url(&format!("?{}", ca_param(&certs, "ca.pem")))
        .replace(REDIS_PASSWORD, "wrong-password");
    let inst = Instance::start(&[("REDIS_URL", bad)]);
    client(&inst).get("/ready").await.expect(503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_certificate_from_another_ca_is_refused_off_the_hot_path() {
    let certs = Certs::make();
    let redis = TlsRedis::start(&certs);
    let pg = tokio::task::block_in_place(|| TlsPostgres::start(&certs));
    let inst = Instance::start(&[
        (
            "REDIS_URL",
            redis.url(&format!("?{}", ca_param(&certs, "ca.pem"))),
        ),
        (
            "DATABASE_URL",
            pg.url(&format!(
                "?sslmode=verify-full&{}",
                ca_param(&certs, "other-ca.pem")
            )),
        ),
    ]);
    let c = client(&inst);
    let id = uuid();
    c.post_json("/v1/sessions", &session_body(&id, &[60_000]))
        .await
        .expect(201);
    c.get("/ready").await.expect(200);
    let said = until(Duration::from_secs(10), || {
        let log = inst.log_text().to_ascii_lowercase();
        log.contains("certificate") || log.contains("unknownissuer")
    })
    .await;
    assert!(said, "the log does not say why:\n{}", inst.log_text());
    assert_eq!(pg.query("SELECT to_regclass('sync_events') IS NULL"), "t");
}

#[test]
fn the_config_command_masks_passwords() {
    let out = Command::new(env!("CARGO_BIN_EXE_synckairos"))
        .arg("config")
        .env("SYNCKAIROS_REGIONS_DIR", "/nonexistent")
        .env(
            "REDIS_URL_LOCAL",
            "rediss://app:redis-pw-1@redis.example:6380/?sslrootcert=/ca.pem",
        )
        .env(
            "DATABASE_URL",
            "postgres://app:pg-pw-2@db.example/sk?sslmode=verify-full",
        )
        .env("SYNCKAIROS_CLUSTER__SECRET", "cluster-secret-3-0123456789")
        .output()
        .expect("synckairos config");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for secret in ["redis-pw-1", "pg-pw-2", "cluster-secret-3"] {
        assert!(!text.contains(secret), "{secret} printed:\n{text}");
    }
    assert!(
        text.contains("rediss://app:REDACTED@redis.example:6380/?sslrootcert=/ca.pem"),
        "{text}"
    );
    assert!(
        text.contains("postgres://app:REDACTED@db.example/sk?sslmode=verify-full"),
        "{text}"
    );
}
