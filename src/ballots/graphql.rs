//! GraphQL types and resolvers of ballots. Resolvers check who may act and hand the work to
//! `repo` (transactions), `tally` and the pure rules.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use futures_util::{Stream, StreamExt};

use super::choices::{self, ItemKind, MatterChoice, RawChoice};
use super::lifecycle::{transition, Action, BallotState};
use super::model::*;
use super::progress::{self, Figures};
use super::repo::{self, BallotDraft, Caster, ItemDraft, VoteRefusal};
use super::rules::MatterType;
use crate::auth::{Role, Scope, Viewer};
use crate::db::schema::*;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::events::Event;
use crate::graphql::context::ContextExt;
use crate::graphql::relay::{
    connection_from_rows, decode_id_of, global_id, Cursor, NodeKind, Page,
};
use crate::graphql::scalars::{format_percent, parse_hundredths, Area, Count, Percent};
use crate::registry::graphql::{readable_estate, Estate, NonVoterRule, Owner, PropertyCompany};
use crate::registry::model::EstateRow;

fn utc(t: chrono::NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

fn percent_scalar(part: i64, whole: i64) -> Percent {
    Percent(parse_hundredths(&format_percent(part, whole)).unwrap_or(0))
}

crate::connection_type!(BallotConnection, BallotEdge, Ballot, "ballots");

/// Loads a ballot the viewer may read (its estate is in their scope).
pub async fn readable_ballot(
    ctx: &Context<'_>,
    ballot_id: i64,
) -> AppResult<(BallotRow, EstateRow)> {
    let mut conn = ctx.db().conn().await?;
    let b = repo::ballot(&mut conn, ballot_id).await?;
    drop(conn);
    let estate = readable_estate(ctx, b.estate_id).await?;
    Ok((b, estate))
}

/// Whether the viewer may organize ballots for the estate: its sitting committee, or — for an
/// estate without one — the community or subdistrict staff over it. Returns the organizer role.
pub async fn organizer_role(ctx: &Context<'_>, estate: &EstateRow) -> AppResult<&'static str> {
    let viewer = ctx.viewer()?;
    let mut conn = ctx.db().conn().await?;
    let has_committee = has_sitting_committee(&mut conn, estate.id).await?;
    match viewer.role {
        Role::CommitteeMember => {
            if crate::registry::repo::sits_on_committee_of(&mut conn, viewer.subject, estate.id).await? {
                Ok("COMMITTEE_MEMBER")
            } else {
                Err(AppError::forbidden("only a member of this estate's sitting committee may organize its ballots"))
            }
        }
        Role::CommunityStaff | Role::SubdistrictOfficer if viewer.can_read_estate(estate.place()) => {
            if has_committee {
                Err(AppError::forbidden("this estate has a sitting committee: its committee organizes ballots"))
            } else {
                Ok(viewer.role.as_str())
            }
        }
        _ => Err(AppError::forbidden("ballots are organized by the estate's committee (or, without one, by community or subdistrict staff)")),
    }
}

async fn has_sitting_committee(conn: &mut DbConnection, estate_id: i64) -> AppResult<bool> {
    let today = chrono::Utc::now().date_naive();
    let n: i64 = committees::table
        .filter(committees::estate_id.eq(estate_id))
        .filter(committees::term_start.le(today))
        .filter(committees::term_end.ge(today))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}

fn require_officer_of(viewer: &Viewer, estate: &EstateRow) -> AppResult<()> {
    match (&viewer.role, &viewer.scope) {
        (Role::SubdistrictOfficer, Scope::Subdistrict(s)) if *s == estate.subdistrict_id => Ok(()),
        _ => Err(AppError::forbidden(
            "only an officer of the estate's subdistrict may approve or reject its ballots",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Output types

/// One owners' assembly meeting (表决) with its items, from draft to certified result.
pub struct Ballot(pub BallotRow);

/// One owners' assembly meeting (表决) with its items, from draft to certified result.
#[Object]
impl Ballot {
    /// The ballot's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Ballot, self.0.id)
    }

    /// The meeting's title.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The agenda as published to owners.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Where the ballot is in its life.
    async fn state(&self) -> BallotState {
        BallotState::from_db(&self.0.state)
    }

    /// The estate whose owners decide.
    async fn estate(&self, ctx: &Context<'_>) -> Result<Estate> {
        Ok(Estate(readable_estate(ctx, self.0.estate_id).await?))
    }

    /// Who organizes it: COMMITTEE_MEMBER, COMMUNITY_STAFF or SUBDISTRICT_OFFICER.
    async fn organizer_role(&self) -> Option<Role> {
        Role::parse(&self.0.organizer_role)
    }

    /// When voting opens.
    async fn opens_at(&self) -> DateTime<Utc> {
        utc(self.0.opens_at)
    }

    /// When voting closes.
    async fn closes_at(&self) -> DateTime<Utc> {
        utc(self.0.closes_at)
    }

    /// When it was submitted for approval.
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at.map(utc)
    }

    /// When the subdistrict office approved or rejected it.
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at.map(utc)
    }

    /// Why it was rejected.
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }

    /// When voting opened (and the roll was frozen).
    async fn opened_at(&self) -> Option<DateTime<Utc>> {
        self.0.opened_at.map(utc)
    }

    /// When voting closed.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at.map(utc)
    }

    /// When the results were published.
    async fn tallied_at(&self) -> Option<DateTime<Utc>> {
        self.0.tallied_at.map(utc)
    }

    /// When it was cancelled.
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at.map(utc)
    }

    /// The estate's non-voter rule, frozen when voting opened.
    async fn non_voter_rule(&self) -> Option<NonVoterRule> {
        self.0.nonvoter_rule.as_deref().map(NonVoterRule::from_db)
    }

    /// The frozen roll's totals (null before opening). The roll itself, which names owners,
    /// is not published.
    async fn roll(&self) -> Option<RollTotals> {
        match (self.0.roll_area, self.0.roll_voters) {
            (Some(area), Some(voters)) => Some(RollTotals {
                area: Area(area),
                voters: Count(voters),
            }),
            _ => None,
        }
    }

    /// Ballots cast so far (online and paper).
    async fn votes_cast(&self) -> Count {
        Count(self.0.votes_cast)
    }

    /// The hash of the latest vote: the head of the ballot's hash chain.
    async fn chain_head(&self) -> Option<&str> {
        self.0.chain_head.as_deref()
    }

    /// False when the recount at close disagreed with the running tally (the tally then stops).
    async fn integrity_ok(&self) -> bool {
        self.0.integrity_error.is_none()
    }

    /// The items voted on, in agenda order (a handful per meeting, so a plain list).
    async fn items(&self, ctx: &Context<'_>) -> Result<Vec<BallotItem>> {
        let (items, options) = items_and_options(ctx, self.0.id).await?;
        Ok(items
            .into_iter()
            .map(|i| {
                let opts = options
                    .iter()
                    .filter(|o| o.item_id == i.id)
                    .cloned()
                    .collect();
                BallotItem {
                    row: i,
                    options: opts,
                }
            })
            .collect())
    }

    /// Live figures while open, final figures after (null before opening).
    async fn progress(&self, ctx: &Context<'_>) -> Result<Option<BallotProgress>> {
        if self.0.opened_at.is_none() {
            return Ok(None);
        }
        let (items, options) = items_and_options(ctx, self.0.id).await?;
        let tallies = ctx
            .ballot_loaders()
            .tallies
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(Some(BallotProgress(Arc::new(progress::compute(
            &self.0, &items, &options, &tallies,
        )))))
    }

    /// The voters on this ballot's roll that the caller may cast for, and whether each has voted.
    async fn my_voters(&self, ctx: &Context<'_>) -> Result<Vec<MyVoter>> {
        let viewer = ctx.viewer()?;
        let Some(owner) = viewer.owner_id() else {
            return Ok(Vec::new());
        };
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let voters = repo::voters_of_owner(&mut conn, self.0.id, owner)
            .await
            .map_err(AppError::from)?;
        let mut out = Vec::new();
        for v in voters {
            let vote = repo::vote_of_voter(&mut conn, self.0.id, v.id)
                .await
                .map_err(AppError::from)?;
            out.push(MyVoter { voter: v, vote });
        }
        Ok(out)
    }

    /// The caller's vote, if one of their voters has voted (the first, where they have several).
    async fn my_vote(&self, ctx: &Context<'_>) -> Result<Option<VoteReceipt>> {
        let voters = self.my_voters(ctx).await?;
        Ok(voters.into_iter().find_map(|v| v.vote).map(VoteReceipt))
    }
}

