//! Quorum: a GraphQL platform on which the owners of residential estates govern their estate.
//!
//! The binary is thin (`main.rs`); everything lives here so that tests run the real server on
//! port 0 through [`serve`].

pub mod auth;
pub mod ballots;
pub mod chain;
pub mod config;
pub mod db;
pub mod disclosure;
pub mod error;
pub mod events;
pub mod finance;
pub mod graphql;
pub mod http;
pub mod registry;

use std::future::Future;
use std::sync::Arc;

use auth::TokenKeys;
use config::Config;
use db::Db;
use events::Bus;
use graphql::{QuorumSchema, SchemaLimits};

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub schema: QuorumSchema,
    pub db: Db,
    pub bus: Bus,
    pub keys: TokenKeys,
    /// Key of the keyed hashes of identity numbers and phones.
    pub pii_key: Arc<Vec<u8>>,
    pub metrics: Arc<http::Metrics>,
    /// Live ballot progress, one task per watched ballot.
    pub hub: ballots::hub::ProgressHub,
    /// The time ballots open and close by.
    pub clock: ballots::scheduler::Clock,
    /// Days after a quarter within which its statements are due.
    pub disclosure_due_days: i64,
    /// The limits requests are checked against.
    pub limits: SchemaLimits,
    /// The mutation rate limits.
    pub rate: Arc<http::MutationLimiter>,
    /// Open WebSocket connections and their subscriptions, for the caps and /metrics.
    pub connections: Arc<http::Connections>,
    /// Set to true when the server begins to shut down (WebSockets then close with 1001).
    pub shutdown: Arc<tokio::sync::watch::Sender<bool>>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot read or create the secret {path}: {source}")]
    Secret {
        path: String,
        source: std::io::Error,
    },
    #[error("seeding the demo failed: {0}")]
    Seed(String),
}

fn secret(from_config: Option<&str>, config: &Config, file: &str) -> Result<Vec<u8>, StartError> {
    let path = config.data_dir.join(file);
    auth::load_or_create_secret(from_config, &path).map_err(|source| StartError::Secret {
        path: path.display().to_string(),
        source,
    })
}

/// Connects to the database (applying migrations) and builds the application state.
pub async fn prepare(config: &Config, limits: &SchemaLimits) -> Result<AppState, StartError> {
    let url = config.database()?;
    let db = Db::connect(&url, config.pool_size, limits.request_timeout).await?;
    let jwt = secret(config.jwt_secret.as_deref(), config, "jwt.secret")?;
    let pii = secret(config.pii_key.as_deref(), config, "pii.key")?;
    let bus = match &url {
        db::DatabaseUrl::Postgres(url) => Bus::across_instances(url),
        db::DatabaseUrl::Sqlite(_) => Bus::new(),
    };
    Ok(AppState {
        schema: graphql::build_schema(limits),
        hub: ballots::hub::ProgressHub::new(db.clone(), bus.clone()),
        clock: ballots::scheduler::Clock::default(),
        disclosure_due_days: config.disclosure_due_days,
        limits: limits.clone(),
        db,
        bus,
        keys: TokenKeys::new(&jwt),
        pii_key: Arc::new(pii),
        metrics: Arc::new(http::Metrics::default()),
        rate: Arc::new(http::MutationLimiter::new(limits.rate)),
        connections: Arc::default(),
        shutdown: Arc::new(tokio::sync::watch::Sender::new(false)),
    })
}

/// The HTTP application.
pub fn app(state: AppState) -> axum::Router {
    http::router(state)
}

/// How often the ballot scheduler looks for ballots to open or close.
pub const SCHEDULER_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves on a bound listener until `shutdown` completes, then finishes in-flight requests and
/// closes WebSockets with 1001 (waiting a few seconds for them to go).
/// The ballot scheduler runs alongside (and catches up at once on what fell due while down).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let scheduler = ballots::scheduler::spawn(
        state.db.clone(),
        state.bus.clone(),
        state.clock.clone(),
        SCHEDULER_EVERY,
    );
    let going_down = state.shutdown.clone();
    let connections = state.connections.clone();
    let app = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            going_down.send_replace(true);
        })
        .await;
    scheduler.abort();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while connections.open() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    result
}
