//! Closing and tallying: the full recount from the votes must equal the running tallies, or the
//! tally stops and the ballot is flagged with an integrity error.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::lifecycle::{transition, Action, BallotState};
use super::model::*;
use super::progress::compute;
use super::repo;
use super::rules::Weight;
use crate::db::schema::*;
use crate::db::DbConnection;
use crate::error::AppError;

/// Closes an open ballot and tallies it; returns the state it ends in (TALLIED, or CLOSED with
/// an integrity error recorded).
pub async fn close_and_tally(
    conn: &mut DbConnection,
    ballot_id: i64,
    now: NaiveDateTime,
) -> Result<&'static str, AppError> {
    conn.transaction(async |c| {
        let b: BallotRow = ballots::table.find(ballot_id).first(c).await?;
        let mut state = BallotState::from_db(&b.state);
        if state == BallotState::Open {
            state = transition(state, Action::Close).map_err(AppError::Conflict)?;
            diesel::update(ballots::table.find(ballot_id))
                .set((ballots::state.eq(state.as_db()), ballots::closed_at.eq(now)))
                .execute(c)
                .await?;
        }
        transition(state, Action::Tally).map_err(AppError::Conflict)?;
        let tallies = repo::tallies_for(c, &[ballot_id]).await?;
        let recounted = repo::recount(c, ballot_id).await?;
        let mismatch = tallies.iter().find(|t| {
            let r = recounted.by_choice.get(&(t.item_id, t.choice.clone())).copied().unwrap_or_default();
            r != Weight::new(t.area, t.voters)
        });
        let extra = recounted.by_choice.keys().find(|k| !tallies.iter().any(|t| t.item_id == k.0 && t.choice == k.1));
        // The participation is the base of every quorum and majority: it is recounted too.
        let running = Weight::new(b.participating_area, b.votes_cast);
        let participation_differs = recounted.participation != running;
        if mismatch.is_some() || extra.is_some() || participation_differs {
            let detail = format!(
                "ballot {ballot_id}: the recount differs from the running tally ({mismatch:?} / {extra:?} / participation {:?} recounted against {running:?} running)",
                recounted.participation
            );
            tracing::error!(integrity = true, "{detail}");
            diesel::update(ballots::table.find(ballot_id))
                .set(ballots::integrity_error.eq(&detail))
                .execute(c)
                .await?;
            return Ok("CLOSED");
        }
        let b: BallotRow = ballots::table.find(ballot_id).first(c).await?;
        let items = repo::items_for(c, &[ballot_id]).await?;
        let options = repo::options_for(c, &items.iter().map(|i| i.id).collect::<Vec<_>>()).await?;
        let figures = compute(&b, &items, &options, &tallies);
        for item in &figures.items {
            // Under a non-voter rule the certified sentence also gives the figures without it
            // (DESIGN.md), so the published result shows what the rule changed.
            let summary = match &item.without_rule_sentence {
                Some(without) => format!("{}. Without the estate's non-voter rule: {without}", item.sentence),
                None => item.sentence.clone(),
            };
            diesel::update(ballot_items::table.find(item.item_id))
                .set((ballot_items::outcome.eq(&item.projected_outcome), ballot_items::summary.eq(&summary)))
                .execute(c)
                .await?;
            if !item.winners.is_empty() {
                diesel::update(ballot_options::table.filter(ballot_options::id.eq_any(&item.winners)))
                    .set(ballot_options::elected.eq(true))
                    .execute(c)
                    .await?;
            }
        }
        diesel::update(ballots::table.find(ballot_id))
            .set((ballots::state.eq(BallotState::Tallied.as_db()), ballots::tallied_at.eq(now)))
            .execute(c)
            .await?;
        // The certified result is disclosed in the same transaction.
        crate::disclosure::repo::publish_ballot_result(c, ballot_id, now).await?;
        Ok::<_, AppError>("TALLIED")
    })
    .await
}
