//! The links between regions: one `synckairos-delay-proxy` child per ordered pair of
//! regions, with the emulated one-way delay; SIGUSR1 blackholes it, SIGUSR2 heals it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

/// The emulated one-way delay between two regions.
pub fn delay_ms(a: &str, b: &str) -> u64 {
    match (a.min(b), a.max(b)) {
        ("iad", "lhr") => 40,
        ("iad", "nrt") => 80,
        ("lhr", "nrt") => 120,
        other => panic!("no link {other:?}"),
    }
}

/// A `synckairos-delay-proxy` child: the link `from` → `to`.
pub struct Proxy {
    pub from: &'static str,
    pub to: &'static str,
    pub port: u16,
    child: Child,
    _stdout: BufReader<ChildStdout>,
}

impl Proxy {
    pub(super) fn start(
        from: &'static str,
        to: &'static str,
        targets: &[u16],
        log: PathBuf,
    ) -> Proxy {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_synckairos-delay-proxy"));
        cmd.args(["--listen", "127.0.0.1:0", "--delay-ms"])
            .arg(delay_ms(from, to).to_string());
        for t in targets {
            cmd.arg("--to").arg(format!("127.0.0.1:{t}"));
        }
        let stderr = std::fs::File::create(log).expect("proxy log");
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn synckairos-delay-proxy");
        let mut out = BufReader::new(child.stdout.take().expect("proxy stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("proxy prints its address");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("proxy printed {line:?}"));
        Proxy {
            from,
            to,
            port,
            child,
            _stdout: out,
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "could not signal proxy {}→{}", self.from, self.to);
    }

    /// Blackholes the link (SIGUSR1).
    pub fn partition(&self) {
        self.signal("USR1");
    }

    /// Restores it, resetting the connections it held (SIGUSR2).
    pub fn heal(&self) {
        self.signal("USR2");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
