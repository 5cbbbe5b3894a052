//! A `redis-server` child on a loopback port (optionally AOF, optionally a replica)
//! and `redis-cli` against it. Owns that process and, for throwaway servers, its
//! temporary directory; must not touch any other Redis.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::ports;
use crate::process::{Proc, Ready, StartError};

/// Attempts with fresh ports when another process took the one picked.
const ATTEMPTS: usize = 5;

/// A fresh directory under the system temp dir (unique per process and call).
pub fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "synckairos-{tag}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("creating a temp dir");
    dir
}

/// A `redis-server` child process.
pub struct Redis {
    pub port: u16,
    pub dir: PathBuf,
    log: PathBuf,
    args: Vec<String>,
    proc: Option<Proc>,
    /// Remove `dir` when dropped (throwaway servers).
    owns_dir: bool,
}

impl Redis {
    /// A throwaway server in a temp dir of its own (removed on drop). `extra` are
    /// redis-server arguments, e.g. `["--appendonly", "yes"]`.
    pub fn start(extra: &[&str]) -> anyhow::Result<Redis> {
        let dir = temp_dir("redis");
        let log = dir.join("redis.log");
        let mut r = Self::start_in(&dir, &log, extra)?;
        r.owns_dir = true;
        Ok(r)
    }

    /// A replica of `primary` (its own process, port and temp dir).
    pub fn replica_of(primary: &Redis) -> anyhow::Result<Redis> {
        let port = primary.port.to_string();
        Self::start(&["--replicaof", "127.0.0.1", &port])
    }

    /// A server keeping its files in `dir` and its output in `log`.
    pub fn start_in(dir: &Path, log: &Path, extra: &[&str]) -> anyhow::Result<Redis> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut r = Redis {
            port: 0,
            dir: dir.to_owned(),
            log: log.to_owned(),
            args: extra.iter().map(|s| s.to_string()).collect(),
            proc: None,
            owns_dir: false,
        };
        for attempt in 1..=ATTEMPTS {
            r.port = ports::pick()?;
            match r.spawn() {
                Ok(()) => return Ok(r),
                Err(StartError::AddrInUse(_)) if attempt < ATTEMPTS => continue,
                Err(e) => bail!("redis-server did not start: {e}"),
            }
        }
        unreachable!("the last attempt returns")
    }

    fn spawn(&mut self) -> Result<(), StartError> {
        let mut args: Vec<String> = [
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &self.dir.display().to_string(),
            "--save",
            "",
            "--repl-diskless-sync-delay",
            "0",
            "--daemonize",
            "no",
        ]
        .map(String::from)
        .to_vec();
        if !self.args.iter().any(|a| a == "--appendonly") {
            args.extend(["--appendonly".into(), "no".into()]);
        }
        args.extend(self.args.iter().cloned());
        let mut cmd = Command::new("redis-server");
        cmd.args(&args);
        let mut proc = Proc::spawn(cmd, &self.log).map_err(|e| {
            StartError::Failed(format!(
                "{e:#} (redis-server must be installed; scripts/test.sh installs it)"
            ))
        })?;
        proc.wait_ready(Ready::Listening(vec![self.port]), Duration::from_secs(10))?;
        self.proc = Some(proc);
        Ok(())
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().and_then(Proc::pid)
    }

    /// `redis-cli` against this server; returns stdout, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `redis-cli --raw` stdout, untouched (binary values).
    pub fn cli_raw(&self, args: &[&str]) -> Vec<u8> {
        Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "--raw"])
            .args(args)
            .output()
            .expect("redis-cli")
            .stdout
    }

    /// Stops the process: SIGKILL when `hard` (no final fsync), else SIGTERM.
    pub fn stop(&mut self, hard: bool) {
        if let Some(mut p) = self.proc.take() {
            if hard {
                p.kill();
            } else {
                p.terminate();
            }
        }
    }

    /// Starts again on the same port and directory (AOF files are reloaded). The port
    /// cannot change (instances hold the URL): a taken port is retried for a while.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop(false);
        let mut last = None;
        for _ in 0..ATTEMPTS {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(StartError::AddrInUse(log)) => {
                    last = Some(log);
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => bail!("redis-server did not restart: {e}"),
            }
        }
        bail!(
            "redis-server could not take back port {}: {}",
            self.port,
            last.unwrap_or_default()
        )
    }

    /// Leaves the server running; returns its PID.
    pub fn release(mut self) -> Option<u32> {
        self.proc.take().map(Proc::release)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop(true);
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
