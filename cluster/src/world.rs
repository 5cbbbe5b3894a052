//! The three-region world (`iad`, `lhr`, `nrt`) as real processes on loopback. Each
//! region has its own `redis-server`, its own `synckairos` instances (internal API on
//! a port chosen here) and its own regions dir; regions reach each other only through
//! `synckairos-delay-proxy`, one per ordered pair X→Y forwarding to Y's internal ports
//! with the emulated one-way delay (iad–lhr 40 ms, iad–nrt 80 ms, lhr–nrt 120 ms).
//! Partitions (whole regions or single directions) are proxy signals.
//!
//! Owns every process it starts (killed when the world is dropped, unless released
//! to outlive the command: `synckairos-cluster up`) and the files under its root. Must not reach into the server:
//! everything goes through the binaries' environment, the generated TOML, and Redis.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::instance::{Instance, Launch};
use crate::ports;
use crate::process::StartError;
use crate::proxy::Proxy;
use crate::redis::Redis;
use crate::region::Region;
use crate::topology::{links, Partitions, REGIONS};

const ATTEMPTS: usize = 5;

/// Where the two binaries are.
#[derive(Clone, Debug)]
pub struct Bins {
    pub server: PathBuf,
    pub proxy: PathBuf,
}

impl Bins {
    /// `synckairos` and `synckairos-delay-proxy` in `dir` (e.g. `target/release`).
    pub fn in_dir(dir: &Path) -> Bins {
        Bins {
            server: dir.join("synckairos"),
            proxy: dir.join("synckairos-delay-proxy"),
        }
    }
}

/// Relay and forwarding timings written into every region's configuration.
#[derive(Clone, Copy, Debug)]
pub struct Relay {
    pub heartbeat_ms: u64,
    pub link_timeout_ms: u64,
    pub check_interval_ms: u64,
    pub full_check_every: u32,
    pub forward_timeout_ms: u64,
}

impl Relay {
    /// Short, so that partitions show quickly in tests.
    pub const TESTS: Relay = Relay {
        heartbeat_ms: 200,
        link_timeout_ms: 800,
        check_interval_ms: 1_000,
        full_check_every: 3,
        forward_timeout_ms: 1_000,
    };
    /// Closer to production, for developers and the bench.
    pub const DEV: Relay = Relay {
        heartbeat_ms: 500,
        link_timeout_ms: 2_000,
        check_interval_ms: 2_000,
        full_check_every: 6,
        forward_timeout_ms: 3_000,
    };
}

/// What to start.
pub struct Spec {
    pub bins: Bins,
    /// Regions dirs, Redis files and `logs/` go here.
    pub root: PathBuf,
    /// Instances per region.
    pub instances: usize,
    /// Regions whose instances are not started (start them with `start_region`).
    pub deferred: Vec<&'static str>,
    pub relay: Relay,
    /// The cluster secret (at least 16 characters).
    pub secret: String,
    /// Variables of every instance on top of the region's own.
    pub env: Vec<(String, String)>,
    /// Leave `root` in place when the world is dropped (logs of a failed `up`).
    pub keep_files: bool,
}

pub struct World {
    pub regions: Vec<Region>,
    pub proxies: Vec<Proxy>,
    pub spec: Spec,
    partitions: Mutex<Partitions>,
}

impl World {
    /// Starts Redis, the links and the instances of every region not deferred;
    /// does not wait for the relay links (`wait_links`).
    pub fn start(spec: Spec) -> anyhow::Result<World> {
        let mut regions = Vec::new();
        for name in REGIONS {
            let dir = spec.root.join("regions").join(name);
            let redis_dir = spec.root.join("redis").join(name);
            let log = spec.root.join("logs").join(format!("redis-{name}.log"));
            let internal = (0..spec.instances)
                .map(|_| ports::pick())
                .collect::<Result<_, _>>()?;
            regions.push(Region {
                name,
                instances: (0..spec.instances).map(|_| None).collect(),
                internal,
                dir,
                redis: Redis::start_in(&redis_dir, &log, &[])?,
            });
        }
        let mut proxies = Vec::new();
        for (from, to) in links() {
            let targets = &regions
                .iter()
                .find(|r| r.name == to)
                .expect("region")
                .internal;
            let log = spec
                .root
                .join("logs")
                .join(format!("proxy-{from}-{to}.log"));
            proxies.push(Proxy::start(&spec.bins.proxy, (from, to), targets, &log)?);
        }
        let mut w = World {
            regions,
            proxies,
            spec,
            partitions: Mutex::new(Partitions::default()),
        };
        for r in &w.regions {
            w.write_config(r)?;
        }
        for name in REGIONS {
            if !w.spec.deferred.contains(&name) {
                w.start_region(name)?;
            }
        }
        Ok(w)
    }

