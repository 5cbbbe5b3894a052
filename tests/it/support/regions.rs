//! The 3-region world of the `regions::*` tests: `synckairos-cluster`'s [`World`]
//! (iad, lhr, nrt; per region a `redis-server` and N `synckairos` instances; links
//! through delaying proxies; partitions) with the test timings, an HTTP client per
//! instance, and the async helpers the tests share: creating sessions, convergence
//! polling on the Redis bytes, WebSocket version collectors.
//!
//! One world at a time on this machine: `World::start` takes a lock on a file in the
//! temp dir (held until the world is dropped), across test processes (nextest), test
//! threads (`cargo test`) and concurrent test runs; on this 2-core machine two worlds'
//! timings would interfere. Must be started on a multi-thread runtime.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use synckairos_cluster::{Bins, FileLock, Instance, Region, Relay, Spec};

use crate::support::http::{Client, Response};
use crate::support::redis::Node;
use crate::support::server::{session_body_with, uuid};
use crate::support::ws::WsClient;

pub use synckairos_cluster::REGIONS;
/// The cluster secret (32 characters; letters so that it stays a string in env parsing).
pub const SECRET: &str = "regions-test-secret-abcdefghijkl";
/// How long a region waits for a forwarded write's home (`Relay::TESTS`).
pub const FORWARD_TIMEOUT_MS: u64 = Relay::TESTS.forward_timeout_ms;

/// What to start.
pub struct Setup {
    pub instances: usize,
    /// Regions whose instances are not started (start them with `start_region`).
    pub deferred: Vec<&'static str>,
    /// Variables of one region's instances only (e.g. a skewed clock).
    pub region_env: Vec<(&'static str, Vec<(String, String)>)>,
    /// Extra environment of every instance (after the test defaults).
    pub env: Vec<(&'static str, &'static str)>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            instances: 1,
            deferred: Vec::new(),
            region_env: Vec::new(),
            env: Vec::new(),
        }
    }
}

/// A world plus a client per instance; the lock is released after the processes
/// are gone (fields drop in order).
pub struct World {
    inner: synckairos_cluster::World,
    /// By public port (clones share the connection pool).
    clients: BTreeMap<u16, Client>,
    _lock: FileLock,
}

impl World {
    /// All three regions, one instance each, links up.
    pub async fn start() -> World {
        Self::start_with(Setup::default()).await
    }

    pub async fn start_with(setup: Setup) -> World {
        let path = std::env::temp_dir().join("synckairos-regions-world.lock");
        let lock = tokio::task::spawn_blocking(move || FileLock::acquire(&path))
            .await
            .expect("lock task")
            .unwrap_or_else(|e| panic!("{e:#}"));
        let spec = Spec {
            bins: Bins {
                server: Path::new(env!("CARGO_BIN_EXE_synckairos")).to_owned(),
                proxy: Path::new(env!("CARGO_BIN_EXE_synckairos-delay-proxy")).to_owned(),
            },
            root: synckairos_cluster::redis::temp_dir("regions"),
            instances: setup.instances,
            deferred: setup.deferred,
            relay: Relay::TESTS,
            secret: SECRET.into(),
            env: [
                ("SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE", "0"),
                ("SYNCKAIROS_QUOTAS__CREATES_PER_MINUTE", "0"),
                ("SYNCKAIROS_QUOTAS__LIVE_SESSIONS", "0"),
                ("SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND", "0"),
            ]
            .into_iter()
            .chain(setup.env)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            region_env: setup.region_env,
            keep_files: false,
        };
        let inner = tokio::task::block_in_place(|| synckairos_cluster::World::start(spec))
            .unwrap_or_else(|e| panic!("{e:#}"));
        let mut w = World {
            inner,
            clients: BTreeMap::new(),
            _lock: lock,
        };
        w.add_clients();
        w.wait_links(Duration::from_secs(20)).await;
        w
    }

    fn add_clients(&mut self) {
        for r in &self.inner.regions {
            for i in r.running_instances() {
                self.clients
                    .entry(i.port)
                    .or_insert_with(|| Client::new(([127, 0, 0, 1], i.port).into()));
            }
        }
    }

    pub fn region(&self, name: &str) -> &Region {
        self.inner.region(name)
    }

    /// The `synckairos-cluster` world itself: instances, Redis servers, links.
    pub fn cluster_mut(&mut self) -> &mut synckairos_cluster::World {
        &mut self.inner
    }

    /// A direct connection to `name`'s Redis.
    pub async fn redis(&self, name: &str) -> redis::aio::MultiplexedConnection {
        crate::support::relay::conn(&self.region(name).redis.url()).await
    }

    /// The running instances of `name`, each with its client.
    pub fn nodes(&self, name: &str) -> Vec<Node<&Instance>> {
        self.region(name)
            .running_instances()
            .map(|proc| Node {
                proc,
                http: self.clients[&proc.port].clone(),
            })
            .collect()
    }

