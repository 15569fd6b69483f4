//! Every playground example runs against the demo register without an error, as the role its
//! first line names (`# role: ANALYST`), so none of them rots. Subscriptions run over the
//! WebSocket endpoint and must deliver their first event.

mod common;

use common::{backends, Seed, TestServer};
use quorum::auth::Role;
use serde_json::json;

fn role_of(example: &str) -> Role {
    example
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# role:"))
        .and_then(|r| Role::parse(r.trim()))
        .unwrap_or_else(|| panic!("an example must start with `# role: ROLE`:\n{example}"))
}

#[tokio::test]
async fn every_playground_example_runs_on_the_demo() {
    let examples = quorum::http::EXAMPLES;
    assert!(examples.len() >= 5, "the playground offers examples");
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        for (name, text) in examples {
            let token = server.demo_token(role_of(text));
            if text.contains("\nsubscription") {
                let mut ws = server.ws().await;
                ws.init(&token).await;
                ws.send(json!({"id": "ex", "type": "subscribe", "payload": {"query": text}}))
                    .await;
                let msg = ws.next_message().await;
                assert_eq!(msg["type"], "next", "[{backend:?}] {name}: {msg}");
                assert!(
                    msg["payload"].get("errors").is_none(),
                    "[{backend:?}] {name}: {msg}"
                );
            } else {
                let body = server.gql(Some(&token), text, json!({})).await;
                assert!(
                    body.get("errors").is_none(),
                    "[{backend:?}] {name}: {body:#}"
                );
                assert!(body["data"].is_object(), "[{backend:?}] {name}: {body:#}");
            }
        }
        server.stop().await;
    }
}
