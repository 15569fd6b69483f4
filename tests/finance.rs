//! Money over the wire: idempotent, checked bank-statement imports; the public-income ledger and
//! its reversals; distributions exact to the fen; who may write what; live account activity.

mod common;

use common::{backends, Seed, TestServer};
use quorum::auth::Role;
use serde_json::{json, Value};

fn code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const YIJING: &str = "RXN0YXRlOjE=";
const HONGDAO: &str = "RXN0YXRlOjM=";

const REGISTER: &str = "mutation($input: RegisterAccountInput!) { registerAccount(input: $input) { id kind accountNumber balance } }";
const IMPORT: &str = "mutation($input: ImportBankStatementInput!) { importBankStatement(input: $input) { imported alreadyImported balance } }";
const RECORD: &str = "mutation($input: RecordPublicIncomeInput!) { recordPublicIncome(input: $input) { id amount balance category period } }";

/// The number inside a global id.
fn number(id: &Value) -> i64 {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD
        .decode(id.as_str().expect("id"))
        .expect("base64");
    String::from_utf8(text)
        .ok()
        .and_then(|t| t.split_once(':').and_then(|(_, n)| n.parse().ok()))
        .expect("numeric id")
}

/// Every payout, in fen, of 逸景公馆's distribution made by `method`, all pages through.
async fn payouts(server: &TestServer, token: &str, method: &str) -> Vec<i64> {
    let mut amounts = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let d = server
            .data(
                token,
                r#"query($after: String) { estate(id: "RXN0YXRlOjE=") { accounts { edges { node { distributions { method payouts(first: 100, after: $after) { edges { node { amount } } pageInfo { hasNextPage endCursor } } } } } } } }"#,
                json!({"after": after}),
            )
            .await;
        let distributions = d["estate"]["accounts"]["edges"][0]["node"]["distributions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let page = &distributions
            .iter()
            .find(|x| x["method"] == method)
            .unwrap_or_else(|| panic!("no {method} distribution: {d}"))["payouts"];
        for e in page["edges"].as_array().expect("payouts") {
            amounts.push(
                quorum::graphql::scalars::parse_hundredths(
                    e["node"]["amount"].as_str().unwrap_or_default(),
                )
                .expect("money"),
            );
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return amounts;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
}

fn statement(rows: &[&str]) -> String {
    let mut s = String::from("date,reference,counterparty,amount,currency,balance,memo\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

/// Imports a statement and returns the account's balance after it.
async fn import_balance(server: &TestServer, token: &str, account: &Value, csv: &str) -> Value {
    let d = server
        .data(
            token,
            IMPORT,
            json!({"input": {"accountId": account, "csv": csv}}),
        )
        .await;
    d["importBankStatement"]["balance"].clone()
}

async fn balance(server: &TestServer, token: &str, account: &Value) -> String {
    let d = server
        .data(
            token,
            "query($id: ID!) { node(id: $id) { ... on Account { balance } } }",
            json!({"id": account}),
        )
        .await;
    d["node"]["balance"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn bank_statements_import_idempotently_and_refuse_bad_rows() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let member = server.demo_token(Role::CommitteeMember);
        let d = server
            .data(&member, REGISTER, json!({"input": {"estateId": YIJING, "kind": "MAINTENANCE_FUND", "name": "维修资金专户", "bank": "建设银行", "accountNumber": "6217 0000 1111 9876"}}))
            .await;
        let account = d["registerAccount"]["id"].clone();
        assert_eq!(
            d["registerAccount"]["accountNumber"], "**** **** **** 9876",
            "the full number is not kept"
        );
        let b = server
            .gql(
                Some(&member),
                REGISTER,
                json!({"input": {"estateId": YIJING, "kind": "MAINTENANCE_FUND", "name": "again"}}),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT");
        let first = statement(&[
            "2026-01-05,M001,业主缴存,120000.00,CNY,120000.00,首期缴存",
            "2026-02-05,M002,业主缴存,8000.50,CNY,128000.50,补缴",
        ]);
        let input = |csv: &str| json!({"input": {"accountId": account, "csv": csv}});
        let d = server.data(&member, IMPORT, input(&first)).await;
        assert_eq!(
            d["importBankStatement"],
            json!({"imported": 2, "alreadyImported": 0, "balance": "128000.50"})
        );
        // Re-importing adds nothing and says so.
        let d = server.data(&member, IMPORT, input(&first)).await;
        assert_eq!(
            d["importBankStatement"],
            json!({"imported": 0, "alreadyImported": 2, "balance": "128000.50"})
        );
        // An overlapping statement adds only its new rows.
        let next = statement(&[
            "2026-02-05,M002,业主缴存,8000.50,CNY,128000.50,补缴",
            "2026-03-09,M003,电梯维修,-30000.00,CNY,98000.50,3号楼电梯",
        ]);
        let d = server.data(&member, IMPORT, input(&next)).await;
        assert_eq!(
            d["importBankStatement"],
            json!({"imported": 1, "alreadyImported": 1, "balance": "98000.50"})
        );
        // A NUL character (which PostgreSQL cannot store) is refused as the client's mistake on
        // both backends, before anything runs.
        let with_nul = statement(&["2026-03-10,M009,业主缴存,1.00,CNY,98001.50,补\u{0}缴"]);
        let b = server.gql(Some(&member), IMPORT, input(&with_nul)).await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        assert!(b["data"].is_null(), "{b}");
        assert_eq!(balance(&server, &member, &account).await, "98000.50");
        // Bad input: a clear error naming the row or field, and nothing written.
        let cases = [
            (
                statement(&["2026-04-01,M004,x,10.00,USD,98010.50,m"]),
                "not CNY",
            ),
            (
                statement(&["2026-04-01,M004,x,10.001,CNY,98010.50,m"]),
                "more than two decimals",
            ),
            (
                statement(&["2026-04-01,M004,x,10.00,CNY,98011.50,m"]),
                "balance break",
            ),
            (
                statement(&[
                    "2026-04-01,M004,x,10.00,CNY,98010.50,m",
                    "2026-04-02,M005,x,10.00,CNY,98030.50,m",
                ]),
                "line 3: balance break",
            ),
            (
                statement(&["2026-02-05,M002,业主缴存,9000.50,CNY,129000.50,补缴"]),
                "different content",
            ),
            (
                statement(&["2026/04/01,M004,x,10.00,CNY,98010.50,m"]),
                "line 2: date",
            ),
            (
                statement(&["2026-04-01,M004,x,10.00,CNY"]),
                "expected 7 fields",
            ),
            ("date,ref,amount\n".to_string(), "header"),
        ];
        for (csv, expected) in cases {
            let b = server.gql(Some(&member), IMPORT, input(&csv)).await;
            assert_eq!(code(&b), "BAD_USER_INPUT", "{expected}: {b}");
            assert!(
                message(&b).contains(expected),
                "expected {expected:?} in {b}"
            );
        }
        assert_eq!(balance(&server, &member, &account).await, "98000.50");
        // Owners read the account at any hour, but do not write it.
        let owner = server.demo_token(Role::Owner);
        assert_eq!(balance(&server, &owner, &account).await, "98000.50");
        assert_eq!(
            code(&server.gql(Some(&owner), IMPORT, input(&first)).await),
            "FORBIDDEN"
        );
        // The optional category column classifies rows; an unknown category is refused.
        let classified = "date,reference,counterparty,amount,currency,balance,memo,category\n\
            2026-03-20,M005,停车公司,500.00,CNY,98500.50,停车费,PARKING\n";
        let d = server.data(&member, IMPORT, input(classified)).await;
        assert_eq!(d["importBankStatement"]["imported"], 1);
        let d = server
            .data(
                &member,
                "query($id: ID!) { node(id: $id) { ... on Account { entries(first: 1) { edges { node { category } } } } } }",
                json!({"id": account}),
            )
            .await;
        assert_eq!(
            d["node"]["entries"]["edges"][0]["node"]["category"], "PARKING",
            "{d}"
        );
        let b = server
            .gql(
                Some(&member),
                IMPORT,
                input("date,reference,counterparty,amount,currency,balance,memo,category\n2026-03-21,M006,x,1.00,CNY,98501.50,m,CAR_WASH\n"),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        assert!(message(&b).contains("line 2: category"), "{b}");
        server.stop().await;
    }
}

#[tokio::test]
async fn the_public_income_ledger_belongs_to_the_managing_company_and_corrects_by_reversal() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        // 新城红岛湾 is managed by the second company; its manager opens the ledger.
        let other_manager = server.token(Role::PropertyManager, server.demo().property_manager + 1);
        let d = server.data(&other_manager, REGISTER, json!({"input": {"estateId": HONGDAO, "kind": "PUBLIC_INCOME_LEDGER", "name": "红岛湾公共收益台账"}})).await;
        let ledger = d["registerAccount"]["id"].clone();
        let entry = |amount: &str| json!({"input": {"accountId": ledger, "category": "PARKING", "period": "2026-Q3", "amount": amount, "bookedOn": "2026-09-30", "counterparty": "红岛湾停车场", "memo": "三季度"}});
        let d = server.data(&other_manager, RECORD, entry("35260.00")).await;
        assert_eq!(d["recordPublicIncome"]["balance"], "35260.00");
        let income = d["recordPublicIncome"]["id"].clone();
        // The demo manager's company does not manage it.
        let b = server
            .gql(
                Some(&server.demo_token(Role::PropertyManager)),
                RECORD,
                entry("1.00"),
            )
            .await;
        assert_eq!(code(&b), "FORBIDDEN", "{b}");
        // The committee does not write the company's ledger, and no one types a bad period or amount.
        assert_eq!(
            code(
                &server
                    .gql(
                        Some(&server.demo_token(Role::CommitteeMember)),
                        RECORD,
                        entry("1.00")
                    )
                    .await
            ),
            "FORBIDDEN"
        );
        let mut bad = entry("1.00");
        bad["input"]["period"] = json!("2026-Q5");
        assert_eq!(
            code(&server.gql(Some(&other_manager), RECORD, bad).await),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            code(
                &server
                    .gql(Some(&other_manager), RECORD, entry("1.234"))
                    .await
            ),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            code(
                &server
                    .gql(Some(&other_manager), RECORD, entry("0.00"))
                    .await
            ),
            "BAD_USER_INPUT"
        );
        // A correction is a reversing entry with its reason, once.
        let reverse = "mutation($input: ReverseEntryInput!) { reverseEntry(input: $input) { amount balance source reverses reason } }";
        let b = server
            .gql(
                Some(&other_manager),
                reverse,
                json!({"input": {"entryId": income, "reason": " "}}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT");
        let d = server
            .data(
                &other_manager,
                reverse,
                json!({"input": {"entryId": income, "reason": "金额录入错误"}}),
            )
            .await;
        assert_eq!(
            d["reverseEntry"],
            json!({"amount": "-35260.00", "balance": "0.00", "source": "REVERSAL", "reverses": income, "reason": "金额录入错误"})
        );
        let b = server
            .gql(
                Some(&other_manager),
                reverse,
                json!({"input": {"entryId": income, "reason": "again"}}),
            )
            .await;
        assert_eq!(code(&b), "CONFLICT", "{b}");
        // Both entries stay readable.
        let d = server
            .data(&other_manager, "query($id: ID!) { node(id: $id) { ... on Account { entries { edges { node { amount source } } } } } }", json!({"id": ledger}))
            .await;
        assert_eq!(
            d["node"]["entries"]["edges"].as_array().map(Vec::len),
            Some(2)
        );
        // The estate changes hands: the new company's manager reads it but does not write into
        // its predecessor's ledger.
        {
            use diesel_async::RunQueryDsl;
            let mut conn = server.state.db.conn().await.expect("conn");
            diesel::sql_query(format!(
                "UPDATE estate_managements SET company_id = \
                 (SELECT company_id FROM staff WHERE id = {}) WHERE estate_id = {}",
                server.demo().property_manager,
                number(&json!(HONGDAO))
            ))
            .execute(&mut *conn)
            .await
            .expect("hand the estate over");
        }
        let b = server
            .gql(
                Some(&server.demo_token(Role::PropertyManager)),
                RECORD,
                entry("1.00"),
            )
            .await;
        assert_eq!(code(&b), "FORBIDDEN", "{b}");
        assert!(message(&b).contains("no longer manages"), "{b}");
        server.stop().await;
    }
}

#[tokio::test]
async fn distributions_pay_exactly_to_the_fen_and_only_after_a_passed_item() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let member = server.demo_token(Role::CommitteeMember);
        let q = r#"{ estate(id: "RXN0YXRlOjE=") { accounts { edges { node { id balance
            entries(first: 1) { edges { node { amount source } } }
            distributions { id total recipients method ballotItemId } } } } } }"#;
        let d = server.data(&member, q, json!({})).await;
        let account = &d["estate"]["accounts"]["edges"][0]["node"];
        let distribution = &account["distributions"][0];
        assert_eq!(distribution["total"], "420000.00");
        assert_eq!(distribution["recipients"], 842);
        assert_eq!(distribution["method"], "PER_HOUSEHOLD");
        assert_eq!(
            account["entries"]["edges"][0]["node"],
            json!({"amount": "-420000.00", "source": "DISTRIBUTION"})
        );
        // The payouts, all 842 pages through, sum exactly to the total.
        let amounts = payouts(&server, &member, "PER_HOUSEHOLD").await;
        assert!(
            amounts.iter().all(|a| *a == 49_881 || *a == 49_882),
            "{amounts:?}"
        );
        assert_eq!(
            (amounts.len(), amounts.iter().sum::<i64>()),
            (842, 42_000_000)
        );
        // The same item again, an item that did not pass, or more than the balance: refused.
        let create = "mutation($input: CreateDistributionInput!) { createDistribution(input: $input) { total } }";
        let item = distribution["ballotItemId"].clone();
        let b = server.gql(Some(&member), create, json!({"input": {"ballotItemId": item, "accountId": account["id"], "total": "1000.00"}})).await;
        assert_eq!(code(&b), "CONFLICT", "{b}");
        let b = server.gql(Some(&member), create, json!({"input": {"ballotItemId": item, "accountId": account["id"], "total": "99999999.00"}})).await;
        assert_eq!(code(&b), "CONFLICT", "{b}");
        assert!(message(&b).contains("less than"), "{b}");
        let selection_item =
            quorum::graphql::relay::global_id(quorum::graphql::relay::NodeKind::BallotItem, 1).0;
        let b = server.gql(Some(&member), create, json!({"input": {"ballotItemId": selection_item, "accountId": account["id"], "total": "10.00"}})).await;
        assert_eq!(code(&b), "CONFLICT", "{b}");
        let b = server.gql(Some(&server.demo_token(Role::Owner)), create, json!({"input": {"ballotItemId": item, "accountId": account["id"], "total": "10.00"}})).await;
        assert_eq!(code(&b), "FORBIDDEN");
        assert_eq!(
            server.data(&member, q, json!({})).await["estate"]["accounts"]["edges"][0]["node"]
                ["balance"],
            account["balance"]
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn account_activity_streams_to_readers_only() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let manager = server.demo_token(Role::PropertyManager);
        // 福林苑's ledger, kept by the demo manager's company.
        let d = server
            .data(&manager, r#"{ estates(filter: {nameContains: "福林"}) { edges { node { accounts { edges { node { id balance } } } } } } }"#, json!({}))
            .await;
        let ledger = d["estates"]["edges"][0]["node"]["accounts"]["edges"][0]["node"].clone();
        let sub = json!({"id": "a", "type": "subscribe", "payload": {"query": "subscription($id: ID!) { accountActivity(accountId: $id) { balance } }", "variables": {"id": ledger["id"]}}});
        let mut ws = server.ws().await;
        ws.init(&manager).await;
        ws.send(sub.clone()).await;
        let m = ws.next_message().await;
        assert_eq!(
            m["payload"]["data"]["accountActivity"]["balance"], ledger["balance"],
            "{m}"
        );
        server
            .data(&manager, RECORD, json!({"input": {"accountId": ledger["id"], "category": "VENUE_RENTAL", "period": "2026-Q4", "amount": "100.00", "bookedOn": "2026-11-30", "counterparty": "活动室"}}))
            .await;
        let m = ws.next_message().await;
        let before = quorum::graphql::scalars::parse_hundredths(
            ledger["balance"].as_str().unwrap_or_default(),
        )
        .expect("money");
        assert_eq!(
            m["payload"]["data"]["accountActivity"]["balance"],
            quorum::graphql::scalars::format_hundredths(before + 10_000),
            "{m}"
        );
        // An owner of 逸景公馆 does not read 福林苑's accounts.
        let mut ws = server.ws().await;
        ws.init(&server.demo_token(Role::Owner)).await;
        ws.send(sub).await;
        let m = ws.next_message().await;
        assert_eq!(
            m["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{m}"
        );
        server.stop().await;
    }
}

/// From the bank to the owners: the bank's statement carries the payout the distribution booked
/// (and is accepted as continuing the bank's own balance), a booked debit or a bank row is never
/// reversed, only a passed item on public income pays out, and a distribution by area splits an
/// awkward total exactly and is pushed to the estate's followers as a disclosure.
#[tokio::test]
async fn the_money_follows_from_the_bank_to_a_distribution_by_area() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let at = format!("[{backend:?}]");
        let member = server.demo_token(Role::CommitteeMember);
        let q = r#"{ estate(id: "RXN0YXRlOjE=") { accounts { edges { node { id balance
            entries(first: 2) { edges { node { id amount source } } } } } } } }"#;
        let d = server.data(&member, q, json!({})).await;
        let account = d["estate"]["accounts"]["edges"][0]["node"].clone();
        let running = quorum::graphql::scalars::parse_hundredths(
            account["balance"].as_str().expect("balance"),
        )
        .expect("money");
        let entries = account["entries"]["edges"].as_array().expect("entries");
        let (debit, bank_row) = (&entries[0]["node"], &entries[1]["node"]);
        assert_eq!(debit["source"], "DISTRIBUTION", "{at}");
        assert_eq!(bank_row["source"], "BANK_IMPORT", "{at}");

        // Neither the booked debit nor a bank row is reversed.
        let reverse =
            "mutation($input: ReverseEntryInput!) { reverseEntry(input: $input) { amount } }";
        for entry in [debit, bank_row] {
            let b = server
                .gql(
                    Some(&member),
                    reverse,
                    json!({"input": {"entryId": entry["id"], "reason": "试"}}),
                )
                .await;
            assert_eq!(code(&b), "CONFLICT", "{at} {b}");
        }

        // The bank's statement brings the payout: it continues the bank's balance before it.
        let fmt = quorum::graphql::scalars::format_hundredths;
        let payout = statement(&[&format!(
            "2024-12-23,YJPAY001,全体业主,-420000.00,CNY,{},公共收益分配",
            fmt(running)
        )]);
        let d = server
            .data(
                &member,
                IMPORT,
                json!({"input": {"accountId": account["id"], "csv": payout}}),
            )
            .await;
        assert_eq!(
            d["importBankStatement"],
            json!({"imported": 1, "alreadyImported": 0, "balance": fmt(running)}),
            "{at}"
        );

        // A tallied ballot with a passed item on public income and one on the rules.
        let now = server.state.clock.now();
        let d = server
            .data(
                &member,
                "mutation($input: CreateBallotInput!) { createBallot(input: $input) { id items { id } } }",
                json!({"input": {
                    "estateId": "RXN0YXRlOjE=",
                    "title": "2026年公共收益分配",
                    "description": "按面积分配",
                    "opensAt": (now + chrono::Duration::days(20)).and_utc().to_rfc3339(),
                    "closesAt": (now + chrono::Duration::days(30)).and_utc().to_rfc3339(),
                    "items": [
                        {"kind": "MATTER", "title": "按专有面积分配公共收益", "matterType": "OTHER_MAJOR"},
                        {"kind": "MATTER", "title": "修订议事规则", "matterType": "RULES_OF_PROCEDURE"},
                        {"kind": "MATTER", "title": "每户发放一元纪念金", "matterType": "OTHER_MAJOR"}
                    ]
                }}),
            )
            .await;
        let items = d["createBallot"]["items"].as_array().expect("items");
        let (income_item, rules_item, flat_item) = (
            items[0]["id"].clone(),
            items[1]["id"].clone(),
            items[2]["id"].clone(),
        );
        {
            // Running the vote itself is the ballots tests' business; here its outcome is set.
            use diesel_async::RunQueryDsl;
            let ballot = number(&d["createBallot"]["id"]);
            let mut conn = server.state.db.conn().await.expect("conn");
            for sql in [
                format!("UPDATE ballots SET state = 'TALLIED' WHERE id = {ballot}"),
                format!("UPDATE ballot_items SET outcome = 'PASSED' WHERE ballot_id = {ballot}"),
            ] {
                diesel::sql_query(sql)
                    .execute(&mut *conn)
                    .await
                    .expect("set the outcome");
            }
        }
        let create = "mutation($input: CreateDistributionInput!) { createDistribution(input: $input) { total recipients method } }";
        let b = server
            .gql(Some(&member), create, json!({"input": {"ballotItemId": rules_item, "accountId": account["id"], "total": "10.00"}}))
            .await;
        assert_eq!(code(&b), "CONFLICT", "{at} {b}");
        assert!(message(&b).contains("OTHER_MAJOR"), "{at} {b}");

        let mut ws = server.ws().await;
        ws.init(&server.demo_token(Role::Owner)).await;
        ws.send(json!({"id": "d", "type": "subscribe", "payload": {"query": "subscription { disclosurePublished(estateId: \"RXN0YXRlOjE=\") { kind title } }"}}))
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let d = server
            .data(&member, create, json!({"input": {"ballotItemId": income_item, "accountId": account["id"], "method": "BY_AREA", "total": "1000.01"}}))
            .await;
        let households = d["createDistribution"]["recipients"]
            .as_i64()
            .expect("recipients");
        assert_eq!(d["createDistribution"]["method"], "BY_AREA", "{at}");
        assert_eq!(
            households, 842,
            "{at} by area, each of 逸景公馆's houses is paid"
        );
        let pushed = ws.next_message().await;
        assert_eq!(
            pushed["payload"]["data"]["disclosurePublished"]["kind"], "DISTRIBUTION",
            "{at} {pushed}"
        );
        // The payouts sum exactly to the awkward total.
        let amounts = payouts(&server, &member, "BY_AREA").await;
        assert_eq!(
            (amounts.len() as i64, amounts.iter().sum::<i64>()),
            (households, 100_001),
            "{at}"
        );
        assert_eq!(
            balance(&server, &member, &account["id"]).await,
            fmt(running - 100_001)
        );

        // Interest arrives before the bank pays the distribution out: the bank says
        // running + 12.34, but 1,000.01 of it is committed, and stays so.
        let interest = statement(&[&format!(
            "2024-12-30,YJINT001,银行,12.34,CNY,{},结息",
            fmt(running + 1_234)
        )]);
        assert_eq!(
            import_balance(&server, &member, &account["id"], &interest).await,
            fmt(running + 1_234 - 100_001),
            "{at} the committed distribution is not put back by the next import"
        );
        // The bank's payout row settles it: the books do not move, and it is not counted twice.
        let payout = statement(&[&format!(
            "2024-12-31,YJPAY002,全体业主,-1000.01,CNY,{},公共收益分配",
            fmt(running + 1_234 - 100_001)
        )]);
        assert_eq!(
            import_balance(&server, &member, &account["id"], &payout).await,
            fmt(running + 1_234 - 100_001),
            "{at}"
        );
        // A flat amount per household: each of the 842 households gets exactly 1.00.
        let d = server
            .data(&member, create, json!({"input": {"ballotItemId": flat_item, "accountId": account["id"], "method": "PER_HOUSEHOLD", "perHousehold": "1.00"}}))
            .await;
        assert_eq!(
            d["createDistribution"],
            json!({"total": "842.00", "recipients": 842, "method": "PER_HOUSEHOLD"}),
            "{at}"
        );
        let books = fmt(running + 1_234 - 100_001 - 84_200);
        assert_eq!(
            balance(&server, &member, &account["id"]).await,
            books,
            "{at}"
        );
        // The bank pays it in rows the committee marks as the payout: the books do not move,
        // and a marked row beyond what awaits payment is refused with its line.
        let bank = running + 1_234 - 100_001;
        let marked = |rows: &[(&str, i64, i64)]| {
            let mut csv =
                String::from("date,reference,counterparty,amount,currency,balance,memo,category\n");
            for (reference, amount, after) in rows {
                csv.push_str(&format!(
                    "2025-01-02,{reference},业主,{},CNY,{},纪念金,DISTRIBUTION\n",
                    fmt(*amount),
                    fmt(*after)
                ));
            }
            json!({"input": {"accountId": account["id"], "csv": csv}})
        };
        let d = server
            .data(
                &member,
                IMPORT,
                marked(&[
                    ("YJF001", -50_000, bank - 50_000),
                    ("YJF002", -34_200, bank - 84_200),
                ]),
            )
            .await;
        assert_eq!(d["importBankStatement"]["balance"], books, "{at}");
        let b = server
            .gql(
                Some(&member),
                IMPORT,
                marked(&[("YJF003", -100, bank - 84_300)]),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{at} {b}");
        assert!(message(&b).contains("line 2"), "{at} {b}");
        assert_eq!(
            balance(&server, &member, &account["id"]).await,
            books,
            "{at}"
        );
        server.stop().await;
    }
}
