//! Demo ballots in every state, written through the same functions the API uses:
//! 逸景公馆's property-company selection (tallied, selected) and its 500-yuan-per-household
//! public-income distribution (tallied, passed); an open committee election in 新城红岛湾 with
//! about half of its households voted; and drafts, pending, approved, rejected and cancelled
//! ballots elsewhere. The demo's finances follow in the same transaction, since the
//! distribution needs the tallied item.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::choices::{Choices, ItemChoice, ItemKind, MatterChoice};
use super::lifecycle::Action;
use super::model::VoterRow;
use super::repo::{self, BallotDraft, Caster, ItemDraft};
use super::rules::MatterType;
use super::tally::close_and_tally;
use crate::db::schema::*;
use crate::db::DbConnection;
use crate::error::AppError;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        // SplitMix64, as in the register's seed: the same demo everywhere.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

async fn estate_id(c: &mut DbConnection, name: &str) -> Result<i64, AppError> {
    Ok(estates::table
        .filter(estates::name.eq(name))
        .select(estates::id)
        .first(c)
        .await?)
}

async fn chair_of(c: &mut DbConnection, estate: i64) -> Result<i64, AppError> {
    Ok(committee_members::table
        .inner_join(committees::table)
        .filter(committees::estate_id.eq(estate))
        .filter(committee_members::position.eq("CHAIR"))
        .select(committee_members::owner_id)
        .first(c)
        .await?)
}

fn matter(title: &str, t: MatterType) -> ItemDraft {
    ItemDraft {
        kind: ItemKind::Matter,
        title: title.into(),
        matter_type: t,
        seats: None,
        options: Vec::new(),
    }
}

/// Drafts a ballot and walks it through `steps`.
#[allow(clippy::too_many_arguments)]
async fn ballot(
    c: &mut DbConnection,
    estate: i64,
    organizer: i64,
    title: &str,
    items: Vec<ItemDraft>,
    opens_at: NaiveDateTime,
    closes_at: NaiveDateTime,
    steps: &[Action],
    created: NaiveDateTime,
) -> Result<i64, AppError> {
    let draft = BallotDraft {
        estate_id: estate,
        title: title.into(),
        description: format!("{title}。依据《民法典》第二百七十八条，由业主共同决定。"),
        opens_at,
        closes_at,
        items,
    };
    let id = repo::create_ballot(c, &draft, "COMMITTEE_MEMBER", organizer, created).await?;
    let mut at = created;
    for step in steps {
        at += Duration::days(1);
        let reason = (*step == Action::Reject)
            .then(|| "议题表述不清，且未附维修资金使用预算，请补充后重新提交".to_string());
        repo::apply(c, id, *step, at, Some(organizer), reason).await?;
    }
    Ok(id)
}

/// Casts votes for `share_permille` of the roll, choices from `choose`.
async fn vote_share(
    c: &mut DbConnection,
    rng: &mut Rng,
    ballot_id: i64,
    recorder: i64,
    share_permille: u64,
    start: NaiveDateTime,
    mut choose: impl FnMut(&mut Rng, &VoterRow) -> Choices,
) -> Result<(), AppError> {
    let voters: Vec<VoterRow> = ballot_voters::table
        .filter(ballot_voters::ballot_id.eq(ballot_id))
        .order(ballot_voters::id)
        .load(c)
        .await?;
    let owners: Vec<(i64, i64)> = ballot_voter_owners::table
        .filter(ballot_voter_owners::ballot_id.eq(ballot_id))
        .select((ballot_voter_owners::voter_id, ballot_voter_owners::owner_id))
        .load(c)
        .await?;
    let mut at = start;
    for (n, voter) in voters.iter().enumerate() {
        if rng.below(1000) >= share_permille {
            continue;
        }
        let choices = choose(rng, voter);
        at += Duration::seconds(37 + rng.below(300) as i64);
        // Most vote online; one in eight on paper, recorded by the committee.
        let caster = match owners.iter().find(|(v, _)| *v == voter.id) {
            Some((_, owner)) if rng.below(8) != 0 => Caster::Online {
                owner_id: *owner,
                idempotency_key: Some(format!("demo-{ballot_id}-{n}")),
            },
            _ => Caster::Paper {
                serial: format!("P{ballot_id:03}-{n:05}"),
                recorded_by_role: "COMMITTEE_MEMBER",
                recorded_by_subject: recorder,
            },
        };
        repo::write_vote(c, ballot_id, voter, &choices, &caster, at)
            .await
            .map_err(|e| match e {
                repo::VoteRefusal::Replay(_) => AppError::Internal("demo vote replayed".into()),
                repo::VoteRefusal::Refused(e) => e,
            })?;
    }
    Ok(())
}

