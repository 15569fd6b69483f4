//! The demo register: Qingdao after the seed article — 李沧区 / 浮山路街道 / 旭东社区 with
//! 逸景公馆 (842 households) and 福林苑, 城阳区 / 红岛街道 with 新城红岛湾 (2,900 households), and
//! a small estate without a committee. Deterministic: the same register on every machine.
//! Also a synthetic register of any size, for tests and benchmarks.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::model::*;
use super::repo::refresh_estate_stats;
use crate::auth::personal_data_hash;
use crate::db::schema::*;
use crate::db::{Db, DbConnection};
use crate::error::AppError;

/// Runs an `INSERT … RETURNING id` (a future of the new id).
macro_rules! insert_id {
    ($conn:expr, $query:expr $(,)?) => {
        $query.get_result::<i64>($conn)
    };
}

/// Deterministic pseudo-random numbers (SplitMix64), so the demo is the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `permille` / 1000.
    fn chance(&mut self, permille: u64) -> bool {
        self.below(1000) < permille
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹",
    "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "霞", "平", "刚", "桂英", "玉兰", "志强", "海燕", "春梅", "晓东", "红梅", "建华", "国庆",
    "文博", "子涵", "浩然", "雨桐", "宇航", "欣怡",
];

/// Who the demo's ready-made tokens are for.
#[derive(Debug, Clone)]
pub struct DemoIdentities {
    /// An owner of 逸景公馆 (owner id).
    pub owner: i64,
    /// The chair of 逸景公馆's committee (owner id).
    pub committee_member: i64,
    /// Staff of the company managing 逸景公馆 and 福林苑.
    pub property_manager: i64,
    /// Community staff of 旭东社区.
    pub community_staff: i64,
    /// Officer of 浮山路街道.
    pub subdistrict_officer: i64,
    pub city_admin: i64,
    pub analyst: i64,
}

/// The demo owner and committee chair have names the generator never produces, so they can be
/// found again on later starts.
const DEMO_OWNER: &str = "王建国";
const DEMO_CHAIR: &str = "李秀英";

/// One estate to generate.
struct EstatePlan {
    name: &'static str,
    address: &'static str,
    community: usize,
    company: usize,
    households: usize,
    shops: usize,
    parking: usize,
    /// Share of owners whose identity is verified, in permille.
    verified_permille: u64,
    developer_held_permille: u64,
    committee: Option<(&'static str, NaiveDate, usize)>,
    year: i32,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
    date(y, m, d).and_hms_opt(9, 0, 0).unwrap_or_default()
}

/// True when the register holds no estate yet.
pub async fn is_empty(db: &Db) -> Result<bool, AppError> {
    let mut conn = db.conn().await?;
    let n: i64 = estates::table.count().get_result(&mut *conn).await?;
    Ok(n == 0)
}

/// Writes the demo register in one transaction. Refuses a register that already has estates.
pub async fn seed_demo(db: &Db, pii_key: &[u8]) -> Result<DemoIdentities, AppError> {
    if !is_empty(db).await? {
        return Err(AppError::Conflict(
            "the register is not empty; the demo is seeded only into an empty database".into(),
        ));
    }
    let mut conn = db.conn().await?;
    let key = pii_key.to_vec();
    conn.transaction(async |c| write_demo(c, &key).await)
        .await?;
    crate::ballots::seed::seed_demo_ballots(&mut conn, crate::db::now()).await?;
    drop(conn);
    demo_identities(db)
        .await?
        .ok_or_else(|| AppError::Internal("demo identities missing after seeding".into()))
}

/// Finds the demo's identities in a seeded register.
pub async fn demo_identities(db: &Db) -> Result<Option<DemoIdentities>, AppError> {
    let mut conn = db.conn().await?;
    let c = &mut *conn;
    let owner_named = |name: &'static str| {
        owners::table
            .filter(owners::name.eq(name))
            .select(owners::id)
            .order(owners::id)
    };
    let owner: Option<i64> = owner_named(DEMO_OWNER).first(c).await.optional()?;
    let chair: Option<i64> = owner_named(DEMO_CHAIR).first(c).await.optional()?;
    let mut staff_of = async |role: &'static str| -> Result<Option<i64>, AppError> {
        Ok(staff::table
            .filter(staff::role.eq(role))
            .order(staff::id)
            .select(staff::id)
            .first(c)
            .await
            .optional()?)
    };
    let manager = staff_of("PROPERTY_MANAGER").await?;
    let community = staff_of("COMMUNITY_STAFF").await?;
    let officer = staff_of("SUBDISTRICT_OFFICER").await?;
    let admin = staff_of("CITY_ADMIN").await?;
    let analyst = staff_of("ANALYST").await?;
    Ok(
        match (owner, chair, manager, community, officer, admin, analyst) {
            (Some(owner), Some(chair), Some(pm), Some(cs), Some(so), Some(ca), Some(an)) => {
                Some(DemoIdentities {
                    owner,
                    committee_member: chair,
                    property_manager: pm,
                    community_staff: cs,
                    subdistrict_officer: so,
                    city_admin: ca,
                    analyst: an,
                })
            }
            _ => None,
        },
    )
}

