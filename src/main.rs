//! The `synckairos` command: with no arguments it serves. CLI only; the server itself
//! is `synckairos::app`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use synckairos::config::Config;

/// mimalloc instead of glibc malloc: the request path allocates and frees many small
/// buffers on two threads, and glibc spent a fifth of the server's CPU on it (`perf`,
/// README "At the limit").
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Operate the regions (issue 11): status, drain, re-home a session.
    #[command(subcommand)]
    Region(RegionCommand),
}

#[derive(Subcommand)]
enum RegionCommand {
    /// Each region's view: lease, grants, relay links, sessions per home, takeovers
    /// (one `--url` per region gives the whole matrix).
    Status(OperatorArgs),
    /// Drain `region` for maintenance: its new sessions are homed at its successor and
    /// every session homed in it moves there; `--undo` returns it to service.
    Drain {
        region: String,
        #[arg(long)]
        undo: bool,
        #[command(flatten)]
        op: OperatorArgs,
    },
    /// Move one session's home to `region`.
    Rehome {
        session: String,
        region: String,
        #[command(flatten)]
        op: OperatorArgs,
    },
}

#[derive(clap::Args)]
struct OperatorArgs {
    /// Public base URL of an instance (repeat for `status`).
    #[arg(long, required = true)]
    url: Vec<String>,
    /// An operator's service token (no tenant, no session); also `SYNCKAIROS_TOKEN`.
    #[arg(long)]
    token: Option<String>,
}

/// One operator request; prints the answer's JSON and fails on a non-2xx status.
async fn operator_call(
    method: hyper::Method,
    url: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> anyhow::Result<serde_json::Value> {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let resp = client
        .request(req.body(Full::new(bytes::Bytes::from(body)))?)
        .await
        .with_context(|| format!("requesting {url}"))?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await?.to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        anyhow::bail!("{url}: {status} {json}");
    }
    Ok(json)
}

impl OperatorArgs {
    fn token(&self) -> Option<String> {
        self.token
            .clone()
            .or_else(|| std::env::var("SYNCKAIROS_TOKEN").ok())
    }
}

fn region_command(cmd: RegionCommand) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let base = |u: &str| u.trim_end_matches('/').to_owned();
        match cmd {
            RegionCommand::Status(op) => {
                for u in &op.url {
                    let url = format!("{}/v1/regions/status", base(u));
                    let j =
                        operator_call(hyper::Method::GET, &url, op.token().as_deref(), None).await;
                    match j {
                        Ok(j) => println!("{}", serde_json::to_string_pretty(&j["data"])?),
                        Err(e) => println!("{{\"url\": {:?}, \"error\": {:?}}}", u, e.to_string()),
                    }
                }
            }
            RegionCommand::Drain { region, undo, op } => {
                let url = format!("{}/v1/regions/{region}/drain", base(&op.url[0]));
                let body = serde_json::json!({ "undo": undo });
                let j = operator_call(hyper::Method::POST, &url, op.token().as_deref(), Some(body))
                    .await?;
                println!("{}", serde_json::to_string_pretty(&j["data"])?);
            }
            RegionCommand::Rehome {
                session,
                region,
                op,
            } => {
                let url = format!("{}/v1/sessions/{session}/rehome", base(&op.url[0]));
                let body = serde_json::json!({ "region": region });
                let j = operator_call(hyper::Method::POST, &url, op.token().as_deref(), Some(body))
                    .await?;
                println!("{}", serde_json::to_string_pretty(&j["data"])?);
            }
        }
        anyhow::Ok(())
    })
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
        Command::Region(cmd) => region_command(cmd),
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
            let mut rt = tokio::runtime::Builder::new_multi_thread();
            if cfg.server.worker_threads > 0 {
                rt.worker_threads(cfg.server.worker_threads);
            }
            let rt = rt
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
