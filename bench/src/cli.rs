//! Command line: the scenarios and the null server as clap subcommands, with the
//! options every scenario shares (`--url`, `--compare`, `--out`, …).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "synckairos-bench",
    version,
    about = "Load harness for SyncKairos (v2 HTTP + WebSocket API)"
)]
pub struct Cli {
    /// Tokio worker threads of the harness (default: number of CPUs).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Scheduling class of every harness thread. `batch`: a harness thread woken by the
    /// server's answer does not preempt the server, as a client on another machine
    /// would not (on loopback the waker pays for the wakee otherwise).
    #[arg(long, global = true, value_enum, default_value_t = Sched::Normal)]
    pub sched: Sched,
    #[command(subcommand)]
    pub cmd: Command,
}

/// `--sched`: the Linux scheduling policy of the harness.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sched {
    Normal,
    Batch,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Switch throughput/latency: closed loop (N connections flat out) or open loop (fixed rate).
    Switch(SwitchArgs),
    /// S sessions × W WebSocket watchers: latency from the switch to receipt at every watcher.
    Fanout(FanoutArgs),
    /// N idle WebSocket connections: server memory per connection, PING round trip under load.
    Idle(IdleArgs),
    /// Sessions that expire at known instants: lateness of TIME_EXPIRED seen by clients.
    Deadline(DeadlineArgs),
    /// Local 3-region cluster: relay latency, remote-homed switch cost, convergence after a partition.
    Regions(RegionsArgs),
    /// A trivial in-process v2 server (canned JSON, WS fan-out, deadlines), for development and for
    /// proving the harness's capacity.
    NullServer(NullServerArgs),
    /// Wait until GET <url><path> answers 200 (exit status 1 if not within --wait seconds).
    Probe {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "/health")]
        path: String,
        #[arg(long, default_value_t = 10.0)]
        wait: f64,
    },
    /// Regenerate summary.md from the JSON files of a results folder.
    Report {
        /// Results folder.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Options every scenario shares.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Base URL of the server under test.
    #[arg(long, default_value = "http://127.0.0.1:3100")]
    pub url: String,
    /// Second server, run interleaved in the same run; reports both and the ratio compare/base.
    #[arg(long)]
    pub compare: Option<String>,
    /// Length of one interleaving slice with --compare (ms).
    #[arg(long, default_value_t = 1000)]
    pub slice_ms: u64,
    /// Results folder (default: bench/results/<YYYY-MM-DD>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Name of the result files (default: the scenario name).
    #[arg(long)]
    pub name: Option<String>,
    /// Request timeout (ms).
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
    /// Leave the sessions the run created in place (default: delete them).
    #[arg(long)]
    pub keep_sessions: bool,
    /// PID of the base server (CPU / memory from /proc).
    #[arg(long)]
    pub pid: Option<u32>,
    /// PID of the compare server.
    #[arg(long)]
    pub compare_pid: Option<u32>,
    /// PID of the base server's Redis (`switch`: its CPU per switch and share of a core).
    #[arg(long)]
    pub store_pid: Option<u32>,
    /// PID of the compare server's Redis.
    #[arg(long)]
    pub compare_store_pid: Option<u32>,
    /// Bearer token for every HTTP request to the base server (auth on).
    #[arg(long)]
    pub token: Option<String>,
    /// Bearer token for every HTTP request to the compare server (auth on).
    #[arg(long)]
    pub compare_token: Option<String>,
}

impl Common {
    pub fn out_dir(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from("bench/results").join(crate::clock::today()))
    }

    /// The PID for target `i` (0 = base, 1 = compare).
    pub fn pid_of(&self, i: usize) -> Option<u32> {
        if i == 0 {
            self.pid
        } else {
            self.compare_pid
        }
    }

    /// The PID of target `i`'s Redis, if given.
    pub fn store_pid_of(&self, i: usize) -> Option<u32> {
        if i == 0 {
            self.store_pid
        } else {
            self.compare_store_pid
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopMode {
    /// N connections, each sends its next request when the previous one completes.
    Closed,
    /// A fixed request rate; latency counts from the intended send instant.
    Open,
}

#[derive(Args, Debug, Clone)]
pub struct SwitchArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, value_enum, default_value = "closed")]
    pub mode: LoopMode,
    /// Connections (per target).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measured seconds (per target's share when interleaved: the run lasts this long in total).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Unmeasured seconds before the measurement.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Open loop: requests per second (in total).
    #[arg(long, default_value_t = 2000.0)]
    pub rate: f64,
    /// Open loop: take the rate from a closed-loop result instead (its base throughput × --rate-fraction).
    #[arg(long)]
    pub rate_of: Option<PathBuf>,
    #[arg(long, default_value_t = 0.5)]
    pub rate_fraction: f64,
    /// Open loop: pacing threads (each a pacer and its share of the connections).
    #[arg(long, default_value_t = 2)]
    pub open_threads: usize,
    /// Sessions to rotate through (per target); a multiple of --connections avoids collisions.
    #[arg(long, default_value_t = 1024)]
    pub sessions: usize,
}

