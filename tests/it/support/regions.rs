//! Shared by the `regions_*` tests: three regions (`iad`, `lhr`, `nrt`) as real
//! processes on loopback. Each region has its own `redis-server`, its own instances of
//! the `synckairos` binary (internal API on a port chosen here) and its own regions
//! dir; regions reach each other only through `synckairos-delay-proxy`, one per
//! ordered pair X→Y forwarding to Y's internal ports with the emulated one-way delay
//! (iad–lhr 40 ms, iad–nrt 80 ms, lhr–nrt 120 ms). Partitions are proxy signals.
//!
//! Also: byte-level snapshots of the sessions in each region's Redis (`redis-cli
//! --no-raw`, lossless), convergence polling with deadlines, WebSocket version
//! collectors, and a lock that keeps a test binary's worlds from running side by side
//! on this 2-core machine (their timings would interfere).
//!
//! Lives in a directory so that cargo does not build it as a test target of its own.
#![allow(dead_code)]

mod proxy;
mod region;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::http::{Client, Response};
use crate::common::procs::{free_port, temp_dir, Redis};
use crate::common::server::{session_body_with, uuid};
use crate::common::ws::WsClient;
use crate::redis_support::{now_ms, Node};
pub use proxy::Proxy;
use region::start_nodes;
pub use region::Region;

pub const REGIONS: [&str; 3] = ["iad", "lhr", "nrt"];
/// The cluster secret (32 characters; letters so that it stays a string in env parsing).
pub const SECRET: &str = "regions-test-secret-abcdefghijkl";
/// Relay timings of the test worlds (short, so partitions show quickly).
pub const HEARTBEAT_MS: u64 = 200;
pub const LINK_TIMEOUT_MS: u64 = 800;
pub const CHECK_INTERVAL_MS: u64 = 1_000;
pub const FULL_CHECK_EVERY: u32 = 3;
pub const FORWARD_TIMEOUT_MS: u64 = 1_000;

/// One world at a time per test binary.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What to start.
pub struct Setup {
    pub instances: usize,
    /// Regions whose instances are not started (start them with `start_region`).
    pub deferred: Vec<&'static str>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            instances: 1,
            deferred: Vec::new(),
        }
    }
}

pub struct World {
    pub regions: Vec<Region>,
    pub proxies: Vec<Proxy>,
    pub root: PathBuf,
}

impl World {
    /// All three regions, one instance each, links up.
    pub async fn start() -> World {
        Self::start_with(Setup::default()).await
    }

    pub async fn start_with(setup: Setup) -> World {
        let root = temp_dir("regions");
        let mut regions: Vec<Region> = REGIONS
            .iter()
            .map(|&name| Region {
                name,
                nodes: (0..setup.instances).map(|_| None).collect(),
                internal: (0..setup.instances).map(|_| free_port()).collect(),
                dir: root.join(name),
                redis: Redis::start(),
            })
            .collect();
        let mut proxies = Vec::new();
        for from in REGIONS {
            for to in REGIONS.iter().copied().filter(|t| *t != from) {
                let targets = &regions.iter().find(|r| r.name == to).unwrap().internal;
                let log = root.join(format!("proxy-{from}-{to}.log"));
                proxies.push(Proxy::start(from, to, targets, log));
            }
        }
        for r in &regions {
            std::fs::create_dir_all(&r.dir).expect("regions dir");
            let peers: String = proxies
                .iter()
                .filter(|p| p.from == r.name)
                .map(|p| format!("{} = [\"http://127.0.0.1:{}\"]\n", p.to, p.port))
                .collect();
            let toml = format!(
                "[cluster]\nregions = [\"iad\", \"lhr\", \"nrt\"]\ndiscovery = \"static\"\n\
                 forward_timeout_ms = {FORWARD_TIMEOUT_MS}\n\n[cluster.peers]\n{peers}\n\
                 [relay]\nheartbeat_ms = {HEARTBEAT_MS}\nlink_timeout_ms = {LINK_TIMEOUT_MS}\n\
                 check_interval_ms = {CHECK_INTERVAL_MS}\nfull_check_every = {FULL_CHECK_EVERY}\n"
            );
            std::fs::write(r.dir.join("default.toml"), toml).expect("default.toml");
        }
        for r in regions.iter_mut() {
            if !setup.deferred.contains(&r.name) {
                start_nodes(r);
            }
        }
        let w = World {
            regions,
            proxies,
            root,
        };
        w.wait_links(Duration::from_secs(20)).await;
        w
    }

