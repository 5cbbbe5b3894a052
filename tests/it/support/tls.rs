//! Shared by `tests/tls.rs`: throwaway certificates made with `openssl` (a private CA,
//! a server certificate for 127.0.0.1 signed by it, and an unrelated CA), a
//! `redis-server` that listens on TLS only and knows only an ACL user with a password,
//! and a PostgreSQL cluster with `ssl=on` that accepts TCP clients over TLS only
//! (`hostssl` in pg_hba.conf). Everything lives in temp dirs and is stopped by PID or
//! `pg_ctl` when dropped.
//!
//! Lives in a directory so that cargo does not build it as a test target of its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::procs::{free_port, pg_bin, temp_dir};

#[track_caller]
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    run(Command::new("openssl").current_dir(dir).args(args));
}

fn wait_for_port(port: u16, log: &Path) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "port {port} never opened: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `ca.pem` signs `server.pem` (SAN IP:127.0.0.1, key `server.key`); `other-ca.pem`
/// is a CA that signed nothing here.
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    pub fn make() -> Certs {
        let dir = temp_dir("certs");
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        for (name, cn) in [("ca", "synckairos test CA"), ("other-ca", "unrelated CA")] {
            let (key, pem, subj) = (
                format!("{name}.key"),
                format!("{name}.pem"),
                format!("/CN={cn}"),
            );
            let mut args = vec!["req", "-x509", "-days", "2", "-subj", &subj];
            args.extend(ec);
            args.extend(["-keyout", &key, "-out", &pem]);
            openssl(&dir, &args);
        }
        let mut args = vec!["req", "-subj", "/CN=127.0.0.1"];
        args.extend(ec);
        args.extend(["-keyout", "server.key", "-out", "server.csr"]);
        openssl(&dir, &args);
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.ext",
                "-out",
                "server.pem",
            ],
        );
        Certs { dir }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub const REDIS_USER: &str = "synckairos";
pub const REDIS_PASSWORD: &str = "s3cret-redis-pass";

/// `redis-server` on a TLS port only; the default user is off, so every client must
/// log in as `REDIS_USER`.
pub struct TlsRedis {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

impl TlsRedis {
    pub fn start(certs: &Certs) -> TlsRedis {
        let dir = temp_dir("redis-tls");
        let port = free_port();
        let password = format!(">{REDIS_PASSWORD}");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &dir.display().to_string()])
            .args(["--tls-cert-file", &certs.path("server.pem")])
            .args(["--tls-key-file", &certs.path("server.key")])
            .args(["--tls-ca-cert-file", &certs.path("ca.pem")])
            .args(["--tls-auth-clients", "no"])
            // One config line per option: `user NAME on >PASSWORD ~* &* +@all`.
            .args(["--user", REDIS_USER, "on", &password, "~*", "&*", "+@all"])
            .args(["--user", "default", "off"])
            .stdout(std::fs::File::create(dir.join("redis.log")).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        wait_for_port(port, &dir.join("redis.log"));
        TlsRedis { port, dir, child }
    }

    /// `rediss://user:password@127.0.0.1:port/`, then `query` (e.g. `?sslrootcert=...`).
    pub fn url(&self, query: &str) -> String {
        format!(
            "rediss://{REDIS_USER}:{REDIS_PASSWORD}@127.0.0.1:{}/{query}",
            self.port
        )
    }

    /// `redis-cli` over TLS as the ACL user.
    pub fn cli(&self, certs: &Certs, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["--tls", "--cacert", &certs.path("ca.pem")])
            .args([
                "-p",
                &self.port.to_string(),
                "--user",
                REDIS_USER,
                "--pass",
                REDIS_PASSWORD,
            ])
            .arg("--no-auth-warning")
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// PostgreSQL with `ssl=on` and the server certificate; TCP clients over TLS only.
pub struct TlsPostgres {
    pub port: u16,
    dir: PathBuf,
}

impl TlsPostgres {
    pub fn start(certs: &Certs) -> TlsPostgres {
        let dir = temp_dir("pg-tls");
        let pg = TlsPostgres {
            port: free_port(),
            dir,
        };
        let data = pg.dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        // The key must belong to the server's user and be private to it.
        std::fs::copy(certs.dir.join("server.pem"), pg.dir.join("server.crt")).unwrap();
        std::fs::copy(certs.dir.join("server.key"), pg.dir.join("server.key")).unwrap();
        run(Command::new("chmod")
            .arg("600")
            .arg(pg.dir.join("server.key")));
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres"]).arg(&pg.dir));
        }
        pg.as_server(
            pg_bin("initdb"),
            &[
                "-D",
                &data.display().to_string(),
                "--auth=trust",
                "--no-sync",
                "-U",
                "postgres",
            ],
        );
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let opts = format!(
            "-p {} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on \
             -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key",
            pg.port,
            dir = pg.dir.display()
        );
        let log = pg.dir.join("pg.log").display().to_string();
        pg.as_server(
            pg_bin("pg_ctl"),
            &[
                "-D",
                &data.display().to_string(),
                "-o",
                &opts,
                "-w",
                "-t",
                "30",
                "-l",
                &log,
                "start",
            ],
        );
        pg
    }

    fn as_server(&self, bin: PathBuf, args: &[&str]) {
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        run(cmd.args(args));
    }

    /// A URL for the server under test; `query` such as `?sslmode=verify-full&...`.
    pub fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres{query}",
            self.port
        )
    }

    /// `psql -tA -c sql` over the Unix socket.
    pub fn query(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-h",
                &self.dir.display().to_string(),
                "-p",
                &self.port.to_string(),
            ])
            .args(["-U", "postgres", "-d", "postgres", "-tA", "-c", sql])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_bin("pg_ctl"));
            c
        } else {
            Command::new(pg_bin("pg_ctl"))
        };
        let _ = cmd
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