/// A ballot's items and their options, through the request's loaders.
async fn items_and_options(
    ctx: &Context<'_>,
    ballot_id: i64,
) -> AppResult<(Vec<ItemRow>, Vec<OptionRow>)> {
    let items = ctx
        .ballot_loaders()
        .items
        .load_one(ballot_id)
        .await?
        .unwrap_or_default();
    let options = ctx
        .ballot_loaders()
        .options
        .load_many(items.iter().map(|i| i.id))
        .await?
        .into_values()
        .flatten()
        .collect();
    Ok((items, options))
}

/// The totals of a frozen roll.
#[derive(SimpleObject)]
pub struct RollTotals {
    /// The exclusive area of all houses on the roll.
    pub area: Area,
    /// Voters (counting units per SPC Art. 9).
    pub voters: Count,
}

/// An item of a ballot.
pub struct BallotItem {
    row: ItemRow,
    options: Vec<OptionRow>,
}

/// An item of a ballot: a matter, an election or a selection.
#[Object]
impl BallotItem {
    /// The item's id (used in `castVote`'s choices).
    async fn id(&self) -> ID {
        global_id(NodeKind::BallotItem, self.row.id)
    }

    /// Position on the agenda, from 1.
    async fn position(&self) -> i32 {
        self.row.position
    }

    /// Matter, election or selection.
    async fn kind(&self) -> ItemKind {
        ItemKind::from_db(&self.row.kind)
    }

    /// What is decided.
    async fn title(&self) -> &str {
        &self.row.title
    }

    /// The Civil Code Art. 278 type, which fixes the threshold.
    async fn matter_type(&self) -> Option<MatterType> {
        MatterType::from_db(&self.row.matter_type)
    }

    /// Seats to fill (elections).
    async fn seats(&self) -> Option<i32> {
        self.row.seats
    }

    /// Candidates (elections and selections); empty for matters, whose choices are AGREE,
    /// OPPOSE, ABSTAIN (and FOLLOW_MAJORITY where allowed).
    async fn options(&self) -> Vec<BallotOption> {
        self.options.iter().cloned().map(BallotOption).collect()
    }

    /// The certified result, once tallied.
    async fn result(&self) -> Option<ItemResult> {
        match (&self.row.outcome, &self.row.summary) {
            (Some(o), Some(s)) => Some(ItemResult {
                outcome: o.clone(),
                summary: s.clone(),
            }),
            _ => None,
        }
    }
}

/// A candidate of an election or selection.
pub struct BallotOption(OptionRow);

/// A candidate of an election (an owner) or a selection (a company).
#[Object]
impl BallotOption {
    /// The option's id (used in `castVote`'s `optionIds`).
    async fn id(&self) -> ID {
        global_id(NodeKind::BallotOption, self.0.id)
    }

    /// The candidate as printed on the ballot (owners' names masked as everywhere).
    async fn label(&self, ctx: &Context<'_>) -> Result<String> {
        let viewer = ctx.viewer()?;
        Ok(match self.0.owner_id {
            Some(o) if !viewer.may_see_full_name_of(o) => {
                crate::registry::rules::mask_name(&self.0.label)
            }
            _ => self.0.label.clone(),
        })
    }

    /// The candidate owner (elections); not available to analysts.
    async fn candidate(&self, ctx: &Context<'_>) -> Result<Option<Owner>> {
        let Some(id) = self.0.owner_id else {
            return Ok(None);
        };
        let viewer = ctx.viewer()?;
        let row = ctx.loaders().owner.load_one(id).await?;
        Ok(match row {
            Some(r) => Some(crate::registry::graphql::owner_for(viewer, r)?),
            None => None,
        })
    }

    /// The candidate company (selections).
    async fn company(&self, ctx: &Context<'_>) -> Result<Option<PropertyCompany>> {
        let Some(id) = self.0.company_id else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()
            .company
            .load_one(id)
            .await?
            .map(PropertyCompany))
    }

    /// Elected or selected at the tally.
    async fn elected(&self) -> bool {
        self.0.elected
    }
}

/// The certified result of an item.
#[derive(SimpleObject)]
pub struct ItemResult {
    /// PASSED, NOT_PASSED, NO_QUORUM, ELECTED, RUNOFF, SELECTED or NO_SELECTION.
    pub outcome: String,
    /// The result as a sentence, with its figures.
    pub summary: String,
}

/// A voter the caller may cast for.
pub struct MyVoter {
    voter: VoterRow,
    vote: Option<VoteRow>,
}

