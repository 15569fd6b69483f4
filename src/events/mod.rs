//! The event bus: small events (ids only) published after a commit. Subscribers recompute what
//! they show from the database, so an event never carries stale data. In process over a
//! broadcast channel; on PostgreSQL also across server processes (`pg`).

mod pg;

use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::BroadcastStream;

/// Something that changed, named by ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// An estate's own record (e.g. its settings) changed.
    EstateChanged { estate_id: i64 },
    /// A ballot moved to another state.
    BallotChanged {
        ballot_id: i64,
        estate_id: i64,
        /// The new state's name (`BallotState::as_db`).
        state: String,
    },
    /// Votes were recorded on a ballot (one event per committed transaction).
    VotesCast { ballot_id: i64 },
    /// Entries were added to an account.
    AccountChanged { account_id: i64, estate_id: i64 },
    /// A disclosure was published.
    DisclosurePublished { estate_id: i64, disclosure_id: i64 },
}

/// The bus lives in the application state, never in a static.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Event>,
    /// To the other instances (PostgreSQL only).
    remote: Option<mpsc::UnboundedSender<Event>>,
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus {
    pub fn new() -> Self {
        // A subscriber that falls this far behind misses events and is told so (it then
        // recomputes from the database anyway).
        let (tx, _) = broadcast::channel(1024);
        Self { tx, remote: None }
    }

    /// A bus whose events also cross to every instance on the same PostgreSQL database (and
    /// theirs to this one), by LISTEN/NOTIFY on a connection of its own.
    pub fn across_instances(postgres_url: &str) -> Self {
        let mut bus = Self::new();
        let (remote, outgoing) = mpsc::unbounded_channel();
        tokio::spawn(pg::relay(
            postgres_url.to_string(),
            bus.tx.clone(),
            outgoing,
        ));
        bus.remote = Some(remote);
        bus
    }

    /// Publishes after commit; nobody listening is not an error.
    pub fn publish(&self, event: Event) {
        if let Some(remote) = &self.remote {
            let _ = remote.send(event.clone());
        }
        let _ = self.tx.send(event);
    }

    /// Every event; `None` stands for events missed by a subscriber that fell behind.
    pub fn subscribe_all(&self) -> impl Stream<Item = Option<Event>> + Send + 'static {
        BroadcastStream::new(self.tx.subscribe()).map(Result::ok)
    }

    /// A stream that yields once per change of the estate, and once after missing events
    /// (the subscriber refreshes from the database either way).
    pub fn subscribe_estate(&self, estate_id: i64) -> impl Stream<Item = ()> + Send + 'static {
        BroadcastStream::new(self.tx.subscribe()).filter_map(move |e| async move {
            match e {
                Ok(Event::EstateChanged { estate_id: id }) => (id == estate_id).then_some(()),
                Ok(_) => None,
                Err(_lagged) => Some(()),
            }
        })
    }
}
