//! HTTP routes: /graphql (POST and GET), /graphql/ws, /playground, /healthz, /metrics.

mod limits;
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

/// Ready when the database answers and its migrations are current (503 otherwise).
async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ready().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: database unreachable or migrations pending",
            )
                .into_response()
        }
    }
}

/// The client's `x-request-id`, or a new one, for the log line of the request.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()))
}

/// The header that asks for the statement count of a request.
pub const DEBUG_HEADER: &str = "x-quorum-debug";

/// The largest request body accepted.
const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
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

/// The media type of a GraphQL response, chosen by the request's Accept header
/// (GraphQL over HTTP): `application/graphql-response+json` when the client asks for it, else
/// `application/json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Json,
    GraphqlResponse,
}

impl Media {
    /// None when the client accepts neither (406).
    fn negotiate(headers: &HeaderMap) -> Option<Media> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(Media::Json);
        };
        let mut best: Option<(f32, Media)> = None;
        for part in accept.split(',') {
            let mut pieces = part.split(';');
            let ty = pieces
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let media = match ty.as_str() {
                "application/graphql-response+json" => Media::GraphqlResponse,
                "application/json" | "application/*" | "*/*" => Media::Json,
                _ => continue,
            };
            // On equal weight the GraphQL media type wins.
            if q > 0.0
                && best.is_none_or(|(bq, bm)| {
                    q > bq || (q == bq && media == Media::GraphqlResponse && bm == Media::Json)
                })
            {
                best = Some((q, media));
            }
        }
        best.map(|(_, m)| m)
    }

    fn content_type(self) -> &'static str {
        match self {
            Media::Json => "application/json; charset=utf-8",
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        }
    }
}

fn error_response(status: StatusCode, error: AppError, state: &AppState) -> Response {
    error_response_as(status, error, state, Media::Json)
}

fn error_response_as(
    status: StatusCode,
    error: AppError,
    state: &AppState,
    media: Media,
) -> Response {
    state.metrics.count_error(error.code());
    let err: async_graphql::Error = error.into();
    // A request-level error has no position in the document.
    let mut server_error = ServerError::new(err.message, None);
    server_error.extensions = err.extensions;
    let body = GqlResponse::from_errors(vec![server_error]);
    json_response_as(status, &body, media)
}

fn refused(code: &str, message: String, state: &AppState, media: Media) -> Response {
    state.metrics.count_error(code);
    let mut e = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    e.extensions = Some(ext);
    let status = if media == Media::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_response_as(status, &GqlResponse::from_errors(vec![e]), media)
}

fn json_response_as(status: StatusCode, body: &impl serde::Serialize, media: Media) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(media.content_type()),
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
    let Some(media) = Media::negotiate(headers) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "accepts application/graphql-response+json or application/json",
        )
            .into_response();
    };
    // Parse once up front so that a malformed document gets its own code, and the limits are
    // checked before anything runs.
    let document = match async_graphql::parser::parse_query(&request.query) {
        Ok(d) => d,
        Err(parse_error) => {
            let mut errors = vec![ServerError::from(parse_error)];
            code_engine_errors(&mut errors, "GRAPHQL_PARSE_FAILED");
            state.metrics.count_error("GRAPHQL_PARSE_FAILED");
            let status = if media == Media::GraphqlResponse {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            return json_response_as(status, &GqlResponse::from_errors(errors), media);
        }
    };
    let document_limits = limits::DocumentLimits {
        max_bytes: state.limits.max_document_bytes,
        max_aliases: state.limits.max_aliases,
        max_depth: state.limits.max_depth,
        max_directives: state.limits.max_directives,
    };
    if let Err(r) = limits::check(&request.query, &document, document_limits) {
        return refused(r.code, r.message, state, media);
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let viewer = match viewer_from(state, authorization).await {
        Ok(v) => v,
        Err(e @ AppError::InvalidToken(_)) => {
            return error_response_as(StatusCode::UNAUTHORIZED, e, state, media)
        }
        Err(e) => return error_response_as(StatusCode::SERVICE_UNAVAILABLE, e, state, media),
    };
    let db = state.db.for_request();
    let request = request.data(RequestData::new(viewer, db.clone(), state));
    let Ok(mut response) =
        tokio::time::timeout(state.limits.request_timeout, state.schema.execute(request)).await
    else {
        return refused(
            "REQUEST_TIMEOUT",
            format!(
                "the request ran longer than {} s and was stopped",
                state.limits.request_timeout.as_secs()
            ),
            state,
            media,
        );
    };
    // Errors the engine raised itself: the limits have their own codes; others without a path
    // come from validation, with a path from coercing an argument the client sent.
    for e in response.errors.iter_mut() {
        let code = limits::code_for_engine_message(&e.message).unwrap_or(if e.path.is_empty() {
            "GRAPHQL_VALIDATION_FAILED"
        } else {
            "BAD_USER_INPUT"
        });
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
    tracing::info!(
        request_id = %request_id(headers),
        duration_ms = started.elapsed().as_millis() as u64,
        errors = response.errors.len(),
        "graphql request"
    );
    // With the GraphQL media type, a document that never executed (validation) is a 400.
    let never_executed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if media == Media::GraphqlResponse && never_executed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_response_as(status, &response, media)
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