async fn write_demo(c: &mut DbConnection, pii_key: &[u8]) -> Result<(), AppError> {
    let now = crate::db::now();
    let mut rng = Rng(2026);

    // Administrative chain.
    let mut district_ids = Vec::new();
    for name in ["李沧区", "城阳区", "市南区"] {
        district_ids.push(
            insert_id!(
                c,
                diesel::insert_into(districts::table)
                    .values(NewDistrict { name })
                    .returning(districts::id)
            )
            .await?,
        );
    }
    let subdistrict_plan = [(0, "浮山路街道"), (1, "红岛街道"), (2, "八大关街道")];
    let mut subdistrict_ids = Vec::new();
    for (d, name) in subdistrict_plan {
        subdistrict_ids.push((
            district_ids[d],
            insert_id!(
                c,
                diesel::insert_into(subdistricts::table)
                    .values(NewSubdistrict {
                        district_id: district_ids[d],
                        name
                    })
                    .returning(subdistricts::id),
            )
            .await?,
        ));
    }
    let community_plan = [(0, "旭东社区"), (1, "韩家社区"), (2, "八大关社区")];
    let mut community_ids = Vec::new();
    for (s, name) in community_plan {
        let (district_id, subdistrict_id) = subdistrict_ids[s];
        let id = insert_id!(
            c,
            diesel::insert_into(communities::table)
                .values(NewCommunity {
                    subdistrict_id,
                    name
                })
                .returning(communities::id),
        )
        .await?;
        community_ids.push((district_id, subdistrict_id, id));
    }

    // Property companies.
    let company_plan = [
        ("青岛旭景物业服务有限公司", "91370213MA3C7QXK2E"),
        ("青岛红岛湾物业管理有限公司", "91370214MA3D0L5R8U"),
        ("青岛海韵物业服务有限公司", "91370202MA3BXW1N6J"),
    ];
    let mut company_ids = Vec::new();
    for (name, credit_code) in company_plan {
        company_ids.push(
            insert_id!(
                c,
                diesel::insert_into(property_companies::table)
                    .values(NewCompany { name, credit_code })
                    .returning(property_companies::id),
            )
            .await?,
        );
    }

    let plans = [
        EstatePlan {
            name: "逸景公馆",
            address: "青岛市李沧区京口路28号",
            community: 0,
            company: 0,
            households: 842,
            shops: 0,
            parking: 0,
            verified_permille: 905,
            developer_held_permille: 8,
            committee: Some(("LC-FSL-2024-007", date(2024, 3, 1), 5)),
            year: 2015,
        },
        EstatePlan {
            name: "福林苑",
            address: "青岛市李沧区福林路9号",
            community: 0,
            company: 0,
            households: 312,
            shops: 18,
            parking: 96,
            verified_permille: 600,
            developer_held_permille: 0,
            committee: Some(("LC-FSL-2022-003", date(2022, 6, 15), 3)),
            year: 2004,
        },
        EstatePlan {
            name: "新城红岛湾",
            address: "青岛市城阳区红岛街道岙东路66号",
            community: 1,
            company: 1,
            households: 2900,
            shops: 40,
            parking: 0,
            verified_permille: 720,
            developer_held_permille: 25,
            committee: Some(("CY-HD-2025-001", date(2025, 9, 1), 7)),
            year: 2019,
        },
        EstatePlan {
            name: "海韵花园",
            address: "青岛市市南区山海关路3号",
            community: 2,
            company: 2,
            households: 96,
            shops: 0,
            parking: 0,
            verified_permille: 380,
            developer_held_permille: 0,
            committee: None,
            year: 1998,
        },
    ];

    let developer_id = insert_id!(
        c,
        diesel::insert_into(owners::table)
            .values(NewOwner {
                name: "青岛新城房地产开发有限公司".into(),
                kind: "DEVELOPER",
                id_number_hash: Some(personal_data_hash(pii_key, "91370200MA3DEV0001")),
                phone_hash: None,
                verification_status: "VERIFIED",
                verified_at: Some(at(2019, 5, 1)),
                created_at: now,
            })
            .returning(owners::id),
    )
    .await?;

    let mut estate_ids = Vec::new();
    let mut next_person = 0u64;
    for (index, plan) in plans.iter().enumerate() {
        let (district_id, subdistrict_id, community_id) = community_ids[plan.community];
        let estate_id = insert_id!(
            c,
            diesel::insert_into(estates::table)
                .values(NewEstate {
                    community_id,
                    subdistrict_id,
                    district_id,
                    name: plan.name,
                    address: plan.address,
                    notice_days: 15,
                    nonvoter_rule: if index == 1 {
                        "FOLLOW_MAJORITY_CHOICE"
                    } else {
                        "NONE"
                    },
                    created_at: now,
                })
                .returning(estates::id),
        )
        .await?;
        estate_ids.push(estate_id);
        diesel::insert_into(estate_managements::table)
            .values(NewManagement {
                estate_id,
                company_id: company_ids[plan.company],
                since: at(plan.year, 7, 1),
                until: None,
            })
            .execute(c)
            .await?;

        let houses = write_houses(c, &mut rng, estate_id, plan).await?;
        let owners_of_estate = write_owners(
            c,
            &mut rng,
            pii_key,
            plan,
            &houses,
            developer_id,
            &mut next_person,
            index == 0,
        )
        .await?;

        if let Some((code, start, seats)) = plan.committee {
            let committee_id = insert_id!(
                c,
                diesel::insert_into(committees::table)
                    .values(NewCommittee {
                        estate_id,
                        assembly_code: code,
                        term_start: start,
                        term_end: date(start.year() + 5, start.month(), 1)
                            .pred_opt()
                            .unwrap_or(start),
                    })
                    .returning(committees::id),
            )
            .await?;
            // Members are verified owners; the first is the chair, then a vice-chair, members,
            // and one alternate.
            let positions = ["CHAIR", "VICE_CHAIR"]
                .into_iter()
                .chain(std::iter::repeat_n("MEMBER", seats.saturating_sub(2)))
                .chain(["ALTERNATE"]);
            for (owner_id, position) in owners_of_estate.iter().copied().zip(positions) {
                diesel::insert_into(committee_members::table)
                    .values(NewCommitteeMember {
                        committee_id,
                        owner_id,
                        position,
                    })
                    .execute(c)
                    .await?;
            }
        }
    }

    // Staff.
    // (name, role, company, community, subdistrict)
    type StaffPlan = (
        &'static str,
        &'static str,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let staff_plan: [StaffPlan; 7] = [
        (
            "赵经理",
            "PROPERTY_MANAGER",
            Some(company_ids[0]),
            None,
            None,
        ),
        (
            "钱主管",
            "PROPERTY_MANAGER",
            Some(company_ids[1]),
            None,
            None,
        ),
        (
            "孙社工",
            "COMMUNITY_STAFF",
            None,
            Some(community_ids[0].2),
            None,
        ),
        (
            "周科长",
            "SUBDISTRICT_OFFICER",
            None,
            None,
            Some(subdistrict_ids[0].1),
        ),
        (
            "吴科员",
            "SUBDISTRICT_OFFICER",
            None,
            None,
            Some(subdistrict_ids[1].1),
        ),
        ("郑处长", "CITY_ADMIN", None, None, None),
        ("冯分析", "ANALYST", None, None, None),
    ];
    for (name, role, company_id, community_id, subdistrict_id) in staff_plan {
        diesel::insert_into(staff::table)
            .values(NewStaff {
                name,
                role,
                company_id,
                community_id,
                subdistrict_id,
                created_at: now,
            })
            .execute(c)
            .await?;
    }

    refresh_estate_stats(c, &estate_ids).await?;
    Ok(())
}

