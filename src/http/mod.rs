//! HTTP routes: /graphql (POST and GET), /graphql/ws, /playground, /healthz, /metrics.

mod metrics;
mod playground;

pub use metrics::Metrics;
pub use playground::EXAMPLES;

use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Request, Response as GqlResponse, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{RawQuery, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};

use crate::auth::{bearer, resolve_viewer, Viewer};
use crate::error::AppError;
use crate::graphql::code_engine_errors;
use crate::graphql::context::RequestData;
use crate::AppState;

/// The header that asks for the statement count of a request.
pub const DEBUG_HEADER: &str = "x-quorum-debug";

/// The largest request body accepted.
const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::render))
        .merge(playground::routes())
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Builds the viewer from an `Authorization` value, if one was sent.
async fn viewer_from(
    state: &AppState,
    authorization: Option<&str>,
) -> Result<Option<Viewer>, AppError> {
    let Some(value) = authorization else {
        return Ok(None);
    };
    let token = bearer(value)?;
    let (claims, subject) = state.keys.verify(token)?;
    Ok(Some(resolve_viewer(&state.db, &claims, subject).await?))
}

fn error_response(status: StatusCode, error: AppError, state: &AppState) -> Response {
    state.metrics.count_error(error.code());
    let err: async_graphql::Error = error.into();
    // A request-level error has no position in the document.
    let mut server_error = ServerError::new(err.message, None);
    server_error.extensions = err.extensions;
    let body = GqlResponse::from_errors(vec![server_error]);
    json_response(status, &body)
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        bytes,
    )
        .into_response()
}

/// The type of the operation a request would run, or a parse error.
fn operation_type(request: &Request) -> Result<Option<OperationType>, ServerError> {
    let doc = async_graphql::parser::parse_query(&request.query)?;
    let op = match &request.operation_name {
        Some(name) => doc
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name.as_str())),
        None => doc.operations.iter().next(),
    };
    Ok(op.map(|(_, o)| o.node.ty))
}

async fn execute(state: &AppState, headers: &HeaderMap, request: Request) -> Response {
    let started = std::time::Instant::now();
    state.metrics.count_request();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let viewer = match viewer_from(state, authorization).await {
        Ok(v) => v,
        Err(e @ AppError::InvalidToken(_)) => {
            return error_response(StatusCode::UNAUTHORIZED, e, state)
        }
        Err(e) => return error_response(StatusCode::SERVICE_UNAVAILABLE, e, state),
    };
    // Parse once up front so that a malformed document gets its own code.
    if let Err(parse_error) = async_graphql::parser::parse_query(&request.query) {
        let mut errors = vec![ServerError::from(parse_error)];
        code_engine_errors(&mut errors, "GRAPHQL_PARSE_FAILED");
        state.metrics.count_error("GRAPHQL_PARSE_FAILED");
        return json_response(StatusCode::OK, &GqlResponse::from_errors(errors));
    }
    let db = state.db.for_request();
    let request = request.data(RequestData::new(viewer, db.clone(), state));
    let mut response = state.schema.execute(request).await;
    // Errors the engine raised itself: with no path they come from validation, with a path
    // from coercing an argument the client sent.
    for e in response.errors.iter_mut() {
        let code = if e.path.is_empty() {
            "GRAPHQL_VALIDATION_FAILED"
        } else {
            "BAD_USER_INPUT"
        };
        code_engine_errors(std::slice::from_mut(e), code);
    }
    for e in &response.errors {
        let code = e
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .map(|c| c.to_string().trim_matches('"').to_string())
            .unwrap_or_default();
        state.metrics.count_error(&code);
    }
    let wants_cost = headers
        .get(DEBUG_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("cost")));
    if wants_cost {
        let cost = async_graphql::Value::from_json(serde_json::json!({
            "dbStatements": db.request_statements(),
        }))
        .unwrap_or_default();
        response.extensions.insert("cost".to_string(), cost);
    }
    state.metrics.observe_latency(started.elapsed());
    json_response(StatusCode::OK, &response)
}

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::bad_input("POST /graphql takes a JSON body: Content-Type: application/json"),
            &state,
        );
    }
    let request: Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                AppError::bad_input(format!("the body is not a GraphQL request: {e}")),
                &state,
            )
        }
    };
    execute(&state, &headers, request).await
}

async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request =
        match async_graphql::http::parse_query_string(query.as_deref().unwrap_or_default()) {
            Ok(r) => r,
            Err(e) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    AppError::bad_input(format!("the query string is not a GraphQL request: {e}")),
                    &state,
                )
            }
        };
    // GET must never change anything: mutations (and subscriptions) go by POST / WebSocket.
    if let Ok(Some(ty)) = operation_type(&request) {
        if ty != OperationType::Query {
            let mut response = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                AppError::bad_input("only queries may be sent by GET; send mutations by POST"),
                &state,
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
    }
    execute(&state, &headers, request).await
}

/// How long a new WebSocket may take to send `connection_init`.
const INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// graphql-transport-ws. Browsers cannot set headers on a WebSocket, so the token travels in
/// `connection_init`'s payload: `{"authorization": "Bearer …"}`.
///
/// The init message is read and checked here, before async-graphql sees the socket, because
/// async-graphql closes a refused init with 1002 where the protocol says 4403 (and a missing
/// init with 3008 where it says 4408). The accepted init is then replayed to it.
async fn graphql_ws(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(["graphql-transport-ws"])
        .on_upgrade(move |socket| async move {
            state.metrics.ws_opened();
            serve_socket(&state, socket, protocol).await;
            state.metrics.ws_closed();
        })
}

async fn close_with(sink: &mut SplitSink<WebSocket, Message>, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.to_string().into(),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
}

async fn serve_socket(state: &AppState, socket: WebSocket, protocol: GraphQLProtocol) {
    let (mut sink, mut stream) = socket.split();
    let init = match tokio::time::timeout(INIT_TIMEOUT, stream.next()).await {
        Err(_) => return close_with(&mut sink, 4408, "Connection initialisation timeout").await,
        Ok(None | Some(Err(_))) => return,
        Ok(Some(Ok(message))) => message,
    };
    let Message::Text(text) = &init else {
        return close_with(&mut sink, 4400, "expected connection_init").await;
    };
    let parsed: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    if parsed["type"] != "connection_init" {
        return close_with(&mut sink, 4400, "expected connection_init").await;
    }
    let authorization = parsed["payload"]
        .get("authorization")
        .or_else(|| parsed["payload"].get("Authorization"))
        .and_then(|v| v.as_str());
    let viewer = match authorization {
        None => Err(AppError::Unauthenticated),
        Some(a) => viewer_from(state, Some(a)).await,
    };
    let viewer = match viewer {
        Ok(v) => v,
        Err(e) => return close_with(&mut sink, 4403, &e.message()).await,
    };
    let request_data = RequestData::new(viewer, state.db.clone(), state);
    let replayed = futures_util::stream::once(async move { Ok(init) }).chain(stream);
    GraphQLWebSocket::new_with_pair(sink, replayed, state.schema.clone(), protocol)
        .on_connection_init(move |_payload| async move {
            let mut data = Data::default();
            data.insert(request_data);
            Ok(data)
        })
        .serve()
        .await;
}
