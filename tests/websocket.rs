//! graphql-transport-ws to the letter, on a real socket: every close code of the protocol, the
//! caps on connections and operations, message size, slow consumers, token expiry, scope
//! re-checks and graceful shutdown.
//!
//! The protocol tests run on SQLite only: they exercise the socket, not the database. The scope
//! re-check reads the register and runs on both backends.

mod common;

use common::{backends, Backend, Seed, TestServer, WsClient, WsEvent};
use quorum::auth::Role;
use quorum::graphql::SchemaLimits;
use quorum::http::WsLimits;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const ESTATE_1: &str = "RXN0YXRlOjE=";

fn with_ws(ws: WsLimits) -> SchemaLimits {
    SchemaLimits {
        ws,
        ..SchemaLimits::default()
    }
}

async fn closed_with(ws: &mut WsClient) -> Option<u16> {
    loop {
        match ws.next().await {
            WsEvent::Closed(code) => return code,
            WsEvent::Message(_) => continue,
        }
    }
}

fn subscribe(id: &str, query: &str) -> Value {
    json!({"id": id, "type": "subscribe", "payload": {"query": query}})
}

fn estate_changed() -> String {
    format!(r#"subscription {{ estateChanged(estateId: "{ESTATE_1}") {{ name }} }}"#)
}

#[tokio::test]
async fn every_close_code_of_the_protocol() {
    let limits = with_ws(WsLimits {
        init_timeout: std::time::Duration::from_secs(1),
        ..WsLimits::default()
    });
    let server = TestServer::start_with(Backend::Sqlite, Seed::Demo, limits).await;
    let owner = server.demo_token(Role::Owner);

    // 4408: no connection_init in time.
    let mut ws = server.ws().await;
    assert_eq!(closed_with(&mut ws).await, Some(4408));

    // 4401: subscribe before the ack.
    let mut ws = server.ws().await;
    ws.send(subscribe("1", "{ __typename }")).await;
    assert_eq!(closed_with(&mut ws).await, Some(4401));

    // 4403: a refused token; no token at all.
    let mut ws = server.ws().await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}))
        .await;
    assert_eq!(closed_with(&mut ws).await, Some(4403));
    let mut ws = server.ws().await;
    ws.send(json!({"type": "connection_init"})).await;
    assert_eq!(closed_with(&mut ws).await, Some(4403));

    // 4429: a second init.
    let mut ws = server.ws().await;
    ws.init(&owner).await;
    ws.send(
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {owner}")}}),
    )
    .await;
    assert_eq!(closed_with(&mut ws).await, Some(4429));

    // 4409: an id already in use.
    let mut ws = server.ws().await;
    ws.init(&owner).await;
    ws.send(subscribe("same", &estate_changed())).await;
    assert_eq!(ws.next_message().await["type"], "next");
    ws.send(subscribe("same", &estate_changed())).await;
    assert_eq!(closed_with(&mut ws).await, Some(4409));

    // 4400: not JSON, an unknown type, a subscribe without id, a binary frame; before and after
    // the ack.
    for bad in [
        Message::Text("not json".into()),
        Message::Text(r#"{"type": "subscribe_please"}"#.into()),
        Message::Text(r#"{"type": "subscribe", "payload": {"query": "{ __typename }"}}"#.into()),
        Message::Binary(vec![1u8, 2, 3].into()),
    ] {
        let mut ws = server.ws().await;
        ws.send_frame(bad.clone()).await;
        assert_eq!(
            closed_with(&mut ws).await,
            Some(4400),
            "before init: {bad:?}"
        );
        let mut ws = server.ws().await;
        ws.init(&owner).await;
        ws.send_frame(bad.clone()).await;
        assert_eq!(
            closed_with(&mut ws).await,
            Some(4400),
            "after init: {bad:?}"
        );
    }

    // Pings are answered before and after the ack, with their payload.
    let mut ws = server.ws().await;
    ws.send(json!({"type": "ping", "payload": {"n": 1}})).await;
    let pong = ws.next_message().await;
    assert_eq!(pong, json!({"type": "pong", "payload": {"n": 1}}));
    ws.init(&owner).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next_message().await["type"], "pong");

    // A socket that does not ask for the subprotocol is refused at the upgrade.
    assert!(server.ws_raw(None).await.is_err());
    assert!(server.ws_raw(Some("graphql-ws")).await.is_err());
    server.stop().await;
}