/// A voter on the roll that the caller belongs to.
#[Object]
impl MyVoter {
    /// The voter's id (for `castVote`'s `voterId` when the caller has several).
    async fn id(&self) -> ID {
        global_id(NodeKind::Voter, self.voter.id)
    }

    /// The houses it stands for, e.g. "3号楼2单元301 等2处".
    async fn label(&self) -> &str {
        &self.voter.label
    }

    /// Its exclusive area.
    async fn area(&self) -> Area {
        Area(self.voter.area)
    }

    /// Its vote, if cast.
    async fn vote(&self) -> Option<VoteReceipt> {
        self.vote.clone().map(VoteReceipt)
    }
}

/// A cast vote as its voter sees it: the receipt is the vote's hash in the ballot's chain.
pub struct VoteReceipt(VoteRow);

/// A cast vote: its receipt is its hash in the ballot's hash chain (each vote hashes the previous).
#[Object]
impl VoteReceipt {
    /// The receipt: pass it to `verifyReceipt` to check the vote is in the chain and counted.
    async fn receipt(&self) -> &str {
        &self.0.hash
    }

    /// The hash of the vote before it in the chain.
    async fn previous_hash(&self) -> &str {
        &self.0.prev_hash
    }

    /// Position in the chain, from 1.
    async fn sequence(&self) -> Count {
        Count(self.0.seq + 1)
    }

    /// ONLINE or PAPER.
    async fn channel(&self) -> &str {
        &self.0.channel
    }

    /// When it was cast (or recorded, for paper).
    async fn cast_at(&self) -> DateTime<Utc> {
        utc(self.0.cast_at)
    }

    /// The ballot it was cast on.
    async fn ballot(&self, ctx: &Context<'_>) -> Result<Ballot> {
        Ok(Ballot(readable_ballot(ctx, self.0.ballot_id).await?.0))
    }
}

/// What a receipt proves.
#[derive(SimpleObject)]
pub struct ReceiptCheck {
    /// The receipt names a vote.
    pub found: bool,
    /// The vote's hash recomputes from its contents and the previous hash, and the whole chain
    /// from the first vote to the head links up.
    pub chain_intact: bool,
    /// The vote is counted in the running tally (and in the result once tallied).
    pub counted: bool,
    /// Position in the chain, from 1.
    pub sequence: Option<Count>,
    /// When it was cast.
    pub cast_at: Option<DateTime<Utc>>,
    /// The ballot's id.
    pub ballot_id: Option<ID>,
}

/// Figures of a ballot: participation against the quorum, and per item the support of each
/// choice, the projected outcome, whether it is already decided and what would still pass it.
#[derive(Clone)]
pub struct BallotProgress(pub Arc<Figures>);

/// Live (or final) figures of a ballot.
#[Object]
impl BallotProgress {
    /// The ballot's id.
    async fn ballot_id(&self) -> ID {
        global_id(NodeKind::Ballot, self.0.ballot_id)
    }

    /// Area that took part.
    async fn participating_area(&self) -> Area {
        Area(self.0.participation.area)
    }

    /// Voters that took part.
    async fn participating_voters(&self) -> Count {
        Count(self.0.participation.voters)
    }

    /// Share of the roll's area that took part.
    async fn participating_area_share(&self) -> Percent {
        percent_scalar(self.0.participation.area, self.0.roll.area)
    }

    /// Share of the roll's voters that took part.
    async fn participating_voter_share(&self) -> Percent {
        percent_scalar(self.0.participation.voters, self.0.roll.voters)
    }

    /// At least 2/3 of the roll's area and of its voters took part.
    async fn quorum_met(&self) -> bool {
        self.0.quorum_met
    }

    /// Per item.
    async fn items(&self) -> Vec<ItemProgress> {
        (0..self.0.items.len())
            .map(|i| ItemProgress(self.0.clone(), i))
            .collect()
    }
}

/// One item's figures.
pub struct ItemProgress(Arc<Figures>, usize);

/// One item's figures.
#[Object]
impl ItemProgress {
    /// The item's id.
    async fn item_id(&self) -> ID {
        global_id(NodeKind::BallotItem, self.0.items[self.1].item_id)
    }

    /// Support per choice (matters) or per candidate.
    async fn options(&self) -> Vec<OptionTally> {
        self.0.items[self.1]
            .options
            .iter()
            .map(|o| OptionTally {
                choice: o.choice.clone(),
                option_id: o.option_id.map(|id| global_id(NodeKind::BallotOption, id)),
                label: o.label.clone(),
                area: Area(o.support.area),
                voters: Count(o.support.voters),
            })
            .collect()
    }

    /// The outcome if voting ended now: PASSED, NOT_PASSED, NO_QUORUM, ELECTED, RUNOFF,
    /// SELECTED or NO_SELECTION.
    async fn projected_outcome(&self) -> &str {
        &self.0.items[self.1].projected_outcome
    }

    /// True when the outcome can no longer change, whatever the remaining voters do.
    async fn decided(&self) -> bool {
        self.0.items[self.1].decided
    }

    /// The smallest further agreeing area that would pass the matter (null when out of reach
    /// or not a matter).
    async fn area_needed_to_pass(&self) -> Option<Area> {
        self.0.items[self.1].needed_to_pass.map(|w| Area(w.area))
    }

    /// The smallest further number of agreeing voters that would pass the matter.
    async fn voters_needed_to_pass(&self) -> Option<Count> {
        self.0.items[self.1].needed_to_pass.map(|w| Count(w.voters))
    }

    /// The figures as a sentence.
    async fn summary(&self) -> &str {
        &self.0.items[self.1].sentence
    }

    /// The same without the estate's non-voter rule, where a rule other than NONE applies.
    async fn summary_without_rule(&self) -> Option<&str> {
        self.0.items[self.1].without_rule_sentence.as_deref()
    }
}

/// The support of one choice or candidate.
#[derive(SimpleObject)]
pub struct OptionTally {
    /// AGREE, OPPOSE, ABSTAIN, FOLLOW_MAJORITY, or the candidate's option number.
    pub choice: String,
    /// The candidate's option id.
    pub option_id: Option<ID>,
    /// A readable label.
    pub label: String,
    /// Area supporting it.
    pub area: Area,
    /// Voters supporting it.
    pub voters: Count,
}

/// A lifecycle transition of a ballot.
#[derive(SimpleObject)]
pub struct BallotEvent {
    /// The ballot.
    pub ballot_id: ID,
    /// Its new state.
    pub state: BallotState,
}

