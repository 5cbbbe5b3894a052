//! Support of the `audit::*` tests: a Redis + PostgreSQL pair with instances of the
//! real binary, scripted session runs that tally every commit they cause (one event
//! per commit, in commit order), and the exactly-once checks of `sync_events` against
//! that tally. Databases are created per test; it never drops anyone else's.

mod checks;

pub use checks::*;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use crate::support::http::Client;
use crate::support::procs::{Instance, Postgres, Redis};
use crate::support::server::{session_body, uuid};

/// Budgets large enough that no deadline or warning ever fires during a test.
pub const LONG: u64 = 600_000;

/// The cluster shared by the tests of one binary that run at the same time (initdb is
/// the slowest part of a test); the last one to finish stops it.
static SHARED: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());

/// A database of its own for one test: in the shared cluster, or in a private one
/// for tests that stop PostgreSQL.
pub struct Db {
    pub cluster: Arc<Postgres>,
    pub name: String,
}

impl Db {
    pub fn shared() -> Db {
        let cluster = {
            let mut g = SHARED.lock().unwrap_or_else(|e| e.into_inner());
            match g.upgrade() {
                Some(p) => p,
                None => {
                    let p = Arc::new(Postgres::start());
                    *g = Arc::downgrade(&p);
                    p
                }
            }
        };
        let name = format!("t_{}", uuid().replace('-', "_"));
        let out = cluster.query(&format!("CREATE DATABASE {name}"));
        assert_eq!(out, "CREATE DATABASE", "creating database {name}");
        Db { cluster, name }
    }

    pub fn private() -> Db {
        Db {
            cluster: Arc::new(Postgres::start()),
            name: "postgres".into(),
        }
    }

    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            self.cluster.port, self.name
        )
    }

    /// `psql -tA -c sql` in this database: unaligned tuples, one row per line.
    pub fn query(&self, sql: &str) -> String {
        let port = self.cluster.port.to_string();
        let out = std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d"])
            .args([self.name.as_str(), "-tA", "-c", sql])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn stop(&self) {
        self.cluster.stop();
    }

    pub fn start_again(&self) {
        self.cluster.start_again();
    }
}

/// A Redis and a PostgreSQL database for one test.
pub struct Stack {
    pub redis: Redis,
    pub pg: Db,
}

impl Stack {
    /// A fresh Redis and a fresh database in the shared cluster.
    pub fn start() -> Stack {
        Stack {
            redis: Redis::start(),
            pg: Db::shared(),
        }
    }

    /// With a cluster of its own, for tests that stop PostgreSQL.
    pub fn start_private() -> Stack {
        Stack {
            redis: Redis::start(),
            pg: Db::private(),
        }
    }