/// Buildings of 2 units, 4 flats per floor per building, 18 floors at most; then shops on the
/// ground floor and a parking garage.
async fn write_houses(
    c: &mut DbConnection,
    rng: &mut Rng,
    estate_id: i64,
    plan: &EstatePlan,
) -> Result<Vec<HouseRow>, AppError> {
    const PER_FLOOR: usize = 4;
    const MAX_FLOORS: usize = 18;
    let per_building = PER_FLOOR * MAX_FLOORS;
    let buildings = plan.households.div_ceil(per_building);
    let mut new_houses = Vec::new();
    let mut remaining = plan.households;
    for b in 1..=buildings {
        let here = remaining.min(per_building);
        remaining -= here;
        let floors = here.div_ceil(PER_FLOOR) as i32;
        let building_id = insert_id!(
            c,
            diesel::insert_into(buildings::table)
                .values(NewBuilding {
                    estate_id,
                    label: format!("{b}号楼"),
                    floors
                })
                .returning(buildings::id),
        )
        .await?;
        for i in 0..here {
            let floor = (i / PER_FLOOR) as i32 + 1;
            let unit = (i % PER_FLOOR) / 2 + 1;
            let room = (i % 2) + 1;
            // Two-bedroom and three-bedroom flats, 68–142 m², to the hundredth as registered.
            let area = 6_800 + rng.below(7_400) as i64;
            new_houses.push(new_house(
                rng,
                estate_id,
                building_id,
                unit.to_string(),
                format!("{floor}{room:02}"),
                floor,
                "RESIDENTIAL",
                area,
                plan,
            ));
        }
    }
    if plan.shops > 0 {
        let building_id = insert_id!(
            c,
            diesel::insert_into(buildings::table)
                .values(NewBuilding {
                    estate_id,
                    label: "沿街商铺".into(),
                    floors: 2
                })
                .returning(buildings::id),
        )
        .await?;
        for i in 1..=plan.shops {
            let area = 4_000 + rng.below(16_000) as i64;
            new_houses.push(new_house(
                rng,
                estate_id,
                building_id,
                String::new(),
                format!("S-{i:03}"),
                1,
                "COMMERCIAL",
                area,
                plan,
            ));
        }
    }
    if plan.parking > 0 {
        let building_id = insert_id!(
            c,
            diesel::insert_into(buildings::table)
                .values(NewBuilding {
                    estate_id,
                    label: "地下车库".into(),
                    floors: 1
                })
                .returning(buildings::id),
        )
        .await?;
        for i in 1..=plan.parking {
            let area = 1_250 + rng.below(300) as i64;
            new_houses.push(new_house(
                rng,
                estate_id,
                building_id,
                String::new(),
                format!("B-{i:03}"),
                -1,
                "PARKING",
                area,
                plan,
            ));
        }
    }
    insert_houses(c, &new_houses).await?;
    Ok(houses::table
        .filter(houses::estate_id.eq(estate_id))
        .order(houses::id)
        .load(c)
        .await?)
}