/// The outcome of one paper ballot row.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PaperOutcome {
    /// Recorded and counted.
    Recorded,
    /// Would be recorded (dry run).
    WouldRecord,
    /// Valid, but not recorded because another row of the batch was refused (all or nothing).
    NotRecorded,
    /// The voter has already voted (online or on paper), or the serial number was used.
    Conflict,
    /// The row is broken: unknown house or voter, bad choices.
    Invalid,
}

/// One row of a paper-ballot batch.
#[derive(SimpleObject, Clone)]
pub struct PaperRowReport {
    /// Row number in the batch, from 1.
    pub row: i32,
    /// The ballot paper's serial number.
    pub serial_number: String,
    /// What happened to it.
    pub outcome: PaperOutcome,
    /// Why, when it was not recorded.
    pub reason: Option<String>,
    /// The receipt of the recorded vote.
    pub receipt: Option<String>,
}

/// The report of a paper-ballot batch: all or nothing.
#[derive(SimpleObject)]
pub struct PaperBallotReport {
    /// True when nothing was meant to be written.
    pub dry_run: bool,
    /// Rows recorded (0 unless every row was valid and this was not a dry run).
    pub recorded: i32,
    /// One line per row.
    pub rows: Vec<PaperRowReport>,
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// An item of a new ballot.
#[derive(InputObject, Clone)]
pub struct BallotItemInput {
    /// Matter, election or selection.
    pub kind: ItemKind,
    /// What is decided.
    pub title: String,
    /// The Art. 278 type (required for matters; elections default to COMMITTEE_ELECTION,
    /// selections to MANAGER_HIRE_OR_DISMISS).
    pub matter_type: Option<MatterType>,
    /// Seats to fill (elections).
    pub seats: Option<i32>,
    /// Candidate owners of the estate (elections).
    pub candidate_owner_ids: Option<Vec<ID>>,
    /// Candidate property companies (selections).
    pub candidate_company_ids: Option<Vec<ID>>,
}

/// A new ballot.
#[derive(InputObject)]
pub struct CreateBallotInput {
    /// The estate whose owners decide.
    pub estate_id: ID,
    /// The meeting's title.
    pub title: String,
    /// The agenda as published.
    pub description: String,
    /// When voting opens (at least the estate's notice days after approval).
    pub opens_at: DateTime<Utc>,
    /// When voting closes.
    pub closes_at: DateTime<Utc>,
    /// The items, in agenda order (1 to 20).
    pub items: Vec<BallotItemInput>,
}

/// Changes to a draft; omitted fields keep their value, `items` replaces all items.
#[derive(InputObject)]
pub struct UpdateBallotInput {
    /// The draft.
    pub ballot_id: ID,
    /// New title.
    pub title: Option<String>,
    /// New agenda text.
    pub description: Option<String>,
    /// New opening time.
    pub opens_at: Option<DateTime<Utc>>,
    /// New closing time.
    pub closes_at: Option<DateTime<Utc>>,
    /// New items.
    pub items: Option<Vec<BallotItemInput>>,
}

/// A choice on one item.
#[derive(InputObject, Clone)]
pub struct ChoiceInput {
    /// The item.
    pub item_id: ID,
    /// For a matter.
    pub choice: Option<MatterChoice>,
    /// For an election (up to `seats`) or a selection (one).
    pub option_ids: Option<Vec<ID>>,
}

/// An online vote.
#[derive(InputObject)]
pub struct CastVoteInput {
    /// The ballot.
    pub ballot_id: ID,
    /// Which of the caller's voters votes (needed only when the caller belongs to several).
    pub voter_id: Option<ID>,
    /// One choice per item.
    pub choices: Vec<ChoiceInput>,
    /// A key the client makes up per vote: a retry with the same key returns the first answer.
    pub idempotency_key: String,
}

/// One paper ballot.
#[derive(InputObject, Clone)]
pub struct PaperBallotInput {
    /// The house's address in the estate, e.g. "3号楼2单元301" (or give `voterId`).
    pub house_address: Option<String>,
    /// The voter, instead of an address.
    pub voter_id: Option<ID>,
    /// The paper's serial number (unique per ballot).
    pub serial_number: String,
    /// One choice per item.
    pub choices: Vec<ChoiceInput>,
}

/// A batch of paper ballots.
#[derive(InputObject)]
pub struct RecordPaperBallotsInput {
    /// The ballot.
    pub ballot_id: ID,
    /// The papers (at most 1,000 per batch).
    pub ballots: Vec<PaperBallotInput>,
    /// Check everything and write nothing.
    #[graphql(default)]
    pub dry_run: bool,
}

fn naive(t: DateTime<Utc>) -> chrono::NaiveDateTime {
    crate::db::truncate_micros(t.naive_utc())
}

/// Checks a ballot's items and resolves candidates against the register.
async fn item_drafts(
    conn: &mut DbConnection,
    estate_id: i64,
    items: &[BallotItemInput],
) -> AppResult<Vec<ItemDraft>> {
    if items.is_empty() || items.len() > 20 {
        return Err(AppError::bad_input("a ballot has between 1 and 20 items"));
    }
    let mut out = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let n = n + 1;
        let title = item.title.trim().to_string();
        if title.is_empty() || title.chars().count() > 500 {
            return Err(AppError::bad_input(format!(
                "item {n}: the title must have 1 to 500 characters"
            )));
        }
        let draft = match item.kind {
            ItemKind::Matter => {
                let matter_type = item.matter_type.ok_or_else(|| {
                    AppError::bad_input(format!(
                        "item {n}: a matter needs its matterType (Civil Code Art. 278)"
                    ))
                })?;
                if item.seats.is_some()
                    || item.candidate_owner_ids.is_some()
                    || item.candidate_company_ids.is_some()
                {
                    return Err(AppError::bad_input(format!(
                        "item {n}: a matter has no seats or candidates"
                    )));
                }
                ItemDraft {
                    kind: item.kind,
                    title,
                    matter_type,
                    seats: None,
                    options: Vec::new(),
                }
            }
            ItemKind::Election => {
                let seats = item.seats.ok_or_else(|| {
                    AppError::bad_input(format!("item {n}: an election needs `seats`"))
                })?;
                let ids = item.candidate_owner_ids.clone().unwrap_or_default();
                if !(1..=50).contains(&seats) || ids.is_empty() || ids.len() > 100 {
                    return Err(AppError::bad_input(format!(
                        "item {n}: 1 to 50 seats and 1 to 100 candidate owners"
                    )));
                }
                let ids: Vec<i64> = ids
                    .iter()
                    .map(|i| decode_id_of(NodeKind::Owner, i))
                    .collect::<AppResult<_>>()?;
                let mut options = Vec::new();
                for id in &ids {
                    let found: Option<String> = ownerships::table
                        .inner_join(houses::table)
                        .inner_join(owners::table)
                        .filter(ownerships::owner_id.eq(id))
                        .filter(ownerships::until.is_null())
                        .filter(houses::estate_id.eq(estate_id))
                        .select(owners::name)
                        .first(conn)
                        .await
                        .optional()?;
                    let name = found.ok_or_else(|| {
                        AppError::bad_input(format!(
                            "item {n}: candidate {} is not an owner of this estate",
                            global_id(NodeKind::Owner, *id).0
                        ))
                    })?;
                    if options.iter().any(|(_, o, _)| *o == Some(*id)) {
                        return Err(AppError::bad_input(format!(
                            "item {n}: a candidate is listed twice"
                        )));
                    }
                    options.push((name, Some(*id), None));
                }
                ItemDraft {
                    kind: item.kind,
                    title,
                    matter_type: item.matter_type.unwrap_or(MatterType::CommitteeElection),
                    seats: Some(seats),
                    options,
                }
            }
            ItemKind::Selection => {
                let ids = item.candidate_company_ids.clone().unwrap_or_default();
                if ids.is_empty() || ids.len() > 50 {
                    return Err(AppError::bad_input(format!(
                        "item {n}: a selection needs 1 to 50 candidate companies"
                    )));
                }
                let mut options = Vec::new();
                for i in &ids {
                    let id = decode_id_of(NodeKind::PropertyCompany, i)?;
                    let name: Option<String> = property_companies::table
                        .find(id)
                        .select(property_companies::name)
                        .first(conn)
                        .await
                        .optional()?;
                    let name = name.ok_or_else(|| {
                        AppError::bad_input(format!("item {n}: no property company {}", i.0))
                    })?;
                    if options.iter().any(|(_, _, c)| *c == Some(id)) {
                        return Err(AppError::bad_input(format!(
                            "item {n}: a company is listed twice"
                        )));
                    }
                    options.push((name, None, Some(id)));
                }
                ItemDraft {
                    kind: item.kind,
                    title,
                    matter_type: item.matter_type.unwrap_or(MatterType::ManagerHireOrDismiss),
                    seats: Some(1),
                    options,
                }
            }
        };
        out.push(draft);
    }
    Ok(out)
}

