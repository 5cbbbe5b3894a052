//! One child process this crate started: spawning with its output appended to a log
//! file, readiness (the child itself listens on its ports, checked in `/proc`, so a
//! port someone else holds is never mistaken for ours; or it printed a line), signals by PID, and the
//! "Address already in use" verdict callers retry on. Also the checks `down` and
//! `status` make on PIDs recorded by an earlier command.
//!
//! A child is killed when its handle is dropped, unless released (`up`: it outlives
//! the command). Children stay in the caller's process group, so a Ctrl-C during
//! `up` stops them together with it.
//!
//! Must not kill anything it did not start: signals go to the child's own PID, and a
//! recorded PID is only signalled while its command line still names the program.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// Why a child did not become ready.
#[derive(Debug)]
pub enum StartError {
    /// Its log says a port was taken: start again with fresh ports.
    AddrInUse(String),
    /// It exited (or never listened within the limit); the new part of its log.
    Failed(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::AddrInUse(log) => write!(f, "address already in use; log:\n{log}"),
            StartError::Failed(log) => write!(f, "{log}"),
        }
    }
}

impl std::error::Error for StartError {}

/// What shows that a child is ready.
pub enum Ready {
    /// It listens on every one of these loopback ports (and the listener is its own).
    Listening(Vec<u16>),
    /// It printed this exact line (e.g. the address it bound).
    PrintsLine(String),
}

/// A child process and its log.
pub struct Proc {
    child: Option<Child>,
    pid: u32,
    pub log: PathBuf,
    /// Length of the log when this child started (the log is shared by restarts).
    log_from: u64,
}

/// Opens `log` for appending (creating its directory).
fn open_log(log: &Path) -> anyhow::Result<File> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))
}

impl Proc {
    /// Starts `cmd` with stdin closed and stdout/stderr appended to `log`.
    pub fn spawn(mut cmd: Command, log: &Path) -> anyhow::Result<Proc> {
        let out = open_log(log)?;
        let log_from = out.metadata().map_or(0, |m| m.len());
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {:?}", cmd.get_program()))?;
        Ok(Proc {
            pid: child.id(),
            child: Some(child),
            log: log.to_owned(),
            log_from,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|_| self.pid)
    }

    /// Still running (not exited, not a zombie).
    pub fn alive(&mut self) -> bool {
        match self.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(None)) => alive(self.pid),
            _ => false,
        }
    }

    /// What this child wrote to its log so far.
    pub fn output(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let _ = f.seek(SeekFrom::Start(self.log_from));
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// Waits until the child is ready (or exited, or `limit` passed).
    pub fn wait_ready(&mut self, ready: Ready, limit: Duration) -> Result<(), StartError> {
        let start = Instant::now();
        loop {
            if !self.alive() {
                self.reap();
                return Err(self.verdict("exited"));
            }
            let ok = match &ready {
                // A refused connect is cheap; `/proc` (milliseconds) only once one succeeds,
                // to tell our listener from another process's on the same port.
                Ready::Listening(ports) => {
                    ports
                        .iter()
                        .all(|p| TcpStream::connect((Ipv4Addr::LOCALHOST, *p)).is_ok())
                        && {
                            let bound = listening_ports(self.pid);
                            ports.iter().all(|p| bound.contains(p))
                        }
                }
                Ready::PrintsLine(line) => self.output().lines().any(|l| l == line),
            };
            if ok {
                return Ok(());
            }
            if start.elapsed() > limit {
                self.kill();
                return Err(self.verdict(&format!("not ready after {limit:?}")));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn verdict(&self, what: &str) -> StartError {
        let out = self.output();
        if out.contains("Address already in use") {
            StartError::AddrInUse(out)
        } else {
            StartError::Failed(format!("{what}; log {}:\n{out}", self.log.display()))
        }
    }

    /// Sends `sig` (e.g. `libc::SIGUSR1`); false when the child is gone.
    pub fn signal(&self, sig: i32) -> bool {
        self.child.is_some() && send(self.pid, sig)
    }

    fn reap(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }

    /// SIGKILL: no shutdown sequence at all.
    pub fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        self.reap();
    }

    /// SIGTERM and wait for the exit.
    pub fn terminate(&mut self) {
        self.signal(libc::SIGTERM);
        self.reap();
    }

    /// Leaves the child running; returns its PID.
    pub fn release(mut self) -> u32 {
        self.child.take();
        self.pid
    }
}

/// Kills a child that was not released (a failed `up` stops what it started).
impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `kill(pid, sig)`; false when there is no such process.
pub fn send(pid: u32, sig: i32) -> bool {
    // SAFETY: kill(2) has no memory effects; the PID is one this crate started.
    unsafe { libc::kill(pid as libc::pid_t, sig) == 0 }
}

/// The process exists and is neither a zombie nor dead.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        })
        .unwrap_or(false)
}

/// `pid` is alive and its command line contains `program` (a recorded PID that
/// was reused by something else is never ours).
pub fn runs(pid: u32, program: &str) -> bool {
    alive(pid)
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(program))
            .unwrap_or(false)
}

/// The TCP ports `pid` listens on (IPv4 and IPv6), from `/proc`.
pub fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ports = BTreeSet::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address, st (0A = LISTEN), inode.
            let (Some(local), Some(st), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
                continue;
            };
            if *st != "0A" || !inodes.contains(*inode) {
                continue;
            }
            if let Some(port) = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
            {
                ports.insert(port);
            }
        }
    }
    ports
}

/// Signals every PID of `pids` (recorded as running `program`) with SIGTERM, waits up
/// to `grace` for them to exit, then SIGKILLs the rest; returns those that needed it.
pub fn stop_recorded(pids: &[(u32, String)], grace: Duration) -> Vec<u32> {
    for (pid, prog) in pids {
        if runs(*pid, prog) {
            send(*pid, libc::SIGTERM);
        }
    }
    let end = Instant::now() + grace;
    while Instant::now() < end && pids.iter().any(|(p, prog)| runs(*p, prog)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut killed = Vec::new();
    for (pid, prog) in pids {
        if runs(*pid, prog) {
            send(*pid, libc::SIGKILL);
            killed.push(*pid);
        }
    }
    killed
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::process::Command;
    use std::time::Duration;

    use super::{Proc, Ready, StartError};

    /// A child that cannot bind its port is told apart (retry with a fresh one) from
    /// one that listens; neither is mistaken for the process holding the port.
    #[test]
    fn a_taken_port_is_address_in_use_and_a_free_one_is_ready() {
        let dir = crate::redis::temp_dir("proc-test");
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = held.local_addr().unwrap().port();
        let start = |port: u16| {
            let mut cmd = Command::new("redis-server");
            cmd.args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .current_dir(&dir);
            Proc::spawn(cmd, &dir.join("redis.log")).unwrap()
        };
        let mut p = start(taken);
        let r = p.wait_ready(Ready::Listening(vec![taken]), Duration::from_secs(10));
        assert!(matches!(r, Err(StartError::AddrInUse(_))), "{r:?}");
        let free = crate::ports::pick().unwrap();
        let mut p = start(free);
        p.wait_ready(Ready::Listening(vec![free]), Duration::from_secs(10))
            .unwrap();
        assert!(super::listening_ports(p.pid().unwrap()).contains(&free));
        p.kill();
        assert!(!p.alive());
        let _ = std::fs::remove_dir_all(dir);
    }
}