#[allow(clippy::too_many_arguments)]
fn new_house(
    rng: &mut Rng,
    estate_id: i64,
    building_id: i64,
    unit_label: String,
    room_label: String,
    floor: i32,
    usage: &'static str,
    area_centi: i64,
    plan: &EstatePlan,
) -> NewHouse {
    let roll = rng.below(100);
    let area_source = match roll {
        0..=2 => "SURVEYED",
        3 => "CONTRACT",
        _ => "REGISTERED",
    };
    let certificate_number = (area_source == "REGISTERED").then(|| {
        format!(
            "鲁({})青岛市不动产权第{:07}号",
            plan.year + 1 + rng.below(6) as i32,
            rng.below(10_000_000)
        )
    });
    NewHouse {
        estate_id,
        building_id,
        unit_label,
        room_label,
        floor,
        usage,
        area_centi,
        area_source,
        certificate_number,
        developer_held: rng.chance(plan.developer_held_permille),
    }
}

async fn insert_houses(c: &mut DbConnection, rows: &[NewHouse]) -> Result<(), AppError> {
    Ok(crate::insert_all!(c, houses::table, rows).await?)
}

fn person_name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

/// Owners and ownerships of one estate: developer-held units go to the developer; about one house
/// in seven is co-owned by two people; about one owner in twenty holds a second house. Returns
/// verified residents suitable for the committee (the demo chair first, for 逸景公馆).
#[allow(clippy::too_many_arguments)]
async fn write_owners(
    c: &mut DbConnection,
    rng: &mut Rng,
    pii_key: &[u8],
    plan: &EstatePlan,
    houses: &[HouseRow],
    developer_id: i64,
    next_person: &mut u64,
    is_demo_estate: bool,
) -> Result<Vec<i64>, AppError> {
    let created_at = crate::db::now();
    let first_new: i64 = owners::table
        .select(diesel::dsl::max(owners::id))
        .first::<Option<i64>>(c)
        .await?
        .unwrap_or(0);
    // Plan owners as indexes into `people`, then insert people in one go and map indexes to ids.
    let mut people: Vec<NewOwner> = Vec::new();
    let mut holdings: Vec<(i64, usize)> = Vec::new(); // (house id, person index)
    let mut developer_holdings: Vec<i64> = Vec::new();
    let mut new_person = |rng: &mut Rng, name: Option<&str>, verified: bool| -> NewOwner {
        *next_person += 1;
        let id_number = format!(
            "3702{:02}19{:02}{:06}",
            rng.below(20),
            50 + rng.below(50),
            *next_person
        );
        let phone = format!("13{:09}", rng.below(1_000_000_000));
        NewOwner {
            name: name.map(str::to_string).unwrap_or_else(|| person_name(rng)),
            kind: "PERSON",
            id_number_hash: Some(personal_data_hash(pii_key, &id_number)),
            phone_hash: Some(personal_data_hash(pii_key, &phone)),
            verification_status: if verified { "VERIFIED" } else { "UNVERIFIED" },
            verified_at: verified
                .then(|| at(2024, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32)),
            created_at,
        }
    };
    for (i, house) in houses.iter().enumerate() {
        if house.developer_held {
            developer_holdings.push(house.id);
            continue;
        }
        if is_demo_estate && i < 2 {
            // The demo owner (house 1) and the demo chair (house 2), both verified.
            people.push(new_person(
                rng,
                Some(if i == 0 { DEMO_OWNER } else { DEMO_CHAIR }),
                true,
            ));
            holdings.push((house.id, people.len() - 1));
            continue;
        }
        let verified = rng.chance(plan.verified_permille);
        if !people.is_empty() && rng.chance(50) {
            // A buyer of several parts: reuse a recent owner of this estate.
            let back = 1 + rng.below(people.len().min(40) as u64) as usize;
            holdings.push((house.id, people.len() - back));
        } else {
            people.push(new_person(rng, None, verified));
            holdings.push((house.id, people.len() - 1));
        }
        if rng.chance(140) {
            // A co-owner (spouse), verified less often.
            let v = rng.chance(plan.verified_permille / 2);
            people.push(new_person(rng, None, v));
            holdings.push((house.id, people.len() - 1));
        }
    }
    crate::insert_all!(&mut *c, owners::table, &people).await?;
    let ids: Vec<i64> = owners::table
        .filter(owners::id.gt(first_new))
        .order(owners::id)
        .select(owners::id)
        .load(c)
        .await?;
    let since = at(plan.year + 1, 3, 15);
    let mut rows: Vec<NewOwnership> = holdings
        .iter()
        .filter_map(|(house_id, person)| {
            ids.get(*person).map(|&owner_id| NewOwnership {
                house_id: *house_id,
                owner_id,
                since,
                until: None,
            })
        })
        .collect();
    rows.extend(developer_holdings.iter().map(|&house_id| NewOwnership {
        house_id,
        owner_id: developer_id,
        since: at(plan.year, 1, 1),
        until: None,
    }));
    if let (Some(first), Some(&previous_owner)) = (houses.get(5), ids.get(3)) {
        // History: a house that changed hands keeps its former ownership, closed.
        if !first.developer_held {
            rows.push(NewOwnership {
                house_id: first.id,
                owner_id: previous_owner,
                since: at(plan.year, 6, 1),
                until: Some(since),
            });
        }
    }
    crate::insert_all!(&mut *c, ownerships::table, &rows).await?;
    // The demo owner (the first person of the demo estate) stays an ordinary owner, so the
    // demo chair comes first.
    Ok(people
        .iter()
        .zip(&ids)
        .skip(usize::from(is_demo_estate))
        .filter(|(p, _)| p.verification_status == "VERIFIED")
        .map(|(_, id)| *id)
        .take(8)
        .collect())
}

