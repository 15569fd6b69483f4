//! Ballot queries and the transactions that change ballots. Each multi-row change is one
//! transaction; events are published by the caller after it commits.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::choices::{self, Choices, ItemKind, ItemSpec, MatterChoice};
use super::lifecycle::{transition, Action, BallotState};
use super::model::*;
use super::roll::{build_roll, RollHouse};
use super::rules::{self, MatterType, NonVoterRule, Weight};
use crate::db::schema::*;
use crate::db::{is_unique_violation, DbConnection};
use crate::error::AppError;
use crate::registry::rules::house_address;

type QResult<T> = Result<T, diesel::result::Error>;

pub fn nonvoter_rule(s: &str) -> NonVoterRule {
    match s {
        "FOLLOW_MAJORITY_CHOICE" => NonVoterRule::FollowMajorityChoice,
        "NONVOTERS_FOLLOW_MAJORITY" => NonVoterRule::NonvotersFollowMajority,
        _ => NonVoterRule::None,
    }
}

pub async fn ballots_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QResult<Vec<BallotRow>> {
    ballots::table
        .filter(ballots::id.eq_any(ids))
        .load(conn)
        .await
}

pub async fn ballot(conn: &mut DbConnection, id: i64) -> Result<BallotRow, AppError> {
    ballots::table
        .find(id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("no such ballot"))
}

pub async fn items_for(conn: &mut DbConnection, ballot_ids: &[i64]) -> QResult<Vec<ItemRow>> {
    ballot_items::table
        .filter(ballot_items::ballot_id.eq_any(ballot_ids))
        .order((ballot_items::ballot_id, ballot_items::position))
        .load(conn)
        .await
}

pub async fn options_for(conn: &mut DbConnection, item_ids: &[i64]) -> QResult<Vec<OptionRow>> {
    ballot_options::table
        .filter(ballot_options::item_id.eq_any(item_ids))
        .order((ballot_options::item_id, ballot_options::position))
        .load(conn)
        .await
}

pub async fn tallies_for(conn: &mut DbConnection, ballot_ids: &[i64]) -> QResult<Vec<TallyRow>> {
    ballot_tallies::table
        .filter(ballot_tallies::ballot_id.eq_any(ballot_ids))
        .load(conn)
        .await
}

/// An item of a new or updated ballot.
#[derive(Debug, Clone)]
pub struct ItemDraft {
    pub kind: ItemKind,
    pub title: String,
    pub matter_type: MatterType,
    pub seats: Option<i32>,
    /// (label, owner, company) per candidate.
    pub options: Vec<(String, Option<i64>, Option<i64>)>,
}

async fn insert_items(c: &mut DbConnection, ballot_id: i64, items: &[ItemDraft]) -> QResult<()> {
    for (position, item) in items.iter().enumerate() {
        let item_id: i64 = diesel::insert_into(ballot_items::table)
            .values(NewItem {
                ballot_id,
                position: position as i32 + 1,
                kind: item.kind.as_db(),
                title: item.title.clone(),
                matter_type: item.matter_type.as_db(),
                seats: item.seats,
            })
            .returning(ballot_items::id)
            .get_result(c)
            .await?;
        let options: Vec<NewOption> = item
            .options
            .iter()
            .enumerate()
            .map(|(i, (label, owner_id, company_id))| NewOption {
                item_id,
                position: i as i32 + 1,
                label: label.clone(),
                owner_id: *owner_id,
                company_id: *company_id,
            })
            .collect();
        crate::insert_all!(&mut *c, ballot_options::table, &options).await?;
    }
    Ok(())
}

pub struct BallotDraft {
    pub estate_id: i64,
    pub title: String,
    pub description: String,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub items: Vec<ItemDraft>,
}

pub async fn create_ballot(
    conn: &mut DbConnection,
    draft: &BallotDraft,
    organizer_role: &'static str,
    organizer_subject: i64,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    let id = conn
        .transaction(async |c| {
            let id: i64 = diesel::insert_into(ballots::table)
                .values(NewBallot {
                    estate_id: draft.estate_id,
                    title: draft.title.clone(),
                    description: draft.description.clone(),
                    state: BallotState::Draft.as_db(),
                    organizer_role,
                    organizer_subject,
                    opens_at: draft.opens_at,
                    closes_at: draft.closes_at,
                    created_at: now,
                })
                .returning(ballots::id)
                .get_result(c)
                .await?;
            insert_items(c, id, &draft.items).await?;
            QResult::Ok(id)
        })
        .await?;
    Ok(id)
}

