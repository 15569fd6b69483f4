//! Authentication and the scope of each role, over HTTP.

mod common;

use common::{backends, Seed, TestServer};
use quorum::auth::{Role, TokenKeys};
use serde_json::{json, Value};

fn code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn estate_names(data: &Value) -> Vec<String> {
    let mut names: Vec<String> = data["estates"]["edges"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["node"]["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

const ESTATES: &str = "{ estates(first: 100) { edges { node { id name } } } }";

#[tokio::test]
async fn tokens_are_checked() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let b = server.gql(None, ESTATES, json!({})).await;
        assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
        assert!(b["data"].is_null() || b["data"]["estates"].is_null());
        let b = server.gql(Some("not-a-jwt"), ESTATES, json!({})).await;
        assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
        let forged = TokenKeys::new(b"another secret").issue(
            Role::CityAdmin,
            server.demo().city_admin,
            chrono::Duration::hours(1),
        );
        let b = server.gql(Some(&forged), ESTATES, json!({})).await;
        assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
        let expired = server.state.keys.issue(
            Role::CityAdmin,
            server.demo().city_admin,
            chrono::Duration::seconds(-5),
        );
        let b = server.gql(Some(&expired), ESTATES, json!({})).await;
        assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
        assert!(b["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"));
        // A token for a subject that does not hold the role.
        let b = server
            .gql(
                Some(&server.token(Role::CityAdmin, server.demo().analyst)),
                ESTATES,
                json!({}),
            )
            .await;
        assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
        let b = server
            .gql(
                Some(&server.token(Role::Owner, 9_999_999)),
                ESTATES,
                json!({}),
            )
            .await;
        assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
        // An owner who sits on no committee cannot use a committee token.
        let b = server
            .gql(
                Some(&server.token(Role::CommitteeMember, server.demo().owner)),
                ESTATES,
                json!({}),
            )
            .await;
        assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
        // Introspection needs no token (the playground loads the schema before one is pasted).
        let b = server
            .gql(None, "{ __schema { queryType { name } } }", json!({}))
            .await;
        assert_eq!(b["data"]["__schema"]["queryType"]["name"], "QueryRoot");
        server.stop().await;
    }
}

#[tokio::test]
async fn each_role_sees_its_scope() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let all = ["新城红岛湾", "海韵花园", "福林苑", "逸景公馆"];
        let mut all_sorted = all.map(String::from).to_vec();
        all_sorted.sort();
        let cases: [(Role, Vec<&str>); 7] = [
            (Role::Owner, vec!["逸景公馆"]),
            (Role::CommitteeMember, vec!["逸景公馆"]),
            (Role::PropertyManager, vec!["福林苑", "逸景公馆"]),
            (Role::CommunityStaff, vec!["福林苑", "逸景公馆"]),
            (Role::SubdistrictOfficer, vec!["福林苑", "逸景公馆"]),
            (Role::CityAdmin, all.to_vec()),
            (Role::Analyst, all.to_vec()),
        ];
        for (role, expected) in cases {
            let data = server
                .data(&server.demo_token(role), ESTATES, json!({}))
                .await;
            let mut expected: Vec<String> = expected.into_iter().map(String::from).collect();
            expected.sort();
            assert_eq!(estate_names(&data), expected, "[{backend:?}] {role:?}");
        }
        // An owner cannot reach another estate by id, nor its houses, nor its buildings.
        let admin = server.demo_token(Role::CityAdmin);
        let d = server
            .data(&admin, r#"{ estates(filter: {nameContains: "红岛"}) { edges { node { id buildings(first: 1) { edges { node { id houses(first: 1) { edges { node { id owners { edges { node { id } } } } } } } } } } } } }"#, json!({}))
            .await;
        let other = &d["estates"]["edges"][0]["node"];
        let building = &other["buildings"]["edges"][0]["node"];
        let house = &building["houses"]["edges"][0]["node"];
        let owner = &house["owners"]["edges"][0]["node"]["id"];
        let owner_token = server.demo_token(Role::Owner);
        for id in [&other["id"], &building["id"], &house["id"], owner] {
            let b = server
                .gql(
                    Some(&owner_token),
                    "query($id: ID!) { node(id: $id) { id } }",
                    json!({"id": id}),
                )
                .await;
            assert_eq!(code(&b), "FORBIDDEN", "[{backend:?}] {id}: {b}");
            assert!(b["data"].is_null() || b["data"]["node"].is_null());
        }
        let b = server
            .gql(
                Some(&owner_token),
                "query($id: ID!) { estate(id: $id) { name } }",
                json!({"id": other["id"]}),
            )
            .await;
        assert_eq!(code(&b), "FORBIDDEN");
        // City statistics are for city administrators and analysts.
        let b = server
            .gql(
                Some(&owner_token),
                "{ cityStats { total { estates } } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&b), "FORBIDDEN");
        let d = server
            .data(
                &server.demo_token(Role::Analyst),
                "{ cityStats { total { estates households } } }",
                json!({}),
            )
            .await;
        assert_eq!(d["cityStats"]["total"]["estates"], "4");
        assert_eq!(
            d["cityStats"]["total"]["households"],
            (842 + 312 + 2900 + 96).to_string()
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn personal_data_never_leaves_unmasked() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let q = r#"{ estates(filter: {nameContains: "逸景"}) { edges { node { buildings(first: 1) { edges { node {
                    houses(first: 2) { edges { node { certificateNumber owners { edges { node { id displayName } } } } } } } } } } } } }"#;
        let houses = |d: &Value| {
            d["estates"]["edges"][0]["node"]["buildings"]["edges"][0]["node"]["houses"]["edges"]
                .clone()
        };
        // The owner sees their own name and certificate, and others' names masked, never their certificates.
        let d = server
            .data(&server.demo_token(Role::Owner), q, json!({}))
            .await;
        let h = houses(&d);
        assert_eq!(
            h[0]["node"]["owners"]["edges"][0]["node"]["displayName"],
            "王建国"
        );
        assert_eq!(
            h[1]["node"]["owners"]["edges"][0]["node"]["displayName"],
            "李*英"
        );
        assert!(h[1]["node"]["certificateNumber"].is_null());
        // The property manager sees masked names only.
        let d = server
            .data(&server.demo_token(Role::PropertyManager), q, json!({}))
            .await;
        let h = houses(&d);
        assert_eq!(
            h[0]["node"]["owners"]["edges"][0]["node"]["displayName"],
            "王*国"
        );
        assert!(
            h[0]["node"]["certificateNumber"].is_null()
                && h[1]["node"]["certificateNumber"].is_null()
        );
        // Analysts see no owners at all.
        let b = server
            .gql(Some(&server.demo_token(Role::Analyst)), q, json!({}))
            .await;
        assert_eq!(code(&b), "FORBIDDEN", "{b}");
        // No field of the schema exposes identity numbers or phones.
        use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
        let doc = async_graphql::parser::parse_schema(quorum::graphql::sdl()).expect("SDL");
        for def in &doc.definitions {
            let TypeSystemDefinition::Type(ty) = def else {
                continue;
            };
            if let TypeKind::Object(o) = &ty.node.kind {
                for f in &o.fields {
                    let name = f.node.name.node.to_lowercase();
                    for forbidden in ["idnumber", "identitynumber", "phone"] {
                        assert!(!name.contains(forbidden), "the schema has a field {name}");
                    }
                }
            }
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn estate_settings_change_only_by_its_committee() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let member = server.demo_token(Role::CommitteeMember);
        let d = server.data(&member, ESTATES, json!({})).await;
        let estate = d["estates"]["edges"][0]["node"]["id"].clone();
        let m = "mutation($input: UpdateEstateSettingsInput!) { updateEstateSettings(input: $input) { settings { noticeDays nonVoterRule } } }";
        // Bad input changes nothing.
        let b = server
            .gql(
                Some(&member),
                m,
                json!({"input": {"estateId": estate, "noticeDays": 400}}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        let b = server
            .gql(
                Some(&server.demo_token(Role::Owner)),
                m,
                json!({"input": {"estateId": estate, "noticeDays": 20}}),
            )
            .await;
        assert_eq!(code(&b), "FORBIDDEN", "{b}");
        let d = server
            .data(
                &member,
                "query($id: ID!) { estate(id: $id) { settings { noticeDays } } }",
                json!({"id": estate}),
            )
            .await;
        assert_eq!(d["estate"]["settings"]["noticeDays"], 15);
        let d = server
            .data(&member, m, json!({"input": {"estateId": estate, "noticeDays": 20, "nonVoterRule": "FOLLOW_MAJORITY_CHOICE"}}))
            .await;
        assert_eq!(
            d["updateEstateSettings"]["settings"],
            json!({"noticeDays": 20, "nonVoterRule": "FOLLOW_MAJORITY_CHOICE"})
        );
        // Another estate's committee token cannot reach it.
        let admin = server.demo_token(Role::CityAdmin);
        let d = server
            .data(
                &admin,
                r#"{ estates(filter: {nameContains: "红岛"}) { edges { node { id } } } }"#,
                json!({}),
            )
            .await;
        let other = d["estates"]["edges"][0]["node"]["id"].clone();
        let b = server
            .gql(
                Some(&member),
                m,
                json!({"input": {"estateId": other, "noticeDays": 20}}),
            )
            .await;
        assert_eq!(code(&b), "FORBIDDEN", "{b}");
        server.stop().await;
    }
}
