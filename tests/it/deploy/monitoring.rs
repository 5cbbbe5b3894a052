//! The Prometheus and Grafana files of `deploy/`: `promtool check rules` and `promtool
//! check config` pass, the Grafana dashboard is valid JSON with a `region` variable,
//! and every metric that an alert rule or a dashboard query names is one the server
//! exports: checked against the `/metrics` of real running servers after exercising
//! them (a Redis + PostgreSQL instance through sessions, deadlines, switches, rate
//! limits and a WebSocket; and a three-region cluster through a forwarded write and
//! the relay).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::deploy::*;
use crate::support::http::Client;
use crate::support::procs::{Instance, Postgres, Redis};
use crate::support::regions::World;
use crate::support::server::{session_body, uuid};
use crate::support::ws::WsClient;
use serde_json::{json, Value};

/// Every `synckairos_*` name in a text (PromQL, JSON).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("synckairos_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// The series names of a Prometheus text exposition (`_bucket`, `_sum`, `_count`
/// included).
fn exported(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l[..l.find(['{', ' ']).unwrap_or(l.len())].to_owned())
        .collect()
}

fn dashboard() -> Value {
    serde_json::from_str(&read("deploy/grafana/synckairos.json")).expect("dashboard JSON")
}

/// Every panel of the dashboard (rows' nested panels included).
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

#[test]
fn promtool_accepts_the_rules_and_the_scrape_config() {
    let rules = succeed(
        "promtool",
        &["check", "rules", "deploy/prometheus/alerts.yml"],
        &[],
    );
    assert!(rules.contains("SUCCESS"), "{rules}");
    let config = succeed(
        "promtool",
        &["check", "config", "deploy/prometheus/prometheus.yml"],
        &[],
    );
    assert!(config.contains("SUCCESS"), "{config}");
}

#[test]
fn the_dashboard_has_a_region_variable_and_a_query_in_every_panel() {
    let d = dashboard();
    assert_eq!(d["uid"], "synckairos");
    let vars = d["templating"]["list"].as_array().unwrap();
    let region = vars
        .iter()
        .find(|v| v["name"] == "region")
        .expect("$region");
    assert!(region["definition"].as_str().unwrap().contains(", region)"));
    let mut ids = BTreeSet::new();
    for p in panels(&d) {
        assert!(
            ids.insert(p["id"].as_u64().expect("panel id")),
            "duplicate id"
        );
        if p["type"] == "row" {
            continue;
        }
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{}: no query", p["title"]);
        for t in targets {
            let expr = t["expr"].as_str().expect("expr");
            assert!(
                expr.contains("region"),
                "{}: not per region: {expr}",
                p["title"]
            );
        }
    }
    let repeated = panels(&d)
        .iter()
        .filter(|p| p["repeat"] == "region")
        .count();
    assert!(repeated >= 1, "a row repeated per region");
}

/// Redis + PostgreSQL instance: sessions, a deadline, switches past the switch rate
/// limit, a WebSocket with a PING, the audit writer.
async fn single_region_scrape() -> String {
    let redis = Redis::start();
    let pg = tokio::task::block_in_place(Postgres::start);
    let inst = Instance::start(&[
        ("REDIS_URL", redis.url()),
        ("DATABASE_URL", pg.url()),
        ("RATE_LIMIT_SWITCH", "1".into()),
    ]);
    let c = Client::new(([127, 0, 0, 1], inst.port).into());
    let id = uuid();
    c.post_json("/v1/sessions", &session_body(&id, &[1_000, 60_000]))
        .await
        .expect(201);
    let url = format!("ws://127.0.0.1:{}/ws?sessionId={id}", inst.port);
    let (mut ws, _) = WsClient::connect_ready(&url).await;
    ws.send_json(&json!({"type": "PING", "timestamp": 1})).await;
    c.post_empty(&format!("/v1/sessions/{id}/start"))
        .await
        .expect(200);
    ws.next_of_type("TIME_EXPIRED", Duration::from_secs(5))
        .await;
    let mut limited = false;
    for _ in 0..4 {
        let r = c.post_empty(&format!("/v1/sessions/{id}/switch")).await;
        limited |= r.status == 429;
    }
    assert!(limited, "the switch limit answered 429");
    c.get("/v1/sessions/no-such-session").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await; // backlog sampled, batch written
    let scrape = c.get("/metrics").await.expect(200).text();
    drop(ws);
    scrape
}

/// Three regions: a write through lhr for an iad-homed session (forwarded), relayed
/// back to lhr.
async fn multi_region_scrape() -> String {
    let w = World::start().await;
    let (id, _) = w.create("lhr", Some("iad")).await;
    w.op("lhr", &id, "start").await.expect(200);
    w.converge(&[&id], Duration::from_secs(10))
        .await
        .expect("converged");
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.http("lhr").get("/metrics").await.expect(200).text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_in_the_rules_and_the_dashboard_is_exported() {
    let single = single_region_scrape().await;
    let multi = multi_region_scrape().await;
    let mut have = exported(&single);
    have.extend(exported(&multi));
    let rules = read("deploy/prometheus/alerts.yml");
    let dash = read("deploy/grafana/synckairos.json");
    let mut wanted = metric_names(&rules);
    wanted.extend(metric_names(&dash));
    assert!(wanted.len() >= 15, "{wanted:?}");
    let missing: Vec<&String> = wanted.iter().filter(|n| !have.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "named in deploy/ but not exported: {missing:?}\nexported: {have:?}"
    );
    // Every series carries the region label the dashboards and alerts group by.
    for line in single.lines().chain(multi.lines()) {
        if line.starts_with("synckairos_") {
            assert!(line.contains("region=\""), "no region label: {line}");
        }
    }
}
