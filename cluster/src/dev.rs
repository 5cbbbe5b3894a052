//! A detached world that outlives the command starting it, kept in a state dir
//! (default `target/dev-regions/`): `up`, `status`, `partition`/`heal` (whole regions
//! or one direction of one link) and `down`, for developers (`scripts/dev-regions.sh`),
//! `scripts/bench.sh` and the bench's `regions` scenario.
//!
//! State dir: `regions.json` (what readers connect to), `pids` (`kind name pid
//! program` per process, what `down` stops), `partitions.json`, `regions/<region>/`
//! (generated configuration), `redis/<region>/`, `logs/<name>.log`, `.lock` (one
//! command at a time). Signals only PIDs it recorded, and only while they still run
//! the recorded program.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::describe::{ClusterFile, Record};
use crate::instance::http_status;
use crate::lock::FileLock;
use crate::process;
use crate::spec::{Bins, Relay, Spec};
use crate::topology::{self, Partitions};
use crate::world::World;

/// What `partition` / `heal` act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Every link to and from the region.
    Region(&'static str),
    /// The link `from` → `to` only (connections `from` opens to `to`).
    Link(&'static str, &'static str),
    /// `heal` only: everything.
    All,
}

/// What `up` starts.
pub struct Up {
    pub bins: Bins,
    pub instances: usize,
    pub relay: Relay,
    /// Variables of every instance (after the defaults: general rate limit off).
    pub env: Vec<(String, String)>,
}

/// A state dir.
pub struct Dev {
    pub state: PathBuf,
    t0: Instant,
}