fn check_text(title: &str, description: &str) -> AppResult<()> {
    if title.trim().is_empty() || title.chars().count() > 200 {
        return Err(AppError::bad_input(
            "the title must have 1 to 200 characters",
        ));
    }
    if description.chars().count() > 20_000 {
        return Err(AppError::bad_input(
            "the description is limited to 20,000 characters",
        ));
    }
    Ok(())
}

fn check_dates(
    opens_at: chrono::NaiveDateTime,
    closes_at: chrono::NaiveDateTime,
    now: chrono::NaiveDateTime,
) -> AppResult<()> {
    if opens_at <= now {
        return Err(AppError::bad_input("opensAt must be in the future"));
    }
    if closes_at <= opens_at {
        return Err(AppError::bad_input("closesAt must be after opensAt"));
    }
    Ok(())
}

fn raw_choices(input: &[ChoiceInput]) -> AppResult<Vec<RawChoice>> {
    input
        .iter()
        .map(|c| {
            Ok(RawChoice {
                item_id: decode_id_of(NodeKind::BallotItem, &c.item_id)?,
                choice: c.choice,
                option_ids: c
                    .option_ids
                    .clone()
                    .unwrap_or_default()
                    .iter()
                    .map(|o| decode_id_of(NodeKind::BallotOption, o))
                    .collect::<AppResult<_>>()?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Roots

/// Ballot queries.
#[derive(Default)]
pub struct BallotQuery;

#[Object]
impl BallotQuery {
    /// One ballot by id.
    async fn ballot(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ballot's id.")] id: ID,
    ) -> Result<Ballot> {
        let id = decode_id_of(NodeKind::Ballot, &id)?;
        Ok(Ballot(readable_ballot(ctx, id).await?.0))
    }

    /// The caller's vote on a ballot, if one of their voters has voted (as `Ballot.myVote`).
    async fn my_vote(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ballot's id.")] ballot_id: ID,
    ) -> Result<Option<VoteReceipt>> {
        self.ballot(ctx, ballot_id).await?.my_vote(ctx).await
    }

    /// Checks a vote receipt: whether that vote is in its ballot's hash chain and counted.
    async fn verify_receipt(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The receipt returned by castVote.")] receipt: String,
    ) -> Result<ReceiptCheck> {
        ctx.viewer()?;
        let not_found = ReceiptCheck {
            found: false,
            chain_intact: false,
            counted: false,
            sequence: None,
            cast_at: None,
            ballot_id: None,
        };
        let receipt = receipt.trim().to_lowercase();
        if receipt.len() != 64 || !receipt.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(AppError::bad_input("a receipt is 64 hexadecimal characters").into());
        }
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let Some(vote) = repo::vote_by_hash(&mut conn, &receipt)
            .await
            .map_err(AppError::from)?
        else {
            return Ok(not_found);
        };
        drop(conn);
        let (ballot, _) = readable_ballot(ctx, vote.ballot_id).await?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let chain: Vec<VoteRow> = votes::table
            .filter(votes::ballot_id.eq(vote.ballot_id))
            .order(votes::seq)
            .load(&mut *conn)
            .await
            .map_err(AppError::from)?;
        let mut prev = choices::genesis(vote.ballot_id);
        let mut intact = true;
        for v in &chain {
            let h = choices::chain_hash(
                &prev,
                v.ballot_id,
                v.voter_id,
                v.seq,
                &v.channel,
                &v.choices,
                &repo::rfc3339(v.cast_at),
            );
            if v.prev_hash != prev || v.hash != h {
                intact = false;
                break;
            }
            prev = h;
        }
        intact = intact && ballot.chain_head.as_deref() == Some(prev.as_str());
        Ok(ReceiptCheck {
            found: true,
            chain_intact: intact,
            counted: intact && ballot.integrity_error.is_none(),
            sequence: Some(Count(vote.seq + 1)),
            cast_at: Some(utc(vote.cast_at)),
            ballot_id: Some(global_id(NodeKind::Ballot, vote.ballot_id)),
        })
    }
}

/// An estate's ballots, newest first (used by `Estate.ballots`).
pub async fn estate_ballots(
    ctx: &Context<'_>,
    estate_id: i64,
    first: Option<i32>,
    after: Option<String>,
    state: Option<BallotState>,
    item_kind: Option<ItemKind>,
) -> AppResult<BallotConnection> {
    let page = Page::new(first, after)?;
    let before_id = match &page.after {
        None => i64::MAX,
        Some(_) => page.after_id()?,
    };
    let key = super::loaders::BallotPageKey {
        estate_id,
        state,
        item_kind,
        before_id,
        limit: page.fetch_limit(),
    };
    let rows = ctx
        .ballot_loaders()
        .pages
        .load_one(key)
        .await?
        .unwrap_or_default();
    Ok(connection_from_rows(
        &page,
        rows,
        |r| Cursor::of_id(r.id),
        Ballot,
    ))
}

/// Ballot mutations.
#[derive(Default)]
pub struct BallotMutation;

async fn organizer_ballot(ctx: &Context<'_>, id: &ID) -> AppResult<(BallotRow, EstateRow)> {
    let id = decode_id_of(NodeKind::Ballot, id)?;
    let (b, estate) = readable_ballot(ctx, id).await?;
    organizer_role(ctx, &estate).await?;
    Ok((b, estate))
}

async fn reload(ctx: &Context<'_>, id: i64) -> AppResult<Ballot> {
    let mut conn = ctx.db().conn().await?;
    Ok(Ballot(repo::ballot(&mut conn, id).await?))
}

#[Object]
impl BallotMutation {
    /// Drafts a ballot (the estate's committee, or community / subdistrict staff where there is none).
    async fn create_ballot(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new ballot.")] input: CreateBallotInput,
    ) -> Result<Ballot> {
        let viewer = ctx.viewer()?;
        let estate_id = decode_id_of(NodeKind::Estate, &input.estate_id)?;
        let estate = readable_estate(ctx, estate_id).await?;
        let role = organizer_role(ctx, &estate).await?;
        check_text(&input.title, &input.description)?;
        let now = ctx.clock().now();
        let (opens_at, closes_at) = (naive(input.opens_at), naive(input.closes_at));
        check_dates(opens_at, closes_at, now)?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let items = item_drafts(&mut conn, estate_id, &input.items).await?;
        let draft = BallotDraft {
            estate_id,
            title: input.title.trim().into(),
            description: input.description,
            opens_at,
            closes_at,
            items,
        };
        let id = repo::create_ballot(&mut conn, &draft, role, viewer.subject, now).await?;
        drop(conn);
        ctx.bus().publish(Event::BallotChanged {
            ballot_id: id,
            estate_id,
            state: "DRAFT".into(),
        });
        Ok(reload(ctx, id).await?)
    }

    /// Changes a draft.
    async fn update_ballot(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes.")] input: UpdateBallotInput,
    ) -> Result<Ballot> {
        let (b, _) = organizer_ballot(ctx, &input.ballot_id).await?;
        // The state first: changing a ballot that left the draft is a conflict whatever the
        // changes (the transaction below checks it again against a concurrent submit).
        transition(BallotState::from_db(&b.state), Action::Update).map_err(AppError::Conflict)?;
        check_text(
            input.title.as_deref().unwrap_or(&b.title),
            input.description.as_deref().unwrap_or_default(),
        )?;
        let opens_at = input.opens_at.map(naive).unwrap_or(b.opens_at);
        let closes_at = input.closes_at.map(naive).unwrap_or(b.closes_at);
        check_dates(opens_at, closes_at, ctx.clock().now())?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let items = match &input.items {
            Some(items) => Some(item_drafts(&mut conn, b.estate_id, items).await?),
            None => None,
        };
        repo::update_draft(
            &mut conn,
            b.id,
            input.title.map(|t| t.trim().to_string()),
            input.description,
            opens_at,
            closes_at,
            items,
        )
        .await?;
        drop(conn);
        Ok(reload(ctx, b.id).await?)
    }

    /// Submits a draft to the subdistrict office for approval.
    async fn submit_ballot(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The draft.")] id: ID,
    ) -> Result<Ballot> {
        let (b, _) = organizer_ballot(ctx, &id).await?;
        self.act(ctx, &b, Action::Submit, None).await
    }

    /// Approves a submitted ballot (an officer of the estate's subdistrict). Voting must open at
    /// least the estate's notice days after approval.
    async fn approve_ballot(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ballot.")] id: ID,
    ) -> Result<Ballot> {
        let id = decode_id_of(NodeKind::Ballot, &id)?;
        let (b, estate) = readable_ballot(ctx, id).await?;
        require_officer_of(ctx.viewer()?, &estate)?;
        let earliest = ctx.clock().now() + chrono::Duration::days(estate.notice_days as i64);
        if b.state == "PENDING_APPROVAL" && b.opens_at < earliest {
            return Err(AppError::Conflict(format!(
                "voting opens too soon: the agenda must be published at least {} days before voting opens (the earliest opening now is {})",
                estate.notice_days,
                utc(earliest).to_rfc3339()
            ))
            .into());
        }
        self.act(ctx, &b, Action::Approve, None).await
    }

    /// Rejects a submitted ballot, with the reason (an officer of the estate's subdistrict).
    async fn reject_ballot(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ballot.")] id: ID,
        #[graphql(desc = "Why it is rejected (shown to the organizer and owners).")] reason: String,
    ) -> Result<Ballot> {
        let id = decode_id_of(NodeKind::Ballot, &id)?;
        let (b, estate) = readable_ballot(ctx, id).await?;
        require_officer_of(ctx.viewer()?, &estate)?;
        if reason.trim().is_empty() {
            return Err(AppError::bad_input("a rejection needs its reason").into());
        }
        self.act(ctx, &b, Action::Reject, Some(reason.trim().to_string()))
            .await
    }

    /// Cancels a ballot before it opens (the organizer).
    async fn cancel_ballot(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ballot.")] id: ID,
    ) -> Result<Ballot> {
        let (b, _) = organizer_ballot(ctx, &id).await?;
        self.act(ctx, &b, Action::Cancel, None).await
    }

    /// Casts the caller's online vote: one ballot per voter, final once cast.
    async fn cast_vote(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The vote.")] input: CastVoteInput,
    ) -> Result<VoteReceipt> {
        let viewer = ctx.viewer()?;
        let owner_id = viewer.owner_id().ok_or_else(|| {
            AppError::forbidden("only owners vote online; organizers record paper ballots")
        })?;
        let key = input.idempotency_key.trim().to_string();
        if key.is_empty() || key.len() > 100 {
            return Err(AppError::bad_input("idempotencyKey must have 1 to 100 characters").into());
        }
        let ballot_id = decode_id_of(NodeKind::Ballot, &input.ballot_id)?;
        let (b, _) = readable_ballot(ctx, ballot_id).await?;
        let raw = raw_choices(&input.choices)?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let now = ctx.clock().now();
        if b.state != "OPEN" || now >= b.closes_at {
            // A retry of a vote that was counted before the ballot closed still gets its receipt.
            if let Some(first) = repo::vote_by_idempotency_key(&mut conn, ballot_id, owner_id, &key)
                .await
                .map_err(AppError::from)?
            {
                return Ok(VoteReceipt(first));
            }
            let state = if b.state == "OPEN" {
                "past its closing time"
            } else {
                b.state.as_str()
            };
            return Err(
                AppError::Conflict(format!("the ballot is {state}, not open for voting")).into(),
            );
        }
        let mine = repo::voters_of_owner(&mut conn, ballot_id, owner_id)
            .await
            .map_err(AppError::from)?;
        let voter = match &input.voter_id {
            Some(v) => {
                let v = decode_id_of(NodeKind::Voter, v)?;
                mine.into_iter().find(|m| m.id == v).ok_or_else(|| AppError::forbidden("you may not vote for that voter"))?
            }
            None => match mine.len() {
                0 => return Err(AppError::forbidden("you are not on this ballot's roll").into()),
                1 => mine.into_iter().next().ok_or_else(|| AppError::Internal("voter vanished".into()))?,
                n => return Err(AppError::bad_input(format!("you belong to {n} voters on this roll: say which with voterId (see Ballot.myVoters)")).into()),
            },
        };
        let specs = repo::item_specs(&mut conn, ballot_id)
            .await
            .map_err(AppError::from)?;
        let rule = b
            .nonvoter_rule
            .as_deref()
            .map(repo::nonvoter_rule)
            .unwrap_or(super::rules::NonVoterRule::None);
        let checked = choices::check(&specs, &raw, rule).map_err(AppError::BadUserInput)?;
        let caster = Caster::Online {
            owner_id,
            idempotency_key: Some(key),
        };
        let vote = repo::cast_vote(&mut conn, ballot_id, &voter, &checked, &caster, now).await?;
        drop(conn);
        ctx.bus().publish(Event::VotesCast { ballot_id });
        Ok(VoteReceipt(vote))
    }

    /// Records a batch of paper ballots (the organizer, while the ballot is open): all or
    /// nothing, with a report per row. A voter who already voted is a conflict, never counted twice.
    async fn record_paper_ballots(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The batch.")] input: RecordPaperBallotsInput,
    ) -> Result<PaperBallotReport> {
        let (b, _) = organizer_ballot(ctx, &input.ballot_id).await?;
        let viewer = ctx.viewer()?;
        let role: &'static str = Role::ALL
            .into_iter()
            .find(|r| *r == viewer.role)
            .map(Role::as_str)
            .unwrap_or("OWNER");
        if input.ballots.is_empty() || input.ballots.len() > 1000 {
            return Err(AppError::bad_input("a batch has 1 to 1,000 paper ballots").into());
        }
        if b.state != "OPEN" || ctx.clock().now() >= b.closes_at {
            let state = if b.state == "OPEN" {
                "past its closing time"
            } else {
                b.state.as_str()
            };
            return Err(AppError::Conflict(format!(
                "the ballot is {state}: paper ballots are recorded while it is open"
            ))
            .into());
        }
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let specs = repo::item_specs(&mut conn, b.id)
            .await
            .map_err(AppError::from)?;
        let rule = b
            .nonvoter_rule
            .as_deref()
            .map(repo::nonvoter_rule)
            .unwrap_or(super::rules::NonVoterRule::None);
        let addresses = address_book(&mut conn, b.id).await?;
        let now = ctx.clock().now();
        let dry_run = input.dry_run;
        let papers = input.ballots;
        let subject = viewer.subject;
        let result = conn
            .transaction(async |c| {
                // Hold the ballot's lock for the whole batch, so the checks below stay true.
                let open = diesel::update(
                    ballots::table
                        .filter(ballots::id.eq(b.id))
                        .filter(ballots::state.eq("OPEN")),
                )
                .set(ballots::votes_cast.eq(ballots::votes_cast))
                .execute(c)
                .await?;
                if open != 1 {
                    return Err(PaperAbort::Refused(AppError::Conflict(
                        "the ballot is no longer open".into(),
                    )));
                }
                let mut rows = Vec::new();
                let mut plan = Vec::new();
                let mut seen_voters = std::collections::HashSet::new();
                let mut seen_serials = std::collections::HashSet::new();
                for (i, paper) in papers.iter().enumerate() {
                    let row = i as i32 + 1;
                    let serial = paper.serial_number.trim().to_string();
                    let report = |outcome, reason: String| PaperRowReport {
                        row,
                        serial_number: serial.clone(),
                        outcome,
                        reason: Some(reason),
                        receipt: None,
                    };
                    let checked =
                        match check_paper(c, b.id, paper, &addresses, &specs, rule).await? {
                            Ok(x) => x,
                            Err(why) => {
                                rows.push(report(PaperOutcome::Invalid, why));
                                continue;
                            }
                        };
                    let (voter, choices) = checked;
                    if serial.is_empty() || serial.len() > 64 {
                        rows.push(report(
                            PaperOutcome::Invalid,
                            "the serial number must have 1 to 64 characters".into(),
                        ));
                        continue;
                    }
                    let serial_used: i64 = votes::table
                        .filter(votes::ballot_id.eq(b.id))
                        .filter(votes::paper_serial.eq(&serial))
                        .count()
                        .get_result(c)
                        .await?;
                    if serial_used > 0 || !seen_serials.insert(serial.clone()) {
                        rows.push(report(
                            PaperOutcome::Conflict,
                            format!("serial number {serial} is already recorded"),
                        ));
                        continue;
                    }
                    if let Some(existing) = repo::vote_of_voter(c, b.id, voter.id).await? {
                        rows.push(report(
                            PaperOutcome::Conflict,
                            format!(
                                "{} has already voted ({}); not counted twice",
                                voter.label,
                                existing.channel.to_lowercase()
                            ),
                        ));
                        continue;
                    }
                    if !seen_voters.insert(voter.id) {
                        rows.push(report(
                            PaperOutcome::Conflict,
                            format!("{} appears twice in this batch", voter.label),
                        ));
                        continue;
                    }
                    rows.push(PaperRowReport {
                        row,
                        serial_number: serial.clone(),
                        outcome: PaperOutcome::WouldRecord,
                        reason: None,
                        receipt: None,
                    });
                    plan.push((rows.len() - 1, voter, choices, serial));
                }
                let all_valid = plan.len() == papers.len();
                if dry_run || !all_valid {
                    if !all_valid {
                        for r in rows
                            .iter_mut()
                            .filter(|r| r.outcome == PaperOutcome::WouldRecord)
                        {
                            r.outcome = PaperOutcome::NotRecorded;
                            r.reason = Some(
                                "another row of the batch was refused: nothing was recorded".into(),
                            );
                        }
                    }
                    return Err(PaperAbort::Report(rows));
                }
                for (index, voter, choices, serial) in plan {
                    let caster = Caster::Paper {
                        serial,
                        recorded_by_role: role,
                        recorded_by_subject: subject,
                    };
                    let vote = repo::write_vote(c, b.id, &voter, &choices, &caster, now)
                        .await
                        .map_err(|e| match e {
                            VoteRefusal::Replay(_) => {
                                PaperAbort::Refused(AppError::Conflict("already voted".into()))
                            }
                            VoteRefusal::Refused(e) => PaperAbort::Refused(e),
                        })?;
                    rows[index].outcome = PaperOutcome::Recorded;
                    rows[index].receipt = Some(vote.hash);
                }
                Ok(rows)
            })
            .await;
        drop(conn);
        match result {
            Ok(rows) => {
                ctx.bus().publish(Event::VotesCast { ballot_id: b.id });
                Ok(PaperBallotReport {
                    dry_run,
                    recorded: rows.len() as i32,
                    rows,
                })
            }
            Err(PaperAbort::Report(rows)) => Ok(PaperBallotReport {
                dry_run,
                recorded: 0,
                rows,
            }),
            Err(PaperAbort::Refused(e)) => Err(e.into()),
        }
    }
}

impl BallotMutation {
    async fn act(
        &self,
        ctx: &Context<'_>,
        b: &BallotRow,
        action: Action,
        reason: Option<String>,
    ) -> Result<Ballot> {
        let viewer = ctx.viewer()?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let to = repo::apply(
            &mut conn,
            b.id,
            action,
            ctx.clock().now(),
            Some(viewer.subject),
            reason,
        )
        .await?;
        drop(conn);
        ctx.bus().publish(Event::BallotChanged {
            ballot_id: b.id,
            estate_id: b.estate_id,
            state: to.as_db().into(),
        });
        Ok(reload(ctx, b.id).await?)
    }
}

/// Why a paper batch wrote nothing.
enum PaperAbort {
    /// Rows were refused (or it was a dry run): the report says why.
    Report(Vec<PaperRowReport>),
    Refused(AppError),
}

impl From<diesel::result::Error> for PaperAbort {
    fn from(e: diesel::result::Error) -> Self {
        PaperAbort::Refused(AppError::from(e))
    }
}

/// Address → voter for a ballot's roll.
async fn address_book(
    conn: &mut DbConnection,
    ballot_id: i64,
) -> AppResult<std::collections::HashMap<String, i64>> {
    let rows: Vec<(String, String, String, i64)> = ballot_voter_houses::table
        .inner_join(houses::table.inner_join(buildings::table))
        .filter(ballot_voter_houses::ballot_id.eq(ballot_id))
        .select((
            buildings::label,
            houses::unit_label,
            houses::room_label,
            ballot_voter_houses::voter_id,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(b, u, r, v)| (crate::registry::rules::house_address(&b, &u, &r), v))
        .collect())
}

/// Resolves and checks one paper ballot: Ok(Err(reason)) for an invalid row.
async fn check_paper(
    c: &mut DbConnection,
    ballot_id: i64,
    paper: &PaperBallotInput,
    addresses: &std::collections::HashMap<String, i64>,
    specs: &[choices::ItemSpec],
    rule: super::rules::NonVoterRule,
) -> Result<std::result::Result<(VoterRow, choices::Choices), String>, PaperAbort> {
    let voter_id = match (&paper.house_address, &paper.voter_id) {
        (Some(a), None) => match addresses.get(a.trim()) {
            Some(v) => *v,
            None => {
                return Ok(Err(format!(
                    "no house {:?} on this ballot's roll",
                    a.trim()
                )))
            }
        },
        (None, Some(v)) => match decode_id_of(NodeKind::Voter, v) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e.message())),
        },
        _ => return Ok(Err("give either houseAddress or voterId".into())),
    };
    let Some(voter) = repo::voter(c, ballot_id, voter_id).await? else {
        return Ok(Err("no such voter on this ballot's roll".into()));
    };
    let raw = match raw_choices(&paper.choices) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e.message())),
    };
    Ok(choices::check(specs, &raw, rule).map(|c| (voter, c)))
}