#[tokio::test]
async fn operations_complete_and_errors_end_them() {
    let server = TestServer::start(Backend::Sqlite, Seed::Demo).await;
    let owner = server.demo_token(Role::Owner);
    let mut ws = server.ws().await;
    ws.init(&owner).await;
    // A query over the socket: next, then complete.
    ws.send(subscribe("q", "{ __typename }")).await;
    let next = ws.next_message().await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["payload"]["data"]["__typename"], "QueryRoot");
    assert_eq!(
        ws.next_message().await,
        json!({"id": "q", "type": "complete"})
    );
    // The id is free again once complete arrived.
    ws.send(subscribe("q", "{ __typename }")).await;
    assert_eq!(ws.next_message().await["type"], "next");
    assert_eq!(ws.next_message().await["type"], "complete");
    // A document that does not validate: one `error` message, with its code.
    ws.send(subscribe("bad", "{ noSuchField }")).await;
    let error = ws.next_message().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["id"], "bad");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    // The HTTP document limits apply on the socket too, before anything runs.
    let aliases: String = (0..60).map(|i| format!("a{i}: __typename ")).collect();
    ws.send(subscribe("many", &format!("{{ {aliases} }}")))
        .await;
    let error = ws.next_message().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "TOO_MANY_ALIASES"
    );
    // complete from the client stops a subscription; the socket stays usable.
    ws.send(subscribe("s", &estate_changed())).await;
    assert_eq!(ws.next_message().await["type"], "next");
    ws.send(json!({"id": "s", "type": "complete"})).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next_message().await["type"], "pong");
    server.stop().await;
}

