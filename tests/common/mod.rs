//! The test harness: the real server on port 0 over a fresh database, and HTTP and WebSocket
//! clients that speak to it over the wire.
//!
//! Every test runs on SQLite (a temp file) and, when TEST_DATABASE_URL names a PostgreSQL server,
//! also on a fresh PostgreSQL database created for it and dropped afterwards. With
//! REQUIRE_POSTGRES=1 a missing or unreachable PostgreSQL fails the test instead of skipping it.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::{SinkExt, StreamExt};
use quorum::auth::Role;
use quorum::config::Config;
use quorum::graphql::SchemaLimits;
use quorum::registry::seed::{self, DemoIdentities};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends this run covers.
pub fn backends() -> Vec<Backend> {
    let mut list = vec![Backend::Sqlite];
    let required = std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            if required || pg_reachable(&url) {
                // When required, an unreachable server fails the test where it first connects.
                list.push(Backend::Postgres)
            } else {
                eprintln!("note: PostgreSQL at TEST_DATABASE_URL is unreachable; running on SQLite only (REQUIRE_POSTGRES=1 makes this a failure)")
            }
        }
        _ if required => panic!("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set"),
        _ => eprintln!("note: TEST_DATABASE_URL is not set; running on SQLite only"),
    }
    list
}

/// Whether something listens at the URL's host and port (5432 when none is given).
fn pg_reachable(url: &str) -> bool {
    use std::net::ToSocketAddrs;
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    };
    host_port.to_socket_addrs().is_ok_and(|mut addrs| {
        addrs.any(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok()
        })
    })
}

/// What the fresh database starts with.
pub enum Seed {
    Empty,
    Demo,
    /// estates, buildings per estate, houses per building.
    Synthetic(usize, usize, usize),
}

pub struct TestServer {
    pub backend: Backend,
    pub addr: SocketAddr,
    pub state: quorum::AppState,
    pub demo: Option<DemoIdentities>,
    pub synthetic_estates: Vec<i64>,
    /// The database this server runs on (for a second instance on the same one).
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    pg_database: Option<(String, String)>,
    http: reqwest::Client,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_default()
}

/// The admin URL with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = &base[scheme_end..];
    let prefix = match host_part.find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

async fn create_pg_database() -> (String, String) {
    let admin = pg_admin_url();
    let name = format!(
        "quorum_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand_suffix()
    );
    let mut conn = AsyncPgConnection::establish(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at TEST_DATABASE_URL is unreachable: {e}"));
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    (admin, name)
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

fn drop_pg_database(admin: String, name: String) {
    // Drop runs outside any runtime we can block on, so use a thread with its own runtime.
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok(mut conn) = AsyncPgConnection::establish(&admin).await {
                let _ = conn
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }
        });
    })
    .join();
}

fn test_config(url: &str, dir: &std::path::Path) -> Config {
    let mut config = Config::for_database(url, dir.to_path_buf());
    config.jwt_secret = Some("test-secret".into());
    config.pii_key = Some("test-pii-key".into());
    config.pool_size = 8;
    config
}

/// Writes the demo into a fresh database at `url` and closes every connection to it.
async fn write_demo(url: &str, dir: &std::path::Path) {
    let state = quorum::prepare(&test_config(url, dir), &SchemaLimits::default())
        .await
        .expect("template state");
    seed::seed_demo(&state.db, &state.pii_key)
        .await
        .expect("demo seed");
}

static SQLITE_TEMPLATE: tokio::sync::OnceCell<std::path::PathBuf> =
    tokio::sync::OnceCell::const_new();