/// Replaces a draft's text, dates and (when given) items.
pub async fn update_draft(
    conn: &mut DbConnection,
    ballot_id: i64,
    title: Option<String>,
    description: Option<String>,
    opens_at: NaiveDateTime,
    closes_at: NaiveDateTime,
    items: Option<Vec<ItemDraft>>,
) -> Result<(), AppError> {
    conn.transaction(async |c| {
        let current: String = ballots::table
            .find(ballot_id)
            .select(ballots::state)
            .first(c)
            .await?;
        transition(BallotState::from_db(&current), Action::Update).map_err(AppError::Conflict)?;
        diesel::update(ballots::table.find(ballot_id))
            .set((
                ballots::opens_at.eq(opens_at),
                ballots::closes_at.eq(closes_at),
            ))
            .execute(c)
            .await?;
        if let Some(t) = title {
            diesel::update(ballots::table.find(ballot_id))
                .set(ballots::title.eq(t))
                .execute(c)
                .await?;
        }
        if let Some(d) = description {
            diesel::update(ballots::table.find(ballot_id))
                .set(ballots::description.eq(d))
                .execute(c)
                .await?;
        }
        if let Some(items) = items {
            // A draft's items were never voted on: replacing them loses nothing of record.
            let old: Vec<i64> = ballot_items::table
                .filter(ballot_items::ballot_id.eq(ballot_id))
                .select(ballot_items::id)
                .load(c)
                .await?;
            diesel::delete(ballot_options::table.filter(ballot_options::item_id.eq_any(&old)))
                .execute(c)
                .await?;
            diesel::delete(ballot_items::table.filter(ballot_items::ballot_id.eq(ballot_id)))
                .execute(c)
                .await?;
            insert_items(c, ballot_id, &items).await?;
        }
        Ok::<_, AppError>(())
    })
    .await
}

/// Moves a ballot by an action, if its state (read inside the transaction) allows it.
pub async fn apply(
    conn: &mut DbConnection,
    ballot_id: i64,
    action: Action,
    now: NaiveDateTime,
    by: Option<i64>,
    reason: Option<String>,
) -> Result<BallotState, AppError> {
    conn.transaction(async |c| {
        let current: String = ballots::table
            .find(ballot_id)
            .select(ballots::state)
            .first(c)
            .await?;
        let from = BallotState::from_db(&current);
        let to = transition(from, action).map_err(AppError::Conflict)?;
        // The WHERE on the old state makes a concurrent transition lose cleanly.
        let target = ballots::table
            .filter(ballots::id.eq(ballot_id))
            .filter(ballots::state.eq(from.as_db()));
        let n = match action {
            Action::Submit => {
                diesel::update(target)
                    .set((ballots::state.eq(to.as_db()), ballots::submitted_at.eq(now)))
                    .execute(c)
                    .await?
            }
            Action::Approve => {
                diesel::update(target)
                    .set((
                        ballots::state.eq(to.as_db()),
                        ballots::decided_at.eq(now),
                        ballots::decided_by.eq(by),
                    ))
                    .execute(c)
                    .await?
            }
            Action::Reject => {
                diesel::update(target)
                    .set((
                        ballots::state.eq(to.as_db()),
                        ballots::decided_at.eq(now),
                        ballots::decided_by.eq(by),
                        ballots::rejection_reason.eq(reason),
                    ))
                    .execute(c)
                    .await?
            }
            Action::Cancel => {
                diesel::update(target)
                    .set((ballots::state.eq(to.as_db()), ballots::cancelled_at.eq(now)))
                    .execute(c)
                    .await?
            }
            _ => {
                return Err(AppError::Internal(format!(
                    "apply() does not handle {action:?}"
                )))
            }
        };
        if n != 1 {
            return Err(AppError::Conflict(
                "the ballot changed meanwhile; try again".into(),
            ));
        }
        Ok(to)
    })
    .await
}