    pub fn region(&self, name: &str) -> &Region {
        self.regions
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no region {name}"))
    }

    fn region_mut(&mut self, name: &str) -> &mut Region {
        self.regions.iter_mut().find(|r| r.name == name).unwrap()
    }

    /// The first running instance of `name`.
    pub fn node(&self, name: &str) -> &Node {
        self.region(name)
            .nodes
            .iter()
            .flatten()
            .next()
            .unwrap_or_else(|| panic!("region {name} has no running instance"))
    }

    pub fn http(&self, name: &str) -> &Client {
        &self.node(name).http
    }

    /// A client for instance `i` of `name`'s internal listener (direct, no proxy).
    pub fn internal(&self, name: &str, i: usize) -> Client {
        Client::new(([127, 0, 0, 1], self.region(name).internal[i]).into())
    }

    /// Starts `name`'s instances and waits until its links are up.
    pub async fn start_region(&mut self, name: &str) {
        start_nodes(self.region_mut(name));
        self.wait_links(Duration::from_secs(20)).await;
    }

    /// SIGKILLs `name`'s instances.
    pub fn kill_region(&mut self, name: &str) {
        for slot in self.region_mut(name).nodes.iter_mut() {
            if let Some(mut n) = slot.take() {
                n.proc.kill();
            }
        }
    }

    fn links_of(&self, name: &str) -> impl Iterator<Item = &Proxy> {
        let name = name.to_owned();
        self.proxies
            .iter()
            .filter(move |p| p.from == name || p.to == name)
    }

    /// Cuts every link to and from `name`.
    pub fn partition(&self, name: &str) {
        self.links_of(name).for_each(Proxy::partition);
    }

    pub fn heal(&self, name: &str) {
        self.links_of(name).for_each(Proxy::heal);
    }

    /// The proxy of the link `from` → `to`.
    pub fn link(&self, from: &str, to: &str) -> &Proxy {
        self.proxies
            .iter()
            .find(|p| p.from == from && p.to == to)
            .expect("link")
    }

    /// Waits until every running region hears every other running region's relay.
    pub async fn wait_links(&self, limit: Duration) {
        let end = Instant::now() + limit;
        loop {
            let silent: Vec<String> = self.silent_links();
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

    /// `receiver<-home` pairs of running regions whose relay is silent.
    pub fn silent_links(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in self.regions.iter().filter(|r| r.running()) {
            for h in self
                .regions
                .iter()
                .filter(|h| h.running() && h.name != r.name)
            {
                let heard: Option<i64> = r
                    .redis
                    .cli(&["GET", &format!("rh:{}", h.name)])
                    .parse()
                    .ok();
                if heard.is_none_or(|t| now_ms() - t > LINK_TIMEOUT_MS as i64) {
                    out.push(format!("{}<-{}", r.name, h.name));
                }
            }
        }
        out
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
            let all_nil = self.regions.iter().all(|r| {
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
        ids.iter()
            .map(|id| {
                let id = id.as_ref();
                let v: Vec<String> = self
                    .regions
                    .iter()
                    .map(|r| format!("{}={:?}", r.name, r.version(id)))
                    .collect();
                format!("{id}: {}", v.join(" "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// No running instance crashed or panicked.
    #[track_caller]
    pub fn assert_healthy(&self) {
        for n in self.regions.iter().flat_map(|r| r.nodes.iter().flatten()) {
            n.assert_healthy();
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for r in self.regions.iter_mut() {
            for slot in r.nodes.iter_mut() {
                if let Some(mut n) = slot.take() {
                    n.proc.kill();
                }
            }
        }
        self.proxies.clear();
        let _ = std::fs::remove_dir_all(&self.root);
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
    let (extra, _) = crate::redis_support::drain(ws, Duration::from_millis(150)).await;
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
