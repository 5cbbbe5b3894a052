//! The `synckairos` binary as a child process on loopback ports: environment,
//! readiness (it listens on its public and, in a region, internal port), SIGKILL /
//! SIGTERM, its log. Owns that process and a throwaway instance's temp dir; knows
//! nothing of the server's internals beyond its environment variables.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::bail;

use crate::ports;
use crate::process::{self, Proc, Ready, StartError};
use crate::redis::temp_dir;

/// Attempts with fresh ports when another process took one.
const ATTEMPTS: usize = 5;

/// Fly variables that would override the region or discovery of a local instance.
const FLY_VARS: [&str; 3] = ["FLY_REGION", "PRIMARY_REGION", "FLY_APP_NAME"];

/// How to start one instance.
pub struct Launch<'a> {
    pub bin: &'a Path,
    /// Variables on top of the defaults (`REDIS_URL`, `SYNCKAIROS_*`...).
    pub env: &'a [(String, String)],
    /// Appended to (restarts share it).
    pub log: &'a Path,
    pub port: u16,
    /// The internal API port (multi-region), also waited for.
    pub internal_port: Option<u16>,
}

/// A running `synckairos` process.
pub struct Instance {
    pub port: u16,
    pub internal_port: Option<u16>,
    pub log: PathBuf,
    proc: Option<Proc>,
    /// A throwaway instance's temp dir (removed on drop).
    temp: Option<PathBuf>,
}

impl Instance {
    /// A throwaway instance of `bin` with `env` (e.g. `REDIS_URL`) on a free port, its
    /// log in a temp dir of its own; waits until it listens. Restarts with a fresh
    /// port when the one picked was taken meanwhile.
    pub fn start(bin: &Path, env: &[(&str, String)]) -> anyhow::Result<Instance> {
        let dir = temp_dir("instance");
        let mut vars = vec![(
            "SYNCKAIROS_REGIONS_DIR".to_owned(),
            dir.join("no-regions").display().to_string(),
        )];
        vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let log = dir.join("synckairos.log");
        for attempt in 1..=ATTEMPTS {
            let launch = Launch {
                bin,
                env: &vars,
                log: &log,
                port: ports::pick()?,
                internal_port: None,
            };
            match Self::launch(&launch) {
                Ok(mut i) => {
                    i.temp = Some(dir);
                    return Ok(i);
                }
                Err(StartError::AddrInUse(_)) if attempt < ATTEMPTS => continue,
                Err(e) => bail!("synckairos did not start: {e}"),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// One attempt with the given ports.
    pub fn launch(l: &Launch) -> Result<Instance, StartError> {
        let mut cmd = Command::new(l.bin);
        for k in FLY_VARS {
            cmd.env_remove(k);
        }
        cmd.env("SYNCKAIROS_SERVER__BIND", "127.0.0.1");
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        for (k, v) in l.env {
            cmd.env(k, v);
        }
        cmd.env("PORT", l.port.to_string());
        let mut wait = vec![l.port];
        if let Some(p) = l.internal_port {
            cmd.env("SYNCKAIROS_CLUSTER__INTERNAL_PORT", p.to_string())
                .env("SYNCKAIROS_CLUSTER__INTERNAL_BIND", "127.0.0.1");
            wait.push(p);
        }
        let mut proc = Proc::spawn(cmd, l.log).map_err(|e| StartError::Failed(format!("{e:#}")))?;
        proc.wait_ready(Ready::Listening(wait), Duration::from_secs(30))?;
        Ok(Instance {
            port: l.port,
            internal_port: l.internal_port,
            log: l.log.to_owned(),
            proc: Some(proc),
            temp: None,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `ws://127.0.0.1:<port>/ws?sessionId=<id>`.
    pub fn ws_url(&self, session_id: &str) -> String {
        format!("ws://127.0.0.1:{}/ws?sessionId={session_id}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().and_then(Proc::pid)
    }

    /// The process exists and is not a zombie (it did not crash or exit).
    pub fn alive(&self) -> bool {
        self.pid().is_some_and(process::alive)
    }

    /// What is wrong with it, if anything: not running, or a panic in its log.
    pub fn problem(&self) -> Option<String> {
        let log = self.log_text();
        if !self.alive() {
            return Some(format!(
                "instance on port {} is not running; log:\n{log}",
                self.port
            ));
        }
        log.contains("panicked")
            .then(|| format!("instance log has a panic:\n{log}"))
    }

    /// SIGKILL: no shutdown sequence at all.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }

    /// SIGTERM and wait for the process to exit.
    pub fn terminate(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.terminate();
        }
    }

    /// Everything in its log file.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Leaves it running; returns its PID.
    pub fn release(mut self) -> Option<u32> {
        self.proc.take().map(Proc::release)
    }
}

/// The status code of `GET <path>` on `127.0.0.1:<port>` (`None`: no HTTP answer
/// within a second).
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let limit = Duration::from_secs(1);
    let mut s = std::net::TcpStream::connect_timeout(&addr, limit).ok()?;
    s.set_read_timeout(Some(limit)).ok()?;
    s.set_write_timeout(Some(limit)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    // "HTTP/1.1 200"
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = &self.temp {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