/// Ballot subscriptions.
#[derive(Default)]
pub struct BallotSubscription;

#[async_graphql::Subscription]
impl BallotSubscription {
    /// The ballot's figures now, and again after each burst of votes (computed once per ballot
    /// for all subscribers, at most every 250 ms).
    async fn ballot_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ballot to watch.")] ballot_id: ID,
    ) -> Result<impl Stream<Item = BallotProgress>> {
        let id = decode_id_of(NodeKind::Ballot, &ballot_id)?;
        let (b, _) = readable_ballot(ctx, id).await?;
        if b.opened_at.is_none() {
            return Err(AppError::Conflict(format!(
                "the ballot is {}: progress exists once voting opens",
                b.state
            ))
            .into());
        }
        let rx = ctx.hub().watch(id);
        Ok(tokio_stream::wrappers::WatchStream::new(rx)
            .filter_map(|f| async move { f.map(BallotProgress) }))
    }

    /// Lifecycle transitions of the estate's ballots.
    async fn ballot_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The estate to follow.")] estate_id: ID,
    ) -> Result<impl Stream<Item = BallotEvent>> {
        let id = decode_id_of(NodeKind::Estate, &estate_id)?;
        readable_estate(ctx, id).await?;
        Ok(ctx.bus().subscribe_all().filter_map(move |e| async move {
            match e {
                Some(Event::BallotChanged {
                    ballot_id,
                    estate_id,
                    state,
                }) if estate_id == id => Some(BallotEvent {
                    ballot_id: global_id(NodeKind::Ballot, ballot_id),
                    state: BallotState::from_db(&state),
                }),
                _ => None,
            }
        }))
    }
}
