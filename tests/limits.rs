//! Abuse limits and GraphQL-over-HTTP media types: each refusal is fast, runs nothing and carries
//! its own code.

mod common;

use common::{backends, Seed, TestServer};
use quorum::auth::Role;
use quorum::graphql::SchemaLimits;
use serde_json::{json, Value};

fn code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn oversized_and_overloaded_documents_are_refused_before_running() {
    let server = TestServer::start(backends()[0], Seed::Demo).await;
    let token = server.demo_token(Role::Analyst);
    // Depth 50.
    let deep = format!(
        "{{ districts {{ edges {{ node {{ {}id{} }} }} }} }}",
        "subdistricts { edges { node { district { ".repeat(12),
        " } } } }".repeat(12)
    );
    let b = server.gql(Some(&token), &deep, json!({})).await;
    assert_eq!(code(&b), "QUERY_TOO_DEEP", "{b}");
    // 1,000 aliases.
    let aliases: String = (0..1000)
        .map(|i| format!("a{i}: viewer {{ role }} "))
        .collect();
    let b = server
        .gql(Some(&token), &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(code(&b), "TOO_MANY_ALIASES", "{b}");
    // Directive overload.
    let b = server.gql(Some(&token), "{ viewer @skip(if: false) @skip(if: false) @skip(if: false) @skip(if: false) @skip(if: false) @skip(if: false) { role } }", json!({})).await;
    assert!(!code(&b).is_empty() && b["data"].is_null(), "{b}");
    // A large document.
    let padding = "#".repeat(40_000);
    let b = server
        .gql(
            Some(&token),
            &format!("{padding}\n{{ viewer {{ role }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(code(&b), "DOCUMENT_TOO_LARGE", "{b}");
    // Limits come before authentication, which is the first database work: a token whose
    // subject does not exist (which only the database can tell) still gets the limit's code.
    let ghost = server.token(Role::Owner, 987_654_321);
    let b = server.gql(Some(&ghost), &deep, json!({})).await;
    assert_eq!(code(&b), "QUERY_TOO_DEEP", "{b}");
    let b = server
        .gql(Some(&ghost), "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
    // No field suggestions outside development.
    let b = server.gql(Some(&token), "{ estatez }", json!({})).await;
    assert!(
        !b["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Did you mean"),
        "{b}"
    );
    server.stop().await;
}

#[tokio::test]
async fn responses_follow_the_accept_header() {
    let server = TestServer::start(backends()[0], Seed::Demo).await;
    let token = server.demo_token(Role::Analyst);
    let post = |accept: &'static str, query: &'static str| {
        server
            .http()
            .post(server.url("/graphql"))
            .bearer_auth(&token)
            .header("accept", accept)
            .json(&json!({"query": query}))
            .send()
    };
    let resp = post("application/graphql-response+json", "{ viewer { role } }")
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("application/graphql-response+json"));
    let resp = post("application/graphql-response+json", "{ viewer { ")
        .await
        .expect("post");
    assert_eq!(
        resp.status(),
        400,
        "a parse failure is a 400 with the GraphQL media type"
    );
    let resp = post("application/graphql-response+json", "{ nope }")
        .await
        .expect("post");
    assert_eq!(
        resp.status(),
        400,
        "a validation failure is a 400 with the GraphQL media type"
    );
    let resp = post("application/json", "{ viewer { ").await.expect("post");
    assert_eq!(
        resp.status(),
        200,
        "application/json answers GraphQL errors with 200"
    );
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("application/json"));
    let resp = post(
        "application/json;q=0.5, application/graphql-response+json",
        "{ viewer { role } }",
    )
    .await
    .expect("post");
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("application/graphql-response+json"));
    let resp = post("text/html", "{ viewer { role } }")
        .await
        .expect("post");
    assert_eq!(resp.status(), 406);
    server.stop().await;
}

#[tokio::test]
async fn readiness_and_introspection_switch() {
    for backend in backends() {
        let limits = SchemaLimits {
            introspection: false,
            ..SchemaLimits::default()
        };
        let server = TestServer::start_with(backend, Seed::Demo, limits).await;
        let resp = server
            .http()
            .get(server.url("/readyz"))
            .send()
            .await
            .expect("readyz");
        assert_eq!(resp.status(), 200, "[{backend:?}]");
        let b = server
            .gql(
                Some(&server.demo_token(Role::Analyst)),
                "{ __schema { types { name } } }",
                json!({}),
            )
            .await;
        assert!(b["data"]["__schema"].is_null(), "introspection is off: {b}");
        server.stop().await;
    }
}

#[tokio::test]
async fn mutations_are_rate_limited_per_token_and_per_address() {
    for backend in backends() {
        let limits = SchemaLimits {
            rate: quorum::http::RateLimits {
                per_token: 3,
                per_address: 5,
            },
            ..SchemaLimits::default()
        };
        let server = TestServer::start_with(backend, Seed::Demo, limits).await;
        let at = format!("[{backend:?}]");
        let member = server.demo_token(Role::CommitteeMember);
        let admin = server.demo_token(Role::CityAdmin);
        // The mutation does nothing; being a mutation is what is charged.
        let mutate = |token: String| {
            let server = &server;
            async move {
                server
                    .http()
                    .post(server.url("/graphql"))
                    .bearer_auth(token)
                    .json(&json!({"query": "mutation { __typename }"}))
                    .send()
                    .await
                    .expect("post")
            }
        };
        for _ in 0..3 {
            let resp = mutate(member.clone()).await;
            assert_eq!(resp.status(), 200, "{at}");
        }
        let resp = mutate(member.clone()).await;
        assert_eq!(resp.status(), 429, "{at} the token's fourth mutation");
        assert_eq!(resp.headers()["retry-after"], "60");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(code(&body), "RATE_LIMITED", "{at} {body}");
        assert!(body["data"].is_null(), "{at} nothing ran: {body}");
        // Queries are not charged.
        let b = server
            .gql(Some(&member), "{ viewer { role } }", json!({}))
            .await;
        assert!(b.get("errors").is_none(), "{at} {b}");
        // Another token from the same address gets the address's remainder: 5 in all, 4
        // spent (the refused one counted against the address before the token said no).
        let resp = mutate(admin.clone()).await;
        assert_eq!(resp.status(), 200, "{at}");
        let resp = mutate(admin.clone()).await;
        assert_eq!(resp.status(), 429, "{at} the address's sixth mutation");
        let body: Value = resp.json().await.expect("json");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("address"),
            "{at} {body}"
        );
        // Over the WebSocket the same allowance applies.
        let mut ws = server.ws().await;
        ws.init(&admin).await;
        ws.send(json!({"id": "m", "type": "subscribe", "payload": {"query": "mutation { __typename }"}}))
            .await;
        let m = ws.next_message().await;
        assert_eq!(m["type"], "error", "{at} {m}");
        assert_eq!(
            m["payload"][0]["extensions"]["code"], "RATE_LIMITED",
            "{at} {m}"
        );
        server.stop().await;
    }
}
