//! Events across server processes on PostgreSQL. Every instance sends what it publishes as a
//! `NOTIFY quorum_events` and `LISTEN`s on the same channel, republishing the other instances'
//! events on its own bus: a subscriber connected to one instance sees what was committed through
//! another. The relay uses one dedicated connection (outside the pool: a pooled connection could
//! not hold a LISTEN) and reconnects after a failure; events published while it is down reach
//! the local subscribers only.

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::AsyncMessage;

use super::Event;

/// The notification channel.
const CHANNEL: &str = "quorum_events";

/// A notification's payload: the event and the instance that published it (each instance
/// delivers its own events locally and skips them when they come back).
#[derive(Serialize, Deserialize)]
struct Wire {
    from: u64,
    event: Event,
}

enum Ended {
    /// The bus is gone: the server stopped.
    BusDropped,
    Failed(String),
}

/// Runs the relay until every handle of the bus is dropped.
pub(super) async fn relay(
    url: String,
    local: broadcast::Sender<Event>,
    mut outgoing: mpsc::UnboundedReceiver<Event>,
) {
    let instance = rand::random::<u64>();
    loop {
        match session(&url, instance, &local, &mut outgoing).await {
            Ended::BusDropped => return,
            Ended::Failed(e) => {
                tracing::warn!(error = %e, "event relay over PostgreSQL lost; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn session(
    url: &str,
    instance: u64,
    local: &broadcast::Sender<Event>,
    outgoing: &mut mpsc::UnboundedReceiver<Event>,
) -> Ended {
    let (client, mut connection) = match tokio_postgres::connect(url, tokio_postgres::NoTls).await {
        Ok(pair) => pair,
        Err(e) => return Ended::Failed(e.to_string()),
    };
    // The connection object carries the notifications; it is driven by its own task.
    let (notes_tx, mut notes) = mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if notes_tx.send(n.payload().to_string()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "event relay connection failed");
                    return;
                }
            }
        }
    });
    let ended = async {
        if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
            return Ended::Failed(e.to_string());
        }
        loop {
            tokio::select! {
                event = outgoing.recv() => {
                    let Some(event) = event else { return Ended::BusDropped };
                    let payload = match serde_json::to_string(&Wire { from: instance, event }) {
                        Ok(p) => p,
                        Err(e) => return Ended::Failed(e.to_string()),
                    };
                    if let Err(e) = client
                        .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
                        .await
                    {
                        return Ended::Failed(e.to_string());
                    }
                }
                note = notes.recv() => {
                    let Some(note) = note else {
                        return Ended::Failed("the connection closed".into());
                    };
                    match serde_json::from_str::<Wire>(&note) {
                        Ok(wire) if wire.from != instance => {
                            let _ = local.send(wire.event);
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "unreadable event notification"),
                    }
                }
            }
        }
    }
    .await;
    driver.abort();
    ended
}
