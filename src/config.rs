//! Configuration: command-line flags and environment variables, gathered into one value that is
//! passed down (no globals).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::db::{DatabaseUrl, DbError};
use crate::graphql::SchemaLimits;

/// Settings shared by every subcommand that touches the database.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// PostgreSQL (`postgres://…`) or SQLite (`sqlite://path`); the embedded
    /// `<data-dir>/quorum.db` when unset.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Directory for the embedded database and generated secrets.
    #[arg(long, env = "QUORUM_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// HS256 secret for tokens; generated once into `<data-dir>/jwt.secret` when unset.
    #[arg(long, env = "QUORUM_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// Key for the keyed hashes of identity numbers and phones; generated once into
    /// `<data-dir>/pii.key` when unset.
    #[arg(long, env = "QUORUM_PII_KEY", hide_env_values = true, global = true)]
    pub pii_key: Option<String>,

    /// Days after the end of a quarter within which its statements are due.
    #[arg(
        long,
        env = "QUORUM_DISCLOSURE_DUE_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub disclosure_due_days: i64,

    /// Database connections in the pool.
    #[arg(long, env = "QUORUM_POOL_SIZE", default_value_t = 10, global = true)]
    pub pool_size: usize,
}

/// Settings of the HTTP server.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(
        long,
        global = true,
        env = "QUORUM_LISTEN",
        default_value = "127.0.0.1:8000"
    )]
    pub listen: SocketAddr,

    /// Refuse introspection queries (the playground then cannot show the schema).
    #[arg(long, global = true)]
    pub no_introspection: bool,

    /// The production preset: implies --no-introspection, --no-playground and --no-get.
    #[arg(long, global = true)]
    pub production: bool,

    /// Do not serve the playground at /playground.
    #[arg(long, global = true)]
    pub no_playground: bool,

    /// Refuse queries sent by GET (405): only POST and the WebSocket run operations.
    #[arg(long, global = true)]
    pub no_get: bool,

    /// Largest query depth accepted.
    #[arg(long, global = true, default_value_t = 16)]
    pub max_depth: usize,

    /// Largest query complexity accepted.
    #[arg(long, global = true, default_value_t = 500_000)]
    pub max_complexity: usize,

    /// Most aliases in one document.
    #[arg(long, global = true, default_value_t = 50)]
    pub max_aliases: usize,

    /// Most directives on one field.
    #[arg(long, global = true, default_value_t = 5)]
    pub max_directives: usize,

    /// Most times one field may be selected in one selection set.
    #[arg(long, global = true, default_value_t = 3)]
    pub max_field_repeats: usize,

    /// Largest document, in bytes.
    #[arg(long, global = true, default_value_t = 32 * 1024)]
    pub max_document_bytes: usize,

    /// Seconds a request may run (PostgreSQL's statement_timeout follows it).
    #[arg(long, global = true, default_value_t = 15)]
    pub request_timeout_secs: u64,

    /// Development mode: field suggestions in validation errors.
    #[arg(long, global = true)]
    pub dev: bool,

    /// Seconds a new WebSocket may take to send connection_init (closed with 4408 after).
    #[arg(long, global = true, default_value_t = 10)]
    pub ws_init_timeout_secs: u64,

    /// Operations running at once on one WebSocket connection.
    #[arg(long, global = true, default_value_t = 32)]
    pub ws_max_subscriptions: usize,

    /// Open WebSocket connections per token.
    #[arg(long, global = true, default_value_t = 8)]
    pub ws_max_connections_per_token: usize,

    /// Open WebSocket connections in all.
    #[arg(long, global = true, default_value_t = 10_000)]
    pub ws_max_connections: usize,

    /// Largest WebSocket message a client may send, in KiB.
    #[arg(long, global = true, default_value_t = 64)]
    pub ws_max_message_kib: usize,

    /// Messages queued for one WebSocket client before it counts as too slow and is dropped.
    #[arg(long, global = true, default_value_t = 256)]
    pub ws_outgoing_queue: usize,

    /// Most operations in one batched HTTP request (a JSON array); 0 refuses batches. At most 10.
    #[arg(long, global = true, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=10))]
    pub max_batch: u8,

    /// Mutations per minute per token (0: no limit).
    #[arg(long, global = true, default_value_t = 120)]
    pub mutations_per_minute_per_token: u32,

    /// Mutations per minute per client address (0: no limit).
    #[arg(long, global = true, default_value_t = 600)]
    pub mutations_per_minute_per_address: u32,
}

impl ServeConfig {
    pub fn limits(&self) -> SchemaLimits {
        SchemaLimits {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            max_directives: self.max_directives,
            max_aliases: self.max_aliases,
            max_document_bytes: self.max_document_bytes,
            max_field_repeats: self.max_field_repeats,
            request_timeout: std::time::Duration::from_secs(self.request_timeout_secs.max(1)),
            introspection: !(self.no_introspection || self.production),
            playground: !(self.no_playground || self.production),
            get_queries: !(self.no_get || self.production),
            suggestions: self.dev,
            ws: crate::http::WsLimits {
                init_timeout: std::time::Duration::from_secs(self.ws_init_timeout_secs.max(1)),
                max_subscriptions: self.ws_max_subscriptions,
                max_connections_per_token: self.ws_max_connections_per_token,
                max_connections: self.ws_max_connections,
                max_message_bytes: self.ws_max_message_kib.max(1) * 1024,
                outgoing_queue: self.ws_outgoing_queue.max(1),
                ..crate::http::WsLimits::default()
            },
            max_batch: usize::from(self.max_batch),
            rate: crate::http::RateLimits {
                per_token: self.mutations_per_minute_per_token,
                per_address: self.mutations_per_minute_per_address,
            },
        }
    }
}

impl Config {
    /// A configuration for a database URL with defaults elsewhere (tests, tools).
    pub fn for_database(database_url: &str, data_dir: PathBuf) -> Self {
        Self {
            database_url: Some(database_url.to_string()),
            data_dir,
            jwt_secret: None,
            pii_key: None,
            pool_size: 10,
            disclosure_due_days: 30,
        }
    }

    pub fn database(&self) -> Result<DatabaseUrl, DbError> {
        match self.database_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => DatabaseUrl::parse(url),
            None => Ok(DatabaseUrl::Sqlite(
                self.data_dir
                    .join("quorum.db")
                    .to_string_lossy()
                    .into_owned(),
            )),
        }
    }

    /// True when no DATABASE_URL was given, i.e. the embedded demo database is in use.
    pub fn is_embedded_default(&self) -> bool {
        self.database_url.as_deref().is_none_or(str::is_empty)
    }
}