    /// `<region dir>/default.toml`: the cluster, the peers (through the proxies) and
    /// the relay timings.
    fn write_config(&self, r: &Region) -> anyhow::Result<()> {
        std::fs::create_dir_all(&r.dir).with_context(|| format!("creating {}", r.dir.display()))?;
        let peers: String = self
            .proxies
            .iter()
            .filter(|p| p.from == r.name)
            .map(|p| {
                format!(
                    "{} = [\"http://127.0.0.1:{}\"]  # {} ms\n",
                    p.to, p.port, p.delay_ms
                )
            })
            .collect();
        let regions: Vec<String> = REGIONS.iter().map(|r| format!("\"{r}\"")).collect();
        let t = self.spec.relay;
        let toml = format!(
            "# Generated by synckairos-cluster: region {}. Peers are reached through the\n\
             # delaying proxies (one-way delay in the comment).\n\
             [cluster]\nregions = [{}]\ndiscovery = \"static\"\nfly_replay = false\n\
             forward_timeout_ms = {}\n\n[cluster.peers]\n{peers}\n\
             [relay]\nheartbeat_ms = {}\nlink_timeout_ms = {}\ncheck_interval_ms = {}\n\
             full_check_every = {}\n",
            r.name,
            regions.join(", "),
            t.forward_timeout_ms,
            t.heartbeat_ms,
            t.link_timeout_ms,
            t.check_interval_ms,
            t.full_check_every,
        );
        let path = r.dir.join("default.toml");
        std::fs::write(&path, toml).with_context(|| format!("writing {}", path.display()))
    }

    pub fn region(&self, name: &str) -> &Region {
        self.regions
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no region {name}"))
    }

    pub fn region_mut(&mut self, name: &str) -> &mut Region {
        self.regions
            .iter_mut()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no region {name}"))
    }

    fn index(&self, name: &str) -> usize {
        self.regions
            .iter()
            .position(|r| r.name == name)
            .unwrap_or_else(|| panic!("no region {name}"))
    }

    /// Starts `name`'s stopped instances (does not wait for the relay links).
    pub fn start_region(&mut self, name: &str) -> anyhow::Result<()> {
        let r = self.index(name);
        for i in 0..self.regions[r].instances.len() {
            if self.regions[r].instances[i].is_none() {
                self.start_instance(r, i)?;
            }
        }
        Ok(())
    }

