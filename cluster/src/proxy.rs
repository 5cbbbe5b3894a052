//! A link between two regions: one `synckairos-delay-proxy` child for the ordered
//! pair `from` → `to` (connections `from` opens to `to`'s internal API), with the
//! emulated one-way delay; SIGUSR1 blackholes it, SIGUSR2 heals it. Owns that process;
//! the world decides which links are cut.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::bail;

use crate::ports;
use crate::process::{Proc, Ready, StartError};
use crate::topology::delay_ms;

const ATTEMPTS: usize = 5;

/// A `synckairos-delay-proxy` child: the link `from` → `to`.
pub struct Proxy {
    pub from: &'static str,
    pub to: &'static str,
    /// Where `from`'s instances connect (`127.0.0.1:<port>`).
    pub port: u16,
    pub delay_ms: u64,
    /// `to`'s internal ports (round robin).
    targets: Vec<u16>,
    bin: PathBuf,
    log: PathBuf,
    proc: Option<Proc>,
    cut: AtomicBool,
}

impl Proxy {
    pub(crate) fn start(
        bin: &Path,
        (from, to): (&'static str, &'static str),
        targets: &[u16],
        log: &Path,
    ) -> anyhow::Result<Proxy> {
        let mut p = Proxy {
            from,
            to,
            port: 0,
            delay_ms: delay_ms(from, to),
            targets: targets.to_vec(),
            bin: bin.to_owned(),
            log: log.to_owned(),
            proc: None,
            cut: AtomicBool::new(false),
        };
        for attempt in 1..=ATTEMPTS {
            p.port = ports::pick()?;
            match p.spawn() {
                Ok(()) => return Ok(p),
                Err(StartError::AddrInUse(_)) if attempt < ATTEMPTS => continue,
                Err(e) => bail!("proxy {from}->{to} did not start: {e}"),
            }
        }
        unreachable!("the last attempt returns")
    }

    fn spawn(&mut self) -> Result<(), StartError> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--delay-ms")
            .arg(self.delay_ms.to_string());
        for t in &self.targets {
            cmd.arg("--to").arg(format!("127.0.0.1:{t}"));
        }
        let mut proc =
            Proc::spawn(cmd, &self.log).map_err(|e| StartError::Failed(format!("{e:#}")))?;
        // It prints the address once it accepts (an error naming the address is
        // a different line).
        let line = format!("127.0.0.1:{}", self.port);
        proc.wait_ready(Ready::PrintsLine(line), Duration::from_secs(10))?;
        self.proc = Some(proc);
        self.cut.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// Restarts the proxy on the same port forwarding to `targets` (an instance of
    /// `to` had to move its internal port); a cut link stays cut.
    pub(crate) fn retarget(&mut self, targets: &[u16]) -> anyhow::Result<()> {
        let was_cut = self.is_cut();
        if let Some(mut p) = self.proc.take() {
            p.terminate();
        }
        self.targets = targets.to_vec();
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            match self.spawn() {
                Ok(()) => {
                    if was_cut {
                        self.partition();
                    }
                    return Ok(());
                }
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!(
            "proxy {}->{} could not take back port {}: {last}",
            self.from,
            self.to,
            self.port
        )
    }

    pub fn name(&self) -> String {
        format!("{}-{}", self.from, self.to)
    }

    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().and_then(Proc::pid)
    }

    fn signal(&self, sig: i32) {
        let ok = self.proc.as_ref().is_some_and(|p| p.signal(sig));
        assert!(ok, "could not signal proxy {}", self.name());
    }

    /// Blackholes the link (SIGUSR1): open connections stop forwarding, new ones are
    /// accepted and never forwarded.
    pub fn partition(&self) {
        self.signal(libc::SIGUSR1);
        self.cut.store(true, Ordering::SeqCst);
    }

    /// Restores it, resetting the connections it held (SIGUSR2).
    pub fn heal(&self) {
        self.signal(libc::SIGUSR2);
        self.cut.store(false, Ordering::SeqCst);
    }

    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// Leaves it running; returns its PID.
    pub fn release(mut self) -> Option<u32> {
        self.proc.take().map(Proc::release)
    }
}
