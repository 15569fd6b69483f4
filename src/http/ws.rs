//! graphql-transport-ws, the protocol of the `graphql-ws` library, served by hand.
//!
//! async-graphql ships a server for it, but it closes a refused init with 1002 (the protocol
//! says 4403), a missing init with 3008 (4408), a malformed message with 1002 (4400), silently
//! replaces a subscription whose id is already in use (4409), and has no caps, no bounded write
//! buffer and no notion of a token's expiry. Here the connection is a small state machine:
//!
//! - before the init: `connection_init` within `init_timeout` (else 4408), with a token that
//!   verifies (else 4403); `subscribe` before the ack is 4401; `ping` is answered.
//! - after the ack: `subscribe` runs the operation in its own task, `complete` stops it; a second
//!   init is 4429, a reused id 4409, anything unparsable 4400.
//! - always: the socket closes with 4403 when the token expires, with 1001 when the server shuts
//!   down, and is dropped when the client reads too slowly to keep up with its subscriptions
//!   (the outgoing queue is bounded, so a slow reader cannot grow the server's memory).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{Request, Response as GqlResponse, ServerError};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use super::limits;
use crate::auth::{bearer, resolve_viewer, Viewer};
use crate::error::AppError;
use crate::graphql::code_engine_errors;
use crate::graphql::context::RequestData;
use crate::AppState;

/// The limits of the WebSocket endpoint.
#[derive(Debug, Clone)]
pub struct WsLimits {
    /// How long a new socket may take to send `connection_init` (4408 after).
    pub init_timeout: Duration,
    /// Operations running at once on one connection.
    pub max_subscriptions: usize,
    /// Open connections per token.
    pub max_connections_per_token: usize,
    /// Open connections in all.
    pub max_connections: usize,
    /// Largest message (and frame) a client may send, in bytes.
    pub max_message_bytes: usize,
    /// Messages waiting to be written to one client; a client that lets more pile up is too slow
    /// and is disconnected.
    pub outgoing_queue: usize,
    /// How often a connection's scope is looked up again, so that a sold house or a replaced
    /// committee ends subscriptions the viewer may no longer hold.
    pub scope_recheck: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            init_timeout: Duration::from_secs(10),
            max_subscriptions: 32,
            max_connections_per_token: 8,
            max_connections: 10_000,
            max_message_bytes: 64 * 1024,
            outgoing_queue: 256,
            scope_recheck: Duration::from_secs(30),
        }
    }
}

/// Open connections, in all and per token: a slot is taken before the upgrade (the total) and at
/// the init (the token), and given back when the connection ends.
#[derive(Default)]
pub struct Connections {
    total: AtomicUsize,
    per_token: Mutex<HashMap<String, usize>>,
    subscriptions: AtomicUsize,
}

impl Connections {
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    pub fn active_subscriptions(&self) -> usize {
        self.subscriptions.load(Ordering::Relaxed)
    }

    /// A slot among all connections, or None at the cap.
    pub fn take(self: &Arc<Self>, max: usize) -> Option<ConnectionSlot> {
        let taken = self
            .total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        taken.then(|| ConnectionSlot {
            connections: self.clone(),
            token: None,
        })
    }
}

/// A connection's place in [`Connections`], released on drop.
pub struct ConnectionSlot {
    connections: Arc<Connections>,
    token: Option<String>,
}

impl ConnectionSlot {
    /// Counts the connection against its token; false at the token's cap.
    fn claim_token(&mut self, token: &str, max: usize) -> bool {
        let Ok(mut per_token) = self.connections.per_token.lock() else {
            return false;
        };
        let n = per_token.entry(token.to_string()).or_default();
        if *n >= max {
            return false;
        }
        *n += 1;
        self.token = Some(token.to_string());
        true
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.connections.total.fetch_sub(1, Ordering::AcqRel);
        if let Some(token) = self.token.take() {
            if let Ok(mut per_token) = self.connections.per_token.lock() {
                if let Some(n) = per_token.get_mut(&token) {
                    *n -= 1;
                    if *n == 0 {
                        per_token.remove(&token);
                    }
                }
            }
        }
    }
}

/// What a client may send (graphql-transport-ws).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Pong {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<serde_json::Value>,
    },
    Subscribe {
        id: String,
        // Boxed: a request is large next to the other messages.
        payload: Box<Request>,
    },
    Complete {
        id: String,
    },
}

/// How a connection ends.
enum Close {
    /// A close frame with this code and reason.
    With(u16, String),
    /// The client went away (or is too slow to be told anything): just drop the socket.
    Drop,
}

fn close(code: u16, reason: impl Into<String>) -> Close {
    Close::With(code, reason.into())
}

