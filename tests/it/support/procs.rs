//! Throwaway service processes for tests, on loopback ports and stopped by PID when
//! dropped: `redis-server` and the `synckairos` binary (both started by
//! `synckairos-cluster`, which picks ports outside the ephemeral range and retries a
//! port taken meanwhile; here they panic instead of returning errors), and
//! PostgreSQL (initdb + pg_ctl, as the `postgres` user when running as root).
//! Must not start anything on a non-loopback address.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use synckairos_cluster::redis::temp_dir;

/// A free TCP port on 127.0.0.1 outside the ephemeral range (nothing listens there).
pub fn free_port() -> u16 {
    synckairos_cluster::ports::pick().expect("no free port")
}

/// A throwaway `redis-server` child process (temp dir, removed on drop).
pub struct Redis(synckairos_cluster::Redis);

impl Redis {
    pub fn start() -> Redis {
        Self::start_with(&[])
    }

    /// `extra` are redis-server arguments, e.g. `["--appendonly", "yes"]`.
    pub fn start_with(extra: &[&str]) -> Redis {
        Redis(synckairos_cluster::Redis::start(extra).unwrap_or_else(|e| panic!("{e:#}")))
    }

    /// A replica of `primary` (its own process and port).
    pub fn replica_of(primary: &Redis) -> Redis {
        Redis(synckairos_cluster::Redis::replica_of(primary).unwrap_or_else(|e| panic!("{e:#}")))
    }

    /// Starts again on the same port and directory (AOF files are reloaded).
    pub fn restart(&mut self) {
        self.0.restart().unwrap_or_else(|e| panic!("{e:#}"));
    }
}

impl Deref for Redis {
    type Target = synckairos_cluster::Redis;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Redis {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// The `synckairos` binary of this package as a child process (killed on drop).
pub struct Instance(synckairos_cluster::Instance);

impl Instance {
    /// Starts the binary with `env` (e.g. `REDIS_URL`) on a free port and waits until
    /// it listens.
    pub fn start(env: &[(&str, String)]) -> Instance {
        let bin = Path::new(env!("CARGO_BIN_EXE_synckairos"));
        Instance(synckairos_cluster::Instance::start(bin, env).unwrap_or_else(|e| panic!("{e:#}")))
    }
}

impl Deref for Instance {
    type Target = synckairos_cluster::Instance;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Instance {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Where PostgreSQL's server binaries are (Debian puts them outside PATH).
pub fn pg_bin(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| Path::new(name).to_path_buf())
}

/// A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free port. When running as
/// root, it runs as the `postgres` user (initdb refuses root).
pub struct Postgres {
    pub port: u16,
    pub dir: PathBuf,
    as_postgres: bool,
}

impl Postgres {
    pub fn start() -> Postgres {
        let dir = temp_dir("pg");
        let as_postgres = is_root();
        if as_postgres {
            let _ = Command::new("chown")
                .arg("-R")
                .arg("postgres")
                .arg(&dir)
                .status();
        }
        let mut pg = Postgres {
            port: free_port(),
            dir,
            as_postgres,
        };
        let data = pg.dir.join("data");
        let ok = pg
            .run(
                pg_bin("initdb"),
                &[
                    "-D",
                    &data.display().to_string(),
                    "--auth=trust",
                    "--no-sync",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                ],
            )
            .success();
        assert!(ok, "initdb failed");
        // Another process may take the port picked: start again on a fresh one.
        for _ in 0..4 {
            match pg.try_ctl_start() {
                Err(log) if log.contains("Address already in use") => pg.port = free_port(),
                other => return pg.started(other),
            }
        }
        let last = pg.try_ctl_start();
        pg.started(last)
    }

    fn started(self, result: Result<(), String>) -> Postgres {
        if let Err(log) = result {
            panic!("pg_ctl start failed: {log}");
        }
        self
    }

    fn run(&self, bin: PathBuf, args: &[&str]) -> std::process::ExitStatus {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        cmd.args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run postgres tool")
    }

    /// `pg_ctl start`; on failure, what it logged.
    fn try_ctl_start(&self) -> Result<(), String> {
        let data = self.dir.join("data").display().to_string();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("pg.log");
        let from = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
        let ok = self
            .run(
                pg_bin("pg_ctl"),
                &[
                    "-D",
                    &data,
                    "-o",
                    &opts,
                    "-w",
                    "-t",
                    "30",
                    "-l",
                    &log.display().to_string(),
                    "start",
                ],
            )
            .success();
        if ok {
            return Ok(());
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        Err(text.get(from..).unwrap_or(&text).to_owned())
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Fast shutdown (clients are disconnected).
    pub fn stop(&self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.run(pg_bin("pg_ctl"), &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    /// Starts again on the same port (clients hold the URL).
    pub fn start_again(&self) {
        let result = self.try_ctl_start();
        if let Err(log) = result {
            panic!("pg_ctl start failed: {log}");
        }
    }

    /// `psql -tA -c sql`: unaligned tuples, one row per line.
    pub fn query(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-tA",
                "-c",
                sql,
            ])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.run(
            pg_bin("pg_ctl"),
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