    /// The environment of an instance on this stack: audit on, limits off.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("REDIS_URL", self.redis.url()),
            ("DATABASE_URL", self.pg.url()),
            ("SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE", "0".into()),
            ("SYNCKAIROS_QUOTAS__CREATES_PER_MINUTE", "0".into()),
            ("SYNCKAIROS_QUOTAS__LIVE_SESSIONS", "0".into()),
            ("SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND", "0".into()),
            ("SYNCKAIROS_AUDIT__BATCH_WAIT_MS", "50".into()),
        ]
    }

    /// Starts the real binary on this stack; `extra` overrides or adds variables.
    pub fn instance(&self, extra: &[(&'static str, String)]) -> Instance {
        let mut env = self.env();
        for (k, v) in extra {
            env.retain(|(name, _)| name != k);
            env.push((k, v.clone()));
        }
        Instance::start(&env)
    }

    /// `XLEN ob`: records not yet written and acknowledged.
    pub fn xlen(&self) -> u64 {
        let out = self.redis.cli(&["XLEN", "ob"]);
        out.parse()
            .unwrap_or_else(|_| panic!("XLEN ob answered {out:?}"))
    }

    /// Records delivered to a consumer of group `audit` and not acknowledged yet.
    pub fn pending(&self) -> u64 {
        let out = self.redis.cli(&["XPENDING", "ob", "audit"]);
        out.lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn events(&self) -> u64 {
        events_in(&self.pg)
    }

    /// Waits until the outbox is empty and PostgreSQL holds `expected` events.
    pub async fn drained(&self, expected: u64, limit: Duration) -> bool {
        eventually(limit, || self.xlen() == 0 && self.events() == expected).await
    }
}

/// `count(*)` of `sync_events` (0 while the table does not exist yet).
pub fn events_in(pg: &Db) -> u64 {
    pg.query("SELECT count(*) FROM sync_events")
        .parse()
        .unwrap_or(0)
}

pub fn client(i: &Instance) -> Client {
    Client::new(SocketAddr::from(([127, 0, 0, 1], i.port)))
}

/// Polls `cond` every 50 ms until it holds or `limit` passes.
pub async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if tokio::time::Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every event the test caused, per session in commit order.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub by_session: BTreeMap<String, Vec<String>>,
}

impl Tally {
    pub fn add(&mut self, session: &str, kind: &str) {
        self.by_session
            .entry(session.to_owned())
            .or_default()
            .push(kind.to_owned());
    }

    pub fn total(&self) -> u64 {
        self.by_session.values().map(|v| v.len() as u64).sum()
    }

    pub fn by_type(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for k in self.by_session.values().flatten() {
            *m.entry(k.clone()).or_insert(0) += 1;
        }
        m
    }
}

pub type SharedTally = Arc<Mutex<Tally>>;

fn note(t: &SharedTally, session: &str, kind: &str) {
    t.lock().unwrap().add(session, kind);
}

/// `POST /v1/sessions/<id>/<op>` expecting 200, tallied as `kind`.
pub async fn op(c: &Client, t: &SharedTally, id: &str, op: &str, kind: &str) -> Value {
    let r = c
        .post_empty(&format!("/v1/sessions/{id}/{op}"))
        .await
        .expect(200);
    note(t, id, kind);
    r.data()
}

/// Creates a session with `budgets` (ms per participant); returns its id.
pub async fn create(c: &Client, t: &SharedTally, budgets: &[u64]) -> String {
    create_body(c, t, &session_body(&uuid(), budgets)).await
}

pub async fn create_body(c: &Client, t: &SharedTally, body: &Value) -> String {
    let id = body["session_id"].as_str().expect("session_id").to_owned();
    c.post_json("/v1/sessions", body).await.expect(201);
    note(t, &id, "session_created");
    id
}

/// Deletes an existing session (which records `session_deleted`).
pub async fn delete(c: &Client, t: &SharedTally, id: &str) {
    c.delete(&format!("/v1/sessions/{id}")).await.expect(204);
    note(t, id, "session_deleted");
}

/// One scripted session: create (3 long budgets), start, `switches` switches, pause,
/// resume, switch, complete, then a delete when `del`. Every request must succeed.
pub async fn script(c: &Client, t: &SharedTally, switches: usize, del: bool) -> String {
    let id = create(c, t, &[LONG, LONG, LONG]).await;
    op(c, t, &id, "start", "session_started").await;
    for _ in 0..switches {
        op(c, t, &id, "switch", "cycle_switched").await;
    }
    op(c, t, &id, "pause", "session_paused").await;
    op(c, t, &id, "resume", "session_resumed").await;
    op(c, t, &id, "switch", "cycle_switched").await;
    op(c, t, &id, "complete", "session_completed").await;
    if del {
        delete(c, t, &id).await;
    }
    id
}

/// `workers` tasks running scripts (every third one deleted) through `c` until `stop`
/// is set; each finishes the script it is in, so nothing is left half-answered.
pub fn load(c: &Client, t: &SharedTally, workers: usize, stop: &Arc<AtomicBool>) -> Load {
    let tasks = (0..workers)
        .map(|w| {
            let (c, t, stop) = (c.clone(), t.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    script(&c, &t, 2 + (w + n) % 4, n % 3 == 0).await;
                    n += 1;
                }
            })
        })
        .collect();
    Load {
        stop: stop.clone(),
        tasks,
    }
}

pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Load {
    /// Stops the workers and waits until each has finished its script.
    pub async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.expect("load worker panicked");
        }
    }
}
