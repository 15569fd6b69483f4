//! Benchmark: what a vote costs as more people watch the ballot live.
//!
//! The real server over the demo city (embedded SQLite), the open committee election of
//! 新城红岛湾, and 0, 100 and 1,000 owners subscribed to `ballotProgress` over real WebSockets.
//! Votes are then cast one after another over HTTP by owners still on the roll. For each number
//! of subscribers it prints the vote rate and latency, how many times the figures were computed
//! (the design: once per ballot per 250 ms burst, whatever the number of subscribers), the
//! frames each subscriber received, and the growth of the process's resident memory (server and
//! clients share the process, so it is an upper bound for the server's).
//!
//! `cargo bench --bench live_progress` (optimised build). Nothing is asserted: these are
//! measurements, and the tests prove the behaviour.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backend, Seed, TestServer};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::StreamExt;
use quorum::auth::Role;
use quorum::db::schema::*;
use quorum::graphql::relay::{global_id, NodeKind};
use serde_json::json;

const VOTES: usize = 200;
const SUBSCRIBERS: [usize; 3] = [0, 100, 1000];
const CAST: &str = "mutation($input: CastVoteInput!) { castVote(input: $input) { sequence } }";
const PROGRESS: &str = "subscription($id: ID!) { ballotProgress(ballotId: $id) { participatingVoters items { projectedOutcome options { choice voters area } } } }";

/// The open election and who can still vote in it.
struct Election {
    ballot: i64,
    item: i64,
    candidate: i64,
    /// Owners who belong to exactly one voter that has not voted yet.
    to_vote: Vec<i64>,
    /// Owners whose voter already voted (they watch).
    watchers: Vec<i64>,
}

async fn open_election(server: &TestServer) -> Election {
    let mut conn = server.state.db.conn().await.expect("connection");
    let ballot: i64 = ballots::table
        .filter(ballots::state.eq("OPEN"))
        .select(ballots::id)
        .first(&mut *conn)
        .await
        .expect("the demo's open election");
    let item: i64 = ballot_items::table
        .filter(ballot_items::ballot_id.eq(ballot))
        .select(ballot_items::id)
        .first(&mut *conn)
        .await
        .expect("item");
    let candidate: i64 = ballot_options::table
        .filter(ballot_options::item_id.eq(item))
        .select(ballot_options::id)
        .first(&mut *conn)
        .await
        .expect("candidate");
    let members: Vec<(i64, i64)> = ballot_voter_owners::table
        .filter(ballot_voter_owners::ballot_id.eq(ballot))
        .select((ballot_voter_owners::voter_id, ballot_voter_owners::owner_id))
        .load(&mut *conn)
        .await
        .expect("roll");
    let voted: std::collections::HashSet<i64> = votes::table
        .filter(votes::ballot_id.eq(ballot))
        .select(votes::voter_id)
        .load::<i64>(&mut *conn)
        .await
        .expect("votes")
        .into_iter()
        .collect();
    let mut voters_of: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for (voter, owner) in &members {
        voters_of.entry(*owner).or_default().push(*voter);
    }
    let (mut to_vote, mut watchers) = (Vec::new(), Vec::new());
    let mut taken = std::collections::HashSet::new();
    for (owner, voters) in voters_of {
        match voters.as_slice() {
            [voter] if !voted.contains(voter) && taken.insert(*voter) => to_vote.push(owner),
            [voter] if voted.contains(voter) => watchers.push(owner),
            _ => {}
        }
    }
    Election {
        ballot,
        item,
        candidate,
        to_vote,
        watchers,
    }
}

/// The process's resident memory in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

async fn measure(subscribers: usize) {
    let server = TestServer::start(Backend::Sqlite, Seed::Demo).await;
    let election = open_election(&server).await;
    assert!(
        election.watchers.len() >= subscribers && election.to_vote.len() >= VOTES,
        "the demo election has too few owners for this run"
    );
    let ballot_id = global_id(NodeKind::Ballot, election.ballot);
    let frames = Arc::new(AtomicU64::new(0));
    let rss_before = rss_kib();
    let mut readers = Vec::new();
    for owner in election.watchers.iter().take(subscribers) {
        let mut ws = server.ws().await;
        ws.init(&server.token(Role::Owner, *owner)).await;
        ws.send(json!({"id": "p", "type": "subscribe", "payload": {"query": PROGRESS, "variables": {"id": ballot_id}}}))
            .await;
        // The current figures arrive on subscribe; count only what the votes cause.
        let first = ws.next_message().await;
        assert_eq!(first["type"], "next", "{first}");
        let frames = frames.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(frame)) = ws.stream.next().await {
                if frame.is_text() {
                    frames.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let rss_subscribed = rss_kib();
    let computations_before = server.state.hub.computations();
    let mut latencies = Vec::with_capacity(VOTES);
    let started = Instant::now();
    for (n, owner) in election.to_vote.iter().take(VOTES).enumerate() {
        let input = json!({"input": {
            "ballotId": ballot_id,
            "idempotencyKey": format!("bench-{n}"),
            "choices": [{"itemId": global_id(NodeKind::BallotItem, election.item),
                         "optionIds": [global_id(NodeKind::BallotOption, election.candidate)]}]
        }});
        let t = Instant::now();
        server
            .data(&server.token(Role::Owner, *owner), CAST, input)
            .await;
        latencies.push(t.elapsed());
    }
    let voting = started.elapsed();
    // Let the last burst be computed and delivered.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let computations = server.state.hub.computations() - computations_before;
    let delivered = frames.load(Ordering::Relaxed);
    let rss_after = rss_kib();
    latencies.sort();
    println!(
        "{subscribers:>11} | {VOTES:>5} | {:>7.0} | {:>8.2} | {:>8.2} | {computations:>14} | {:>17.1} | {:>12} | {:>14}",
        VOTES as f64 / voting.as_secs_f64(),
        percentile(&latencies, 50).as_secs_f64() * 1e3,
        percentile(&latencies, 99).as_secs_f64() * 1e3,
        if subscribers == 0 {
            0.0
        } else {
            delivered as f64 / subscribers as f64
        },
        rss_subscribed.saturating_sub(rss_before),
        rss_after.saturating_sub(rss_subscribed),
    );
    for r in readers {
        r.abort();
    }
    server.stop().await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "subscribers | votes | votes/s | p50 (ms) | p99 (ms) | recomputations | frames/subscriber | RSS +subs KiB | RSS +votes KiB"
    );
    for subscribers in SUBSCRIBERS {
        runtime.block_on(measure(subscribers));
    }
}
