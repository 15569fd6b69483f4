//! Ballot rows as stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::*;

#[derive(Debug, Clone, Queryable)]
pub struct BallotRow {
    pub id: i64,
    pub estate_id: i64,
    pub title: String,
    pub description: String,
    pub state: String,
    pub organizer_role: String,
    pub organizer_subject: i64,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by: Option<i64>,
    pub rejection_reason: Option<String>,
    pub opened_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub tallied_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub nonvoter_rule: Option<String>,
    pub roll_area: Option<i64>,
    pub roll_voters: Option<i64>,
    pub votes_cast: i64,
    pub participating_area: i64,
    pub chain_head: Option<String>,
    pub integrity_error: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
pub struct ItemRow {
    pub id: i64,
    pub ballot_id: i64,
    pub position: i32,
    pub kind: String,
    pub title: String,
    pub matter_type: String,
    pub seats: Option<i32>,
    pub outcome: Option<String>,
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
pub struct OptionRow {
    pub id: i64,
    pub item_id: i64,
    pub position: i32,
    pub label: String,
    pub owner_id: Option<i64>,
    pub company_id: Option<i64>,
    pub elected: bool,
}

#[derive(Debug, Clone, Queryable)]
pub struct VoterRow {
    pub id: i64,
    pub ballot_id: i64,
    pub voter_key: String,
    pub area: i64,
    pub houses: i32,
    pub developer: bool,
    pub label: String,
}

#[derive(Debug, Clone, Queryable)]
pub struct VoteRow {
    pub id: i64,
    pub ballot_id: i64,
    pub voter_id: i64,
    pub seq: i64,
    pub channel: String,
    pub cast_by_owner: Option<i64>,
    pub recorded_by_role: Option<String>,
    pub recorded_by_subject: Option<i64>,
    pub paper_serial: Option<String>,
    pub idempotency_key: Option<String>,
    pub choices: String,
    pub cast_at: NaiveDateTime,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Queryable)]
pub struct TallyRow {
    pub ballot_id: i64,
    pub item_id: i64,
    pub choice: String,
    pub area: i64,
    pub voters: i64,
}

#[derive(Insertable)]
#[diesel(table_name = ballots)]
pub struct NewBallot {
    pub estate_id: i64,
    pub title: String,
    pub description: String,
    pub state: &'static str,
    pub organizer_role: &'static str,
    pub organizer_subject: i64,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = ballot_items)]
pub struct NewItem {
    pub ballot_id: i64,
    pub position: i32,
    pub kind: &'static str,
    pub title: String,
    pub matter_type: &'static str,
    pub seats: Option<i32>,
}

#[derive(Insertable)]
#[diesel(table_name = ballot_options)]
pub struct NewOption {
    pub item_id: i64,
    pub position: i32,
    pub label: String,
    pub owner_id: Option<i64>,
    pub company_id: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = ballot_voters)]
pub struct NewVoter {
    pub ballot_id: i64,
    pub voter_key: String,
    pub area: i64,
    pub houses: i32,
    pub developer: bool,
    pub label: String,
}

#[derive(Insertable)]
#[diesel(table_name = ballot_voter_houses)]
pub struct NewVoterHouse {
    pub ballot_id: i64,
    pub house_id: i64,
    pub voter_id: i64,
}

#[derive(Insertable)]
#[diesel(table_name = ballot_voter_owners)]
pub struct NewVoterOwner {
    pub ballot_id: i64,
    pub owner_id: i64,
    pub voter_id: i64,
}

#[derive(Insertable)]
#[diesel(table_name = votes)]
pub struct NewVote {
    pub ballot_id: i64,
    pub voter_id: i64,
    pub seq: i64,
    pub channel: &'static str,
    pub cast_by_owner: Option<i64>,
    pub recorded_by_role: Option<&'static str>,
    pub recorded_by_subject: Option<i64>,
    pub paper_serial: Option<String>,
    pub idempotency_key: Option<String>,
    pub choices: String,
    pub cast_at: NaiveDateTime,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Insertable)]
#[diesel(table_name = ballot_tallies)]
pub struct NewTally {
    pub ballot_id: i64,
    pub item_id: i64,
    pub choice: String,
    pub area: i64,
    pub voters: i64,
}
