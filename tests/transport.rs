//! HTTP and WebSocket behaviour: methods, media types, error codes, health, metrics, the
//! playground, and graphql-transport-ws with its authentication.

mod common;

use common::{backends, Seed, TestServer, WsEvent};
use quorum::auth::Role;
use serde_json::{json, Value};

#[tokio::test]
async fn http_methods_media_types_and_malformed_requests() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let token = server.demo_token(Role::Analyst);
        let http = server.http();
        // GET runs queries.
        let resp = http
            .get(server.url("/graphql"))
            .query(&[("query", "{ cityStats { total { estates } } }")])
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["data"]["cityStats"]["total"]["estates"], "4");
        // GET never runs a mutation.
        let member = server.demo_token(Role::CommitteeMember);
        let resp = http
            .get(server.url("/graphql"))
            .query(&[("query", r#"mutation { updateEstateSettings(input: {estateId: "RXN0YXRlOjE=", noticeDays: 30}) { name } }"#)])
            .bearer_auth(&member)
            .send()
            .await
            .expect("GET mutation");
        assert_eq!(resp.status(), 405);
        assert_eq!(
            resp.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some("POST")
        );
        let d = server
            .data(
                &member,
                r#"{ estate(id: "RXN0YXRlOjE=") { settings { noticeDays } } }"#,
                json!({}),
            )
            .await;
        assert_eq!(
            d["estate"]["settings"]["noticeDays"], 15,
            "nothing was executed"
        );
        // POST must be JSON.
        let resp = http
            .post(server.url("/graphql"))
            .header("content-type", "text/plain")
            .body(r#"{"query":"{ viewer { role } }"}"#)
            .send()
            .await
            .expect("text/plain");
        assert_eq!(resp.status(), 415);
        let resp = http
            .post(server.url("/graphql"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("bad json");
        assert_eq!(resp.status(), 400);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        // Malformed and invalid documents carry their own codes.
        let b = server.gql(Some(&token), "{ estates( ", json!({})).await;
        assert_eq!(
            b["errors"][0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED",
            "{b}"
        );
        let b = server.gql(Some(&token), "{ noSuchField }", json!({})).await;
        assert_eq!(
            b["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{b}"
        );
        let b = server
            .gql(
                Some(&token),
                "query($f: Int) { estates(first: $f) { edges { cursor } } }",
                json!({"f": "ten"}),
            )
            .await;
        assert!(b["errors"][0]["extensions"]["code"].is_string(), "{b}");
        server.stop().await;
    }
}

#[tokio::test]
async fn health_metrics_and_playground() {
    let backend = backends()[0];
    let server = TestServer::start(backend, Seed::Demo).await;
    let http = server.http();
    let health = http
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    server
        .data(
            &server.demo_token(Role::Analyst),
            "{ cityStats { total { estates } } }",
            json!({}),
        )
        .await;
    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let statements: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("quorum_db_statements_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("quorum_db_statements_total");
    assert!(statements > 0);
    assert!(metrics.contains("quorum_graphql_requests_total"));
    let page = http
        .get(server.url("/playground"))
        .send()
        .await
        .expect("playground");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("/playground/assets/graphiql.min.js"));
    assert!(
        !html.contains("https://"),
        "the playground loads nothing from the internet"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphql-ws.min.js",
    ] {
        let r = http
            .get(server.url(&format!("/playground/assets/{asset}")))
            .send()
            .await
            .expect("asset");
        assert_eq!(r.status(), 200, "{asset}");
    }
    let r = http
        .get(server.url("/playground/assets/..%2Fsrc%2Fmain.rs"))
        .send()
        .await
        .expect("asset");
    assert_eq!(r.status(), 404);
    let examples: Value = http
        .get(server.url("/playground/examples.json"))
        .send()
        .await
        .expect("examples")
        .json()
        .await
        .expect("json");
    assert!(examples.as_array().is_some_and(|a| a.len() >= 5));
    server.stop().await;
}

#[tokio::test]
async fn websocket_authenticates_in_connection_init_and_streams_changes() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        // No token: refused with 4403.
        let mut ws = server.ws().await;
        ws.send(json!({"type": "connection_init", "payload": {}}))
            .await;
        match ws.next().await {
            WsEvent::Closed(code) => assert_eq!(code, Some(4403)),
            other => panic!("expected a close, got {other:?}"),
        }
        // A bad token: refused with 4403.
        let mut ws = server.ws().await;
        ws.send(json!({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}))
            .await;
        match ws.next().await {
            WsEvent::Closed(code) => assert_eq!(code, Some(4403)),
            other => panic!("expected a close, got {other:?}"),
        }
        // An owner may not follow another estate.
        let mut ws = server.ws().await;
        ws.init(&server.demo_token(Role::Owner)).await;
        ws.send(json!({"id": "x", "type": "subscribe", "payload": {"query": r#"subscription { estateChanged(estateId: "RXN0YXRlOjM=") { name } }"#}}))
            .await;
        let msg = ws.next_message().await;
        assert_eq!(msg["type"], "next", "{msg}");
        assert!(msg["payload"]["data"].is_null(), "{msg}");
        assert_eq!(
            msg["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{msg}"
        );
        // The committee member follows their estate: the current state, then each change.
        let member = server.demo_token(Role::CommitteeMember);
        let mut ws = server.ws().await;
        ws.init(&member).await;
        ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": r#"subscription { estateChanged(estateId: "RXN0YXRlOjE=") { name settings { noticeDays } } }"#}}))
            .await;
        let first = ws.next_message().await;
        assert_eq!(first["type"], "next", "{first}");
        assert_eq!(
            first["payload"]["data"]["estateChanged"]["name"],
            "逸景公馆"
        );
        assert_eq!(
            first["payload"]["data"]["estateChanged"]["settings"]["noticeDays"],
            15
        );
        server
            .data(
                &member,
                r#"mutation { updateEstateSettings(input: {estateId: "RXN0YXRlOjE=", noticeDays: 21}) { name } }"#,
                json!({}),
            )
            .await;
        let second = ws.next_message().await;
        assert_eq!(
            second["payload"]["data"]["estateChanged"]["settings"]["noticeDays"], 21,
            "{second}"
        );
        ws.send(json!({"id": "1", "type": "complete"})).await;
        server.stop().await;
    }
}