#[tokio::test]
async fn caps_on_operations_connections_and_message_size() {
    let limits = with_ws(WsLimits {
        max_subscriptions: 2,
        max_connections_per_token: 2,
        max_connections: 3,
        max_message_bytes: 4 * 1024,
        ..WsLimits::default()
    });
    let server = TestServer::start_with(Backend::Sqlite, Seed::Demo, limits).await;
    let owner = server.demo_token(Role::Owner);
    let member = server.demo_token(Role::CommitteeMember);

    // Two subscriptions run; the third is refused with its own code, the connection stays.
    let mut first = server.ws().await;
    first.init(&owner).await;
    for id in ["a", "b"] {
        first.send(subscribe(id, &estate_changed())).await;
        assert_eq!(first.next_message().await["type"], "next");
    }
    first.send(subscribe("c", &estate_changed())).await;
    let refused = first.next_message().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "TOO_MANY_SUBSCRIPTIONS"
    );
    // Completing one frees a place.
    first.send(json!({"id": "a", "type": "complete"})).await;
    first.send(subscribe("c", &estate_changed())).await;
    assert_eq!(first.next_message().await["type"], "next");

    // Two connections per token: the third with the same token is told to try again later.
    let mut second = server.ws().await;
    second.init(&owner).await;
    let mut third = server.ws().await;
    third
        .send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {owner}")}}))
        .await;
    assert_eq!(closed_with(&mut third).await, Some(1013));

    // Three connections in all: the fourth is refused at the upgrade with 503.
    let mut other = server.ws().await;
    other.init(&member).await;
    let refused = server.ws_raw(Some("graphql-transport-ws")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 503)
        }
        other => panic!(
            "expected a 503 refusal, got {:?}",
            other.map(|_| "a socket")
        ),
    }
    // A closed connection gives its place back.
    drop(other);
    let mut again = None;
    for _ in 0..50 {
        if let Ok(ws) = server.ws_raw(Some("graphql-transport-ws")).await {
            again = Some(ws);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut again = again.expect("a place freed by the closed connection");
    again.init(&member).await;

    // A message over the cap closes the socket with 1009 (Message Too Big).
    let big = "x".repeat(8 * 1024);
    second
        .send(subscribe("big", &format!("{{ __typename }} # {big}")))
        .await;
    assert_eq!(closed_with(&mut second).await, Some(1009));
    server.stop().await;
}

#[tokio::test]
async fn a_client_too_slow_to_read_is_disconnected() {
    let limits = with_ws(WsLimits {
        outgoing_queue: 4,
        max_subscriptions: 1_000,
        ..WsLimits::default()
    });
    let server = TestServer::start_with(Backend::Sqlite, Seed::Demo, limits).await;
    let mut ws = server.ws().await;
    ws.init(&server.demo_token(Role::Analyst)).await;
    // Large answers (introspection needs no database), asked for without reading any: the
    // socket's buffers fill, then the bounded queue, and the server lets go of the client.
    let query = "{ __schema { types { name description fields { name description args { name description } } } } }";
    let asked = 400;
    for i in 0..asked {
        ws.send(subscribe(&format!("q{i}"), query)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let mut answered = 0;
    loop {
        match ws.next().await {
            WsEvent::Message(m) if m["type"] == "next" => answered += 1,
            WsEvent::Message(_) => {}
            WsEvent::Closed(_) => break,
        }
    }
    assert!(
        answered < asked,
        "the server kept writing to a client that did not read ({answered} answers)"
    );
    // And it no longer counts the connection.
    let mut open = u64::MAX;
    for _ in 0..50 {
        open = metric(&server, "quorum_websockets_open").await;
        if open == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(open, 0);
    server.stop().await;
}

async fn metric(server: &TestServer, name: &str) -> u64 {
    let text = server
        .http()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

#[tokio::test]
async fn the_socket_closes_when_the_token_expires() {
    let server = TestServer::start(Backend::Sqlite, Seed::Demo).await;
    let token = server.state.keys.issue(
        Role::Owner,
        server.demo().owner,
        chrono::Duration::seconds(2),
    );
    let mut ws = server.ws().await;
    ws.init(&token).await;
    ws.send(subscribe("s", &estate_changed())).await;
    assert_eq!(ws.next_message().await["type"], "next");
    let started = std::time::Instant::now();
    assert_eq!(closed_with(&mut ws).await, Some(4403));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1001() {
    let mut server = TestServer::start(Backend::Sqlite, Seed::Demo).await;
    let mut ws = server.ws().await;
    ws.init(&server.demo_token(Role::Owner)).await;
    ws.send(subscribe("s", &estate_changed())).await;
    assert_eq!(ws.next_message().await["type"], "next");
    assert_eq!(
        metric(&server, "quorum_subscriptions_active").await,
        1,
        "one subscription is running"
    );
    server.begin_shutdown();
    assert_eq!(closed_with(&mut ws).await, Some(1001));
}

#[tokio::test]
async fn subscriptions_end_when_the_viewer_loses_access() {
    for backend in backends() {
        let limits = with_ws(WsLimits {
            scope_recheck: std::time::Duration::from_millis(200),
            ..WsLimits::default()
        });
        let server = TestServer::start_with(backend, Seed::Demo, limits).await;
        let mut ws = server.ws().await;
        ws.init(&server.demo_token(Role::Owner)).await;
        ws.send(subscribe("s", &estate_changed())).await;
        assert_eq!(ws.next_message().await["type"], "next");
        // The owner sells: their ownerships end.
        {
            use diesel_async::RunQueryDsl;
            let mut conn = server.state.db.conn().await.expect("conn");
            diesel::sql_query(format!(
                "UPDATE ownerships SET until = '2026-12-02' WHERE owner_id = {} AND until IS NULL",
                server.demo().owner
            ))
            .execute(&mut *conn)
            .await
            .expect("end the ownerships");
        }
        let ended = ws.next_message().await;
        assert_eq!(ended["type"], "error", "[{backend:?}] {ended}");
        assert_eq!(ended["id"], "s");
        assert_eq!(ended["payload"][0]["extensions"]["code"], "FORBIDDEN");
        // Subscribing again is checked under the new scope.
        ws.send(subscribe("s2", &estate_changed())).await;
        let again = ws.next_message().await;
        assert_eq!(
            again["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "[{backend:?}] {again}"
        );
        server.stop().await;
    }
}
