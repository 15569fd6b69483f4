//! Interoperability with the reference tools of the GraphQL community, run by Node against the
//! real server: the `graphql-http` conformance audits for GraphQL over HTTP, and the `graphql-ws`
//! client for graphql-transport-ws. Our own tests only show that the server does what we think
//! the protocols say; these show that the tools clients actually use agree.
//!
//! The scripts and their pinned npm packages live in tests/interop. Node and npm are required:
//! a missing Node fails the test rather than skipping it, so CI cannot pass without the proof.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{backends, Seed, TestServer};
use quorum::auth::Role;
use serde_json::json;

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Runs a command to completion, panicking with a clear message if it cannot be started at all.
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(interop_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{program}` ({e}): Node.js 20+ and npm must be installed for the \
                 interop tests (tests/interop)"
            )
        })
}

fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Installs the pinned packages from the lock file, once per test process and only when they are
/// missing, so a warm checkout needs no network.
fn ensure_node_modules() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        assert_success("node --version", &run("node", &["--version"]));
        let installed = interop_dir().join("node_modules/.package-lock.json");
        if !installed.exists() {
            assert_success(
                "npm ci in tests/interop",
                &run("npm", &["ci", "--no-audit", "--no-fund"]),
            );
        }
    });
}

/// Runs a script off the runtime's threads, so the server in this runtime keeps serving it.
async fn node(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("node", &args)
    })
    .await
    .expect("node task")
}

#[tokio::test]
async fn reference_clients_interoperate() {
    tokio::task::spawn_blocking(ensure_node_modules)
        .await
        .expect("npm ci task");
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;

        let audit = node(vec!["audit.mjs".into(), server.url("/graphql")]).await;
        assert_success(&format!("[{backend:?}] graphql-http audits"), &audit);

        // ballotProgress sends the current figures at once, so the script needs no second
        // client to cause an event. Any open ballot of the demo will do; a city admin may watch it.
        let admin = server.demo_token(Role::CityAdmin);
        let d = server
            .data(
                &admin,
                "{ estates(first: 100) { edges { node { ballots(first: 1, state: OPEN) { edges { node { id } } } } } } }",
                json!({}),
            )
            .await;
        let ballot = d["estates"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|e| e["node"]["ballots"]["edges"][0]["node"]["id"].as_str())
            .expect("the demo has an open ballot")
            .to_string();
        let ws = node(vec![
            "graphql-ws.mjs".into(),
            format!("ws://{}/graphql/ws", server.addr),
            admin,
            ballot,
        ])
        .await;
        assert_success(&format!("[{backend:?}] graphql-ws client"), &ws);

        server.stop().await;
    }
}