/// Opens an approved ballot: freezes the roll and its totals, the estate's non-voter rule, and
/// zeroed tallies, in one transaction.
pub async fn open_ballot(
    conn: &mut DbConnection,
    ballot_id: i64,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    conn.transaction(async |c| {
        let b: BallotRow = ballots::table.find(ballot_id).first(c).await?;
        transition(BallotState::from_db(&b.state), Action::Open).map_err(AppError::Conflict)?;
        let rule: String = estates::table
            .find(b.estate_id)
            .select(estates::nonvoter_rule)
            .first(c)
            .await?;
        // The register as it stands now.
        let house_rows: Vec<(i64, i64, bool, String, String, String)> = houses::table
            .inner_join(buildings::table)
            .filter(houses::estate_id.eq(b.estate_id))
            .order(houses::id)
            .select((
                houses::id,
                houses::area_centi,
                houses::developer_held,
                buildings::label,
                houses::unit_label,
                houses::room_label,
            ))
            .load(c)
            .await?;
        let holdings: Vec<(i64, i64, String)> = ownerships::table
            .inner_join(houses::table)
            .inner_join(owners::table)
            .filter(houses::estate_id.eq(b.estate_id))
            .filter(ownerships::until.is_null())
            .select((ownerships::house_id, ownerships::owner_id, owners::kind))
            .load(c)
            .await?;
        let mut owners_of: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut developer_owners: Vec<i64> = Vec::new();
        for (house, owner, kind) in &holdings {
            owners_of.entry(*house).or_default().push(*owner);
            if kind == "DEVELOPER" && !developer_owners.contains(owner) {
                developer_owners.push(*owner);
            }
        }
        let roll_houses: Vec<RollHouse> = house_rows
            .iter()
            .map(
                |(id, area, developer_held, building, unit, room)| RollHouse {
                    house_id: *id,
                    area: *area,
                    developer_held: *developer_held,
                    owners: owners_of.remove(id).unwrap_or_default(),
                    address: house_address(building, unit, room),
                },
            )
            .collect();
        let roll = build_roll(&roll_houses, &developer_owners);
        let new_voters: Vec<NewVoter> = roll
            .iter()
            .map(|v| NewVoter {
                ballot_id,
                voter_key: v.key.clone(),
                area: v.area,
                houses: v.house_ids.len() as i32,
                developer: v.developer,
                label: v.label.clone(),
            })
            .collect();
        crate::insert_all!(&mut *c, ballot_voters::table, &new_voters).await?;
        let ids: HashMap<String, i64> = ballot_voters::table
            .filter(ballot_voters::ballot_id.eq(ballot_id))
            .select((ballot_voters::voter_key, ballot_voters::id))
            .load::<(String, i64)>(c)
            .await?
            .into_iter()
            .collect();
        let mut voter_houses = Vec::new();
        let mut voter_owners = Vec::new();
        for v in &roll {
            let voter_id = ids[&v.key];
            voter_houses.extend(v.house_ids.iter().map(|&house_id| NewVoterHouse {
                ballot_id,
                house_id,
                voter_id,
            }));
            voter_owners.extend(v.owners.iter().map(|&owner_id| NewVoterOwner {
                ballot_id,
                owner_id,
                voter_id,
            }));
        }
        crate::insert_all!(&mut *c, ballot_voter_houses::table, &voter_houses).await?;
        crate::insert_all!(&mut *c, ballot_voter_owners::table, &voter_owners).await?;
        // Zeroed tallies, so each vote is a plain UPDATE.
        let items: Vec<ItemRow> = ballot_items::table
            .filter(ballot_items::ballot_id.eq(ballot_id))
            .load(c)
            .await?;
        let item_ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let options: Vec<OptionRow> = ballot_options::table
            .filter(ballot_options::item_id.eq_any(&item_ids))
            .load(c)
            .await?;
        let mut tallies = Vec::new();
        for item in &items {
            match ItemKind::from_db(&item.kind) {
                ItemKind::Matter => {
                    for m in [
                        MatterChoice::Agree,
                        MatterChoice::Oppose,
                        MatterChoice::Abstain,
                        MatterChoice::FollowMajority,
                    ] {
                        tallies.push(NewTally {
                            ballot_id,
                            item_id: item.id,
                            choice: m.key().into(),
                            area: 0,
                            voters: 0,
                        });
                    }
                }
                _ => tallies.extend(options.iter().filter(|o| o.item_id == item.id).map(|o| {
                    NewTally {
                        ballot_id,
                        item_id: item.id,
                        choice: choices::option_key(o.id),
                        area: 0,
                        voters: 0,
                    }
                })),
            }
        }
        crate::insert_all!(&mut *c, ballot_tallies::table, &tallies).await?;
        let n = diesel::update(
            ballots::table
                .filter(ballots::id.eq(ballot_id))
                .filter(ballots::state.eq("APPROVED")),
        )
        .set((
            ballots::state.eq("OPEN"),
            ballots::opened_at.eq(now),
            ballots::nonvoter_rule.eq(rule),
            ballots::roll_area.eq(roll.iter().map(|v| v.area).sum::<i64>()),
            ballots::roll_voters.eq(roll.len() as i64),
            ballots::chain_head.eq(choices::genesis(ballot_id)),
        ))
        .execute(c)
        .await?;
        if n != 1 {
            return Err(AppError::Conflict("the ballot changed meanwhile".into()));
        }
        Ok::<_, AppError>(())
    })
    .await
}