#[derive(Args, Debug, Clone)]
pub struct FanoutArgs {
    #[command(flatten)]
    pub common: Common,
    /// Sessions (per target).
    #[arg(long, default_value_t = 10)]
    pub sessions: usize,
    /// WebSocket watchers per session.
    #[arg(long, default_value_t = 50)]
    pub watchers: usize,
    /// Instance URLs the watchers connect to, round-robin (repeatable; default: --url).
    #[arg(long = "ws-url")]
    pub ws_urls: Vec<String>,
    /// Instance URLs for the compare target's watchers (default: --compare).
    #[arg(long = "compare-ws-url")]
    pub compare_ws_urls: Vec<String>,
    /// Pause between two switches of one session (ms).
    #[arg(long, default_value_t = 100)]
    pub interval_ms: u64,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Processes serving the watchers (repeatable; without --compare): their CPU per
    /// delivered message is reported, as is the harness's own.
    #[arg(long = "server-pid")]
    pub server_pids: Vec<u32>,
    /// Run the watchers on threads of their own at the idle scheduling class
    /// (`SCHED_IDLE`): they stand for devices on other machines, so they read when the
    /// servers leave a core free instead of taking it from them. The kernel receipt is
    /// stamped inside the server's send either way; the harness's read comes later.
    #[arg(long)]
    pub watchers_idle: bool,
}

#[derive(Args, Debug, Clone)]
pub struct IdleArgs {
    #[command(flatten)]
    pub common: Common,
    /// Idle WebSocket connections to open (per target).
    #[arg(long, default_value_t = 5000)]
    pub connections: usize,
    /// Connections per session (sessions = connections / this).
    #[arg(long, default_value_t = 10)]
    pub per_session: usize,
    /// Seconds to hold the connections open before measuring (lets pings run).
    #[arg(long, default_value_t = 6.0)]
    pub hold: f64,
    /// Connections that measure PING→PONG round trips while the others idle.
    #[arg(long, default_value_t = 50)]
    pub ping_sample: usize,
    /// Handshakes in flight at once while opening.
    #[arg(long, default_value_t = 128)]
    pub parallel: usize,
}

#[derive(Args, Debug, Clone)]
pub struct DeadlineArgs {
    #[command(flatten)]
    pub common: Common,
    /// Sessions (in total; split between targets when comparing).
    #[arg(long, default_value_t = 200)]
    pub sessions: usize,
    /// Shortest participant budget (ms; the API minimum is 1000).
    #[arg(long, default_value_t = 1000)]
    pub min_ms: u64,
    /// Longest participant budget (ms); budgets are staggered evenly in between.
    #[arg(long, default_value_t = 3000)]
    pub max_ms: u64,
    /// `action_on_timeout` sent on create.
    #[arg(long, default_value = "continue")]
    pub action: String,
    /// Seconds to wait past the last deadline for stragglers.
    #[arg(long, default_value_t = 5.0)]
    pub grace: f64,
    /// More running sessions (24 h budgets, so each has an indexed deadline) on the
    /// first target: the population the deadlines fall among (issue 15: 49,000 + 1,000).
    #[arg(long, default_value_t = 0)]
    pub background: usize,
    /// Switches per second over the background sessions (open loop) while the
    /// deadlines fall; 0 = none.
    #[arg(long, default_value_t = 0.0)]
    pub switch_rate: f64,
    /// Connections carrying the background switches.
    #[arg(long, default_value_t = 64)]
    pub switch_connections: usize,
}

#[derive(Args, Debug, Clone)]
pub struct RegionsArgs {
    /// State dir of the cluster `synckairos-cluster up` (`scripts/dev-regions.sh up`)
    /// started: its `regions.json` is read, and partition / heal go through it.
    #[arg(long, default_value = "target/dev-regions")]
    pub state: PathBuf,
    /// Home region of the sessions.
    #[arg(long, default_value = "iad")]
    pub home: String,
    /// The remote region (watchers, forwarded switches, partition).
    #[arg(long, default_value = "lhr")]
    pub remote: String,
    /// Switches measured per figure.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Sessions written during the partition.
    #[arg(long, default_value_t = 20)]
    pub partition_writes: usize,
    /// Give up waiting for convergence after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    pub converge_timeout: f64,
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
}

#[derive(Args, Debug, Clone)]
pub struct NullServerArgs {
    #[arg(long, default_value_t = 3199)]
    pub port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Canned responses from a hand-written HTTP/1.1 loop (no state, no WebSocket): the
    /// cheapest endpoint possible, for measuring the harness's own capacity.
    #[arg(long)]
    pub raw: bool,
}
