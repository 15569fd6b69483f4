//! The clock of ballots: opens approved ballots at `opensAt`, closes open ones at `closesAt` and
//! tallies them. Driven by the database alone, so a restart catches up at once (a ballot whose
//! closing time passed while the server was down is closed and tallied at start).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::repo;
use super::tally::close_and_tally;
use crate::db::schema::ballots;
use crate::db::Db;
use crate::error::AppError;
use crate::events::{Bus, Event};

/// The time as ballots see it. In production the system clock; tests advance it instead of
/// waiting days of notice.
#[derive(Clone, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> NaiveDateTime {
        crate::db::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    /// Moves this clock forward (tests and demos only; the system clock is untouched).
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

/// One pass: opens and closes what is due. Returns the events to publish (already committed).
pub async fn tick(db: &Db, bus: &Bus, clock: &Clock) -> Result<(), AppError> {
    let now = clock.now();
    let mut conn = db.conn().await?;
    let due_open: Vec<(i64, i64)> = ballots::table
        .filter(ballots::state.eq("APPROVED"))
        .filter(ballots::opens_at.le(now))
        .select((ballots::id, ballots::estate_id))
        .load(&mut *conn)
        .await?;
    for (id, estate_id) in due_open {
        match repo::open_ballot(&mut conn, id, now).await {
            Ok(()) => bus.publish(Event::BallotChanged {
                ballot_id: id,
                estate_id,
                state: "OPEN".into(),
            }),
            Err(e) => tracing::error!(ballot = id, error = ?e, "opening a ballot failed"),
        }
    }
    let due_close: Vec<(i64, i64)> = ballots::table
        .filter(ballots::state.eq_any(["OPEN", "CLOSED"]))
        .filter(ballots::closes_at.le(now))
        .filter(ballots::integrity_error.is_null())
        .select((ballots::id, ballots::estate_id))
        .load(&mut *conn)
        .await?;
    for (id, estate_id) in due_close {
        match close_and_tally(&mut conn, id, now).await {
            Ok(state) => {
                bus.publish(Event::BallotChanged {
                    ballot_id: id,
                    estate_id,
                    state: state.into(),
                });
                if state == "TALLIED" {
                    let disclosure_id = latest_disclosure(&mut conn, estate_id).await;
                    bus.publish(Event::DisclosurePublished {
                        estate_id,
                        disclosure_id,
                    });
                }
            }
            Err(e) => tracing::error!(ballot = id, error = ?e, "closing a ballot failed"),
        }
    }
    Ok(())
}

/// Runs `tick` every `every` until the process ends.
pub fn spawn(db: Db, bus: Bus, clock: Clock, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = tick(&db, &bus, &clock).await {
                tracing::warn!(error = ?e, "ballot scheduler pass failed");
            }
            tokio::time::sleep(every).await;
        }
    })
}

/// The newest disclosure of an estate (the ballot result just published with the tally).
async fn latest_disclosure(conn: &mut crate::db::DbConnection, estate_id: i64) -> i64 {
    use crate::db::schema::disclosures;
    disclosures::table
        .filter(disclosures::estate_id.eq(estate_id))
        .order(disclosures::id.desc())
        .select(disclosures::id)
        .first(conn)
        .await
        .unwrap_or(0)
}
