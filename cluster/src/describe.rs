//! The files a detached cluster leaves for its readers: `regions.json` (what tests,
//! the bench and developers connect to) and the `pids` records (what `down` stops),
//! and how a world is turned into them. Formats only; reading and writing the files
//! is `dev`'s job.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::instance::Instance;
use crate::topology::{delay_ms, REGIONS};
use crate::world::World;

/// `regions.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterFile {
    /// The cluster secret (`x-synckairos-secret` on the internal API).
    #[serde(default)]
    pub secret: String,
    pub regions: BTreeMap<String, RegionFile>,
    /// `<from>-<to>` → the proxy `from`'s instances connect through.
    #[serde(default)]
    pub links: BTreeMap<String, LinkFile>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegionFile {
    /// Public base URLs (HTTP and WebSocket).
    pub instances: Vec<String>,
    /// Internal API base URLs (direct, no delay; the secret is required).
    #[serde(default)]
    pub internal: Vec<String>,
    #[serde(default)]
    pub redis: String,
    /// Other region → one-way delay of the link (ms).
    #[serde(default)]
    pub link_delay_ms: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LinkFile {
    pub url: String,
    pub delay_ms: u64,
}

/// One started process: `kind name pid program` (a line of the `pids` file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// `proxy`, `instance` or `redis`.
    pub kind: String,
    /// `iad-lhr`, `iad-1`, `redis-iad`.
    pub name: String,
    pub pid: u32,
    /// What its command line must contain to still be ours.
    pub program: String,
}

impl Record {
    pub fn new(kind: &str, name: &str, pid: u32, program: &str) -> Record {
        Record {
            kind: kind.to_owned(),
            name: name.to_owned(),
            pid,
            program: program.to_owned(),
        }
    }

    pub fn line(&self) -> String {
        format!("{} {} {} {}", self.kind, self.name, self.pid, self.program)
    }

    pub fn parse(line: &str) -> Option<Record> {
        let mut f = line.splitn(4, ' ');
        let (kind, name, pid, program) = (f.next()?, f.next()?, f.next()?, f.next()?);
        Some(Record::new(kind, name, pid.parse().ok()?, program))
    }

    /// Still running the recorded program.
    pub fn running(&self) -> bool {
        crate::process::runs(self.pid, &self.program)
    }
}

impl World {
    /// The description consumers read (`regions.json`).
    pub fn file(&self) -> ClusterFile {
        let regions = self
            .regions
            .iter()
            .map(|r| {
                let running: Vec<&Instance> = r.running_instances().collect();
                let file = RegionFile {
                    instances: running.iter().map(|i| i.base_url()).collect(),
                    internal: r
                        .internal
                        .iter()
                        .map(|p| format!("http://127.0.0.1:{p}"))
                        .collect(),
                    redis: r.redis.url(),
                    link_delay_ms: REGIONS
                        .iter()
                        .filter(|o| **o != r.name)
                        .map(|o| (o.to_string(), delay_ms(r.name, o)))
                        .collect(),
                };
                (r.name.to_owned(), file)
            })
            .collect();
        let links = self
            .proxies
            .iter()
            .map(|p| {
                let f = LinkFile {
                    url: format!("http://127.0.0.1:{}", p.port),
                    delay_ms: p.delay_ms,
                };
                (p.name(), f)
            })
            .collect();
        ClusterFile {
            secret: self.spec.secret.clone(),
            regions,
            links,
        }
    }

    /// Leaves every process running ; returns what was started, in
    /// the order to stop it (links, instances, Redis).
    pub fn release(mut self) -> Vec<Record> {
        let mut out = Vec::new();
        let proxy_bin = self.spec.bins.proxy.display().to_string();
        for p in std::mem::take(&mut self.proxies) {
            let name = p.name();
            if let Some(pid) = p.release() {
                out.push(Record::new("proxy", &name, pid, &proxy_bin));
            }
        }
        let server = self.spec.bins.server.display().to_string();
        for r in &mut self.regions {
            for (i, slot) in r.instances.iter_mut().enumerate() {
                if let Some(pid) = slot.take().and_then(Instance::release) {
                    out.push(Record::new(
                        "instance",
                        &format!("{}-{}", r.name, i + 1),
                        pid,
                        &server,
                    ));
                }
            }
        }
        for r in std::mem::take(&mut self.regions) {
            let name = format!("redis-{}", r.name);
            if let Some(pid) = r.redis.release() {
                out.push(Record::new("redis", &name, pid, "redis-server"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_regions_json_parses_without_links() {
        let r = Record::new("instance", "iad-1", 42, "/x/target/release/synckairos");
        assert_eq!(Record::parse(&r.line()), Some(r));
        assert_eq!(Record::parse("proxy iad-lhr notapid x"), None);
        let f: ClusterFile = serde_json::from_str(
            r#"{"secret":"s","regions":{"iad":{"instances":["http://127.0.0.1:1"],"link_delay_ms":{"lhr":40}}}}"#,
        )
        .unwrap();
        assert_eq!(f.regions["iad"].link_delay_ms["lhr"], 40);
        assert!(f.links.is_empty());
    }
}
