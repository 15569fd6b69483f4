//! HTTP routes: /graphql (POST and GET), /graphql/ws, /playground, /healthz, /metrics.

mod limits;
mod metrics;
mod playground;
mod rate;
mod ws;

pub use metrics::Metrics;
pub use playground::EXAMPLES;
pub use rate::{MutationLimiter, RateLimits};
pub use ws::{Connections, WsLimits};

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response as GqlResponse, ServerError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

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
    let mut router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render));
    if state.limits.playground {
        router = router.merge(playground::routes());
    }
    router
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
    error_answer(status, error, state).into_response(media)
}

/// A request-level refusal: nothing ran, so with the GraphQL media type it is a 400.
fn refusal(code: &str, message: String, state: &AppState, media: Media) -> Answer {
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
    Answer {
        status,
        body: GqlResponse::from_errors(vec![e]),
        retry_after: None,
    }
}

/// A refusal of the whole HTTP request with 400, whatever the media type.
fn bad_request(code: &str, message: String, state: &AppState, media: Media) -> Response {
    let mut answer = refusal(code, message, state, media);
    answer.status = StatusCode::BAD_REQUEST;
    answer.into_response(media)
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

/// The operation of a document a request would run.
fn operation_type(
    document: &async_graphql::parser::types::ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    let op = match operation_name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name)),
        None => document.operations.iter().next(),
    };
    op.map(|(_, o)| o.node.ty)
}

/// Who sent a request: its Authorization value and the client's address.
struct Caller<'a> {
    headers: &'a HeaderMap,
    address: Option<std::net::IpAddr>,
}

impl Caller<'_> {
    fn authorization(&self) -> Option<&str> {
        self.headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
    }
}

/// One executed (or refused) operation, before it becomes an HTTP response.
struct Answer {
    status: StatusCode,
    body: GqlResponse,
    /// Seconds, for a rate-limited request.
    retry_after: Option<u64>,
}

/// True for an answer without data whose errors all lie outside execution (no path).
fn never_executed(body: &GqlResponse) -> bool {
    body.data == async_graphql::Value::Null
        && !body.errors.is_empty()
        && body.errors.iter().all(|e| e.path.is_empty())
}

/// A response as sent. A request that never reached execution (it did not parse, validate or
/// pass a limit) has no `data` entry at all, as GraphQL over HTTP asks; async-graphql would
/// send `"data": null`.
fn wire(body: &GqlResponse) -> serde_json::Value {
    let mut value = serde_json::to_value(body).unwrap_or_default();
    if never_executed(body) {
        if let Some(object) = value.as_object_mut() {
            object.remove("data");
        }
    }
    value
}

impl Answer {
    fn into_response(self, media: Media) -> Response {
        let mut response = json_response_as(self.status, &wire(&self.body), media);
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// Runs one GraphQL request: document checks (no database work), authentication, the mutation
/// rate limits, then execution under the request timeout.
async fn run(
    state: &AppState,
    caller: &Caller<'_>,
    request: Request,
    media: Media,
    only_queries: bool,
) -> Answer {
    let started = std::time::Instant::now();
    state.metrics.count_request();
    if request.query.trim().is_empty() {
        // Not a GraphQL request at all (say, `{"qeury": …}`): the parameters are invalid.
        return error_answer(
            StatusCode::BAD_REQUEST,
            AppError::bad_input("the request has no query: send {\"query\": \"…\"}"),
            state,
        );
    }
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
            return Answer {
                status,
                body: GqlResponse::from_errors(errors),
                retry_after: None,
            };
        }
    };
    if let Err(r) = limits::check_request(
        &request,
        &document,
        limits::DocumentLimits::of(&state.limits),
    ) {
        return refusal(r.code, r.message, state, media);
    }
    let operation = operation_type(&document, request.operation_name.as_deref());
    // GET must never change anything: mutations (and subscriptions) go by POST / WebSocket.
    if only_queries && operation.is_some_and(|ty| ty != OperationType::Query) {
        let mut answer = refusal(
            "METHOD_NOT_ALLOWED",
            "only queries may be sent by GET; send mutations by POST".into(),
            state,
            media,
        );
        answer.status = StatusCode::METHOD_NOT_ALLOWED;
        return answer;
    }
    let viewer = match viewer_from(state, caller.authorization()).await {
        Ok(v) => v,
        Err(e) => {
            let status = match e {
                AppError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            return error_answer(status, e, state);
        }
    };
    if operation == Some(OperationType::Mutation) {
        let token = caller.authorization().and_then(|a| bearer(a).ok());
        if let Err(message) = state.rate.check(token, caller.address) {
            let mut answer = refusal("RATE_LIMITED", message, state, media);
            answer.status = StatusCode::TOO_MANY_REQUESTS;
            answer.retry_after = Some(60);
            return answer;
        }
    }
    let db = state.db.for_request();
    let request = request.data(RequestData::new(viewer, db.clone(), state));
    let Ok(mut response) =
        tokio::time::timeout(state.limits.request_timeout, state.schema.execute(request)).await
    else {
        return refusal(
            "REQUEST_TIMEOUT",
            format!(
                "the request ran longer than {} s and was stopped",
                state.limits.request_timeout.as_secs()
            ),
            state,
            media,
        );
    };
    limits::code_engine_response_errors(&mut response.errors);
    for e in &response.errors {
        let code = e
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .map(|c| c.to_string().trim_matches('"').to_string())
            .unwrap_or_default();
        state.metrics.count_error(&code);
    }
    let wants_cost = caller
        .headers
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
        request_id = %request_id(caller.headers),
        duration_ms = started.elapsed().as_millis() as u64,
        errors = response.errors.len(),
        "graphql request"
    );
    // With the GraphQL media type, a document that never executed (validation) is a 400.
    let status = if media == Media::GraphqlResponse && never_executed(&response) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Answer {
        status,
        body: response,
        retry_after: None,
    }
}

