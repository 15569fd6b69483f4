//! Disclosures over the wire: generated statements, the one-month minimum, immutability and the
//! hash chain, corrections that supersede, who may publish, compliance, contracts and fees, the
//! analysts' summaries, and live delivery over a WebSocket.

mod common;

use common::{backends, Seed, TestServer};
use quorum::auth::Role;
use quorum::disclosure::rules::Quarter;
use serde_json::{json, Value};

fn code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const YIJING: &str = "RXN0YXRlOjE=";
const FULIN: &str = "RXN0YXRlOjI=";
const PUBLISH: &str = "mutation($input: PublishDisclosureInput!) { publishDisclosure(input: $input) { id kind period content hash previousHash sequence supersedes } }";

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339()
}

#[tokio::test]
async fn statements_are_generated_immutable_chained_and_corrected_by_superseding() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let manager = server.demo_token(Role::PropertyManager);
        let now = server.state.clock.now();
        let last = Quarter::of(now.date()).previous().label();
        let statement = |until: Option<String>| json!({"input": {"estateId": YIJING, "kind": "PUBLIC_INCOME_STATEMENT", "title": "更正", "period": last, "visibleUntil": until}});
        // The one-month minimum.
        let b = server
            .gql(
                Some(&manager),
                PUBLISH,
                statement(Some(rfc3339(now + chrono::Duration::days(20)))),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        assert!(b["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("one month"));
        // A quarter that has not ended, a ballot result by hand, a statement without a period.
        let current = Quarter::of(now.date()).label();
        let b = server.gql(Some(&manager), PUBLISH, json!({"input": {"estateId": YIJING, "kind": "PUBLIC_INCOME_STATEMENT", "title": "x", "period": current}})).await;
        assert_eq!(code(&b), "BAD_USER_INPUT");
        let b = server.gql(Some(&manager), PUBLISH, json!({"input": {"estateId": YIJING, "kind": "BALLOT_RESULT", "title": "x", "body": "y"}})).await;
        assert_eq!(code(&b), "BAD_USER_INPUT");
        let b = server
            .gql(
                Some(&manager),
                PUBLISH,
                json!({"input": {"estateId": YIJING, "kind": "ACCOUNT_STATEMENT", "title": "x"}}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT");
        // The demo's statement for the last quarter, and a correction superseding it.
        let q = r#"query($kind: DisclosureKind) { estate(id: "RXN0YXRlOjE=") { disclosureChainIntact disclosures(first: 1, kind: $kind) { edges { node { id hash period supersededBy } } } } }"#;
        let d = server
            .data(&manager, q, json!({"kind": "PUBLIC_INCOME_STATEMENT"}))
            .await;
        let original = d["estate"]["disclosures"]["edges"][0]["node"].clone();
        assert_eq!(original["period"], last.as_str());
        let mut correction = statement(Some(rfc3339(now + chrono::Duration::days(40))));
        correction["input"]["supersedesId"] = original["id"].clone();
        let d = server.data(&manager, PUBLISH, correction.clone()).await;
        let published = &d["publishDisclosure"];
        assert_eq!(published["supersedes"], original["id"]);
        let content: Value = serde_json::from_str(published["content"].as_str().expect("content"))
            .expect("JSON content");
        assert_eq!(content["period"], last.as_str());
        assert!(
            content["totalIncome"].is_string(),
            "figures are exact decimal strings: {content}"
        );
        // The old one stays readable, marked superseded; a second correction of it is refused.
        let d = server.data(&manager, "{ estate(id: \"RXN0YXRlOjE=\") { disclosures(first: 100) { edges { node { id hash supersededBy } } } } }", json!({})).await;
        let old = d["estate"]["disclosures"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .find(|e| e["node"]["id"] == original["id"])
            .expect("still there")
            .clone();
        assert_eq!(old["node"]["supersededBy"], published["id"]);
        assert_eq!(
            old["node"]["hash"], original["hash"],
            "published content never changes"
        );
        assert_eq!(
            code(&server.gql(Some(&manager), PUBLISH, correction).await),
            "CONFLICT"
        );
        // The chain links every disclosure to the one before and verifies end to end.
        let d = server.data(&manager, q, json!({"kind": null})).await;
        assert_eq!(d["estate"]["disclosureChainIntact"], true);
        assert_eq!(published["previousHash"].as_str().map(str::len), Some(64));
        // No mutation changes a published disclosure: the schema has none.
        let sdl = quorum::graphql::sdl();
        for forbidden in ["updateDisclosure", "deleteDisclosure", "editDisclosure"] {
            assert!(!sdl.contains(forbidden));
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn only_the_managing_company_or_the_committee_publishes() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let report = |estate: &str| json!({"input": {"estateId": estate, "kind": "WORK_REPORT", "title": "月报", "workDone": "巡检", "workPlanned": "保洁"}});
        // The second company's manager does not serve 逸景公馆.
        let other = server.token(Role::PropertyManager, server.demo().property_manager + 1);
        assert_eq!(
            code(&server.gql(Some(&other), PUBLISH, report(YIJING)).await),
            "FORBIDDEN"
        );
        assert_eq!(
            code(
                &server
                    .gql(
                        Some(&server.demo_token(Role::Owner)),
                        PUBLISH,
                        report(YIJING)
                    )
                    .await
            ),
            "FORBIDDEN"
        );
        assert_eq!(
            code(
                &server
                    .gql(
                        Some(&server.demo_token(Role::Analyst)),
                        PUBLISH,
                        report(YIJING)
                    )
                    .await
            ),
            "FORBIDDEN"
        );
        server
            .data(
                &server.demo_token(Role::CommitteeMember),
                PUBLISH,
                report(YIJING),
            )
            .await;
        server
            .data(
                &server.demo_token(Role::PropertyManager),
                PUBLISH,
                report(FULIN),
            )
            .await;
        let b = server
            .gql(Some(&server.demo_token(Role::PropertyManager)), PUBLISH, json!({"input": {"estateId": FULIN, "kind": "WORK_REPORT", "title": "月报", "workDone": " "}}))
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT");
        server.stop().await;
    }
}

#[tokio::test]
async fn compliance_shows_overdue_estates_and_clears_when_published() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let analyst = server.demo_token(Role::Analyst);
        let overview = r#"{ disclosureCompliance { estates overdueEstates { estate { name } kinds } districts { district { name } estates overdueEstates complianceRate } } }"#;
        let d = server.data(&analyst, overview, json!({})).await;
        let overdue = d["disclosureCompliance"]["overdueEstates"]
            .as_array()
            .expect("overdue")
            .clone();
        let fulin = overdue
            .iter()
            .find(|e| e["estate"]["name"] == "福林苑")
            .expect("福林苑 is overdue");
        assert!(fulin["kinds"]
            .as_array()
            .expect("kinds")
            .contains(&json!("PUBLIC_INCOME_STATEMENT")));
        assert!(
            overdue.iter().all(|e| e["estate"]["name"] != "逸景公馆"),
            "逸景公馆 keeps up: {overdue:?}"
        );
        let lc = d["disclosureCompliance"]["districts"]
            .as_array()
            .expect("districts")
            .iter()
            .find(|x| x["district"]["name"] == "李沧区")
            .expect("李沧区")
            .clone();
        assert_eq!(
            (lc["estates"].as_i64(), lc["complianceRate"].as_str()),
            (Some(2), Some("50.00"))
        );
        // The officer of 浮山路街道 sees his subdistrict only; owners see no overview.
        let d = server
            .data(
                &server.demo_token(Role::SubdistrictOfficer),
                overview,
                json!({}),
            )
            .await;
        assert_eq!(d["disclosureCompliance"]["estates"], 2);
        assert_eq!(
            code(
                &server
                    .gql(Some(&server.demo_token(Role::Owner)), overview, json!({}))
                    .await
            ),
            "FORBIDDEN"
        );
        // 福林苑's missing quarter, published, clears its statement duty.
        let manager = server.demo_token(Role::PropertyManager);
        let q = r#"{ estate(id: "RXN0YXRlOjI=") { disclosureCompliance { kind overdue overduePeriods nextDueOn } } }"#;
        let d = server.data(&manager, q, json!({})).await;
        let item = d["estate"]["disclosureCompliance"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["kind"] == "PUBLIC_INCOME_STATEMENT")
            .expect("statement duty")
            .clone();
        assert_eq!(item["overdue"], true);
        let missing = item["overduePeriods"][0]
            .as_str()
            .expect("period")
            .to_string();
        server
            .data(&manager, PUBLISH, json!({"input": {"estateId": FULIN, "kind": "PUBLIC_INCOME_STATEMENT", "title": "补发", "period": missing}}))
            .await;
        let d = server.data(&manager, q, json!({})).await;
        let item = d["estate"]["disclosureCompliance"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["kind"] == "PUBLIC_INCOME_STATEMENT")
            .expect("statement duty")
            .clone();
        assert_eq!(item["overdue"], false, "{item}");
        server.stop().await;
    }
}

#[tokio::test]
async fn contracts_fees_and_the_analysts_money_summaries() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let owner = server.demo_token(Role::Owner);
        let d = server
            .data(&owner, r#"{ estate(id: "RXN0YXRlOjE=") { serviceContract { feeStandards { usage perSquareMetreMonthly } } houses(first: 1) { edges { node { exclusiveArea monthlyFee } } } } }"#, json!({}))
            .await;
        let house = &d["estate"]["houses"]["edges"][0]["node"];
        let area = quorum::graphql::scalars::parse_hundredths(
            house["exclusiveArea"].as_str().expect("area"),
        )
        .expect("area");
        let fee = quorum::graphql::scalars::format_hundredths(
            quorum::disclosure::rules::monthly_fee(area, 235),
        );
        assert_eq!(house["monthlyFee"], fee.as_str());
        // A new contract: bad hashes and dates are refused; the committee records it.
        let member = server.demo_token(Role::CommitteeMember);
        let m = "mutation($input: ServiceContractInput!) { recordServiceContract(input: $input) }";
        let input = |hash: &str, ends: &str| json!({"input": {"estateId": "RXN0YXRlOjE=", "startsOn": "2026-01-01", "endsOn": ends, "serviceStandard": "二级", "documentHash": hash, "feeStandards": [{"usage": "RESIDENTIAL", "perSquareMetreMonthly": "2.50"}]}});
        assert_eq!(
            code(
                &server
                    .gql(Some(&member), m, input("abc", "2030-12-31"))
                    .await
            ),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            code(
                &server
                    .gql(Some(&member), m, input(&"a".repeat(64), "2025-12-31"))
                    .await
            ),
            "BAD_USER_INPUT"
        );
        server
            .data(&member, m, input(&"a".repeat(64), "2030-12-31"))
            .await;
        let d = server
            .data(&owner, r#"{ estate(id: "RXN0YXRlOjE=") { houses(first: 1) { edges { node { monthlyFee } } } } }"#, json!({}))
            .await;
        let fee = quorum::graphql::scalars::format_hundredths(
            quorum::disclosure::rules::monthly_fee(area, 250),
        );
        assert_eq!(
            d["estate"]["houses"]["edges"][0]["node"]["monthlyFee"],
            fee.as_str(),
            "the newest contract in force applies"
        );
        // Analysts: public income by district and category, and balances by kind of account.
        let analyst = server.demo_token(Role::Analyst);
        let d = server
            .data(&analyst, r#"{ publicIncomeSummary(groupBy: [DISTRICT, CATEGORY], filter: {fromQuarter: "2025-Q1"}) { district category income expense net entries } accountsSummary { kind accounts balance } }"#, json!({}))
            .await;
        let rows = d["publicIncomeSummary"].as_array().expect("rows");
        let parking = rows
            .iter()
            .find(|r| r["category"] == "PARKING")
            .expect("parking income");
        assert_eq!(parking["district"], "李沧区");
        assert_eq!(parking["income"], "195600.00");
        assert!(rows.iter().all(|r| r["estate"].is_null()));
        let b = server
            .gql(
                Some(&analyst),
                r#"{ publicIncomeSummary(groupBy: [], filter: {fromQuarter: "2025"}) { net } }"#,
                json!({}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT");
        let kinds: Vec<&str> = d["accountsSummary"]
            .as_array()
            .expect("kinds")
            .iter()
            .filter_map(|k| k["kind"].as_str())
            .collect();
        assert_eq!(kinds, ["COMMON_FUND", "PUBLIC_INCOME_LEDGER"]);
        server.stop().await;
    }
}

#[tokio::test]
async fn disclosures_and_ballot_results_are_pushed_after_commit() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let member = server.demo_token(Role::CommitteeMember);
        let mut ws = server.ws().await;
        ws.init(&server.demo_token(Role::Owner)).await;
        ws.send(json!({"id": "d", "type": "subscribe", "payload": {"query": format!("subscription {{ disclosurePublished(estateId: \"{YIJING}\") {{ kind title }} }}")}}))
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        server
            .data(&member, PUBLISH, json!({"input": {"estateId": YIJING, "kind": "SERVICE_STANDARD", "title": "服务标准更新", "body": "二级"}}))
            .await;
        let m = ws.next_message().await;
        assert_eq!(
            m["payload"]["data"]["disclosurePublished"],
            json!({"kind": "SERVICE_STANDARD", "title": "服务标准更新"}),
            "{m}"
        );
        // The demo's distribution and tallied ballots were disclosed automatically.
        let d = server.data(&member, r#"{ estate(id: "RXN0YXRlOjE=") { disclosures(first: 10, kind: DISTRIBUTION) { edges { node { title content } } } } }"#, json!({})).await;
        let content: Value = serde_json::from_str(
            d["estate"]["disclosures"]["edges"][0]["node"]["content"]
                .as_str()
                .expect("distribution disclosed"),
        )
        .expect("json");
        assert_eq!(
            (content["total"].as_str(), content["recipients"].as_i64()),
            (Some("420000.00"), Some(842))
        );
        let d = server.data(&member, r#"{ estate(id: "RXN0YXRlOjE=") { disclosures(first: 10, kind: BALLOT_RESULT) { edges { node { title publishedByRole } } } } }"#, json!({})).await;
        let results = d["estate"]["disclosures"]["edges"]
            .as_array()
            .expect("results");
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["node"]["publishedByRole"], "SYSTEM");
        // Another estate's owner cannot follow 逸景公馆.
        let admin = server.demo_token(Role::CityAdmin);
        let d = server.data(&admin, r#"{ estate(id: "RXN0YXRlOjM=") { houses(first: 1) { edges { node { owners { edges { node { id } } } } } } } }"#, json!({})).await;
        let id = d["estate"]["houses"]["edges"][0]["node"]["owners"]["edges"][0]["node"]["id"]
            .as_str()
            .expect("id")
            .to_string();
        let text = String::from_utf8(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, id).expect("b64"),
        )
        .expect("utf8");
        let stranger: i64 = text
            .split_once(':')
            .and_then(|(_, n)| n.parse().ok())
            .expect("number");
        let mut ws = server.ws().await;
        ws.init(&server.token(Role::Owner, stranger)).await;
        ws.send(json!({"id": "d", "type": "subscribe", "payload": {"query": format!("subscription {{ disclosurePublished(estateId: \"{YIJING}\") {{ kind }} }}")}}))
            .await;
        let m = ws.next_message().await;
        assert_eq!(
            m["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{m}"
        );
        server.stop().await;
    }
}