/// The bounded queue of messages to one client, shared by the tasks of its operations.
#[derive(Clone)]
struct Outbox {
    tx: mpsc::Sender<Message>,
    /// Signalled when the queue is full: the client is not reading.
    overflow: Arc<Notify>,
}

impl Outbox {
    fn push(&self, message: serde_json::Value) {
        let text = Message::Text(Utf8Bytes::from(message.to_string()));
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(text) {
            self.overflow.notify_one();
        }
    }
}

/// Serves one upgraded socket until it closes.
pub async fn serve(
    state: AppState,
    socket: WebSocket,
    mut slot: ConnectionSlot,
    address: Option<std::net::IpAddr>,
) {
    let limits = state.limits.ws.clone();
    let (sink, mut incoming) = socket.split();
    let (tx, rx) = mpsc::channel(limits.outgoing_queue);
    let outbox = Outbox {
        tx,
        overflow: Arc::new(Notify::new()),
    };
    let writer = tokio::spawn(write_all(sink, rx));
    let mut connection = Connection {
        state: &state,
        limits: &limits,
        outbox: outbox.clone(),
        operations: HashMap::new(),
        finished: mpsc::unbounded_channel(),
        address,
    };
    let ending = connection.run(&mut incoming, &mut slot).await;
    connection.end_all();
    match ending {
        Close::With(code, reason) => {
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from(fit_close_reason(reason)),
            };
            // The close waits behind what is queued, unless the queue is full (then the client
            // is not reading and is simply dropped).
            let _ = outbox.tx.try_send(Message::Close(Some(frame)));
            drop(connection);
            drop(outbox);
            if tokio::time::timeout(Duration::from_secs(5), writer)
                .await
                .is_err()
            {
                tracing::debug!("a WebSocket client did not take its close frame");
            }
        }
        Close::Drop => writer.abort(),
    }
}

/// A close frame's reason holds at most 123 bytes (RFC 6455, 5.5); a longer one would make the
/// frame invalid and the close be lost.
fn fit_close_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let mut end = MAX - 3;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push_str("...");
    }
    reason
}

/// Writes queued messages until the queue closes or a close frame is written.
async fn write_all(mut sink: SplitSink<WebSocket, Message>, mut rx: mpsc::Receiver<Message>) {
    while let Some(message) = rx.recv().await {
        let is_close = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || is_close {
            break;
        }
    }
    let _ = sink.close().await;
}

struct Connection<'a> {
    state: &'a AppState,
    limits: &'a WsLimits,
    outbox: Outbox,
    /// Running operations by their client-chosen id.
    operations: HashMap<String, JoinHandle<()>>,
    /// Ids of operations that ended by themselves (sent before their `complete`, so a client that
    /// reuses an id after seeing `complete` is never told it is in use).
    finished: (
        mpsc::UnboundedSender<String>,
        mpsc::UnboundedReceiver<String>,
    ),
    /// The client's address, for the mutation rate limit.
    address: Option<std::net::IpAddr>,
}