fn error_answer(status: StatusCode, error: AppError, state: &AppState) -> Answer {
    state.metrics.count_error(error.code());
    let err: async_graphql::Error = error.into();
    // A request-level error has no position in the document.
    let mut server_error = ServerError::new(err.message, None);
    server_error.extensions = err.extensions;
    Answer {
        status,
        body: GqlResponse::from_errors(vec![server_error]),
        retry_after: None,
    }
}

fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        "accepts application/graphql-response+json or application/json",
    )
        .into_response()
}

fn client_address(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Bytes,
) -> Response {
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
    let Some(media) = Media::negotiate(&headers) else {
        return not_acceptable();
    };
    let caller = Caller {
        headers: &headers,
        address: client_address(&extensions),
    };
    let is_batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if is_batch {
        return run_batch(&state, &caller, &body, media).await;
    }
    let request: Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error_response_as(
                StatusCode::BAD_REQUEST,
                AppError::bad_input(format!("the body is not a GraphQL request: {e}")),
                &state,
                media,
            )
        }
    };
    run(&state, &caller, request, media, false)
        .await
        .into_response(media)
}

/// A JSON array of requests, when batching is switched on (`--max-batch N`): at most N
/// operations, run one after another, answered as an array. Off by default, since a batch
/// multiplies what one HTTP request may cost.
async fn run_batch(state: &AppState, caller: &Caller<'_>, body: &[u8], media: Media) -> Response {
    let max = state.limits.max_batch;
    if max == 0 {
        return bad_request(
            "BATCHING_DISABLED",
            "batched requests are not accepted here: send one operation per request".into(),
            state,
            media,
        );
    }
    let requests: Vec<Request> = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return error_response_as(
                StatusCode::BAD_REQUEST,
                AppError::bad_input(format!("the body is not a batch of GraphQL requests: {e}")),
                state,
                media,
            )
        }
    };
    if requests.is_empty() || requests.len() > max {
        return bad_request(
            "BATCH_TOO_LARGE",
            format!(
                "a batch holds 1 to {max} operations (this one has {})",
                requests.len()
            ),
            state,
            media,
        );
    }
    let mut answers = Vec::with_capacity(requests.len());
    for request in requests {
        answers.push(wire(&run(state, caller, request, media, false).await.body));
    }
    json_response_as(StatusCode::OK, &answers, media)
}

async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(media) = Media::negotiate(&headers) else {
        return not_acceptable();
    };
    if !state.limits.get_queries {
        // Nothing is parsed or run: with GET off, the method alone decides.
        let mut answer = refusal(
            "METHOD_NOT_ALLOWED",
            "this server runs GraphQL by POST only".into(),
            &state,
            media,
        );
        answer.status = StatusCode::METHOD_NOT_ALLOWED;
        let mut response = answer.into_response(media);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let request =
        match async_graphql::http::parse_query_string(query.as_deref().unwrap_or_default()) {
            Ok(r) => r,
            Err(e) => {
                return error_response_as(
                    StatusCode::BAD_REQUEST,
                    AppError::bad_input(format!("the query string is not a GraphQL request: {e}")),
                    &state,
                    media,
                )
            }
        };
    let caller = Caller {
        headers: &headers,
        address: client_address(&extensions),
    };
    let response = run(&state, &caller, request, media, true).await;
    let method_not_allowed = response.status == StatusCode::METHOD_NOT_ALLOWED;
    let mut response = response.into_response(media);
    if method_not_allowed {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

/// graphql-transport-ws (see `ws`). Browsers cannot set headers on a WebSocket, so the token
/// travels in `connection_init`'s payload: `{"authorization": "Bearer …"}`. The cap on
/// connections in all is applied here, before the upgrade: a plain 503 that any client
/// understands.
async fn graphql_ws(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    upgrade: WebSocketUpgrade,
) -> Response {
    let limits = &state.limits.ws;
    let Some(slot) = state.connections.take(limits.max_connections) else {
        state.metrics.count_error("TOO_MANY_CONNECTIONS");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "too many WebSocket connections; try again later",
        )
            .into_response();
    };
    let speaks_protocol = upgrade
        .requested_protocols()
        .any(|p| p.as_bytes().eq_ignore_ascii_case(b"graphql-transport-ws"));
    if !speaks_protocol {
        return (
            StatusCode::BAD_REQUEST,
            "this endpoint speaks the graphql-transport-ws subprotocol only: \
             send Sec-WebSocket-Protocol: graphql-transport-ws",
        )
            .into_response();
    }
    upgrade
        .protocols(["graphql-transport-ws"])
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .read_buffer_size(WS_IO_BUFFER)
        .write_buffer_size(WS_IO_BUFFER)
        .max_write_buffer_size(WS_WRITE_BUFFER)
        .on_upgrade(move |socket| ws::serve(state, socket, slot, client_address(&extensions)))
}

/// tungstenite's read and write buffers per socket. Its defaults (128 KiB each) cost a quarter
/// of a megabyte for every idle subscriber (benches/live_progress measured it); progress frames
/// are a few KiB, and larger messages still pass up to the message cap.
const WS_IO_BUFFER: usize = 8 * 1024;

/// The most tungstenite may buffer for one client beyond the queue of whole messages.
const WS_WRITE_BUFFER: usize = 8 * 1024 * 1024;
