//! The thirteen checks of the graphql-cop auditor (github.com/dolevf/graphql-cop), ported as
//! tests against the production configuration (`--production`): each sends graphql-cop's own
//! request and applies graphql-cop's own verdict, then asserts what the refusal looks like.
//! Every check runs twice, as a stranger without a token and as an authenticated analyst, since
//! an attacker may well hold a valid token. Then the three heavy documents of the issue: a
//! 10 MiB body, depth 50 and 1,000 aliases, each refused before any database work.

mod common;

use common::{backends, Seed, TestServer};
use quorum::auth::Role;
use quorum::graphql::SchemaLimits;
use serde_json::{json, Value};

/// What came back: status, headers and the body as JSON (Null when it is not JSON).
struct Reply {
    status: u16,
    allow: Option<String>,
    text: String,
    json: Value,
}

async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let allow = resp
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        allow,
        text,
        json,
    }
}

/// graphql-cop's `graph_query`: a JSON POST of `{"query": q}`.
async fn post(server: &TestServer, token: Option<&str>, query: &str) -> Reply {
    let mut req = server
        .http()
        .post(server.url("/graphql"))
        .json(&json!({ "query": query }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    reply(req.send().await.expect("post")).await
}

/// graphql-cop's `request_get`: the query in the URL.
async fn get(server: &TestServer, token: Option<&str>, path: &str, query: Option<&str>) -> Reply {
    let mut req = server.http().get(server.url(path));
    if let Some(q) = query {
        req = req.query(&[("query", q)]);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    reply(req.send().await.expect("get")).await
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

/// Runs the thirteen checks against a server; `who` names the caller in failure messages.
async fn graphql_cop(server: &TestServer, token: Option<&str>, who: &str) {
    let at = format!("[{:?}, {who}]", server.backend);

    // 1. Alias overloading: 101 aliases of __typename; vulnerable if alias100 comes back.
    let aliases: String = (0..=100)
        .map(|i| format!("alias{i}:__typename \n"))
        .collect();
    let r = post(server, token, &format!("query {{ {aliases} }}")).await;
    assert!(
        r.json["data"]["alias100"].is_null(),
        "{at} alias overloading: {}",
        r.text
    );
    assert_eq!(code(&r.json), "TOO_MANY_ALIASES", "{at} {}", r.text);

    // 2. Array-based batching: ten queries in a JSON array; vulnerable if ten answers come back.
    let batch: Vec<Value> = (0..10)
        .map(|_| json!({"query": "query { __typename }"}))
        .collect();
    let mut req = server.http().post(server.url("/graphql")).json(&batch);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = reply(req.send().await.expect("batch")).await;
    assert!(!r.json.is_array(), "{at} batching: {}", r.text);
    assert!(r.json["data"].is_null(), "{at} batching: {}", r.text);
    assert_eq!(
        (r.status, code(&r.json)),
        (400, "BATCHING_DISABLED"),
        "{at}"
    );

    // 3. Directive overloading: ten unknown directives on one field; vulnerable if each gets
    // its own error (the server looked at every one).
    let r = post(
        server,
        token,
        "query { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }",
    )
    .await;
    let errors = r.json["errors"].as_array().map_or(0, Vec::len);
    assert_ne!(errors, 10, "{at} directive overloading: {}", r.text);
    assert_eq!(code(&r.json), "TOO_MANY_DIRECTIVES", "{at} {}", r.text);

    // 4. Field duplication: __typename 500 times; vulnerable if it is answered.
    let r = post(
        server,
        token,
        &format!("query {{ {}}} ", "__typename \n".repeat(500)),
    )
    .await;
    assert!(
        r.json["data"]["__typename"].is_null(),
        "{at} field duplication: {}",
        r.text
    );
    assert_eq!(code(&r.json), "FIELD_REPEATED", "{at} {}", r.text);

    // 5. Introspection-based circular query; vulnerable if more than 25 types come back.
    let circular = "query { __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }";
    let r = post(server, token, circular).await;
    assert!(
        r.json["data"]["__schema"].is_null(),
        "{at} circular introspection: {}",
        r.text
    );
    assert_eq!(code(&r.json), "INTROSPECTION_TOO_DEEP", "{at} {}", r.text);

    // 6. Field suggestions; vulnerable if an error says "Did you mean".
    let r = post(server, token, "query { __schema { directive } }").await;
    assert!(
        !r.text.contains("Did you mean"),
        "{at} field suggestions: {}",
        r.text
    );
    assert!(
        r.json["data"].is_null() && !code(&r.json).is_empty(),
        "{at} {}",
        r.text
    );

    // 7. Mutation over GET (CSRF); vulnerable if it is answered.
    let r = get(server, token, "/graphql", Some("mutation {__typename}")).await;
    assert!(
        r.json["data"]["__typename"].is_null(),
        "{at} GET mutation: {}",
        r.text
    );
    assert_eq!((r.status, r.allow.as_deref()), (405, Some("POST")), "{at}");

    // 8. Queries over GET (CSRF); vulnerable if it is answered.
    let r = get(server, token, "/graphql", Some("{__typename}")).await;
    assert!(
        r.json["data"]["__typename"].is_null(),
        "{at} GET query: {}",
        r.text
    );
    assert_eq!((r.status, r.allow.as_deref()), (405, Some("POST")), "{at}");
    assert_eq!(code(&r.json), "METHOD_NOT_ALLOWED", "{at}");

    // 9. GraphQL IDE: graphql-cop's four paths and its four tell-tale strings.
    for path in ["/graphiql", "/playground", "/console", "/graphql"] {
        let r = get(server, token, path, None).await;
        for word in [
            "graphiql.min.css",
            "GraphQL Playground",
            "GraphiQL",
            "graphql-playground",
        ] {
            assert!(!r.text.contains(word), "{at} IDE at {path}: {}", r.text);
        }
    }

    // 10. Introspection; vulnerable if the types come back.
    let r = post(
        server,
        token,
        "query { __schema { types { name fields { name } } } }",
    )
    .await;
    assert!(
        r.json["data"]["__schema"].is_null(),
        "{at} introspection: {}",
        r.text
    );

    // 11. POST with a url-encoded query (CSRF); vulnerable if it is answered. graphql-cop puts
    // the query in the URL of a body-less POST; a browser form would send it as the body.
    let mut req = server
        .http()
        .post(server.url("/graphql"))
        .query(&[("query", "query {__typename}")]);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = reply(req.send().await.expect("post")).await;
    assert!(
        r.json["data"]["__typename"].is_null(),
        "{at} url-encoded POST: {}",
        r.text
    );
    assert_eq!(r.status, 415, "{at}");
    let mut req = server
        .http()
        .post(server.url("/graphql"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=query%20%7B__typename%7D");
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = reply(req.send().await.expect("post")).await;
    assert!(
        r.json["data"]["__typename"].is_null(),
        "{at} form POST: {}",
        r.text
    );
    assert_eq!(r.status, 415, "{at}");

    // 12. Trace mode; vulnerable if tracing, an exception or a stack trace shows.
    let r = post(server, token, "query { __typename }").await;
    assert!(
        r.json["extensions"]["tracing"].is_null(),
        "{at} trace mode: {}",
        r.text
    );
    assert!(
        r.json["errors"]["extensions"]["exception"].is_null(),
        "{at}"
    );
    assert!(
        !r.text.to_lowercase().contains("stacktrace"),
        "{at} {}",
        r.text
    );
    assert!(
        !r.text.to_lowercase().contains("exception"),
        "{at} {}",
        r.text
    );

    // 13. Unhandled errors; vulnerable if an error carries an exception.
    let r = post(server, token, "qwerty cop { abc }").await;
    assert!(
        r.json["errors"][0]["extensions"]["exception"].is_null(),
        "{at} unhandled: {}",
        r.text
    );
    assert!(
        !r.text.to_lowercase().contains("exception"),
        "{at} {}",
        r.text
    );
    assert_eq!(code(&r.json), "GRAPHQL_PARSE_FAILED", "{at} {}", r.text);
}

#[tokio::test]
async fn graphql_cop_finds_nothing_in_the_production_configuration() {
    for backend in backends() {
        let server = TestServer::start_with(backend, Seed::Demo, SchemaLimits::production()).await;
        let analyst = server.demo_token(Role::Analyst);
        graphql_cop(&server, None, "no token").await;
        graphql_cop(&server, Some(&analyst), "analyst").await;
        // The production server still serves its clients: POST queries run.
        let d = server
            .data(&analyst, "{ viewer { role } }", json!({}))
            .await;
        assert_eq!(d["viewer"]["role"], "ANALYST");
        server.stop().await;
    }
}

/// The development defaults expose what production hides (so the checks above can fail), while
/// the document limits protect both.
#[tokio::test]
async fn the_default_configuration_exposes_only_the_playground_introspection_and_get() {
    let server = TestServer::start(backends()[0], Seed::Demo).await;
    let analyst = server.demo_token(Role::Analyst);
    let r = get(&server, None, "/playground", None).await;
    assert!(r.text.contains("GraphiQL"), "{}", r.text);
    let r = get(&server, Some(&analyst), "/graphql", Some("{__typename}")).await;
    assert_eq!(r.json["data"]["__typename"], "QueryRoot", "{}", r.text);
    let r = post(
        &server,
        Some(&analyst),
        "query { __schema { types { name fields { name } } } }",
    )
    .await;
    assert!(r.json["data"]["__schema"]["types"].is_array(), "{}", r.text);
    // The limits hold here too.
    let circular = "query { __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }";
    let r = post(&server, Some(&analyst), circular).await;
    assert_eq!(code(&r.json), "INTROSPECTION_TOO_DEEP", "{}", r.text);
    let r = post(
        &server,
        Some(&analyst),
        &format!("query {{ {}}} ", "__typename \n".repeat(500)),
    )
    .await;
    assert_eq!(code(&r.json), "FIELD_REPEATED", "{}", r.text);
    let r = get(&server, None, "/graphql", Some("mutation {__typename}")).await;
    assert_eq!((r.status, r.allow.as_deref()), (405, Some("POST")));
    server.stop().await;
}

#[tokio::test]
async fn heavy_documents_are_refused_before_any_database_work() {
    for backend in backends() {
        let server = TestServer::start_with(backend, Seed::Demo, SchemaLimits::production()).await;
        // A token whose subject exists nowhere: resolving it is the first database work, so a
        // refusal with the limit's code (not UNAUTHENTICATED) shows nothing ran.
        let ghost = server.token(Role::Owner, 987_654_321);
        let at = format!("[{backend:?}]");

        let started = std::time::Instant::now();
        let body = format!(
            "{{\"query\": \"{{ viewer {{ role }} }}\", \"padding\": \"{}\"}}",
            "x".repeat(10 * 1024 * 1024)
        );
        let resp = server
            .http()
            .post(server.url("/graphql"))
            .bearer_auth(&ghost)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 413, "{at} a 10 MiB body");
        eprintln!("{at} 10 MiB body refused in {:?}", started.elapsed());

        let started = std::time::Instant::now();
        let deep = format!("{{ {}id{} }}", "a { ".repeat(49), " }".repeat(49));
        let r = post(&server, Some(&ghost), &deep).await;
        assert_eq!(code(&r.json), "QUERY_TOO_DEEP", "{at} depth 50: {}", r.text);
        assert!(r.json["data"].is_null());
        eprintln!("{at} depth 50 refused in {:?}", started.elapsed());

        let started = std::time::Instant::now();
        let aliases: String = (0..1000)
            .map(|i| format!("a{i}: viewer {{ role }} "))
            .collect();
        let r = post(&server, Some(&ghost), &format!("{{ {aliases} }}")).await;
        assert_eq!(
            code(&r.json),
            "TOO_MANY_ALIASES",
            "{at} 1,000 aliases: {}",
            r.text
        );
        assert!(r.json["data"].is_null());
        eprintln!("{at} 1,000 aliases refused in {:?}", started.elapsed());

        // The same ghost with an ordinary document does reach the database, and is refused there.
        let r = post(&server, Some(&ghost), "{ viewer { role } }").await;
        assert_eq!(code(&r.json), "UNAUTHENTICATED", "{at} {}", r.text);
        server.stop().await;
    }
}
