//! N real `synckairos` processes on one real `redis-server` (optionally with a
//! replica), an HTTP client per instance, WebSocket watchers, polling with
//! deadlines, process-health checks, and the message collectors the fan-out and
//! deadline tests use. Used by `redis::*`, `regions::*` and `audit::*`; starts
//! processes only through `procs` / `synckairos-cluster`.

use std::net::SocketAddr;
use std::ops::Deref;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::http::{Client, Response};
use crate::support::procs::{Instance, Redis};
use crate::support::server::{session_body, uuid};
use crate::support::ws::{WsClient, WsEvent};

/// One `synckairos` process and a client for it: owned (`Node`, here) or borrowed
/// from a world (`Node<&Instance>`, `support::regions`).
pub struct Node<P = Instance> {
    pub proc: P,
    pub http: Client,
}

impl Node {
    pub fn start(env: &[(String, String)]) -> Node {
        let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let proc = Instance::start(&env);
        let addr: SocketAddr = ([127, 0, 0, 1], proc.port).into();
        Node {
            proc,
            http: Client::new(addr),
        }
    }
}

impl<P: Deref<Target = synckairos_cluster::Instance>> Node<P> {
    pub fn ws_url(&self, session_id: &str) -> String {
        self.proc.ws_url(session_id)
    }

    /// Connects a watcher of `session_id` and waits for `CONNECTED` (sent only once
    /// this instance's fan-out subscription is live).
    pub async fn watch(&self, session_id: &str) -> WsClient {
        WsClient::connect_ready(&self.ws_url(session_id)).await.0
    }

    /// The process is alive and its log has no panic.
    #[track_caller]
    pub fn assert_healthy(&self) {
        if let Some(problem) = self.proc.problem() {
            panic!("{problem}");
        }
    }
}

/// A Redis and N instances sharing it.
pub struct Cluster {
    pub redis: Redis,
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// A fresh `redis-server` and `n` instances with `REDIS_URL` plus `env`.
    pub fn start(n: usize, env: &[(&str, &str)]) -> Cluster {
        Self::on(Redis::start(), n, env)
    }

    /// `n` instances against an already running `redis`.
    pub fn on(redis: Redis, n: usize, env: &[(&str, &str)]) -> Cluster {
        let nodes = (0..n)
            .map(|_| Node::start(&node_env(&redis, env)))
            .collect();
        Cluster { redis, nodes }
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// Creates a 2+-participant session through instance `i`; returns id and `data`.
    pub async fn create(&self, i: usize, budgets: &[u64]) -> (String, Value) {
        let id = uuid();
        let data = self.nodes[i]
            .http
            .post_json("/v1/sessions", &session_body(&id, budgets))
            .await
            .expect(201)
            .data();
        (id, data)
    }

    /// `POST /v1/sessions/<id>/<op>` through instance `i`.
    pub async fn op(&self, i: usize, id: &str, op: &str) -> Response {
        self.nodes[i]
            .http
            .post_empty(&format!("/v1/sessions/{id}/{op}"))
            .await
    }

    pub async fn get(&self, i: usize, id: &str) -> Response {
        self.nodes[i].http.get(&format!("/v1/sessions/{id}")).await
    }

    #[track_caller]
    pub fn assert_healthy(&self) {
        for n in &self.nodes {
            if n.proc.pid().is_some() {
                n.assert_healthy();
            }
        }
    }
}

/// The environment of an instance of `redis` (`REDIS_URL` first, then `extra`).
pub fn node_env(redis: &Redis, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![("REDIS_URL".to_owned(), redis.url())];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// Polls `f` every 20 ms until it returns `Some` or `limit` passes.
pub async fn poll<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next `STATE_UPDATE`/`STATE_SYNC` (any other message is returned in `skipped`).
pub async fn next_state(ws: &mut WsClient, limit: Duration) -> (Value, Vec<Value>) {
    let end = tokio::time::Instant::now() + limit;
    let mut skipped = Vec::new();
    loop {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "no state message within {limit:?}; saw {skipped:?}"
        );
        let m = ws.next_json(left).await;
        if m["type"] == "STATE_UPDATE" || m["type"] == "STATE_SYNC" {
            return (m, skipped);
        }
        skipped.push(m);
    }
}

/// Every text message until `limit` passes or the socket closes (control frames
/// skipped); the close frame, if any, is returned as well.
pub async fn drain(ws: &mut WsClient, limit: Duration) -> (Vec<Value>, Option<WsEvent>) {
    let end = tokio::time::Instant::now() + limit;
    let mut out = Vec::new();
    loop {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_event(left).await {
            None => return (out, None),
            Some(WsEvent::Text(t)) => out.push(serde_json::from_str(&t).expect("JSON text")),
            Some(WsEvent::Ping | WsEvent::Pong | WsEvent::Binary(_)) => {}
            Some(e @ (WsEvent::Close(..) | WsEvent::Ended(_))) => return (out, Some(e)),
        }
    }
}

/// Wall-clock epoch milliseconds (the instances run on this machine's clock).
pub use synckairos_cluster::now_ms;

/// The time from now until epoch ms `at` (zero if past).
pub fn until(at: i64) -> Duration {
    Duration::from_millis((at - now_ms()).max(0) as u64)
}

/// `state.version` of a state message.
pub fn version_of(m: &Value) -> u64 {
    m["state"]["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("no state.version in {m}"))
}

/// The value of counter `name` (summed over its label sets) in `/metrics` of a node.
pub async fn metric(node: &Node, name: &str) -> f64 {
    let text = node.http.get("/metrics").await.expect(200).text();
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The sum of the participants' `cycle_count` in a state: the number of switches it has
/// taken (no lost update).
pub fn cycle_sum(state: &Value) -> u64 {
    state["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| p["cycle_count"].as_u64().expect("cycle_count"))
        .sum()
}

/// Percentile (0..=100) of a sorted slice.
pub fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
