//! `synckairos-cluster`: the local three-region cluster from the command line (what
//! `scripts/dev-regions.sh` runs). Parses arguments and prints; the work is in the
//! library's `dev` module.
//!
//! ```text
//! synckairos-cluster up [--instances 2] [--bin-dir DIR] [--relay dev|tests] [--env K=V]...
//! synckairos-cluster status                  # exit 0 all running, 1 some dead, 3 not up
//! synckairos-cluster partition lhr           # every link to and from lhr
//! synckairos-cluster partition --from iad --to lhr   # connections iad opens to lhr only
//! synckairos-cluster heal lhr | --from iad --to lhr | --all
//! synckairos-cluster down
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use synckairos_cluster::dev::{self, Cut, Dev, Up};
use synckairos_cluster::{Bins, Relay};

#[derive(Parser)]
#[command(
    name = "synckairos-cluster",
    about = "The local three-region SyncKairos cluster (iad, lhr, nrt) on loopback"
)]
struct Cli {
    /// State dir: regions.json, pids, logs/, generated configuration.
    #[arg(long, global = true, default_value = "target/dev-regions")]
    state: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start everything, wait for every /health and relay link, write regions.json.
    Up {
        /// `synckairos` instances per region.
        #[arg(long, default_value_t = 2)]
        instances: usize,
        /// Where `synckairos` and `synckairos-delay-proxy` are (default: next to
        /// this binary).
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Relay timings: `dev` (heartbeat 500 ms, link timeout 2 s) or `tests` (200 ms / 800 ms).
        #[arg(long, default_value = "dev")]
        relay: String,
        /// An extra variable for every instance (repeatable).
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
    },
    /// Processes, health, cut links.
    Status,
    /// Cut a region's links, or one direction of one link.
    Partition(Target),
    /// Restore them.
    Heal(Target),
    /// Stop everything `up` started.
    Down,
}

#[derive(Args)]
struct Target {
    /// A region: every link to and from it.
    region: Option<String>,
    /// With --to: only the connections this region opens to the other.
    #[arg(long, requires = "to", conflicts_with = "region")]
    from: Option<String>,
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// `heal` only: every partition and cut.
    #[arg(long, conflicts_with_all = ["region", "from"])]
    all: bool,
}

impl Target {
    fn cut(&self) -> anyhow::Result<Cut> {
        match (&self.region, &self.from, &self.to, self.all) {
            (Some(r), None, None, false) => Ok(Cut::Region(dev::region(r)?)),
            (None, Some(f), Some(t), false) if f != t => {
                Ok(Cut::Link(dev::region(f)?, dev::region(t)?))
            }
            (None, None, None, true) => Ok(Cut::All),
            _ => bail!("give a REGION, or --from X --to Y (two different regions)"),
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let d = Dev::new(&cli.state);
    match cli.command {
        Command::Up {
            instances,
            bin_dir,
            relay,
            env,
        } => {
            let dir = match bin_dir {
                Some(d) => d,
                None => std::env::current_exe()?
                    .parent()
                    .context("the binary's directory")?
                    .to_owned(),
            };
            let relay = match relay.as_str() {
                "dev" => Relay::DEV,
                "tests" => Relay::TESTS,
                other => bail!("--relay {other}: dev or tests"),
            };
            let env = env
                .iter()
                .map(|kv| {
                    let (k, v) = kv.split_once('=').context("--env takes KEY=VALUE")?;
                    Ok((k.to_owned(), v.to_owned()))
                })
                .collect::<anyhow::Result<_>>()?;
            let bins = Bins::in_dir(&dir);
            for b in [&bins.server, &bins.proxy] {
                if !b.exists() {
                    bail!("{} is missing (cargo build -p synckairos)", b.display());
                }
            }
            let file = d.up(Up {
                bins,
                instances,
                relay,
                env,
            })?;
            d.say(&format!("up: {}", d.state.join("regions.json").display()));
            for (name, r) in &file.regions {
                println!("  {name}  {}  {}", r.instances.join("  "), r.redis);
            }
            println!(
                "  logs: {}/   stop: scripts/dev-regions.sh down",
                d.state.join("logs").display()
            );
        }
        Command::Status => {
            return Ok(match d.status() {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    println!("synckairos-cluster: {e}");
                    ExitCode::from(3)
                }
            })
        }
        Command::Partition(t) => report(&d, d.set(&t.cut()?, true)?),
        Command::Heal(t) => report(&d, d.set(&t.cut()?, false)?),
        Command::Down => {
            if d.records().is_empty() {
                println!("synckairos-cluster: nothing running");
            }
            for k in d.down()? {
                eprintln!("synckairos-cluster: {k} ignored SIGTERM; killed");
            }
            d.say(&format!(
                "down (logs kept in {}/)",
                d.state.join("logs").display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report(d: &Dev, changed: Vec<(String, &'static str)>) {
    for (link, what) in &changed {
        println!("  {link}: {what}");
    }
    d.say(&format!("{} link(s) changed", changed.len()));
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("synckairos-cluster: {e:#}");
            ExitCode::from(1)
        }
    }
}