    /// The first running instance of `name`.
    pub fn node(&self, name: &str) -> Node<&Instance> {
        self.nodes(name)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("region {name} has no running instance"))
    }

    /// The client of the first running instance of `name`.
    pub fn http(&self, name: &str) -> &Client {
        let port = self
            .region(name)
            .running_instances()
            .next()
            .unwrap_or_else(|| panic!("region {name} has no running instance"))
            .port;
        &self.clients[&port]
    }

    /// A client for instance `i` of `name`'s internal listener (direct, no proxy).
    pub fn internal(&self, name: &str, i: usize) -> Client {
        Client::new(([127, 0, 0, 1], self.region(name).internal[i]).into())
    }

    /// Starts `name`'s instances and waits until its links are up.
    pub async fn start_region(&mut self, name: &str) {
        tokio::task::block_in_place(|| self.inner.start_region(name))
            .unwrap_or_else(|e| panic!("{e:#}"));
        self.add_clients();
        self.wait_links(Duration::from_secs(20)).await;
    }

    /// Starts `name`'s stopped instances without waiting for any link (other regions
    /// may be cut off).
    pub fn start_stopped(&mut self, name: &str) {
        tokio::task::block_in_place(|| self.inner.start_region(name))
            .unwrap_or_else(|e| panic!("{e:#}"));
        self.add_clients();
    }

    /// A client for each running instance of `name`.
    pub fn clients(&self, name: &str) -> Vec<Client> {
        self.region(name)
            .running_instances()
            .map(|i| self.clients[&i.port].clone())
            .collect()
    }

    /// SIGKILLs `name`'s instances.
    pub fn kill_region(&mut self, name: &str) {
        self.inner.kill_region(name);
    }

    /// Cuts every link to and from `name`.
    pub fn partition(&self, name: &str) {
        self.inner.partition(name);
    }

    /// Restores `name`'s links (the connections the partition held are reset).
    pub fn heal(&self, name: &str) {
        self.inner.heal(name);
    }

    /// Cuts only the link `from` → `to` (the connections `from` opens to `to`).
    pub fn cut(&self, from: &str, to: &str) {
        self.inner.cut(from, to);
    }

    /// Ends the cut `from` → `to`.
    pub fn mend(&self, from: &str, to: &str) {
        self.inner.mend(from, to);
    }

    /// Waits until every running region hears every other running region's relay.
    pub async fn wait_links(&self, limit: Duration) {
        let end = Instant::now() + limit;
        loop {
            let silent = self.inner.silent_links();
            if silent.is_empty() {
                return;
            }
            assert!(
                Instant::now() < end,
                "relay links not up after {limit:?}: {silent:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates a session through `via` with extra body keys (e.g. `home_region`).
    pub async fn create_via(&self, via: &str, extra: Value) -> (String, Response) {
        let id = uuid();
        let body = session_body_with(&id, &[600_000, 600_000], extra);
        let r = self.http(via).post_json("/v1/sessions", &body).await;
        (id, r)
    }

    /// Creates (201) a session through `via` homed in `home` (`via` when `None`).
    pub async fn create(&self, via: &str, home: Option<&str>) -> (String, Value) {
        let extra = home.map_or(json!({}), |h| json!({ "home_region": h }));
        let (id, r) = self.create_via(via, extra).await;
        (id, r.expect(201).data())
    }

    /// `POST /v1/sessions/<id>/<op>` (empty body) through `via`.
    pub async fn op(&self, via: &str, id: &str, op: &str) -> Response {
        self.http(via)
            .post_empty(&format!("/v1/sessions/{id}/{op}"))
            .await
    }

    pub async fn get(&self, via: &str, id: &str) -> Response {
        self.http(via).get(&format!("/v1/sessions/{id}")).await
    }

    /// Waits until all running regions hold byte-identical copies of every id (all
    /// present). `Ok(elapsed)`, or `Err` describing the versions per region.
    pub async fn converge<S: AsRef<str>>(
        &self,
        ids: &[S],
        limit: Duration,
    ) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            let snaps: Vec<String> = self
                .inner
                .regions
                .iter()
                .filter(|r| r.running())
                .map(|r| r.snapshot(ids))
                .collect();
            let same = snaps.windows(2).all(|w| w[0] == w[1]);
            if same && !snaps[0].contains("(nil)") {
                return Ok(start.elapsed());
            }
            if start.elapsed() >= limit {
                return Err(self.describe(ids));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until no region holds any of `ids`.
    pub async fn gone_everywhere<S: AsRef<str>>(
        &self,
        ids: &[S],
        limit: Duration,
    ) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let all_nil = self.inner.regions.iter().all(|r| {
                r.snapshot(ids).lines().all(|l| {
                    l.trim_start_matches(|c: char| c.is_ascii_digit() || c == ')' || c == ' ')
                        == "(nil)"
                })
            });
            if all_nil {
                return Ok(());
            }
            if start.elapsed() >= limit {
                return Err(self.describe(ids));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `id: iad=v lhr=v nrt=v` lines (versions in each Redis).
    pub fn describe<S: AsRef<str>>(&self, ids: &[S]) -> String {
        self.inner.describe(ids)
    }

    /// No running instance crashed or panicked.
    #[track_caller]
    pub fn assert_healthy(&self) {
        if let Some(p) = self.inner.problems().first() {
            panic!("{p}");
        }
    }
}

/// The `state.version` of every `STATE_UPDATE` a watcher receives until it has seen
/// `last` (or `limit` passes), plus any that follow within 150 ms (duplicates would).
pub async fn versions_until(ws: &mut WsClient, last: u64, limit: Duration) -> Vec<u64> {
    let end = tokio::time::Instant::now() + limit;
    let mut seen = Vec::new();
    while seen.last().is_none_or(|v| *v < last) {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "watcher saw {seen:?}, never version {last}"
        );
        let m = ws.next_json(left).await;
        if m["type"] == "STATE_UPDATE" {
            seen.push(m["state"]["version"].as_u64().expect("state.version"));
        }
    }
    let (extra, _) = crate::support::redis::drain(ws, Duration::from_millis(150)).await;
    seen.extend(
        extra
            .iter()
            .filter(|m| m["type"] == "STATE_UPDATE")
            .filter_map(|m| m["state"]["version"].as_u64()),
    );
    seen
}

/// Panics unless `seen` is strictly increasing (no duplicate, no reordering).
#[track_caller]
pub fn assert_in_order(region: &str, seen: &[u64]) {
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "{region}: versions out of order or duplicated: {seen:?}"
    );
}
