//! The `quorum` binary: parses the command line and calls the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use quorum::auth::{Role, TokenKeys};
use quorum::config::{Config, ServeConfig};
use quorum::graphql::SchemaLimits;
use quorum::registry::seed;

#[derive(Parser)]
#[command(
    name = "quorum",
    version,
    about = "Quorum: estate self-governance over GraphQL"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(flatten)]
    serve: ServeConfig,
    /// Log lines as text or as JSON objects (one per line).
    #[arg(long, value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve GraphQL, the playground, health and metrics (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write the demo register into an empty database.
    Seed {
        /// The Qingdao demo (required: the only seed there is).
        #[arg(long)]
        demo: bool,
    },
    /// Print a token for local use.
    Token {
        /// OWNER, COMMITTEE_MEMBER, PROPERTY_MANAGER, COMMUNITY_STAFF, SUBDISTRICT_OFFICER,
        /// CITY_ADMIN or ANALYST.
        #[arg(long)]
        role: String,
        /// Owner id (OWNER, COMMITTEE_MEMBER) or staff id (other roles).
        #[arg(long)]
        subject: i64,
        /// Hours until the token expires.
        #[arg(long, default_value_t = 24)]
        ttl_hours: i64,
    },
    /// Print the GraphQL schema (SDL) the server serves.
    ExportSchema,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if cli.log_format == LogFormat::Json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("quorum: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = cli.config;
    match cli.command {
        Some(Command::ExportSchema) => {
            print!("{}", quorum::graphql::sdl());
            Ok(())
        }
        Some(Command::Migrate) => {
            let url = config.database().map_err(|e| e.to_string())?;
            let n = quorum::db::run_migrations(&url)
                .await
                .map_err(|e| e.to_string())?;
            println!("applied {n} migration(s)");
            Ok(())
        }
        Some(Command::Token {
            role,
            subject,
            ttl_hours,
        }) => {
            let role = Role::parse(&role).ok_or_else(|| {
                format!(
                    "unknown role {role:?}; one of {}",
                    Role::ALL.map(Role::as_str).join(", ")
                )
            })?;
            if ttl_hours <= 0 {
                return Err("--ttl-hours must be positive".into());
            }
            let state = quorum::prepare(&config, &SchemaLimits::default())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{}",
                state
                    .keys
                    .issue(role, subject, chrono::Duration::hours(ttl_hours))
            );
            Ok(())
        }
        Some(Command::Seed { demo }) => {
            if !demo {
                return Err("say `quorum seed --demo`: the demo is the only seed".into());
            }
            let state = quorum::prepare(&config, &SchemaLimits::default())
                .await
                .map_err(|e| e.to_string())?;
            seed::seed_demo(&state.db, &state.pii_key)
                .await
                .map_err(|e| e.message())?;
            println!("demo register written");
            Ok(())
        }
        Some(Command::Serve) | None => serve_until_signal(config, cli.serve).await,
    }
}

async fn serve_until_signal(config: Config, serve: ServeConfig) -> Result<(), String> {
    let state = quorum::prepare(&config, &serve.limits())
        .await
        .map_err(|e| e.to_string())?;
    if config.is_embedded_default() && seed::is_empty(&state.db).await.map_err(|e| e.message())? {
        tracing::info!("empty embedded database: writing the demo register");
        seed::seed_demo(&state.db, &state.pii_key)
            .await
            .map_err(|e| e.message())?;
    }
    let listener = tokio::net::TcpListener::bind(serve.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", serve.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    print_banner(&state.keys, &state.db, addr).await;
    quorum::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Prints the playground URL and ready tokens for the demo's people.
async fn print_banner(keys: &TokenKeys, db: &quorum::db::Db, addr: std::net::SocketAddr) {
    println!("Quorum is serving on http://{addr}");
    println!("  playground: http://{addr}/playground");
    println!("  GraphQL:    http://{addr}/graphql   (WebSocket: ws://{addr}/graphql/ws)");
    if let Ok(Some(ids)) = seed::demo_identities(db).await {
        let day = chrono::Duration::hours(24);
        println!("Demo tokens (valid 24 h; paste one into the playground's token box):");
        for (label, role, subject) in [
            ("owner (逸景公馆)", Role::Owner, ids.owner),
            (
                "committee member (逸景公馆 chair)",
                Role::CommitteeMember,
                ids.committee_member,
            ),
            (
                "property manager",
                Role::PropertyManager,
                ids.property_manager,
            ),
            (
                "subdistrict officer (浮山路街道)",
                Role::SubdistrictOfficer,
                ids.subdistrict_officer,
            ),
            ("analyst", Role::Analyst, ids.analyst),
            ("city admin", Role::CityAdmin, ids.city_admin),
        ] {
            println!("  {label}:\n    {}", keys.issue(role, subject, day));
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