async fn items_of(c: &mut DbConnection, ballot_id: i64) -> Result<Vec<(i64, Vec<i64>)>, AppError> {
    let specs = repo::item_specs(c, ballot_id).await?;
    Ok(specs.into_iter().map(|s| (s.id, s.option_ids)).collect())
}

/// Writes the demo's ballots. Expects the demo register.
pub async fn seed_demo_ballots(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    conn.transaction(async |c| {
        write(c, now).await?;
        crate::finance::seed::seed_demo_finances(c, now).await
    })
    .await
}

async fn write(c: &mut DbConnection, now: NaiveDateTime) -> Result<(), AppError> {
    let mut rng = Rng(278);
    let yijing = estate_id(c, "逸景公馆").await?;
    let fulin = estate_id(c, "福林苑").await?;
    let hongdao = estate_id(c, "新城红岛湾").await?;
    let yijing_chair = chair_of(c, yijing).await?;
    let fulin_chair = chair_of(c, fulin).await?;
    let hongdao_chair = chair_of(c, hongdao).await?;
    let companies: Vec<(i64, String)> = property_companies::table
        .order(property_companies::id)
        .select((property_companies::id, property_companies::name))
        .load(c)
        .await?;

    // 逸景公馆, 2024: choosing the property company (selected), then the public income.
    let day = |y: i32, m: u32, d: u32| {
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .unwrap_or(now)
    };
    let selection = ballot(
        c,
        yijing,
        yijing_chair,
        "2024年物业服务企业选聘",
        vec![ItemDraft {
            kind: ItemKind::Selection,
            title: "选聘物业服务企业（三选一）".into(),
            matter_type: MatterType::ManagerHireOrDismiss,
            seats: Some(1),
            options: companies
                .iter()
                .map(|(id, name)| (name.clone(), None, Some(*id)))
                .collect(),
        }],
        day(2024, 5, 10),
        day(2024, 5, 31),
        &[Action::Submit, Action::Approve],
        day(2024, 4, 1),
    )
    .await?;
    repo::open_ballot(c, selection, day(2024, 5, 10)).await?;
    let items = items_of(c, selection).await?;
    vote_share(
        c,
        &mut rng,
        selection,
        yijing_chair,
        820,
        day(2024, 5, 10),
        |rng, _| {
            let (item, options) = &items[0];
            // About 70% for the incumbent, the rest split.
            let pick = match rng.below(100) {
                0..=69 => options[0],
                70..=84 => options[1],
                _ => options[2],
            };
            Choices::from([(*item, ItemChoice::Options(vec![pick]))])
        },
    )
    .await?;
    close_and_tally(c, selection, day(2024, 5, 31)).await?;

    let distribution = ballot(
        c,
        yijing,
        yijing_chair,
        "2024年公共收益分配方案",
        vec![matter(
            "将累计公共收益的30%（共计420,000.00元）按户平均分配给842户，每户约500元",
            MatterType::OtherMajor,
        )],
        day(2024, 11, 1),
        day(2024, 11, 20),
        &[Action::Submit, Action::Approve],
        day(2024, 9, 20),
    )
    .await?;
    repo::open_ballot(c, distribution, day(2024, 11, 1)).await?;
    let items = items_of(c, distribution).await?;
    vote_share(
        c,
        &mut rng,
        distribution,
        yijing_chair,
        790,
        day(2024, 11, 1),
        |rng, _| {
            let choice = match rng.below(100) {
                0..=77 => MatterChoice::Agree,
                78..=91 => MatterChoice::Oppose,
                _ => MatterChoice::Abstain,
            };
            Choices::from([(items[0].0, ItemChoice::Matter(choice))])
        },
    )
    .await?;
    close_and_tally(c, distribution, day(2024, 11, 20)).await?;

    // 逸景公馆 now: a draft about the elevators.
    ballot(
        c,
        yijing,
        yijing_chair,
        "使用维修资金更换3号楼电梯",
        vec![matter(
            "动用专项维修资金约68万元更换3号楼两部电梯",
            MatterType::MaintenanceFundUse,
        )],
        now + Duration::days(30),
        now + Duration::days(45),
        &[],
        now - Duration::days(2),
    )
    .await?;

    // 新城红岛湾: an open committee election, about half voted.
    let candidates: Vec<(String, i64)> = ownerships::table
        .inner_join(houses::table)
        .inner_join(owners::table)
        .filter(houses::estate_id.eq(hongdao))
        .filter(ownerships::until.is_null())
        .filter(owners::kind.eq("PERSON"))
        .filter(owners::verification_status.eq("VERIFIED"))
        .select((owners::name, owners::id))
        .order(owners::id)
        .limit(9)
        .load(c)
        .await?;
    let election = ballot(
        c,
        hongdao,
        hongdao_chair,
        "第二届业主委员会换届选举",
        vec![ItemDraft {
            kind: ItemKind::Election,
            title: "选举第二届业主委员会委员（7名）".into(),
            matter_type: MatterType::CommitteeElection,
            seats: Some(7),
            options: candidates
                .iter()
                .map(|(name, id)| (name.clone(), Some(*id), None))
                .collect(),
        }],
        now - Duration::days(5),
        now + Duration::days(10),
        &[Action::Submit, Action::Approve],
        now - Duration::days(30),
    )
    .await?;
    repo::open_ballot(c, election, now - Duration::days(5)).await?;
    let items = items_of(c, election).await?;
    vote_share(
        c,
        &mut rng,
        election,
        hongdao_chair,
        500,
        now - Duration::days(5),
        |rng, _| {
            let (item, options) = &items[0];
            // Each voter backs 4 to 7 candidates, the first ones more often.
            let n = 4 + rng.below(4) as usize;
            let mut picks: Vec<i64> = Vec::new();
            for _ in 0..30 {
                let o = options[(rng.below(options.len() as u64 * 3) as usize)
                    .min(rng.below(options.len() as u64) as usize)];
                if !picks.contains(&o) {
                    picks.push(o);
                }
                if picks.len() == n {
                    break;
                }
            }
            picks.sort_unstable();
            Choices::from([(*item, ItemChoice::Options(picks))])
        },
    )
    .await?;

    // 新城红岛湾: a rebuild awaiting approval.
    ballot(
        c,
        hongdao,
        hongdao_chair,
        "外墙保温层改造",
        vec![matter(
            "对全部楼栋外墙保温层进行改造，费用由维修资金列支",
            MatterType::Rebuild,
        )],
        now + Duration::days(25),
        now + Duration::days(40),
        &[Action::Submit],
        now - Duration::days(3),
    )
    .await?;

    // 福林苑: approved (opens later), rejected, cancelled.
    ballot(
        c,
        fulin,
        fulin_chair,
        "加装电梯及占用公共绿地",
        vec![matter(
            "在1、2号楼加装电梯，占用部分公共绿地",
            MatterType::CommonPartsChange,
        )],
        now + Duration::days(20),
        now + Duration::days(35),
        &[Action::Submit, Action::Approve],
        now - Duration::days(10),
    )
    .await?;
    ballot(
        c,
        fulin,
        fulin_chair,
        "维修资金续筹",
        vec![matter(
            "按每平方米30元续筹专项维修资金",
            MatterType::MaintenanceFundRaise,
        )],
        now + Duration::days(18),
        now + Duration::days(30),
        &[Action::Submit, Action::Reject],
        now - Duration::days(12),
    )
    .await?;
    ballot(
        c,
        fulin,
        fulin_chair,
        "修订管理规约",
        vec![matter(
            "修订管理规约第十二条（宠物管理）",
            MatterType::ManagementCovenant,
        )],
        now + Duration::days(22),
        now + Duration::days(36),
        &[Action::Cancel],
        now - Duration::days(6),
    )
    .await?;
    Ok(())
}
