//! Ballots end to end over the wire: lifecycle and its refusals, the frozen roll, online votes
//! (idempotent, once per voter, also under 100 concurrent attempts), paper ballots, the tally
//! and its recount, receipts, and live progress over a real WebSocket.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use common::{backends, Seed, TestServer};
use quorum::auth::Role;
use serde_json::{json, Value};

fn code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The number inside a global id.
fn number(id: &Value) -> i64 {
    let text = base64::engine::general_purpose::STANDARD
        .decode(id.as_str().expect("id"))
        .expect("base64");
    let text = String::from_utf8(text).expect("utf8");
    text.split_once(':')
        .and_then(|(_, n)| n.parse().ok())
        .expect("numeric id")
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339()
}

const YIJING: &str = "RXN0YXRlOjE="; // Estate:1, 逸景公馆 in the demo

const CREATE: &str = r#"mutation($input: CreateBallotInput!) { createBallot(input: $input) { id state items { id kind options { id } } } }"#;

/// Creates and submits a one-matter ballot of 逸景公馆 opening in `open_in_days`; returns (ballot id, item id).
async fn draft_matter(server: &TestServer, open_in_days: i64, matter_type: &str) -> (Value, Value) {
    let member = server.demo_token(Role::CommitteeMember);
    let now = server.state.clock.now();
    let d = server
        .data(
            &member,
            CREATE,
            json!({"input": {
                "estateId": YIJING,
                "title": "测试表决",
                "description": "测试",
                "opensAt": rfc3339(now + chrono::Duration::days(open_in_days)),
                "closesAt": rfc3339(now + chrono::Duration::days(open_in_days + 10)),
                "items": [{"kind": "MATTER", "title": "测试议题", "matterType": matter_type}]
            }}),
        )
        .await;
    let ballot = d["createBallot"]["id"].clone();
    assert_eq!(d["createBallot"]["state"], "DRAFT");
    (ballot, d["createBallot"]["items"][0]["id"].clone())
}

async fn state_of(server: &TestServer, token: &str, ballot: &Value) -> String {
    let d = server
        .data(
            token,
            "query($id: ID!) { ballot(id: $id) { state } }",
            json!({"id": ballot}),
        )
        .await;
    d["ballot"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Submits, approves and opens a ballot (the clock moves past the notice period).
async fn open(server: &TestServer, ballot: &Value, days: i64) {
    let member = server.demo_token(Role::CommitteeMember);
    let officer = server.demo_token(Role::SubdistrictOfficer);
    server
        .data(
            &member,
            "mutation($id: ID!) { submitBallot(id: $id) { state } }",
            json!({"id": ballot}),
        )
        .await;
    server
        .data(
            &officer,
            "mutation($id: ID!) { approveBallot(id: $id) { state } }",
            json!({"id": ballot}),
        )
        .await;
    server
        .state
        .clock
        .advance(chrono::Duration::days(days) + chrono::Duration::minutes(1));
    quorum::ballots::scheduler::tick(&server.state.db, &server.state.bus, &server.state.clock)
        .await
        .expect("tick");
    assert_eq!(state_of(server, &member, ballot).await, "OPEN");
}

async fn close(server: &TestServer) {
    server.state.clock.advance(chrono::Duration::days(11));
    quorum::ballots::scheduler::tick(&server.state.db, &server.state.bus, &server.state.clock)
        .await
        .expect("tick");
}

const CAST: &str =
    r#"mutation($input: CastVoteInput!) { castVote(input: $input) { receipt sequence channel } }"#;

fn vote_input(ballot: &Value, item: &Value, choice: &str, key: &str) -> Value {
    json!({"input": {"ballotId": ballot, "idempotencyKey": key, "choices": [{"itemId": item, "choice": choice}]}})
}

/// Owners of 逸景公馆 by house address, from the register over GraphQL (all pages).
async fn register(server: &TestServer) -> Vec<(String, String, bool, Vec<i64>)> {
    let admin = server.demo_token(Role::CityAdmin);
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let d = server
            .data(
                &admin,
                r#"query($after: String) { estate(id: "RXN0YXRlOjE=") { houses(first: 100, after: $after) {
                    edges { node { address exclusiveArea developerHeld owners { edges { node { id } } } } }
                    pageInfo { hasNextPage endCursor } } } }"#,
                json!({"after": after}),
            )
            .await;
        let houses = &d["estate"]["houses"];
        for e in houses["edges"].as_array().expect("edges") {
            let n = &e["node"];
            let owners = n["owners"]["edges"]
                .as_array()
                .expect("owners")
                .iter()
                .map(|o| number(&o["node"]["id"]))
                .collect();
            out.push((
                n["address"].as_str().unwrap_or_default().to_string(),
                n["exclusiveArea"].as_str().unwrap_or_default().to_string(),
                n["developerHeld"].as_bool().unwrap_or(false),
                owners,
            ));
        }
        if houses["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = houses["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    out
}

