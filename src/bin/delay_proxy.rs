//! `synckairos-delay-proxy`: a small delaying TCP proxy that stands in for a WAN link
//! between local regions (this machine's kernel has no netem, so `tc` cannot do it).
//!
//! ```text
//! synckairos-delay-proxy --listen 127.0.0.1:0 --to 127.0.0.1:4001 --to 127.0.0.1:4002 --delay-ms 40
//! ```
//!
//! - Prints the bound address on stdout (one line) once it accepts connections.
//! - Each accepted connection goes to the next `--to` target (round robin); targets
//!   that refuse are skipped; when all refuse, the client's connection is closed.
//! - Both directions are delayed by `--delay-ms` one way: every chunk is timestamped
//!   when read and written at read time + delay, in order, without a throughput cap.
//!   Delays use a precise timer thread (tokio's timer wheel rounds up to whole
//!   milliseconds), so the proxy adds well under 1 ms of its own.
//! - `SIGUSR1` partitions: every connection stops forwarding both ways and new
//!   connections are accepted but never forwarded (like dropped packets).
//!   `SIGUSR2` heals: the blackholed connections are closed, so clients reconnect, and
//!   forwarding resumes. `SIGTERM` / `SIGINT` exit.
//!
//! Modules: `gate` (partition state), `timer` (precise sleeps), `link` (accepting and
//! forwarding). Used by `scripts/dev-regions.sh`; not part of the server.

#[path = "delay_proxy/gate.rs"]
mod gate;
#[path = "delay_proxy/link.rs"]
mod link;
#[cfg(test)]
#[path = "delay_proxy/tests.rs"]
mod tests;
#[path = "delay_proxy/timer.rs"]
mod timer;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use gate::Gate;
use link::Targets;
use timer::Timer;

#[derive(Parser, Debug)]
#[command(
    name = "synckairos-delay-proxy",
    about = "A delaying TCP proxy emulating a WAN link (SIGUSR1 partitions, SIGUSR2 heals)"
)]
struct Args {
    /// Address to listen on (`127.0.0.1:0` picks a free port; it is printed).
    #[arg(long)]
    listen: SocketAddr,
    /// `HOST:PORT` to forward to; repeat for round robin.
    #[arg(long = "to", required = true, value_name = "HOST:PORT")]
    to: Vec<String>,
    /// One-way delay applied to each direction, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // One thread is plenty for a development link and keeps wake-ups cheap.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    // Handlers first: a SIGUSR1 arriving right after the address is printed must not
    // take the default action (terminate).
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let delay = Duration::from_millis(args.delay_ms);
    let gate = Gate::new();
    let targets = Arc::new(Targets::new(args.to.clone()));
    tokio::spawn(link::serve(
        listener,
        targets,
        delay,
        gate.clone(),
        Timer::start(),
    ));

    let mut out = std::io::stdout().lock();
    writeln!(out, "{addr}")?;
    out.flush()?;
    drop(out);
    eprintln!(
        "delay-proxy {addr} -> {} delay {} ms",
        args.to.join(","),
        args.delay_ms
    );

    loop {
        tokio::select! {
            _ = usr1.recv() => {
                if gate.partition() {
                    eprintln!("delay-proxy {addr}: partitioned");
                }
            }
            _ = usr2.recv() => {
                if gate.heal() {
                    eprintln!("delay-proxy {addr}: healed");
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    eprintln!("delay-proxy {addr}: exiting");
    Ok(())
}