    /// Starts instance `i` of region `r`. When a port was taken meanwhile it starts
    /// again with a fresh public port, and with a fresh internal port (the links into
    /// the region are restarted to forward there) if that one was the taken one.
    fn start_instance(&mut self, r: usize, i: usize) -> anyhow::Result<()> {
        let name = self.regions[r].name;
        let log = self
            .spec
            .root
            .join("logs")
            .join(format!("{name}-{}.log", i + 1));
        for attempt in 1..=ATTEMPTS {
            let region = &self.regions[r];
            let mut env = vec![
                ("SYNCKAIROS_REGION".to_owned(), name.to_owned()),
                (
                    "SYNCKAIROS_REGIONS_DIR".into(),
                    region.dir.display().to_string(),
                ),
                ("REDIS_URL".into(), region.redis.url()),
                (
                    "SYNCKAIROS_CLUSTER__SECRET".into(),
                    self.spec.secret.clone(),
                ),
            ];
            env.extend(self.spec.env.iter().cloned());
            let launch = Launch {
                bin: &self.spec.bins.server,
                env: &env,
                log: &log,
                port: ports::pick()?,
                internal_port: Some(region.internal[i]),
            };
            match Instance::launch(&launch) {
                Ok(instance) => {
                    self.regions[r].instances[i] = Some(instance);
                    return Ok(());
                }
                Err(StartError::AddrInUse(_)) if attempt < ATTEMPTS => {
                    if !ports::bindable(region.internal[i]) {
                        self.regions[r].internal[i] = ports::pick()?;
                        let targets = self.regions[r].internal.clone();
                        for p in self.proxies.iter_mut().filter(|p| p.to == name) {
                            p.retarget(&targets)?;
                        }
                    }
                }
                Err(e) => bail!("instance {name}-{} did not start: {e}", i + 1),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// SIGKILLs instance `i` of `name` (`start_region` starts it again, on the same
    /// internal port).
    pub fn kill_instance(&mut self, name: &str, i: usize) {
        if let Some(mut n) = self.region_mut(name).instances[i].take() {
            n.kill();
        }
    }

    /// SIGKILLs `name`'s instances.
    pub fn kill_region(&mut self, name: &str) {
        for i in 0..self.region(name).instances.len() {
            self.kill_instance(name, i);
        }
    }

    /// Applies `change` to the partitions and signals every link whose state changed.
    fn repartition(&self, change: impl FnOnce(&mut Partitions)) {
        let mut parts = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut parts);
        for p in &self.proxies {
            match (parts.is_cut(p.from, p.to), p.is_cut()) {
                (true, false) => p.partition(),
                (false, true) => p.heal(),
                _ => {}
            }
        }
    }

    /// Cuts every link to and from `region`.
    pub fn partition(&self, region: &str) {
        self.repartition(|p| p.partition(region));
    }

    /// Ends `region`'s partition and the single-link cuts touching it.
    pub fn heal(&self, region: &str) {
        self.repartition(|p| p.heal(region));
    }

    /// Cuts only the link `from` → `to` (the connections `from` opens to `to`).
    pub fn cut(&self, from: &str, to: &str) {
        self.repartition(|p| p.cut(from, to));
    }

    /// Ends the single-link cut `from` → `to`.
    pub fn mend(&self, from: &str, to: &str) {
        self.repartition(|p| p.mend(from, to));
    }

    /// `receiver<-home` pairs of running regions whose relay is silent.
    pub fn silent_links(&self) -> Vec<String> {
        let now = crate::now_ms();
        let limit = self.spec.relay.link_timeout_ms as i64;
        let mut out = Vec::new();
        for r in self.regions.iter().filter(|r| r.running()) {
            for h in self
                .regions
                .iter()
                .filter(|h| h.running() && h.name != r.name)
            {
                if r.heard(h.name).is_none_or(|t| now - t > limit) {
                    out.push(format!("{}<-{}", r.name, h.name));
                }
            }
        }
        out
    }

    /// Waits until every running region hears every other running region's relay.
    pub fn wait_links(&self, limit: Duration) -> anyhow::Result<()> {
        let end = Instant::now() + limit;
        loop {
            let silent = self.silent_links();
            if silent.is_empty() {
                return Ok(());
            }
            if Instant::now() >= end {
                bail!("relay links not up after {limit:?}: {silent:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
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

    /// What is wrong with the running instances (dead, or a panic in a log).
    pub fn problems(&self) -> Vec<String> {
        self.regions
            .iter()
            .flat_map(|r| r.running_instances())
            .filter_map(Instance::problem)
            .collect()
    }
}

/// Instances first (they would wait for their relay streams otherwise), then the
/// links, then Redis; then the files unless kept.
impl Drop for World {
    fn drop(&mut self) {
        for r in self.regions.iter_mut() {
            for slot in r.instances.iter_mut() {
                if let Some(mut n) = slot.take() {
                    n.kill();
                }
            }
        }
        self.proxies.clear();
        self.regions.clear();
        if !self.spec.keep_files {
            let _ = std::fs::remove_dir_all(&self.spec.root);
        }
    }
}
