//! `synckairos-bench`: a reproducible load harness for any server speaking the
//! SyncKairos v2 API. This file is the CLI entry only: it builds the runtime
//! and dispatches to a scenario (or the null server).
//!
//! Module map: `cli` (flags) · `target` (base URLs) · `http` (lean HTTP/1.1
//! client) · `ws` (WebSocket client) · `api` (v2 REST calls, session setup) ·
//! `stats` (HDR histograms, errors) · `interleave` (`--compare` slices) ·
//! `pacer` (timerfd sleeps) · `clock` (µs clock, ISO dates) · `ids` (UUIDs) · `sysinfo` (/proc, /metrics) ·
//! `progress` (bars) · `report` (JSON, table, summary.md, plots) ·
//! `scenario::*` (switch, fanout, idle, deadline, regions) · `nullserver`.

mod api;
mod cli;
mod clock;
mod http;
mod ids;
mod interleave;
mod nullserver;
mod pacer;
mod progress;
mod report;
mod scenario;
mod stats;
mod sysinfo;
mod target;
mod ws;
mod ws_stamped;

use clap::Parser;
use cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    clock::now_us(); // pin the clock base before anything is measured
    if cli.sched == cli::Sched::Batch {
        // Set before the runtime starts: its threads inherit the policy.
        sysinfo::set_sched(libc::SCHED_BATCH).map_err(|e| anyhow::anyhow!("SCHED_BATCH: {e}"))?;
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build()?;
    rt.block_on(async move {
        match cli.cmd {
            Command::Switch(a) => scenario::switch::run(a).await,
            Command::Fanout(a) => scenario::fanout::run(a).await,
            Command::Idle(a) => scenario::idle::run(a).await,
            Command::Deadline(a) => scenario::deadline::run(a).await,
            Command::Regions(a) => scenario::regions::run(a).await,
            Command::NullServer(a) => nullserver::run(a).await,
            Command::Probe { url, path, wait } => {
                let t = target::Target::parse("probe", &url).await?;
                api::wait_path(&t, &path, std::time::Duration::from_secs_f64(wait)).await
            }
            Command::Report { out } => {
                report::write_summary(&out)?;
                println!("{}", out.join("summary.md").display());
                Ok(())
            }
        }
    })
}