#[tokio::test]
async fn lifecycle_and_its_refusals() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let member = server.demo_token(Role::CommitteeMember);
        let owner = server.demo_token(Role::Owner);
        let officer = server.demo_token(Role::SubdistrictOfficer);
        let now = server.state.clock.now();
        // Only the committee organizes; bad input changes nothing.
        let input = json!({"input": {"estateId": YIJING, "title": "x", "description": "", "opensAt": rfc3339(now + chrono::Duration::days(20)), "closesAt": rfc3339(now + chrono::Duration::days(30)), "items": [{"kind": "MATTER", "title": "t", "matterType": "OTHER_MAJOR"}]}});
        assert_eq!(
            code(&server.gql(Some(&owner), CREATE, input.clone()).await),
            "FORBIDDEN"
        );
        let mut bad = input.clone();
        bad["input"]["closesAt"] = json!(rfc3339(now + chrono::Duration::days(10)));
        assert_eq!(
            code(&server.gql(Some(&member), CREATE, bad).await),
            "BAD_USER_INPUT"
        );
        let mut bad = input.clone();
        bad["input"]["items"] = json!([{"kind": "MATTER", "title": "t"}]);
        let b = server.gql(Some(&member), CREATE, bad).await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        let mut bad = input.clone();
        bad["input"]["items"] = json!([{"kind": "ELECTION", "title": "t", "seats": 3, "candidateOwnerIds": ["T3duZXI6OTk5OTk5"]}]);
        assert_eq!(
            code(&server.gql(Some(&member), CREATE, bad).await),
            "BAD_USER_INPUT"
        );
        let d = server
            .data(
                &member,
                "{ estate(id: \"RXN0YXRlOjE=\") { ballots(first: 100) { edges { cursor } } } }",
                json!({}),
            )
            .await;
        let before = d["estate"]["ballots"]["edges"].as_array().map(Vec::len);

        // Draft → submitted; a submitted ballot cannot be edited or submitted again.
        let (ballot, _) = draft_matter(&server, 20, "OTHER_MAJOR").await;
        let d = server.data(&member, "{ estate(id: \"RXN0YXRlOjE=\") { ballots(first: 100, state: DRAFT) { edges { node { id } } } } }", json!({})).await;
        assert!(d["estate"]["ballots"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .any(|e| e["node"]["id"] == ballot));
        let upd = "mutation($input: UpdateBallotInput!) { updateBallot(input: $input) { title } }";
        let d = server
            .data(
                &member,
                upd,
                json!({"input": {"ballotId": ballot, "title": "改名"}}),
            )
            .await;
        assert_eq!(d["updateBallot"]["title"], "改名");
        server
            .data(
                &member,
                "mutation($id: ID!) { submitBallot(id: $id) { state } }",
                json!({"id": ballot}),
            )
            .await;
        let b = server
            .gql(
                Some(&member),
                upd,
                json!({"input": {"ballotId": ballot, "title": "再改"}}),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT", "{b}");
        assert!(b["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("only a draft"));
        let b = server
            .gql(
                Some(&member),
                "mutation($id: ID!) { submitBallot(id: $id) { state } }",
                json!({"id": ballot}),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT");
        // Only the subdistrict's officer approves.
        let b = server
            .gql(
                Some(&member),
                "mutation($id: ID!) { approveBallot(id: $id) { state } }",
                json!({"id": ballot}),
            )
            .await;
        assert_eq!(code(&b), "FORBIDDEN");
        let d = server
            .data(
                &officer,
                "mutation($id: ID!) { approveBallot(id: $id) { state } }",
                json!({"id": ballot}),
            )
            .await;
        assert_eq!(d["approveBallot"]["state"], "APPROVED");
        let b = server
            .gql(
                Some(&officer),
                "mutation($id: ID!) { approveBallot(id: $id) { state } }",
                json!({"id": ballot}),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT");

        // Notice: opening within the estate's 15 days is refused at approval.
        let (early, _) = draft_matter(&server, 5, "OTHER_MAJOR").await;
        server
            .data(
                &member,
                "mutation($id: ID!) { submitBallot(id: $id) { state } }",
                json!({"id": early}),
            )
            .await;
        let b = server
            .gql(
                Some(&officer),
                "mutation($id: ID!) { approveBallot(id: $id) { state } }",
                json!({"id": early}),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT", "{b}");
        assert!(b["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("15 days"));
        // Rejection needs a reason and is final.
        let b = server
            .gql(
                Some(&officer),
                r#"mutation($id: ID!) { rejectBallot(id: $id, reason: " ") { state } }"#,
                json!({"id": early}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT");
        let d = server
            .data(&officer, r#"mutation($id: ID!) { rejectBallot(id: $id, reason: "开放时间不足十五日") { state rejectionReason } }"#, json!({"id": early}))
            .await;
        assert_eq!(d["rejectBallot"]["state"], "REJECTED");
        let b = server
            .gql(
                Some(&member),
                "mutation($id: ID!) { cancelBallot(id: $id) { state } }",
                json!({"id": early}),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT");

        // The clock opens it; then it can no longer be cancelled.
        server.state.clock.advance(chrono::Duration::days(21));
        quorum::ballots::scheduler::tick(&server.state.db, &server.state.bus, &server.state.clock)
            .await
            .expect("tick");
        assert_eq!(state_of(&server, &member, &ballot).await, "OPEN");
        let b = server
            .gql(
                Some(&member),
                "mutation($id: ID!) { cancelBallot(id: $id) { state } }",
                json!({"id": ballot}),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT");
        assert!(b["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("once it has opened"));
        // A draft can be cancelled.
        let (other, _) = draft_matter(&server, 30, "OTHER_MAJOR").await;
        let d = server
            .data(
                &member,
                "mutation($id: ID!) { cancelBallot(id: $id) { state } }",
                json!({"id": other}),
            )
            .await;
        assert_eq!(d["cancelBallot"]["state"], "CANCELLED");
        let d = server
            .data(
                &member,
                "{ estate(id: \"RXN0YXRlOjE=\") { ballots(first: 100) { edges { cursor } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            d["estate"]["ballots"]["edges"].as_array().map(Vec::len),
            before.map(|n| n + 3)
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn the_roll_follows_spc_arts_8_and_9_and_stays_frozen() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let houses = register(&server).await;
        assert_eq!(houses.len(), 842);
        // Expected roll: developer-held houses form one voter; the rest group by owner set.
        let mut voters: BTreeMap<String, i64> = BTreeMap::new();
        let mut total = 0i64;
        for (_, area, developer, owners) in &houses {
            let area = quorum::graphql::scalars::parse_hundredths(area).expect("area");
            total += area;
            let key = if *developer || owners.is_empty() {
                "developer".to_string()
            } else {
                let set: BTreeSet<i64> = owners.iter().copied().collect();
                format!("{set:?}")
            };
            *voters.entry(key).or_default() += area;
        }
        assert!(
            voters.contains_key("developer"),
            "the demo has developer-held units"
        );
        assert!(voters.len() < houses.len(), "multi-house owners count once");
        let (ballot, _) = draft_matter(&server, 16, "OTHER_MAJOR").await;
        open(&server, &ballot, 16).await;
        let member = server.demo_token(Role::CommitteeMember);
        let d = server
            .data(
                &member,
                "query($id: ID!) { ballot(id: $id) { roll { area voters } } }",
                json!({"id": ballot}),
            )
            .await;
        assert_eq!(
            d["ballot"]["roll"]["voters"],
            voters.len().to_string(),
            "[{backend:?}]"
        );
        assert_eq!(
            d["ballot"]["roll"]["area"],
            quorum::graphql::scalars::format_hundredths(total)
        );
        // The house changes hands after opening (as a register import would record it): the
        // roll does not move, the former owner still votes for it, the new owner does not.
        {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use quorum::db::schema::ownerships;
            let demo_owner = server.demo().owner;
            let buyer = server.demo().committee_member;
            let mut conn = server.state.db.conn().await.expect("conn");
            let (house,): (i64,) = ownerships::table
                .filter(ownerships::owner_id.eq(demo_owner))
                .filter(ownerships::until.is_null())
                .select((ownerships::house_id,))
                .first(&mut *conn)
                .await
                .expect("demo owner's house");
            let now = quorum::db::now();
            diesel::update(
                ownerships::table
                    .filter(ownerships::house_id.eq(house))
                    .filter(ownerships::until.is_null()),
            )
            .set(ownerships::until.eq(now))
            .execute(&mut *conn)
            .await
            .expect("sell");
            diesel::insert_into(ownerships::table)
                .values((
                    ownerships::house_id.eq(house),
                    ownerships::owner_id.eq(buyer),
                    ownerships::since.eq(now),
                ))
                .execute(&mut *conn)
                .await
                .expect("buy");
        }
        let d = server
            .data(
                &member,
                "query($id: ID!) { ballot(id: $id) { roll { area voters } } }",
                json!({"id": ballot}),
            )
            .await;
        assert_eq!(d["ballot"]["roll"]["voters"], voters.len().to_string());
        let mine = "query($id: ID!) { ballot(id: $id) { myVoters { label } } }";
        let d = server
            .data(&server.demo_token(Role::Owner), mine, json!({"id": ballot}))
            .await;
        assert_eq!(d["ballot"]["myVoters"][0]["label"], "1号楼1单元101");
        let d = server.data(&member, mine, json!({"id": ballot})).await;
        assert!(d["ballot"]["myVoters"]
            .as_array()
            .expect("voters")
            .iter()
            .all(|v| v["label"] != "1号楼1单元101"));
        // A co-owned house held by no one else's set is one voter: the first co-owner's ballot
        // is its vote, the second co-owner's is a conflict.
        let (address, _, _, co_owners) = houses
            .iter()
            .find(|(address, _, developer, owners)| {
                !developer
                    && owners.len() == 2
                    && houses
                        .iter()
                        .filter(|h| {
                            h.3.iter().copied().collect::<BTreeSet<_>>()
                                == owners.iter().copied().collect::<BTreeSet<_>>()
                        })
                        .count()
                        == 1
                    && address != "1号楼1单元101"
            })
            .expect("the demo has co-owned houses");
        let voters_q = "query($id: ID!) { ballot(id: $id) { myVoters { id label } } }";
        let item = server
            .data(
                &member,
                "query($id: ID!) { ballot(id: $id) { items { id } } }",
                json!({"id": ballot}),
            )
            .await["ballot"]["items"][0]["id"]
            .clone();
        let mut answers = Vec::new();
        for (n, owner) in co_owners.iter().enumerate() {
            let token = server.token(Role::Owner, *owner);
            let d = server.data(&token, voters_q, json!({"id": ballot})).await;
            let voter = d["ballot"]["myVoters"]
                .as_array()
                .expect("voters")
                .iter()
                .find(|v| v["label"] == address.as_str())
                .unwrap_or_else(|| {
                    panic!("[{backend:?}] {address} is a voter of each co-owner: {d}")
                })["id"]
                .clone();
            let mut input = vote_input(&ballot, &item, "AGREE", &format!("co-owner-{n}"));
            input["input"]["voterId"] = voter;
            answers.push(server.gql(Some(&token), CAST, input).await);
        }
        assert!(
            answers[0].get("errors").is_none(),
            "[{backend:?}] {}",
            answers[0]
        );
        assert_eq!(
            code(&answers[1]),
            "CONFLICT",
            "[{backend:?}] {}",
            answers[1]
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn votes_are_final_idempotent_checked_and_receipted() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let owner = server.demo_token(Role::Owner);
        let (ballot, item) = draft_matter(&server, 16, "OTHER_MAJOR").await;
        // Not open yet.
        let b = server
            .gql(
                Some(&owner),
                CAST,
                vote_input(&ballot, &item, "AGREE", "k1"),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT", "{b}");
        open(&server, &ballot, 16).await;
        // Broken ballots are refused and write nothing.
        let b = server
            .gql(
                Some(&owner),
                CAST,
                json!({"input": {"ballotId": ballot, "idempotencyKey": "k", "choices": []}}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        let b = server
            .gql(
                Some(&owner),
                CAST,
                vote_input(&ballot, &item, "FOLLOW_MAJORITY", "k"),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        let b = server
            .gql(Some(&owner), CAST, json!({"input": {"ballotId": ballot, "idempotencyKey": "k", "choices": [{"itemId": item, "optionIds": ["QmFsbG90T3B0aW9uOjE="]}]}}))
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        // Staff do not vote online.
        let b = server
            .gql(
                Some(&server.demo_token(Role::PropertyManager)),
                CAST,
                vote_input(&ballot, &item, "AGREE", "k"),
            )
            .await;
        assert_eq!(code(&b), "FORBIDDEN");
        // The vote, its replay, and a second vote.
        let first = server
            .data(&owner, CAST, vote_input(&ballot, &item, "AGREE", "k1"))
            .await;
        let receipt = first["castVote"]["receipt"]
            .as_str()
            .expect("receipt")
            .to_string();
        assert_eq!(receipt.len(), 64);
        let replay = server
            .data(&owner, CAST, vote_input(&ballot, &item, "AGREE", "k1"))
            .await;
        assert_eq!(replay["castVote"]["receipt"], receipt.as_str());
        let b = server
            .gql(
                Some(&owner),
                CAST,
                vote_input(&ballot, &item, "OPPOSE", "k2"),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT", "{b}");
        let b = server
            .gql(
                Some(&owner),
                CAST,
                vote_input(&ballot, &item, "OPPOSE", "k1"),
            )
            .await;
        assert_eq!(
            code(&b),
            "CONFLICT",
            "the same key with other choices is not a replay: {b}"
        );
        let d = server
            .data(&owner, "query($id: ID!) { ballot(id: $id) { votesCast myVote { receipt } progress { participatingVoters items { options { choice voters } } } } }", json!({"id": ballot}))
            .await;
        assert_eq!(d["ballot"]["votesCast"], "1");
        assert_eq!(d["ballot"]["myVote"]["receipt"], receipt.as_str());
        assert_eq!(
            d["ballot"]["progress"]["items"][0]["options"][0],
            json!({"choice": "AGREE", "voters": "1"})
        );
        // The receipt verifies; a made-up one is not found.
        let d = server.data(&owner, "query($r: String!) { verifyReceipt(receipt: $r) { found chainIntact counted sequence } }", json!({"r": receipt})).await;
        assert_eq!(
            d["verifyReceipt"],
            json!({"found": true, "chainIntact": true, "counted": true, "sequence": "1"})
        );
        let d = server
            .data(
                &owner,
                "query($r: String!) { verifyReceipt(receipt: $r) { found } }",
                json!({"r": "0".repeat(64)}),
            )
            .await;
        assert_eq!(d["verifyReceipt"]["found"], false);
        let b = server
            .gql(
                Some(&owner),
                "{ verifyReceipt(receipt: \"xyz\") { found } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT");
        server.stop().await;
    }
}

#[tokio::test]
async fn a_hundred_concurrent_votes_for_one_voter_count_once() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let owner = server.demo_token(Role::Owner);
        let (ballot, item) = draft_matter(&server, 16, "OTHER_MAJOR").await;
        open(&server, &ballot, 16).await;
        let attempts = (0..100).map(|i| {
            let (server, owner, ballot, item) = (&server, &owner, &ballot, &item);
            async move {
                let choice = if i % 2 == 0 { "AGREE" } else { "OPPOSE" };
                server
                    .gql(
                        Some(owner),
                        CAST,
                        vote_input(ballot, item, choice, &format!("key-{i}")),
                    )
                    .await
            }
        });
        let results = futures_util::future::join_all(attempts).await;
        let ok = results.iter().filter(|r| r.get("errors").is_none()).count();
        let conflicts = results.iter().filter(|r| code(r) == "CONFLICT").count();
        assert_eq!(
            (ok, conflicts),
            (1, 99),
            "[{backend:?}] {:?}",
            results
                .iter()
                .find(|r| r.get("errors").is_some() && code(r) != "CONFLICT")
        );
        let d = server
            .data(&owner, "query($id: ID!) { ballot(id: $id) { votesCast progress { participatingVoters } } }", json!({"id": ballot}))
            .await;
        assert_eq!(d["ballot"]["votesCast"], "1");
        assert_eq!(d["ballot"]["progress"]["participatingVoters"], "1");
        server.stop().await;
    }
}

const PAPER: &str = r#"mutation($input: RecordPaperBallotsInput!) { recordPaperBallots(input: $input) {
    dryRun recorded rows { row serialNumber outcome reason receipt } } }"#;

#[tokio::test]
async fn paper_ballots_are_all_or_nothing_and_never_count_twice_and_the_tally_recounts() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let member = server.demo_token(Role::CommitteeMember);
        let owner = server.demo_token(Role::Owner);
        let (ballot, item) = draft_matter(&server, 16, "OTHER_MAJOR").await;
        open(&server, &ballot, 16).await;
        // The demo owner (1号楼1单元101) votes online first.
        server
            .data(
                &owner,
                CAST,
                vote_input(&ballot, &item, "OPPOSE", "online-1"),
            )
            .await;
        let paper = |address: &str, serial: &str, choice: &str| json!({"houseAddress": address, "serialNumber": serial, "choices": [{"itemId": item, "choice": choice}]});
        // Owners may not record paper ballots.
        let input = json!({"input": {"ballotId": ballot, "ballots": [paper("1号楼1单元201", "S1", "AGREE")]}});
        assert_eq!(
            code(&server.gql(Some(&owner), PAPER, input).await),
            "FORBIDDEN"
        );
        // A batch with one conflicting row records nothing.
        let batch = json!({"input": {"ballotId": ballot, "ballots": [
            paper("1号楼1单元201", "S1", "AGREE"),
            paper("1号楼1单元101", "S2", "AGREE"),
            paper("9号楼9单元999", "S3", "AGREE"),
            paper("1号楼1单元202", "S1", "AGREE"),
        ]}});
        let d = server.data(&member, PAPER, batch).await;
        let report = &d["recordPaperBallots"];
        assert_eq!(report["recorded"], 0);
        let outcomes: Vec<&str> = report["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["outcome"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            outcomes,
            ["NOT_RECORDED", "CONFLICT", "INVALID", "CONFLICT"],
            "{report}"
        );
        let votes = |d: &Value| {
            d["ballot"]["votesCast"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let q = "query($id: ID!) { ballot(id: $id) { votesCast } }";
        assert_eq!(
            votes(&server.data(&member, q, json!({"id": ballot})).await),
            "1"
        );
        // A dry run reports and writes nothing; the real run records.
        let good = json!({"input": {"ballotId": ballot, "dryRun": true, "ballots": [paper("1号楼1单元201", "S1", "AGREE"), paper("1号楼1单元202", "S2", "AGREE")]}});
        let d = server.data(&member, PAPER, good.clone()).await;
        assert_eq!(
            d["recordPaperBallots"]["rows"][0]["outcome"],
            "WOULD_RECORD"
        );
        assert_eq!(
            votes(&server.data(&member, q, json!({"id": ballot})).await),
            "1"
        );
        let mut real = good;
        real["input"]["dryRun"] = json!(false);
        let d = server.data(&member, PAPER, real.clone()).await;
        assert_eq!(d["recordPaperBallots"]["recorded"], 2);
        assert!(d["recordPaperBallots"]["rows"][1]["receipt"].is_string());
        assert_eq!(
            votes(&server.data(&member, q, json!({"id": ballot})).await),
            "3"
        );
        // The same papers again conflict (by serial and by voter).
        let d = server.data(&member, PAPER, real).await;
        assert_eq!(d["recordPaperBallots"]["rows"][0]["outcome"], "CONFLICT");
        // An owner whose house voted on paper cannot also vote online.
        let houses = register(&server).await;
        let owner_201 = houses
            .iter()
            .find(|h| h.0 == "1号楼1单元201")
            .map(|h| h.3[0])
            .expect("owner of 201");
        let token_201 = server.token(Role::Owner, owner_201);
        let b = server
            .gql(
                Some(&token_201),
                CAST,
                vote_input(&ballot, &item, "OPPOSE", "late"),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT", "{b}");
        // Close: the recount equals the running tally, and the result is published.
        close(&server).await;
        let d = server
            .data(&member, "query($id: ID!) { ballot(id: $id) { state integrityOk items { result { outcome summary } } progress { items { options { choice voters } } } } }", json!({"id": ballot}))
            .await;
        let b = &d["ballot"];
        assert_eq!(b["state"], "TALLIED", "[{backend:?}] {b}");
        assert_eq!(b["integrityOk"], true);
        assert_eq!(b["items"][0]["result"]["outcome"], "NO_QUORUM");
        assert!(b["items"][0]["result"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("quorum not met"));
        let options = &b["progress"]["items"][0]["options"];
        assert_eq!(options[0], json!({"choice": "AGREE", "voters": "2"}));
        assert_eq!(options[1], json!({"choice": "OPPOSE", "voters": "1"}));
        server.stop().await;
    }
}

#[tokio::test]
async fn progress_streams_to_subscribers_and_stays_in_scope() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let member = server.demo_token(Role::CommitteeMember);
        let (ballot, item) = draft_matter(&server, 16, "OTHER_MAJOR").await;
        open(&server, &ballot, 16).await;
        let subscribe = json!({"id": "p", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { ballotProgress(ballotId: $id) { participatingVoters quorumMet items { projectedOutcome votersNeededToPass } } }",
            "variables": {"id": ballot}}});
        // Two subscribers share one computation per burst.
        let mut first = server.ws().await;
        first.init(&member).await;
        first.send(subscribe.clone()).await;
        let mut second = server.ws().await;
        second.init(&server.demo_token(Role::Owner)).await;
        second.send(subscribe.clone()).await;
        for ws in [&mut first, &mut second] {
            let m = ws.next_message().await;
            assert_eq!(
                m["payload"]["data"]["ballotProgress"]["participatingVoters"], "0",
                "{m}"
            );
        }
        let before = server.state.hub.computations();
        // Another client votes.
        server
            .data(
                &server.demo_token(Role::Owner),
                CAST,
                vote_input(&ballot, &item, "AGREE", "ws-vote"),
            )
            .await;
        for ws in [&mut first, &mut second] {
            let m = ws.next_message().await;
            assert_eq!(
                m["payload"]["data"]["ballotProgress"]["participatingVoters"], "1",
                "{m}"
            );
        }
        assert_eq!(
            server.state.hub.computations() - before,
            1,
            "one computation for both subscribers"
        );
        // An owner of another estate cannot watch it.
        let d = server
            .data(&server.demo_token(Role::CityAdmin), r#"{ estate(id: "RXN0YXRlOjM=") { houses(first: 1) { edges { node { owners { edges { node { id } } } } } } } }"#, json!({}))
            .await;
        let stranger =
            number(&d["estate"]["houses"]["edges"][0]["node"]["owners"]["edges"][0]["node"]["id"]);
        let mut ws = server.ws().await;
        ws.init(&server.token(Role::Owner, stranger)).await;
        ws.send(subscribe).await;
        let m = ws.next_message().await;
        assert_eq!(
            m["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{m}"
        );
        // Lifecycle events reach the estate's followers.
        let mut events = server.ws().await;
        events.init(&member).await;
        events
            .send(json!({"id": "e", "type": "subscribe", "payload": {"query": format!("subscription {{ ballotEvents(estateId: \"{YIJING}\") {{ ballotId state }} }}")}}))
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let (draft, _) = draft_matter(&server, 30, "OTHER_MAJOR").await;
        let m = events.next_message().await;
        assert_eq!(
            m["payload"]["data"]["ballotEvents"],
            json!({"ballotId": draft, "state": "DRAFT"}),
            "{m}"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn the_background_scheduler_tallies_what_fell_due_while_the_server_was_down() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let admin = server.demo_token(Role::CityAdmin);
        // The demo's open election in 新城红岛湾: its closing time passes unseen.
        let election = "QmFsbG90OjQ=";
        assert_eq!(state_of(&server, &admin, &json!(election)).await, "OPEN");
        {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use quorum::db::schema::ballots;
            let mut conn = server.state.db.conn().await.expect("conn");
            diesel::update(ballots::table.find(4i64))
                .set(ballots::closes_at.eq(quorum::db::now() - chrono::Duration::hours(1)))
                .execute(&mut *conn)
                .await
                .expect("move the closing time");
        }
        // No manual tick: the server's own scheduler finds it.
        let mut state = String::new();
        for _ in 0..50 {
            state = state_of(&server, &admin, &json!(election)).await;
            if state == "TALLIED" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(state, "TALLIED", "[{backend:?}]");
        let d = server
            .data(&admin, "query($id: ID!) { ballot(id: $id) { integrityOk items { result { outcome summary } } } }", json!({"id": election}))
            .await;
        assert_eq!(d["ballot"]["integrityOk"], true);
        // About half voted: no quorum, no one elected.
        assert_eq!(
            d["ballot"]["items"][0]["result"]["outcome"], "NO_QUORUM",
            "{d}"
        );
        server.stop().await;
    }
}