/// The specs the choice checks need, for one ballot.
pub async fn item_specs(conn: &mut DbConnection, ballot_id: i64) -> QResult<Vec<ItemSpec>> {
    let items = items_for(conn, &[ballot_id]).await?;
    let options = options_for(conn, &items.iter().map(|i| i.id).collect::<Vec<_>>()).await?;
    Ok(items
        .iter()
        .map(|i| ItemSpec {
            id: i.id,
            kind: ItemKind::from_db(&i.kind),
            seats: i.seats.unwrap_or(1) as i64,
            option_ids: options
                .iter()
                .filter(|o| o.item_id == i.id)
                .map(|o| o.id)
                .collect(),
        })
        .collect())
}

/// The voters of a ballot an owner may cast for.
pub async fn voters_of_owner(
    conn: &mut DbConnection,
    ballot_id: i64,
    owner_id: i64,
) -> QResult<Vec<VoterRow>> {
    ballot_voter_owners::table
        .inner_join(ballot_voters::table.on(ballot_voters::id.eq(ballot_voter_owners::voter_id)))
        .filter(ballot_voter_owners::ballot_id.eq(ballot_id))
        .filter(ballot_voter_owners::owner_id.eq(owner_id))
        .select(ballot_voters::all_columns)
        .order(ballot_voters::id)
        .load(conn)
        .await
}

pub async fn voter(
    conn: &mut DbConnection,
    ballot_id: i64,
    voter_id: i64,
) -> QResult<Option<VoterRow>> {
    ballot_voters::table
        .filter(ballot_voters::ballot_id.eq(ballot_id))
        .filter(ballot_voters::id.eq(voter_id))
        .first(conn)
        .await
        .optional()
}

pub async fn vote_of_voter(
    conn: &mut DbConnection,
    ballot_id: i64,
    voter_id: i64,
) -> QResult<Option<VoteRow>> {
    votes::table
        .filter(votes::ballot_id.eq(ballot_id))
        .filter(votes::voter_id.eq(voter_id))
        .first(conn)
        .await
        .optional()
}

/// The online vote an owner cast on a ballot with an idempotency key, if any.
pub async fn vote_by_idempotency_key(
    conn: &mut DbConnection,
    ballot_id: i64,
    owner_id: i64,
    key: &str,
) -> QResult<Option<VoteRow>> {
    votes::table
        .filter(votes::ballot_id.eq(ballot_id))
        .filter(votes::cast_by_owner.eq(owner_id))
        .filter(votes::idempotency_key.eq(key))
        .first(conn)
        .await
        .optional()
}

pub async fn vote_by_hash(conn: &mut DbConnection, hash: &str) -> QResult<Option<VoteRow>> {
    votes::table
        .filter(votes::hash.eq(hash))
        .first(conn)
        .await
        .optional()
}

/// Who cast a vote and how.
#[derive(Debug, Clone)]
pub enum Caster {
    Online {
        owner_id: i64,
        idempotency_key: Option<String>,
    },
    Paper {
        serial: String,
        recorded_by_role: &'static str,
        recorded_by_subject: i64,
    },
}

