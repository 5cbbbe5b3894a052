//! The `synckairos` command: with no arguments it serves. CLI only; the server itself
//! is `synckairos::app`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use synckairos::config::Config;

#[derive(Parser)]
#[command(
    name = "synckairos",
    version,
    about = "Synchronized timers for many regions"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP and WebSocket (the default).
    Serve,
    /// Print the effective configuration (after files and environment, secrets
    /// masked) and exit.
    Config,
    /// Apply the audit schema migrations to `DATABASE_URL` and exit.
    Migrate,
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if cfg.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Bad configuration stops the process before anything binds.
    let cfg = match Config::load() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("synckairos: {e}");
            std::process::exit(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let url = cfg
                .audit
                .database_url
                .clone()
                .context("DATABASE_URL (or audit.database_url) is not set")?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let pool = synckairos::audit::pg::pool(&url, 1)?;
                synckairos::audit::pg::migrate(&pool).await?;
                println!("migrations applied");
                anyhow::Ok(())
            })
        }
        Command::Config => {
            println!("{}", serde_json::to_string_pretty(&cfg.redacted())?);
            Ok(())
        }
        Command::Serve => {
            init_logging(&cfg);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the tokio runtime")?;
            rt.block_on(async move {
                let server = synckairos::app::start(cfg).await?;
                tracing::info!(addr = %server.addr(), "listening");
                shutdown_signal().await;
                server.shutdown().await;
                anyhow::Ok(())
            })
        }
    }
}