async fn sqlite_demo_template() -> &'static std::path::Path {
    SQLITE_TEMPLATE
        .get_or_init(|| async {
            let dir =
                std::env::temp_dir().join(format!("quorum-demo-template-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("template dir");
            let path = dir.join("demo.db");
            write_demo(&format!("sqlite://{}", path.display()), &dir).await;
            // Fold the write-ahead log into the file, so a plain copy is the whole database.
            let p = path.clone();
            tokio::task::spawn_blocking(move || {
                use diesel::connection::SimpleConnection;
                use diesel::Connection;
                let mut c = diesel::SqliteConnection::establish(&p.display().to_string())
                    .expect("template");
                c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
                    .expect("checkpoint");
            })
            .await
            .expect("checkpoint task");
            path
        })
        .await
}

static PG_TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

async fn pg_demo_template() -> &'static str {
    PG_TEMPLATE
        .get_or_init(|| async {
            let admin = pg_admin_url();
            drop_stale_pg_databases(&admin).await;
            let name = format!("quorum_tpl_{}", std::process::id());
            let mut conn = AsyncPgConnection::establish(&admin)
                .await
                .expect("PostgreSQL at TEST_DATABASE_URL");
            let _ = conn
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            conn.batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create template");
            let dir = tempfile::tempdir().expect("dir");
            write_demo(&with_database(&admin, &name), dir.path()).await;
            name
        })
        .await
}

/// Replaces an empty test database by a copy of the template. PostgreSQL refuses to copy a
/// database others are connected to, so the template's last connections are waited out.
async fn recreate_from_template(admin: &str, name: &str, template: &str) {
    let mut conn = AsyncPgConnection::establish(admin)
        .await
        .expect("admin connection");
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop");
    let mut last = None;
    for _ in 0..100 {
        match conn
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
        {
            Ok(()) => return,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("cannot copy the demo template: {last:?}");
}

/// Drops test databases left by earlier test processes that are gone (a panic skips Drop).
async fn drop_stale_pg_databases(admin: &str) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let Ok(mut conn) = AsyncPgConnection::establish(admin).await else {
        return;
    };
    let names: Vec<Name> = diesel::sql_query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'quorum_test_%' OR datname LIKE 'quorum_tpl_%'",
    )
    .load(&mut conn)
    .await
    .unwrap_or_default();
    for Name { datname } in names {
        let pid = datname
            .trim_start_matches("quorum_test_")
            .trim_start_matches("quorum_tpl_")
            .split('_')
            .next()
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = conn
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"))
                    .await;
            }
        }
    }
}

impl TestServer {
    pub async fn start(backend: Backend, seed: Seed) -> Self {
        Self::start_with(backend, seed, SchemaLimits::default()).await
    }