/// Why a vote was not written.
#[derive(Debug)]
pub enum VoteRefusal {
    /// The same request again: here is the first answer.
    Replay(Box<VoteRow>),
    Refused(AppError),
}

impl From<diesel::result::Error> for VoteRefusal {
    fn from(e: diesel::result::Error) -> Self {
        if is_unique_violation(&e) {
            VoteRefusal::Refused(AppError::Conflict(
                "this voter has already voted on this ballot".into(),
            ))
        } else {
            VoteRefusal::Refused(AppError::from(e))
        }
    }
}

impl From<AppError> for VoteRefusal {
    fn from(e: AppError) -> Self {
        VoteRefusal::Refused(e)
    }
}

/// Writes one vote inside the caller's transaction: claims the ballot's chain head (the UPDATE
/// serialises votes of one ballot on both backends), checks that the voter has not voted,
/// appends to the hash chain and adds the voter's weight to the running tallies.
pub async fn write_vote(
    c: &mut DbConnection,
    ballot_id: i64,
    voter: &VoterRow,
    choices: &Choices,
    caster: &Caster,
    now: NaiveDateTime,
) -> Result<VoteRow, VoteRefusal> {
    // Open, and not yet past its closing time: the scheduler closes it within a tick, and a
    // vote in between must not count.
    let claimed = diesel::update(
        ballots::table
            .filter(ballots::id.eq(ballot_id))
            .filter(ballots::state.eq("OPEN"))
            .filter(ballots::closes_at.gt(now)),
    )
    .set((
        ballots::votes_cast.eq(ballots::votes_cast + 1),
        ballots::participating_area.eq(ballots::participating_area + voter.area),
    ))
    .execute(c)
    .await?;
    if claimed != 1 {
        return Err(VoteRefusal::Refused(AppError::Conflict(
            "the ballot is not open for voting".into(),
        )));
    }
    if let Some(existing) = vote_of_voter(c, ballot_id, voter.id).await? {
        let encoded = choices::encode(choices);
        let same_request = match caster {
            Caster::Online {
                idempotency_key: Some(k),
                ..
            } => {
                existing.idempotency_key.as_deref() == Some(k.as_str())
                    && existing.choices == encoded
            }
            _ => false,
        };
        return Err(if same_request {
            VoteRefusal::Replay(Box::new(existing))
        } else {
            VoteRefusal::Refused(AppError::Conflict(format!(
                "this voter has already voted on this ballot ({} ballot #{}); a ballot is final once cast",
                existing.channel.to_lowercase(),
                existing.seq + 1
            )))
        });
    }
    let (seq, head): (i64, Option<String>) = ballots::table
        .find(ballot_id)
        .select((ballots::votes_cast, ballots::chain_head))
        .first(c)
        .await?;
    let seq = seq - 1;
    let prev_hash = head.unwrap_or_else(|| choices::genesis(ballot_id));
    let encoded = choices::encode(choices);
    let (
        channel,
        cast_by_owner,
        recorded_by_role,
        recorded_by_subject,
        paper_serial,
        idempotency_key,
    ) = match caster {
        Caster::Online {
            owner_id,
            idempotency_key,
        } => (
            "ONLINE",
            Some(*owner_id),
            None,
            None,
            None,
            idempotency_key.clone(),
        ),
        Caster::Paper {
            serial,
            recorded_by_role,
            recorded_by_subject,
        } => (
            "PAPER",
            None,
            Some(*recorded_by_role),
            Some(*recorded_by_subject),
            Some(serial.clone()),
            None,
        ),
    };
    let cast_at = crate::db::truncate_micros(now);
    let hash = choices::chain_hash(
        &prev_hash,
        ballot_id,
        voter.id,
        seq,
        channel,
        &encoded,
        &rfc3339(cast_at),
    );
    let vote_id: i64 = diesel::insert_into(votes::table)
        .values(NewVote {
            ballot_id,
            voter_id: voter.id,
            seq,
            channel,
            cast_by_owner,
            recorded_by_role,
            recorded_by_subject,
            paper_serial: paper_serial.clone(),
            idempotency_key: idempotency_key.clone(),
            choices: encoded.clone(),
            cast_at,
            prev_hash: prev_hash.clone(),
            hash: hash.clone(),
        })
        .returning(votes::id)
        .get_result(c)
        .await?;
    diesel::update(ballots::table.find(ballot_id))
        .set(ballots::chain_head.eq(&hash))
        .execute(c)
        .await?;
    // One statement per item: every choice of the vote carries the same weight.
    let mut by_item: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (item_id, key) in choices::tally_keys(choices) {
        by_item.entry(item_id).or_default().push(key);
    }
    for (item_id, keys) in by_item {
        diesel::update(
            ballot_tallies::table
                .filter(ballot_tallies::item_id.eq(item_id))
                .filter(ballot_tallies::choice.eq_any(keys)),
        )
        .set((
            ballot_tallies::area.eq(ballot_tallies::area + voter.area),
            ballot_tallies::voters.eq(ballot_tallies::voters + 1),
        ))
        .execute(c)
        .await?;
    }
    Ok(VoteRow {
        id: vote_id,
        ballot_id,
        voter_id: voter.id,
        seq,
        channel: channel.to_string(),
        cast_by_owner,
        recorded_by_role: recorded_by_role.map(str::to_string),
        recorded_by_subject,
        paper_serial,
        idempotency_key,
        choices: encoded,
        cast_at,
        prev_hash,
        hash,
    })
}

pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Casts one vote in its own transaction; a replay of the same request returns the first vote.
pub async fn cast_vote(
    conn: &mut DbConnection,
    ballot_id: i64,
    voter: &VoterRow,
    choices: &Choices,
    caster: &Caster,
    now: NaiveDateTime,
) -> Result<VoteRow, AppError> {
    let result = conn
        .transaction(async |c| write_vote(c, ballot_id, voter, choices, caster, now).await)
        .await;
    match result {
        Ok(v) => Ok(v),
        Err(VoteRefusal::Replay(v)) => Ok(*v),
        Err(VoteRefusal::Refused(e)) => Err(e),
    }
}

/// Per item: matter counts, option counts, participants.
#[derive(Debug, Clone, Default)]
pub struct ItemCounts {
    pub matter: rules::MatterCounts,
    pub options: BTreeMap<i64, Weight>,
}

/// Sums tally rows by item.
pub fn counts_from_tallies(rows: &[TallyRow]) -> HashMap<i64, ItemCounts> {
    let mut out: HashMap<i64, ItemCounts> = HashMap::new();
    for r in rows {
        let w = Weight::new(r.area, r.voters);
        let c = out.entry(r.item_id).or_default();
        match r.choice.as_str() {
            "AGREE" => c.matter.agree = w,
            "OPPOSE" => c.matter.oppose = w,
            "ABSTAIN" => c.matter.abstain = w,
            "FOLLOW_MAJORITY" => c.matter.follow_majority = w,
            other => {
                if let Some(id) = other.strip_prefix("OPTION:").and_then(|i| i.parse().ok()) {
                    c.options.insert(id, w);
                }
            }
        }
    }
    out
}

/// Recounts a ballot from its votes, as tally rows would hold them.
/// The full recount from the votes: per (item, choice) and, for the participation, in all.
pub struct Recount {
    pub by_choice: BTreeMap<(i64, String), Weight>,
    pub participation: Weight,
}

pub async fn recount(conn: &mut DbConnection, ballot_id: i64) -> Result<Recount, AppError> {
    let rows: Vec<(String, i64)> = votes::table
        .inner_join(ballot_voters::table)
        .filter(votes::ballot_id.eq(ballot_id))
        .select((votes::choices, ballot_voters::area))
        .load(conn)
        .await?;
    let mut by_choice: BTreeMap<(i64, String), Weight> = BTreeMap::new();
    let mut participation = Weight::default();
    for (text, area) in rows {
        let choices = choices::decode(&text)
            .ok_or_else(|| AppError::Internal(format!("undecodable vote on ballot {ballot_id}")))?;
        participation = participation.plus(Weight::new(area, 1));
        for key in choices::tally_keys(&choices) {
            let w = by_choice.entry(key).or_default();
            *w = w.plus(Weight::new(area, 1));
        }
    }
    Ok(Recount {
        by_choice,
        participation,
    })
}
