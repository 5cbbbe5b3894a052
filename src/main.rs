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
    /// Issue a signed token (JWT) with one of the configured `[auth.keys]` and print it.
    Token(TokenArgs),
}

#[derive(clap::Args)]
struct TokenArgs {
    /// `service`, `participant` or `watcher`.
    #[arg(long)]
    role: String,
    /// Who the token is for (the audit trail records it).
    #[arg(long)]
    sub: String,
    /// Limit the token to one tenant's sessions.
    #[arg(long)]
    tenant: Option<String>,
    /// Limit the token to one session (required for participants).
    #[arg(long)]
    session: Option<String>,
    /// The participant a participant token plays.
    #[arg(long)]
    participant: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    ttl: u64,
    /// Key id to sign with (default: `auth.signing_kid`, or the only key).
    #[arg(long)]
    kid: Option<String>,
    /// Private key (PEM) for public-key algorithms (RS*/PS*/ES*/EdDSA).
    #[arg(long)]
    private_key_file: Option<std::path::PathBuf>,
}

/// Signs the token `args` describe (its claims are checked as the server would).
fn issue_token(cfg: &Config, args: &TokenArgs) -> anyhow::Result<String> {
    use synckairos::auth::claims::Claims;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let claims = Claims {
        sub: args.sub.clone(),
        role: args.role.clone(),
        tenant: args.tenant.clone(),
        sid: args.session.clone(),
        pid: args.participant.clone(),
        exp: now + args.ttl,
        iat: Some(now),
        nbf: None,
        iss: cfg.auth.issuer.clone(),
        aud: cfg.auth.audience.clone(),
    };
    claims.actor()?;
    let pem = match &args.private_key_file {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?),
        None => None,
    };
    Ok(synckairos::auth::issue::sign(
        &cfg.auth,
        args.kid.as_deref(),
        pem.as_deref(),
        &claims,
    )?)
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
        Command::Token(args) => {
            println!("{}", issue_token(&cfg, &args)?);
            Ok(())
        }
        Command::Config => {
            println!("{}", serde_json::to_string_pretty(&cfg.redacted())?);
            Ok(())
        }
        Command::Serve => {
            init_logging(&cfg);
            // Bad keys stop the process before it binds, like any bad setting.
            synckairos::auth::Auth::new(&cfg.auth).context("auth configuration")?;
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
