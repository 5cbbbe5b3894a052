//! Throwaway service processes for tests, all on free loopback ports in temp dirs and
//! stopped by PID when dropped: `redis-server` (optionally AOF, optionally a replica),
//! PostgreSQL (initdb + pg_ctl as the `postgres` user when running as root), and the
//! `synckairos` binary itself (so a test can SIGKILL an instance).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound and released; the window is tiny).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "synckairos-{tag}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn wait_for_port(port: u16, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// A `redis-server` child process.
pub struct Redis {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
}

impl Redis {
    pub fn start() -> Redis {
        Self::start_with(&[])
    }

    /// `extra` are redis-server arguments, e.g. `["--appendonly", "yes"]`.
    pub fn start_with(extra: &[&str]) -> Redis {
        let dir = temp_dir("redis");
        let mut r = Redis {
            port: free_port(),
            dir,
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        r.spawn();
        r
    }

    /// A replica of `primary` (its own process and port).
    pub fn replica_of(primary: &Redis) -> Redis {
        let port = primary.port.to_string();
        Self::start_with(&["--replicaof", "127.0.0.1", &port])
    }

    fn spawn(&mut self) {
        let mut args: Vec<String> = vec![
            "--port".into(),
            self.port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            self.dir.display().to_string(),
            "--save".into(),
            "".into(),
            "--repl-diskless-sync-delay".into(),
            "0".into(),
            "--daemonize".into(),
            "no".into(),
        ];
        if !self.extra.iter().any(|a| a == "--appendonly") {
            args.extend(["--appendonly".into(), "no".into()]);
        }
        args.extend(self.extra.iter().cloned());
        let log = std::fs::File::create(self.dir.join("redis.log")).expect("log file");
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test.sh installs it)");
        self.child = Some(child);
        assert!(
            wait_for_port(self.port, Duration::from_secs(10)),
            "redis-server did not start"
        );
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `redis-cli` against this server; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Stops the process: SIGKILL when `hard` (no final fsync), else SIGTERM.
    pub fn stop(&mut self, hard: bool) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), if hard { "KILL" } else { "TERM" });
            let _ = c.wait();
        }
    }

    /// Starts again on the same port and directory (AOF files are reloaded).
    pub fn restart(&mut self) {
        self.stop(false);
        self.spawn();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop(true);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `synckairos` binary as a child process.
pub struct Instance {
    pub port: u16,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Instance {
    /// Starts the binary with `env` (e.g. `REDIS_URL`) on a free port and waits for
    /// `/health`.
    pub fn start(env: &[(&str, String)]) -> Instance {
        let port = free_port();
        let dir = temp_dir("instance");
        let log = dir.join("synckairos.log");
        let file = std::fs::File::create(&log).expect("log file");
        let err = file.try_clone().expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_synckairos"));
        cmd.env("PORT", port.to_string())
            .env("SYNCKAIROS_SERVER__BIND", "127.0.0.1")
            .env("SYNCKAIROS_REGIONS_DIR", dir.join("no-regions"))
            .env("RUST_LOG", "info")
            .stdout(file)
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn synckairos");
        assert!(
            wait_for_port(port, Duration::from_secs(15)),
            "synckairos did not start; log: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Instance {
            port,
            log,
            child: Some(child),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// SIGKILL: no shutdown sequence at all.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), "KILL");
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for the process to exit.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), "TERM");
            let _ = c.wait();
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
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
        let pg = Postgres {
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
        pg.ctl_start();
        pg
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

    fn ctl_start(&self) {
        let data = self.dir.join("data").display().to_string();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("pg.log").display().to_string();
        let ok = self
            .run(
                pg_bin("pg_ctl"),
                &[
                    "-D", &data, "-o", &opts, "-w", "-t", "30", "-l", &log, "start",
                ],
            )
            .success();
        assert!(
            ok,
            "pg_ctl start failed: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Fast shutdown (clients are disconnected).
    pub fn stop(&self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.run(pg_bin("pg_ctl"), &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    pub fn start_again(&self) {
        self.ctl_start();
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
