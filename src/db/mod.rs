//! The data layer: one connection type over PostgreSQL or embedded SQLite, a pool, the embedded
//! migrations and the statement counter behind `quorum_db_statements_total` and the per-request
//! `cost` extension.

pub mod schema;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures_util::FutureExt;

/// The SQLite side of [`DbConnection`]. A type alias because the `MultiConnection` derive cannot
/// take a generic type written in place.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// A connection to either backend; every query in Quorum is written once against this type.
/// (The size difference of the variants does not matter: connections live in the pool.)
#[allow(clippy::large_enum_variant)]
#[derive(diesel::MultiConnection)]
#[diesel_async]
pub enum DbConnection {
    Pg(AsyncPgConnection),
    Sqlite(SqliteConn),
}

/// The backend type of [`DbConnection`], for boxed queries.
pub type DbBackend = <DbConnection as diesel_async::AsyncConnectionCore>::Backend;

/// A pooled connection with this request's statement counter attached.
pub type PooledConn = Object<DbConnection>;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    /// A file path (created when missing).
    Sqlite(String),
}

impl DatabaseUrl {
    /// `postgres://…` / `postgresql://…` for PostgreSQL; `sqlite://path` or `sqlite:path` for SQLite.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_string()))
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(DbError::Config("sqlite URL without a path".into()));
            }
            Ok(Self::Sqlite(path.to_string()))
        } else {
            Err(DbError::Config(format!(
                "DATABASE_URL must start with postgres://, postgresql:// or sqlite:// (got {:?})",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

/// Errors of the data layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database configuration: {0}")]
    Config(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("migrations: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Counts every statement a connection starts; attached to a connection on each checkout so
/// that the count lands both in the process-wide total and in the current request's total.
struct StatementCounter {
    total: Arc<AtomicU64>,
    request: Option<Arc<AtomicU64>>,
}

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            self.total.fetch_add(1, Ordering::Relaxed);
            if let Some(request) = &self.request {
                request.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A handle on the database: the pool plus the counters. Cheap to clone; `for_request` gives a
/// handle whose statements are also counted for one request.
#[derive(Clone)]
pub struct Db {
    pool: Pool<DbConnection>,
    postgres: bool,
    total_statements: Arc<AtomicU64>,
    request_statements: Option<Arc<AtomicU64>>,
}

impl Db {
    /// Connects, applies pending migrations and builds the pool. Fails with a clear message
    /// when the database cannot be reached.
    /// `statement_timeout` bounds every statement on PostgreSQL (SQLite has no equivalent; the
    /// request timeout covers it).
    pub async fn connect(
        url: &DatabaseUrl,
        pool_size: usize,
        statement_timeout: std::time::Duration,
    ) -> Result<Self, DbError> {
        run_migrations(url).await?;
        let (conn_url, postgres) = match url {
            DatabaseUrl::Postgres(u) => (u.clone(), true),
            DatabaseUrl::Sqlite(p) => (p.clone(), false),
        };
        let mut config = ManagerConfig::<DbConnection>::default();
        let timeout_ms = statement_timeout.as_millis();
        config.custom_setup =
            Box::new(move |u| establish(u.to_string(), postgres, timeout_ms).boxed());
        let manager =
            AsyncDieselConnectionManager::<DbConnection>::new_with_config(conn_url, config);
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        let db = Self {
            pool,
            postgres,
            total_statements: Arc::new(AtomicU64::new(0)),
            request_statements: None,
        };
        // Fail at start, not at the first request, when the database is unreachable.
        drop(db.conn().await?);
        Ok(db)
    }

    /// A connection from the pool, counting its statements for this handle.
    pub async fn conn(&self) -> Result<PooledConn, DbError> {
        let mut conn = self.pool.get().await.map_err(|e| match e {
            diesel_async::pooled_connection::deadpool::PoolError::Backend(
                diesel_async::pooled_connection::PoolError::ConnectionError(c),
            ) => DbError::Connect(c.to_string()),
            other => DbError::Pool(other.to_string()),
        })?;
        conn.set_instrumentation(StatementCounter {
            total: self.total_statements.clone(),
            request: self.request_statements.clone(),
        });
        Ok(conn)
    }

    /// A handle whose statements are counted separately (for the `cost` extension).
    pub fn for_request(&self) -> Self {
        Self {
            request_statements: Some(Arc::new(AtomicU64::new(0))),
            ..self.clone()
        }
    }

    /// Statements run through this request handle so far (0 for the shared handle).
    pub fn request_statements(&self) -> u64 {
        self.request_statements
            .as_ref()
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Statements run by the whole process.
    pub fn total_statements(&self) -> u64 {
        self.total_statements.load(Ordering::Relaxed)
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    /// Ready to serve: the database answers and every embedded migration is applied.
    pub async fn ready(&self) -> Result<(), DbError> {
        use diesel::migration::MigrationSource;
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Applied {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let expected = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?
            .len() as i64;
        let mut conn = self.conn().await?;
        let applied: Applied =
            diesel::sql_query("SELECT COUNT(*) AS n FROM __diesel_schema_migrations")
                .get_result(&mut *conn)
                .await?;
        if applied.n < expected {
            return Err(DbError::Migration(format!(
                "{} of {expected} migrations applied",
                applied.n
            )));
        }
        Ok(())
    }

    /// Pool figures for /metrics: (size, available).
    pub fn pool_status(&self) -> (usize, usize) {
        let s = self.pool.status();
        (s.size, s.available)
    }
}

async fn establish(
    url: String,
    postgres: bool,
    statement_timeout_ms: u128,
) -> diesel::ConnectionResult<DbConnection> {
    if postgres {
        let mut conn = AsyncPgConnection::establish(&url).await?;
        conn.batch_execute(&format!("SET statement_timeout = {statement_timeout_ms}"))
            .await
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
        Ok(DbConnection::Pg(conn))
    } else {
        let mut conn = SqliteConn::establish(&url).await?;
        // synchronous=FULL: a vote acknowledged must survive a power cut. busy_timeout lets
        // concurrent writers wait for the single write lock instead of failing at once.
        conn.batch_execute(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;",
        )
        .await
        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
        Ok(DbConnection::Sqlite(conn))
    }
}

/// Applies the pending migrations of the backend `url` names.
pub async fn run_migrations(url: &DatabaseUrl) -> Result<usize, DbError> {
    match url {
        DatabaseUrl::Postgres(u) => {
            let conn = AsyncPgConnection::establish(u)
                .await
                .map_err(|e| DbError::Connect(e.to_string()))?;
            let u = u.clone();
            tokio::task::spawn_blocking(move || {
                let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
                harness
                    .run_pending_migrations(PG_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(|e| DbError::Migration(format!("{u}: {e}")))
            })
            .await
            .map_err(|e| DbError::Migration(e.to_string()))?
        }
        DatabaseUrl::Sqlite(path) => {
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| DbError::Connect(format!("{}: {e}", dir.display())))?;
                }
            }
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                use diesel::connection::SimpleConnection;
                use diesel::Connection;
                let mut conn = SqliteConnection::establish(&path)
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                // WAL is a property of the file: set once, kept by every later connection.
                conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")?;
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(|e| DbError::Migration(format!("{path}: {e}")))
            })
            .await
            .map_err(|e| DbError::Migration(e.to_string()))?
        }
    }
}

/// One page for many estates: each estate's newest rows of `table` (which has `id` and
/// `estate_id`) with an id below `before_id` (the cursor), at most `limit` each.
pub struct NewestPerEstate<'a> {
    pub table: &'static str,
    pub estate_ids: &'a [i64],
    pub before_id: i64,
    /// More conditions, each starting with " AND ", on the table aliased `t`. Callers splice
    /// only integers and closed-set literals into it.
    pub filter: &'a str,
    pub limit: i64,
}

/// The ids of a [`NewestPerEstate`] page: one statement for all its estates, by a window
/// function (both backends have them).
pub async fn newest_ids_per_estate(
    conn: &mut DbConnection,
    page: NewestPerEstate<'_>,
) -> diesel::QueryResult<Vec<i64>> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let NewestPerEstate {
        table,
        estate_ids,
        before_id,
        filter,
        limit,
    } = page;
    if estate_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = estate_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!(
        "SELECT id FROM (SELECT t.id, ROW_NUMBER() OVER (PARTITION BY t.estate_id ORDER BY t.id DESC) AS rn \
         FROM {table} t WHERE t.estate_id IN ({ids}) AND t.id < {before_id}{filter}) ranked WHERE rn <= {limit}"
    );
    Ok(diesel::sql_query(sql)
        .load::<Id>(conn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect())
}

/// True when the error is a unique-constraint violation (e.g. a duplicate credit code).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The current time as stored: UTC, truncated to microseconds (PostgreSQL's precision), so that
/// a value read back equals the value written on both backends.
pub fn now() -> chrono::NaiveDateTime {
    truncate_micros(chrono::Utc::now().naive_utc())
}

pub fn truncate_micros(t: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let nanos = t.nanosecond() / 1_000 * 1_000;
    t.with_nanosecond(nanos).unwrap_or(t)
}

/// Inserts many rows: one multi-row statement per 1,000 rows on PostgreSQL, row by row on SQLite
/// (diesel's multi-backend connection has no batch insert, and SQLite cannot take DEFAULT in a
/// multi-row VALUES). Use inside a transaction. Evaluates to `QueryResult<()>`.
#[macro_export]
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        async {
            use diesel_async::RunQueryDsl as _;
            let rows = $rows;
            match $conn {
                $crate::db::DbConnection::Pg(pg) => {
                    for chunk in rows.chunks(1000) {
                        diesel::insert_into($table)
                            .values(chunk)
                            .execute(pg)
                            .await?;
                    }
                }
                $crate::db::DbConnection::Sqlite(sqlite) => {
                    for row in rows.iter() {
                        diesel::insert_into($table)
                            .values(row)
                            .execute(sqlite)
                            .await?;
                    }
                }
            }
            diesel::QueryResult::Ok(())
        }
    };
}