impl Dev {
    pub fn new(state: &Path) -> Dev {
        Dev {
            state: state.to_owned(),
            t0: Instant::now(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.state.join(name)
    }

    /// A progress line with the time since the command started.
    pub fn say(&self, what: &str) {
        let t = self.t0.elapsed();
        println!(
            "[synckairos-cluster {:3}.{:03}s] {what}",
            t.as_secs(),
            t.subsec_millis()
        );
    }

    /// Waits up to `limit` for the state dir's lock.
    fn lock(&self, limit: Duration) -> anyhow::Result<FileLock> {
        let end = Instant::now() + limit;
        loop {
            if let Some(l) = FileLock::try_acquire(&self.path(".lock"))? {
                return Ok(l);
            }
            if Instant::now() >= end {
                bail!(
                    "another synckairos-cluster command is running ({})",
                    self.path(".lock").display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The recorded processes (empty when nothing is up).
    pub fn records(&self) -> Vec<Record> {
        std::fs::read_to_string(self.path("pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(Record::parse)
            .collect()
    }

    /// `regions.json`.
    pub fn file(&self) -> anyhow::Result<ClusterFile> {
        let p = self.path("regions.json");
        let text = std::fs::read(&p).with_context(|| {
            format!(
                "cluster not running (scripts/dev-regions.sh up): {} is absent",
                p.display()
            )
        })?;
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", p.display()))
    }

    fn partitions(&self) -> Partitions {
        std::fs::read(self.path("partitions.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Starts the world detached, waits for every `/health` and every relay link,
    /// then writes `regions.json` and `pids`. On failure it stops what it started.
    pub fn up(&self, up: Up) -> anyhow::Result<ClusterFile> {
        let _lock = self.lock(Duration::ZERO)?;
        if self.records().iter().any(Record::running) {
            bail!("already up (scripts/dev-regions.sh down first)");
        }
        for old in ["regions.json", "pids", "partitions.json"] {
            let _ = std::fs::remove_file(self.path(old));
        }
        for old in ["logs", "regions", "redis"] {
            let _ = std::fs::remove_dir_all(self.path(old));
        }
        self.say(&format!(
            "starting 3 regions x {} instances ({})",
            up.instances,
            up.bins.server.parent().unwrap_or(&up.bins.server).display()
        ));
        // Load tools create sessions and connections in bulk from one address.
        let mut env: Vec<(String, String)> = [
            ("SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE", "0"),
            ("SYNCKAIROS_QUOTAS__CREATES_PER_MINUTE", "0"),
            ("SYNCKAIROS_QUOTAS__LIVE_SESSIONS", "0"),
            ("SYNCKAIROS_SERVER__MAX_CONNECTIONS_PER_ADDRESS", "0"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec();
        env.extend(up.env);
        let world = World::start(Spec {
            bins: up.bins,
            root: self.state.clone(),
            instances: up.instances,
            deferred: Vec::new(),
            relay: up.relay,
            secret: secret()?,
            env,
            region_env: Vec::new(),
            keep_files: true,
        })?;
        self.say("processes started; waiting for /health and the relay links");
        let end = Instant::now() + Duration::from_secs(60);
        for i in world.regions.iter().flat_map(|r| r.running_instances()) {
            while http_status(i.port, "/health") != Some(200) {
                if let Some(p) = i.problem() {
                    bail!("{p}");
                }
                if Instant::now() >= end {
                    bail!(
                        "{} not healthy after 60 s; log {}",
                        i.base_url(),
                        i.log.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        world.wait_links(Duration::from_secs(30))?;
        let file = world.file();
        let json = serde_json::to_string_pretty(&file)?;
        let tmp = self.path("regions.json.tmp");
        std::fs::write(&tmp, json + "\n")?;
        let pids: String = world.release().iter().map(|r| r.line() + "\n").collect();
        std::fs::write(self.path("pids"), pids)?;
        std::fs::rename(&tmp, self.path("regions.json"))?;
        Ok(file)
    }

    /// Stops what `up` started: the links first (their connections drop, so no
    /// instance waits out its shutdown grace for a relay stream), then the
    /// instances, then Redis. Returns the names of processes that needed SIGKILL.
    pub fn down(&self) -> anyhow::Result<Vec<String>> {
        let _lock = self.lock(Duration::from_secs(60))?;
        let records = self.records();
        let mut killed = Vec::new();
        for kind in ["proxy", "instance", "redis"] {
            let batch: Vec<&Record> = records.iter().filter(|r| r.kind == kind).collect();
            let pids: Vec<(u32, String)> =
                batch.iter().map(|r| (r.pid, r.program.clone())).collect();
            for pid in process::stop_recorded(&pids, Duration::from_secs(15)) {
                let r = batch.iter().find(|r| r.pid == pid).expect("recorded");
                killed.push(format!("{} ({pid})", r.name));
            }
        }
        for done in ["pids", "partitions.json", "regions.json"] {
            let _ = std::fs::remove_file(self.path(done));
        }
        Ok(killed)
    }

    /// Applies a partition (`cut = true`) or a heal and signals the links whose state
    /// changed; returns `(link, "cut" | "healed")` for each.
    pub fn set(&self, what: &Cut, cut: bool) -> anyhow::Result<Vec<(String, &'static str)>> {
        let _lock = self.lock(Duration::from_secs(30))?;
        let records = self.records();
        if !records.iter().any(Record::running) {
            bail!("not running (scripts/dev-regions.sh up)");
        }
        let before = self.partitions();
        let mut after = before.clone();
        match (what, cut) {
            (Cut::Region(r), true) => after.partition(r),
            (Cut::Region(r), false) => after.heal(r),
            (Cut::Link(f, t), true) => after.cut(f, t),
            (Cut::Link(f, t), false) => after.mend(f, t),
            (Cut::All, false) => after = Partitions::default(),
            (Cut::All, true) => bail!("partition takes a region or --from/--to"),
        }
        let mut changed = Vec::new();
        for r in records.iter().filter(|r| r.kind == "proxy") {
            let Some((f, t)) = r.name.split_once('-') else {
                continue;
            };
            let (was, now) = (before.is_cut(f, t), after.is_cut(f, t));
            if was == now {
                continue;
            }
            if !r.running() {
                eprintln!(
                    "synckairos-cluster: link {} ({}) is not running",
                    r.name, r.pid
                );
                continue;
            }
            process::send(r.pid, if now { libc::SIGUSR1 } else { libc::SIGUSR2 });
            changed.push((r.name.clone(), if now { "cut" } else { "healed" }));
        }
        std::fs::write(self.path("partitions.json"), serde_json::to_vec(&after)?)?;
        Ok(changed)
    }

    /// One line per process (state, URL and health or link and delay), then the cut
    /// links. `Ok(false)` when some process is dead; `Err` when nothing is up.
    pub fn status(&self) -> anyhow::Result<bool> {
        let records = self.records();
        if records.is_empty() {
            bail!("not running");
        }
        let file = self.file().ok();
        let parts = self.partitions();
        let mut all = true;
        for r in &records {
            let running = r.running();
            all &= running;
            let extra = match (r.kind.as_str(), &file) {
                ("instance", Some(f)) if running => instance_url(f, &r.name)
                    .map(|u| {
                        let port = u.rsplit(':').next().and_then(|p| p.parse().ok());
                        let health = port.and_then(|p| http_status(p, "/health"));
                        format!(
                            "{u} health={}",
                            health.map_or("-".into(), |h| h.to_string())
                        )
                    })
                    .unwrap_or_default(),
                ("proxy", Some(f)) => {
                    let link = f.links.get(&r.name);
                    let (from, to) = r.name.split_once('-').unwrap_or_default();
                    let mut s = link.map_or(String::new(), |l| {
                        format!("{} delay={}ms", l.url, l.delay_ms)
                    });
                    if parts.is_cut(from, to) {
                        s.push_str(" CUT");
                    }
                    s
                }
                _ => String::new(),
            };
            let state = if running { "running" } else { "DEAD" };
            println!(
                "{:<9} {:<14} pid {:<7} {:<8} {extra}",
                r.kind, r.name, r.pid, state
            );
        }
        if !parts.is_empty() {
            println!("partitioned: {}", parts.describe());
        }
        println!(
            "regions.json: {}   logs: {}/",
            self.path("regions.json").display(),
            self.path("logs").display()
        );
        Ok(all)
    }
}

/// The public URL of instance `iad-2` (the second of iad's list).
fn instance_url(f: &ClusterFile, name: &str) -> Option<String> {
    let (region, n) = name.rsplit_once('-')?;
    let n: usize = n.parse().ok()?;
    f.regions
        .get(region)?
        .instances
        .get(n.checked_sub(1)?)
        .cloned()
}

/// 32 hex characters from `/dev/urandom`.
fn secret() -> anyhow::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .context("reading /dev/urandom")?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// `name` as a region, or an error listing them.
pub fn region(name: &str) -> anyhow::Result<&'static str> {
    topology::region(name)
        .with_context(|| format!("unknown region {name:?} (one of {:?})", topology::REGIONS))
}