    pub async fn start_with(backend: Backend, seed: Seed, limits: SchemaLimits) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg_database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("test.db").display()),
                None,
            ),
            Backend::Postgres => {
                let (admin, name) = create_pg_database().await;
                (with_database(&admin, &name), Some((admin, name)))
            }
        };
        if let Seed::Demo = seed {
            // The demo is written once per test process and copied into each test's database.
            match backend {
                Backend::Sqlite => {
                    let template = sqlite_demo_template().await;
                    std::fs::copy(template, dir.path().join("test.db"))
                        .expect("copy the demo database");
                }
                Backend::Postgres => {
                    let template = pg_demo_template().await;
                    let (admin, name) = pg_database.as_ref().expect("pg database");
                    recreate_from_template(admin, name, template).await;
                }
            }
        }
        let config = test_config(&url, dir.path());
        let state = quorum::prepare(&config, &limits)
            .await
            .expect("server state");
        let mut demo = None;
        let mut synthetic_estates = Vec::new();
        match seed {
            Seed::Empty => {}
            Seed::Demo => {
                demo = Some(
                    seed::demo_identities(&state.db)
                        .await
                        .expect("demo")
                        .expect("demo identities"),
                )
            }
            Seed::Synthetic(e, b, h) => {
                synthetic_estates = seed::seed_synthetic(&state.db, e, b, h)
                    .await
                    .expect("synthetic seed")
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        let task = tokio::spawn(async move {
            quorum::serve(listener, serve_state, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        Self {
            backend,
            addr,
            state,
            demo,
            synthetic_estates,
            database_url: url,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
            pg_database,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn token(&self, role: Role, subject: i64) -> String {
        self.state
            .keys
            .issue(role, subject, chrono::Duration::hours(1))
    }

    pub fn demo(&self) -> &DemoIdentities {
        self.demo.as_ref().expect("started with Seed::Demo")
    }

    /// Tokens of the demo's people.
    pub fn demo_token(&self, role: Role) -> String {
        let d = self.demo();
        let subject = match role {
            Role::Owner => d.owner,
            Role::CommitteeMember => d.committee_member,
            Role::PropertyManager => d.property_manager,
            Role::CommunityStaff => d.community_staff,
            Role::SubdistrictOfficer => d.subdistrict_officer,
            Role::CityAdmin => d.city_admin,
            Role::Analyst => d.analyst,
        };
        self.token(role, subject)
    }

    /// POSTs a GraphQL request and returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.gql_with_headers(token, query, variables, &[]).await
    }

    pub async fn gql_with_headers(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> Value {
        let mut req = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        resp.json().await.expect("JSON body")
    }

    /// Like `gql`, asserting there are no errors, returning `data`.
    pub async fn data(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(Some(token), query, variables).await;
        assert!(
            body.get("errors").is_none(),
            "[{:?}] unexpected errors: {body:#}",
            self.backend
        );
        body["data"].clone()
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Opens a graphql-transport-ws connection.
    pub async fn ws(&self) -> WsClient {
        ws_at(self.addr).await
    }

    /// Opens a WebSocket that asks for the given subprotocols (none when empty).
    pub async fn ws_raw(
        &self,
        protocols: Option<&str>,
    ) -> Result<WsClient, tokio_tungstenite::tungstenite::Error> {
        let mut request = format!("ws://{}/graphql/ws", self.addr)
            .into_client_request()
            .expect("ws request");
        if let Some(p) = protocols {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", p.parse().expect("header"));
        }
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(WsClient { stream })
    }

    /// Asks the server to shut down gracefully, without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some((admin, name)) = self.pg_database.take() {
            drop_pg_database(admin, name);
        }
    }
}

/// Opens a graphql-transport-ws connection to a server at `addr`.
pub async fn ws_at(addr: SocketAddr) -> WsClient {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .expect("ws request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    // Small buffers, as the server's: a bench opens a thousand of these in one process.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let (stream, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), false)
        .await
        .expect("ws connect");
    WsClient { stream }
}

pub struct WsClient {
    pub stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// What arrived on the socket.
#[derive(Debug)]
pub enum WsEvent {
    Message(Value),
    Closed(Option<u16>),
}

impl WsClient {
    pub async fn send(&mut self, msg: Value) {
        self.stream
            .send(Message::Text(msg.to_string().into()))
            .await
            .expect("ws send");
    }

    /// The next JSON message or the close, within 10 seconds.
    pub async fn next(&mut self) -> WsEvent {
        let deadline = std::time::Duration::from_secs(10);
        loop {
            let frame = tokio::time::timeout(deadline, self.stream.next())
                .await
                .expect("no WebSocket frame within 10 s");
            match frame {
                None => return WsEvent::Closed(None),
                Some(Err(_)) => return WsEvent::Closed(None),
                Some(Ok(Message::Text(t))) => {
                    return WsEvent::Message(serde_json::from_str(&t).expect("JSON frame"))
                }
                Some(Ok(Message::Close(frame))) => {
                    return WsEvent::Closed(frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn next_message(&mut self) -> Value {
        match self.next().await {
            WsEvent::Message(v) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Sends a raw frame.
    pub async fn send_frame(&mut self, frame: Message) {
        self.stream.send(frame).await.expect("ws send");
    }

    /// connection_init with the token; expects the ack.
    pub async fn init(&mut self, token: &str) {
        self.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}))
            .await;
        let ack = self.next_message().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
    }
}
