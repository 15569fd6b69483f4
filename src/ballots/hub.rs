//! Live progress: one task per watched ballot recomputes its figures at most every 250 ms while
//! votes arrive, and shares the result with every subscriber through a `watch` channel, so the
//! cost of a vote does not grow with the number of people watching.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;

use super::progress::{compute, Figures};
use super::repo;
use crate::db::Db;
use crate::error::AppError;
use crate::events::{Bus, Event};

/// How long a burst of votes is gathered before the figures are recomputed.
pub const COALESCE: Duration = Duration::from_millis(250);

type Slot = watch::Sender<Option<Arc<Figures>>>;

#[derive(Clone)]
pub struct ProgressHub {
    db: Db,
    bus: Bus,
    channels: Arc<Mutex<HashMap<i64, Slot>>>,
    computations: Arc<AtomicU64>,
}

impl ProgressHub {
    pub fn new(db: Db, bus: Bus) -> Self {
        Self {
            db,
            bus,
            channels: Arc::default(),
            computations: Arc::default(),
        }
    }

    /// How many times figures were computed (for /metrics and the tests that prove sharing).
    pub fn computations(&self) -> u64 {
        self.computations.load(Ordering::Relaxed)
    }

    /// A receiver of the ballot's figures; the first one starts the ballot's task.
    pub fn watch(&self, ballot_id: i64) -> watch::Receiver<Option<Arc<Figures>>> {
        let Ok(mut channels) = self.channels.lock() else {
            // A poisoned lock means a panic elsewhere; serve a channel that never updates.
            return watch::channel(None).1;
        };
        if let Some(tx) = channels.get(&ballot_id) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(None);
        channels.insert(ballot_id, tx.clone());
        let hub = self.clone();
        tokio::spawn(async move { hub.run(ballot_id, tx).await });
        rx
    }

    async fn run(self, ballot_id: i64, tx: Slot) {
        let mut events = Box::pin(self.bus.subscribe_all());
        loop {
            match self.figures(ballot_id).await {
                Ok(f) => {
                    tx.send_replace(Some(Arc::new(f)));
                }
                Err(e) => tracing::warn!(ballot_id, error = ?e, "progress not computed"),
            }
            // Wait for a relevant event, or for the last subscriber to leave.
            let relevant = |e: &Option<Event>| match e {
                Some(Event::VotesCast { ballot_id: b })
                | Some(Event::BallotChanged { ballot_id: b, .. }) => *b == ballot_id,
                Some(_) => false,
                None => true,
            };
            let woke = tokio::select! {
                _ = tx.closed() => false,
                found = async {
                    while let Some(e) = events.next().await {
                        if relevant(&e) {
                            return true;
                        }
                    }
                    false
                } => found,
            };
            if !woke {
                // The last subscriber left. Under the lock `watch` subscribes under, so that one
                // arriving just now either finds this task still serving or starts a new one.
                let Ok(mut channels) = self.channels.lock() else {
                    return;
                };
                if tx.receiver_count() > 0 {
                    continue;
                }
                if channels
                    .get(&ballot_id)
                    .is_some_and(|t| t.same_channel(&tx))
                {
                    channels.remove(&ballot_id);
                }
                return;
            }
            // Let the burst finish: everything arriving in the next 250 ms is one recomputation.
            tokio::time::sleep(COALESCE).await;
        }
    }

    async fn figures(&self, ballot_id: i64) -> Result<Figures, AppError> {
        self.computations.fetch_add(1, Ordering::Relaxed);
        let mut conn = self.db.conn().await?;
        let b = repo::ballot(&mut conn, ballot_id).await?;
        let items = repo::items_for(&mut conn, &[ballot_id]).await?;
        let options =
            repo::options_for(&mut conn, &items.iter().map(|i| i.id).collect::<Vec<_>>()).await?;
        let tallies = repo::tallies_for(&mut conn, &[ballot_id]).await?;
        Ok(compute(&b, &items, &options, &tallies))
    }
}
