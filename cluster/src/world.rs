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

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::config;
use crate::instance::{Instance, Launch};
use crate::ports;
use crate::process::StartError;
use crate::proxy::Proxy;
use crate::redis::Redis;
use crate::region::Region;
use crate::spec::Spec;
use crate::topology::{links, Partitions, REGIONS};

const ATTEMPTS: usize = 5;

pub struct World {
    pub regions: Vec<Region>,
    pub proxies: Vec<Proxy>,
    pub spec: Spec,
    partitions: Mutex<Partitions>,
}

impl World {
    /// Starts Redis, the links and the instances of every region not deferred, each
    /// kind of process all at once; does not wait for the relay links (`wait_links`).
    pub fn start(spec: Spec) -> anyhow::Result<World> {
        let logs = spec.root.join("logs");
        // On an error, what did start is dropped, so stopped.
        let redis = in_parallel(REGIONS.to_vec(), |name| {
            let dir = spec.root.join("redis").join(name);
            Redis::start_in(&dir, &logs.join(format!("redis-{name}.log")), &[])
        });
        let redis = redis.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
        let mut regions = Vec::new();
        for (name, redis) in REGIONS.into_iter().zip(redis) {
            regions.push(Region {
                name,
                instances: (0..spec.instances).map(|_| None).collect(),
                internal: (0..spec.instances)
                    .map(|_| ports::pick())
                    .collect::<Result<_, _>>()?,
                dir: spec.root.join("regions").join(name),
                redis,
            });
        }
        let proxies = in_parallel(links().collect(), |(from, to)| {
            let to_region = regions.iter().find(|r| r.name == to).expect("region");
            let log = logs.join(format!("proxy-{from}-{to}.log"));
            Proxy::start(&spec.bins.proxy, (from, to), &to_region.internal, &log)
        });
        let proxies = proxies.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
        let mut w = World {
            regions,
            proxies,
            spec,
            partitions: Mutex::new(Partitions::default()),
        };
        for r in &w.regions {
            config::write(r, &w.proxies, &w.spec.relay)?;
        }
        let deferred = w.spec.deferred.clone();
        let names: Vec<&str> = REGIONS
            .into_iter()
            .filter(|n| !deferred.contains(n))
            .collect();
        w.start_regions(&names)?;
        Ok(w)
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
        self.start_regions(&[name])
    }

    /// Starts the stopped instances of `names`, all at once; one whose port was taken
    /// meanwhile starts again on its own (`start_instance`).
    fn start_regions(&mut self, names: &[&str]) -> anyhow::Result<()> {
        let mut slots = Vec::new();
        for name in names {
            let r = self.index(name);
            let stopped = self.regions[r].instances.iter().enumerate();
            slots.extend(stopped.filter(|(_, s)| s.is_none()).map(|(i, _)| (r, i)));
        }
        let first = in_parallel(slots.clone(), |(r, i)| self.launch(r, i));
        for ((r, i), result) in slots.into_iter().zip(first) {
            match result {
                Ok(instance) => self.regions[r].instances[i] = Some(instance),
                Err(StartError::AddrInUse(_)) => {
                    self.move_taken_internal_port(r, i)?;
                    self.start_instance(r, i)?;
                }
                Err(e) => bail!(
                    "instance {}-{} did not start: {e}",
                    self.regions[r].name,
                    i + 1
                ),
            }
        }
        Ok(())
    }

    /// One attempt to start instance `i` of region `r` on a fresh public port.
    fn launch(&self, r: usize, i: usize) -> Result<Instance, StartError> {
        let region = &self.regions[r];
        let name = region.name;
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
        for (_, vars) in self.spec.region_env.iter().filter(|(r, _)| *r == name) {
            env.extend(vars.iter().cloned());
        }
        let log = self
            .spec
            .root
            .join("logs")
            .join(format!("{name}-{}.log", i + 1));
        Instance::launch(&Launch {
            bin: &self.spec.bins.server,
            env: &env,
            log: &log,
            port: ports::pick().map_err(|e| StartError::Failed(e.to_string()))?,
            internal_port: Some(region.internal[i]),
        })
    }

    /// Starts instance `i` of region `r`, again with fresh ports each time a port was
    /// taken meanwhile.
    fn start_instance(&mut self, r: usize, i: usize) -> anyhow::Result<()> {
        for attempt in 1..=ATTEMPTS {
            match self.launch(r, i) {
                Ok(instance) => {
                    self.regions[r].instances[i] = Some(instance);
                    return Ok(());
                }
                Err(StartError::AddrInUse(_)) if attempt < ATTEMPTS => {
                    self.move_taken_internal_port(r, i)?;
                }
                Err(e) => bail!(
                    "instance {}-{} did not start: {e}",
                    self.regions[r].name,
                    i + 1
                ),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// After "Address already in use": if it was instance `i`'s internal port, gives it
    /// a fresh one and restarts the links into its region to forward there.
    fn move_taken_internal_port(&mut self, r: usize, i: usize) -> anyhow::Result<()> {
        if ports::bindable(self.regions[r].internal[i]) {
            return Ok(());
        }
        self.regions[r].internal[i] = ports::pick()?;
        let (name, targets) = (self.regions[r].name, self.regions[r].internal.clone());
        for p in self.proxies.iter_mut().filter(|p| p.to == name) {
            p.retarget(&targets)?;
        }
        Ok(())
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

/// Runs `start` for every item on a thread of its own; the results in order.
fn in_parallel<I: Send, T: Send>(items: Vec<I>, start: impl Fn(I) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let start = &start;
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| s.spawn(move || start(item)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a start thread panicked"))
            .collect()
    })
}

/// Instances first (they would wait for their relay streams otherwise), then the
/// links, then Redis; then the files unless kept. A world dropped by a failing test
/// keeps its files (every instance's, proxy's and Redis's log) and says where.
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
        if std::thread::panicking() {
            eprintln!(
                "the world's logs are kept for this failure in {}",
                self.spec.root.display()
            );
        } else if !self.spec.keep_files {
            let _ = std::fs::remove_dir_all(&self.spec.root);
        }
    }
}
