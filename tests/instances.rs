//! Subscriptions across instances: two `quorum` server processes on one PostgreSQL database. A
//! subscriber connected to one sees a vote cast through the other, both ways, because events
//! travel between them by LISTEN/NOTIFY. (With SQLite there is one process and its bus.)

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{backends, ws_at, Backend, Seed, TestServer};
use quorum::auth::Role;
use serde_json::{json, Value};

/// A `quorum serve` process on a given database, killed on drop.
struct Instance {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Instance {
    /// Starts the binary on port 0 and waits for the line that names its address.
    fn start(database_url: &str) -> Self {
        let dir = tempfile::tempdir().expect("data dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_quorum"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            .env("QUORUM_DATA_DIR", dir.path())
            // The secrets of the test harness, so its tokens hold here too.
            .env("QUORUM_JWT_SECRET", "test-secret")
            .env("QUORUM_PII_KEY", "test-pii-key")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the quorum binary");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Keeps reading, so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Quorum is serving on http://") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.trim().to_string());
                    }
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the instance did not say where it serves within 60 s")
            .parse()
            .expect("address");
        Self {
            child,
            addr,
            _dir: dir,
        }
    }

    async fn data(&self, token: &str, query: &str, variables: Value) -> Value {
        let body: Value = reqwest::Client::new()
            .post(format!("http://{}/graphql", self.addr))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert!(body.get("errors").is_none(), "{body:#}");
        body["data"].clone()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const YIJING: &str = "RXN0YXRlOjE="; // Estate:1, 逸景公馆 in the demo

/// Drafts, submits, approves and opens one-matter ballots of 逸景公馆 through the harness's
/// server (whose clock can be moved past the notice period); returns (ballot id, item id) each.
/// All open together, so that moving the clock closes none of them.
async fn open_matters(server: &TestServer, titles: &[&str]) -> Vec<(Value, Value)> {
    let member = server.demo_token(Role::CommitteeMember);
    let officer = server.demo_token(Role::SubdistrictOfficer);
    let now = server.state.clock.now();
    let mut ballots = Vec::new();
    for title in titles {
        let d = server
            .data(
                &member,
                "mutation($input: CreateBallotInput!) { createBallot(input: $input) { id items { id } } }",
                json!({"input": {
                    "estateId": YIJING,
                    "title": title,
                    "description": "跨实例测试",
                    "opensAt": (now + chrono::Duration::days(16)).and_utc().to_rfc3339(),
                    "closesAt": (now + chrono::Duration::days(26)).and_utc().to_rfc3339(),
                    "items": [{"kind": "MATTER", "title": "议题", "matterType": "OTHER_MAJOR"}]
                }}),
            )
            .await;
        let ballot = d["createBallot"]["id"].clone();
        for (token, mutation) in [(&member, "submitBallot"), (&officer, "approveBallot")] {
            server
                .data(
                    token,
                    &format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ state }} }}"),
                    json!({"id": ballot}),
                )
                .await;
        }
        ballots.push((ballot, d["createBallot"]["items"][0]["id"].clone()));
    }
    server
        .state
        .clock
        .advance(chrono::Duration::days(16) + chrono::Duration::minutes(1));
    quorum::ballots::scheduler::tick(&server.state.db, &server.state.bus, &server.state.clock)
        .await
        .expect("tick");
    ballots
}

/// Subscribes on `watcher` to the ballot's progress, votes through `voter`, and returns how long
/// the new figure took to arrive.
async fn vote_seen_across(
    watcher: &Instance,
    voter: &Instance,
    token: &str,
    ballot: &Value,
    item: &Value,
) -> Duration {
    let mut ws = ws_at(watcher.addr).await;
    ws.init(token).await;
    ws.send(json!({"id": "p", "type": "subscribe", "payload": {
        "query": "subscription($id: ID!) { ballotProgress(ballotId: $id) { participatingVoters } }",
        "variables": {"id": ballot}}}))
        .await;
    let first = ws.next_message().await;
    assert_eq!(
        first["payload"]["data"]["ballotProgress"]["participatingVoters"], "0",
        "{first}"
    );
    let cast = Instant::now();
    voter
        .data(
            token,
            "mutation($input: CastVoteInput!) { castVote(input: $input) { receipt } }",
            json!({"input": {"ballotId": ballot, "idempotencyKey": "across",
                "choices": [{"itemId": item, "choice": "AGREE"}]}}),
        )
        .await;
    let next = ws.next_message().await;
    let took = cast.elapsed();
    assert_eq!(
        next["payload"]["data"]["ballotProgress"]["participatingVoters"], "1",
        "{next}"
    );
    took
}

#[tokio::test]
async fn a_vote_through_one_instance_reaches_subscribers_of_another() {
    if !backends().contains(&Backend::Postgres) {
        eprintln!(
            "note: events cross instances on PostgreSQL only; set TEST_DATABASE_URL to run this"
        );
        return;
    }
    // The harness writes the demo into a fresh database; the two instances are processes of
    // their own on that database.
    let server = TestServer::start(Backend::Postgres, Seed::Demo).await;
    let owner = server.demo_token(Role::Owner);
    let opened = open_matters(&server, &["甲到乙", "乙到甲"]).await;
    let [(a_to_b, a_to_b_item), (b_to_a, b_to_a_item)] = &opened[..] else {
        unreachable!("two ballots were opened")
    };
    let start = |url: String| async move {
        tokio::task::spawn_blocking(move || Instance::start(&url))
            .await
            .expect("start task")
    };
    let a = start(server.database_url.clone()).await;
    let b = start(server.database_url.clone()).await;
    // The instances start their LISTEN when they start; give the relays a moment to subscribe
    // (events published before then reach only local subscribers, by design).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let took = vote_seen_across(&a, &b, &owner, a_to_b, a_to_b_item).await;
    eprintln!("a vote through B reached a subscriber of A after {took:?}");
    let took = vote_seen_across(&b, &a, &owner, b_to_a, b_to_a_item).await;
    eprintln!("a vote through A reached a subscriber of B after {took:?}");
    server.stop().await;
}