impl Connection<'_> {
    async fn run(
        &mut self,
        incoming: &mut futures_util::stream::SplitStream<WebSocket>,
        slot: &mut ConnectionSlot,
    ) -> Close {
        let mut shutdown = self.state.shutdown.subscribe();
        let init_deadline = tokio::time::sleep(self.limits.init_timeout);
        tokio::pin!(init_deadline);
        // Before the ack.
        let (mut viewer, token) = loop {
            let frame = tokio::select! {
                _ = &mut init_deadline => return close(4408, "Connection initialisation timeout"),
                _ = shutting_down(&mut shutdown) => return close(1001, "the server is shutting down"),
                frame = incoming.next() => frame,
            };
            let message = match read(frame) {
                Read::Message(m) => m,
                Read::Skip => continue,
                Read::End(c) => return c,
            };
            match message {
                ClientMessage::ConnectionInit { payload } => {
                    match self.accept_init(payload.as_ref(), slot).await {
                        Ok(accepted) => break accepted,
                        Err(c) => return c,
                    }
                }
                ClientMessage::Ping { payload } => self.pong(payload),
                ClientMessage::Pong { .. } => {}
                ClientMessage::Subscribe { .. } => return close(4401, "Unauthorized"),
                ClientMessage::Complete { .. } => {}
            }
        };
        self.outbox
            .push(serde_json::json!({"type": "connection_ack"}));

        let expires_in = Duration::from_secs(
            u64::try_from(viewer.expires_at - chrono::Utc::now().timestamp()).unwrap_or(0),
        );
        let expiry = tokio::time::sleep(expires_in);
        tokio::pin!(expiry);
        let mut recheck = tokio::time::interval(self.limits.scope_recheck);
        recheck.reset();
        let overflow = self.outbox.overflow.clone();
        loop {
            let frame = tokio::select! {
                _ = &mut expiry => return close(4403, "the token has expired"),
                _ = shutting_down(&mut shutdown) => return close(1001, "the server is shutting down"),
                _ = overflow.notified() => {
                    tracing::warn!("WebSocket client too slow to keep up; disconnected");
                    return Close::Drop;
                }
                _ = recheck.tick() => {
                    match self.recheck_scope(&viewer, &token).await {
                        Ok(Some(fresh)) => viewer = fresh,
                        Ok(None) => {}
                        Err(c) => return c,
                    }
                    continue;
                }
                frame = incoming.next() => frame,
            };
            let message = match read(frame) {
                Read::Message(m) => m,
                Read::Skip => continue,
                Read::End(c) => return c,
            };
            match message {
                ClientMessage::ConnectionInit { .. } => {
                    return close(4429, "Too many initialisation requests")
                }
                ClientMessage::Ping { payload } => self.pong(payload),
                ClientMessage::Pong { .. } => {}
                ClientMessage::Subscribe { id, payload } => {
                    if let Err(c) = self.subscribe(id, *payload, &viewer, &token) {
                        return c;
                    }
                }
                ClientMessage::Complete { id } => {
                    self.end_operation(&id);
                }
            }
        }
    }

    /// Checks the init's token and the per-token cap; the viewer and the token on success.
    async fn accept_init(
        &self,
        payload: Option<&serde_json::Value>,
        slot: &mut ConnectionSlot,
    ) -> Result<(Viewer, String), Close> {
        let authorization = payload
            .and_then(|p| p.get("authorization").or_else(|| p.get("Authorization")))
            .and_then(|v| v.as_str());
        let Some(authorization) = authorization else {
            return Err(close(4403, AppError::Unauthenticated.message().to_string()));
        };
        let viewer = async {
            let token = bearer(authorization)?;
            let (claims, subject) = self.state.keys.verify(token)?;
            let viewer = resolve_viewer(&self.state.db, &claims, subject).await?;
            Ok::<_, AppError>((viewer, token.to_string()))
        }
        .await;
        let (viewer, token) = viewer.map_err(|e| close(4403, e.message().to_string()))?;
        if !slot.claim_token(&token, self.limits.max_connections_per_token) {
            // 1013, Try Again Later: unlike the protocol's 4xxx codes, clients retry it.
            return Err(close(
                1013,
                format!(
                    "this token already holds {} open connections",
                    self.limits.max_connections_per_token
                ),
            ));
        }
        Ok((viewer, token))
    }

    fn pong(&self, payload: Option<serde_json::Value>) {
        let mut pong = serde_json::json!({"type": "pong"});
        if let Some(p) = payload {
            pong["payload"] = p;
        }
        self.outbox.push(pong);
    }

    /// Looks the viewer's scope up again. When it changed, every running operation ends with a
    /// FORBIDDEN error (the client subscribes again and is checked under the new scope) and the
    /// fresh viewer is returned.
    async fn recheck_scope(
        &mut self,
        viewer: &Viewer,
        token: &str,
    ) -> Result<Option<Viewer>, Close> {
        let fresh = match self.state.keys.verify(token) {
            Ok((claims, subject)) => resolve_viewer(&self.state.db, &claims, subject).await,
            Err(e) => Err(e),
        };
        match fresh {
            Ok(fresh) if fresh.scope == viewer.scope => Ok(None),
            Ok(fresh) => {
                let error = serde_json::json!([{
                    "message": "your access changed; subscribe again",
                    "extensions": {"code": "FORBIDDEN"},
                }]);
                for id in self.end_all() {
                    self.outbox
                        .push(serde_json::json!({"id": id, "type": "error", "payload": error}));
                }
                Ok(Some(fresh))
            }
            // The database is briefly unreachable: keep the connection, look again later.
            Err(AppError::Internal(e)) => {
                tracing::warn!(error = %e, "WebSocket scope re-check failed");
                Ok(None)
            }
            Err(e) => Err(close(4403, e.message().to_string())),
        }
    }

    /// Starts an operation in its own task; Err closes the connection (4409).
    fn subscribe(
        &mut self,
        id: String,
        request: Request,
        viewer: &Viewer,
        token: &str,
    ) -> Result<(), Close> {
        while let Ok(done) = self.finished.1.try_recv() {
            self.end_operation(&done);
        }
        if self.operations.contains_key(&id) {
            return Err(close(4409, format!("Subscriber for {id} already exists")));
        }
        let refuse = |code: &str, message: String| {
            serde_json::json!({"id": id, "type": "error", "payload": [{
                "message": message, "extensions": {"code": code}
            }]})
        };
        if self.operations.len() >= self.limits.max_subscriptions {
            self.outbox.push(refuse(
                "TOO_MANY_SUBSCRIPTIONS",
                format!(
                    "this connection already runs {} operations; complete one first",
                    self.limits.max_subscriptions
                ),
            ));
            return Ok(());
        }
        // The same document checks as over HTTP, before anything runs.
        match async_graphql::parser::parse_query(&request.query) {
            Err(e) => {
                let mut errors = vec![ServerError::from(e)];
                code_engine_errors(&mut errors, "GRAPHQL_PARSE_FAILED");
                self.outbox
                    .push(serde_json::json!({"id": id, "type": "error", "payload": errors}));
                return Ok(());
            }
            Ok(document) => {
                if let Err(r) = limits::check_request(
                    &request,
                    &document,
                    limits::DocumentLimits::of(&self.state.limits),
                ) {
                    self.outbox.push(refuse(r.code, r.message));
                    return Ok(());
                }
                let operation = super::operation_type(&document, request.operation_name.as_deref());
                if operation == Some(async_graphql::parser::types::OperationType::Mutation) {
                    if let Err(message) = self.state.rate.check(Some(token), self.address) {
                        self.outbox.push(refuse("RATE_LIMITED", message));
                        return Ok(());
                    }
                }
            }
        }
        let data = RequestData::new(Some(viewer.clone()), self.state.db.clone(), self.state);
        let stream = self.state.schema.execute_stream(request.data(data));
        let task = tokio::spawn(run_operation(
            id.clone(),
            stream,
            self.outbox.clone(),
            self.finished.0.clone(),
        ));
        self.state
            .connections
            .subscriptions
            .fetch_add(1, Ordering::Relaxed);
        self.operations.insert(id, task);
        Ok(())
    }

    /// Ends one operation (completed by the client or finished by itself), keeping the server's
    /// active-subscriptions gauge in step.
    fn end_operation(&mut self, id: &str) {
        if let Some(task) = self.operations.remove(id) {
            task.abort();
            self.state
                .connections
                .subscriptions
                .fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Ends every operation; returns their ids.
    fn end_all(&mut self) -> Vec<String> {
        let ids: Vec<String> = self.operations.keys().cloned().collect();
        for id in &ids {
            self.end_operation(id);
        }
        ids
    }
}

/// Sends an operation's results, then `complete`. A first result that is only request-level
/// errors (validation) is sent as `error`, which ends the operation without `complete`.
async fn run_operation(
    id: String,
    mut stream: impl futures_util::Stream<Item = GqlResponse> + Unpin,
    outbox: Outbox,
    finished: mpsc::UnboundedSender<String>,
) {
    let mut first = true;
    while let Some(mut response) = stream.next().await {
        limits::code_engine_response_errors(&mut response.errors);
        let never_ran = response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        if first && never_ran {
            let _ = finished.send(id.clone());
            outbox.push(serde_json::json!({"id": id, "type": "error", "payload": response.errors}));
            return;
        }
        first = false;
        outbox.push(serde_json::json!({"id": id, "type": "next", "payload": response}));
    }
    let _ = finished.send(id.clone());
    outbox.push(serde_json::json!({"id": id, "type": "complete"}));
}

/// Completes when the server begins to shut down.
async fn shutting_down(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard wait_for returns is not Send: drop it at once.
    let _ = shutdown.wait_for(|down| *down).await;
}

enum Read {
    Message(ClientMessage),
    /// A control frame the socket layer already handled.
    Skip,
    End(Close),
}

/// One frame from the client, as the protocol sees it.
fn read(frame: Option<Result<Message, axum::Error>>) -> Read {
    match frame {
        None => Read::End(Close::Drop),
        Some(Err(e)) => {
            // Mostly a message over the size cap (tungstenite refuses it while reading).
            let text = e.to_string();
            if text.contains("too long") || text.contains("too big") || text.contains("Space limit")
            {
                Read::End(close(1009, "the message is too big"))
            } else {
                Read::End(Close::Drop)
            }
        }
        Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientMessage>(&text) {
            Ok(m) => Read::Message(m),
            Err(e) => Read::End(close(4400, format!("Invalid message received: {e}"))),
        },
        Some(Ok(Message::Binary(_))) => {
            Read::End(close(4400, "binary messages are not part of the protocol"))
        }
        // The closing handshake: answer with the client's own code (RFC 6455, 5.5.1), so the
        // client sees a clean close rather than a dropped connection (1006).
        Some(Ok(Message::Close(frame))) => {
            Read::End(close(frame.map_or(1000, |f| f.code), String::new()))
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Read::Skip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_the_frame() {
        assert_eq!(fit_close_reason("short".into()), "short");
        let long = fit_close_reason("x".repeat(300));
        assert_eq!(long.len(), 123);
        // Never cut inside a character.
        let chinese = fit_close_reason("投票".repeat(100));
        assert!(chinese.len() <= 123 && chinese.ends_with("..."));
    }
}