/// A synthetic register for tests and benchmarks: `estates` estates of `buildings` buildings of
/// `houses_per_building` houses, each with one verified owner, all in one district.
pub async fn seed_synthetic(
    db: &Db,
    estates_n: usize,
    buildings_n: usize,
    houses_per_building: usize,
) -> Result<Vec<i64>, AppError> {
    let mut conn = db.conn().await?;
    conn.transaction(async |c| {
        let now = crate::db::now();
        let district_id = insert_id!(
            c,
            diesel::insert_into(districts::table)
                .values(NewDistrict { name: "测试区" })
                .returning(districts::id)
        )
        .await?;
        let subdistrict_id = insert_id!(
            c,
            diesel::insert_into(subdistricts::table)
                .values(NewSubdistrict {
                    district_id,
                    name: "测试街道"
                })
                .returning(subdistricts::id),
        )
        .await?;
        let community_id = insert_id!(
            c,
            diesel::insert_into(communities::table)
                .values(NewCommunity {
                    subdistrict_id,
                    name: "测试社区"
                })
                .returning(communities::id),
        )
        .await?;
        let mut estate_ids = Vec::new();
        for e in 0..estates_n {
            let name = format!("测试小区{e:03}");
            let estate_id = insert_id!(
                c,
                diesel::insert_into(estates::table)
                    .values(NewEstate {
                        community_id,
                        subdistrict_id,
                        district_id,
                        name: &name,
                        address: "测试路1号",
                        notice_days: 15,
                        nonvoter_rule: "NONE",
                        created_at: now,
                    })
                    .returning(estates::id),
            )
            .await?;
            estate_ids.push(estate_id);
            let mut new_houses = Vec::new();
            for b in 1..=buildings_n {
                let building_id = insert_id!(
                    c,
                    diesel::insert_into(buildings::table)
                        .values(NewBuilding {
                            estate_id,
                            label: format!("{b}号楼"),
                            floors: houses_per_building as i32
                        })
                        .returning(buildings::id),
                )
                .await?;
                for h in 1..=houses_per_building {
                    new_houses.push(NewHouse {
                        estate_id,
                        building_id,
                        unit_label: "1".into(),
                        room_label: format!("{h}01"),
                        floor: h as i32,
                        usage: "RESIDENTIAL",
                        area_centi: 9_000 + h as i64,
                        area_source: "REGISTERED",
                        certificate_number: None,
                        developer_held: false,
                    });
                }
            }
            insert_houses(c, &new_houses).await?;
            let house_ids: Vec<i64> = houses::table
                .filter(houses::estate_id.eq(estate_id))
                .order(houses::id)
                .select(houses::id)
                .load(c)
                .await?;
            for house_id in house_ids {
                let owner_id = insert_id!(
                    c,
                    diesel::insert_into(owners::table)
                        .values(NewOwner {
                            name: format!("业主{house_id}"),
                            kind: "PERSON",
                            id_number_hash: None,
                            phone_hash: None,
                            verification_status: "VERIFIED",
                            verified_at: Some(now),
                            created_at: now,
                        })
                        .returning(owners::id),
                )
                .await?;
                diesel::insert_into(ownerships::table)
                    .values(NewOwnership {
                        house_id,
                        owner_id,
                        since: now,
                        until: None,
                    })
                    .execute(c)
                    .await?;
            }
        }
        diesel::insert_into(staff::table)
            .values(NewStaff {
                name: "测试管理员",
                role: "CITY_ADMIN",
                company_id: None,
                community_id: None,
                subdistrict_id: None,
                created_at: now,
            })
            .execute(c)
            .await?;
        refresh_estate_stats(c, &estate_ids).await?;
        Ok::<_, AppError>(estate_ids)
    })
    .await
}
