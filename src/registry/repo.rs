//! Queries on the register. Every function takes a connection; batching for GraphQL happens in
//! `loaders.rs`, which calls the `*_for` functions here with many keys at once.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::model::*;
use super::rules::registration_ppm;
use crate::auth::Scope;
use crate::db::schema::*;
use crate::db::{DbBackend, DbConnection};
use crate::error::AppError;
use crate::graphql::relay::Page;

type QResult<T> = Result<T, diesel::result::Error>;

pub async fn districts_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QResult<Vec<DistrictRow>> {
    districts::table
        .filter(districts::id.eq_any(ids))
        .load(conn)
        .await
}

pub async fn subdistricts_by_ids(
    conn: &mut DbConnection,
    ids: &[i64],
) -> QResult<Vec<SubdistrictRow>> {
    subdistricts::table
        .filter(subdistricts::id.eq_any(ids))
        .load(conn)
        .await
}

pub async fn communities_by_ids(
    conn: &mut DbConnection,
    ids: &[i64],
) -> QResult<Vec<CommunityRow>> {
    communities::table
        .filter(communities::id.eq_any(ids))
        .load(conn)
        .await
}

pub async fn estates_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QResult<Vec<EstateRow>> {
    estates::table
        .filter(estates::id.eq_any(ids))
        .load(conn)
        .await
}

pub async fn buildings_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QResult<Vec<BuildingRow>> {
    buildings::table
        .filter(buildings::id.eq_any(ids))
        .load(conn)
        .await
}

pub async fn houses_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QResult<Vec<HouseRow>> {
    houses::table
        .filter(houses::id.eq_any(ids))
        .load(conn)
        .await
}

pub async fn owners_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QResult<Vec<OwnerRow>> {
    owners::table
        .filter(owners::id.eq_any(ids))
        .load(conn)
        .await
}

pub async fn companies_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QResult<Vec<CompanyRow>> {
    property_companies::table
        .filter(property_companies::id.eq_any(ids))
        .load(conn)
        .await
}

pub async fn committees_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QResult<Vec<CommitteeRow>> {
    committees::table
        .filter(committees::id.eq_any(ids))
        .load(conn)
        .await
}

pub async fn stats_for(conn: &mut DbConnection, estate_ids: &[i64]) -> QResult<Vec<StatsRow>> {
    estate_stats::table
        .filter(estate_stats::estate_id.eq_any(estate_ids))
        .load(conn)
        .await
}

pub async fn subdistricts_for(
    conn: &mut DbConnection,
    district_ids: &[i64],
) -> QResult<Vec<SubdistrictRow>> {
    subdistricts::table
        .filter(subdistricts::district_id.eq_any(district_ids))
        .order(subdistricts::id)
        .load(conn)
        .await
}

pub async fn communities_for(
    conn: &mut DbConnection,
    subdistrict_ids: &[i64],
) -> QResult<Vec<CommunityRow>> {
    communities::table
        .filter(communities::subdistrict_id.eq_any(subdistrict_ids))
        .order(communities::id)
        .load(conn)
        .await
}

pub async fn estates_for_communities(
    conn: &mut DbConnection,
    community_ids: &[i64],
) -> QResult<Vec<EstateRow>> {
    estates::table
        .filter(estates::community_id.eq_any(community_ids))
        .order(estates::id)
        .load(conn)
        .await
}

pub async fn buildings_for(
    conn: &mut DbConnection,
    estate_ids: &[i64],
) -> QResult<Vec<BuildingRow>> {
    buildings::table
        .filter(buildings::estate_id.eq_any(estate_ids))
        .order(buildings::id)
        .load(conn)
        .await
}

pub async fn houses_for_buildings(
    conn: &mut DbConnection,
    building_ids: &[i64],
) -> QResult<Vec<HouseRow>> {
    houses::table
        .filter(houses::building_id.eq_any(building_ids))
        .order(houses::id)
        .load(conn)
        .await
}

/// One page of houses for each of many estates in a single statement: a window function numbers
/// each estate's matching houses, so that the page size applies per estate, not overall.
/// Only integers and values from a closed set are written into the SQL text; nothing a client
/// typed is interpolated.
pub async fn house_pages_for_estates(
    conn: &mut DbConnection,
    estate_ids: &[i64],
    filter: &HouseFilterKey,
    after_id: i64,
    limit: i64,
) -> QResult<Vec<HouseRow>> {
    if estate_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = estate_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut conditions = format!("h.estate_id IN ({ids}) AND h.id > {after_id}");
    if let Some(usage) = filter.usage {
        conditions.push_str(&format!(" AND h.usage = '{}'", usage.as_db()));
    }
    if let Some(building) = filter.building_id {
        conditions.push_str(&format!(" AND h.building_id = {building}"));
    }
    let sql = format!(
        "SELECT id, estate_id, building_id, unit_label, room_label, floor, usage, area_centi, \
         area_source, certificate_number, developer_held FROM (\
           SELECT h.*, ROW_NUMBER() OVER (PARTITION BY h.estate_id ORDER BY h.id) AS rn \
           FROM houses h WHERE {conditions}\
         ) ranked WHERE rn <= {limit} ORDER BY estate_id, id"
    );
    diesel::sql_query(sql).load::<HouseRow>(conn).await
}

/// House filters that decide the rows of an estate's house list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HouseFilterKey {
    pub usage: Option<super::graphql::HouseUsage>,
    pub building_id: Option<i64>,
}

/// The current owners of each house (ownerships without an end).
pub async fn current_owners_for(
    conn: &mut DbConnection,
    house_ids: &[i64],
) -> QResult<Vec<(i64, OwnerRow)>> {
    ownerships::table
        .inner_join(owners::table)
        .filter(ownerships::house_id.eq_any(house_ids))
        .filter(ownerships::until.is_null())
        .order((ownerships::house_id, owners::id))
        .select((ownerships::house_id, owners::all_columns))
        .load(conn)
        .await
}

/// The houses each owner currently owns.
pub async fn current_houses_of(
    conn: &mut DbConnection,
    owner_ids: &[i64],
) -> QResult<Vec<(i64, HouseRow)>> {
    ownerships::table
        .inner_join(houses::table)
        .filter(ownerships::owner_id.eq_any(owner_ids))
        .filter(ownerships::until.is_null())
        .order((ownerships::owner_id, houses::id))
        .select((ownerships::owner_id, houses::all_columns))
        .load(conn)
        .await
}

/// The company currently managing each estate.
pub async fn current_managers_for(
    conn: &mut DbConnection,
    estate_ids: &[i64],
) -> QResult<Vec<(i64, CompanyRow)>> {
    estate_managements::table
        .inner_join(
            property_companies::table.on(property_companies::id.eq(estate_managements::company_id)),
        )
        .filter(estate_managements::estate_id.eq_any(estate_ids))
        .filter(estate_managements::until.is_null())
        .select((
            estate_managements::estate_id,
            property_companies::all_columns,
        ))
        .load(conn)
        .await
}

/// The estates each company currently manages.
pub async fn managed_estates_for(
    conn: &mut DbConnection,
    company_ids: &[i64],
) -> QResult<Vec<(i64, EstateRow)>> {
    estate_managements::table
        .inner_join(estates::table.on(estates::id.eq(estate_managements::estate_id)))
        .filter(estate_managements::company_id.eq_any(company_ids))
        .filter(estate_managements::until.is_null())
        .order(estates::id)
        .select((estate_managements::company_id, estates::all_columns))
        .load(conn)
        .await
}

/// The committees of each estate, latest term first.
pub async fn committees_for(
    conn: &mut DbConnection,
    estate_ids: &[i64],
) -> QResult<Vec<CommitteeRow>> {
    committees::table
        .filter(committees::estate_id.eq_any(estate_ids))
        .order((committees::estate_id, committees::term_end.desc()))
        .load(conn)
        .await
}

pub async fn members_for(
    conn: &mut DbConnection,
    committee_ids: &[i64],
) -> QResult<Vec<CommitteeMemberRow>> {
    committee_members::table
        .filter(committee_members::committee_id.eq_any(committee_ids))
        .order(committee_members::id)
        .load(conn)
        .await
}

/// How a list of estates is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EstateSort {
    Name,
    Households,
    RegistrationRate,
}

/// Which estates a list shows.
#[derive(Debug, Clone, Default)]
pub struct EstateFilter {
    pub district_id: Option<i64>,
    pub subdistrict_id: Option<i64>,
    pub community_id: Option<i64>,
    pub name_contains: Option<String>,
}

/// The sort key of a row, as written in its cursor: "<id>|<key>".
pub fn estate_cursor(sort: EstateSort, estate: &EstateRow, stats: &StatsRow) -> String {
    match sort {
        EstateSort::Name => format!("{}|{}", estate.id, estate.name),
        EstateSort::Households => format!("{}|{}", estate.id, stats.households),
        EstateSort::RegistrationRate => format!("{}|{}", estate.id, stats.registration_ppm),
    }
}

/// One page of estates within the viewer's scope, by keyset on (sort key, id).
pub async fn estates_page(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &EstateFilter,
    sort: EstateSort,
    descending: bool,
    page: &Page,
) -> Result<Vec<(EstateRow, StatsRow)>, AppError> {
    let mut q = estates::table
        .inner_join(estate_stats::table)
        .select((estates::all_columns, estate_stats::all_columns))
        .into_boxed::<DbBackend>();
    q = match scope {
        Scope::All => q,
        Scope::Subdistrict(s) => q.filter(estates::subdistrict_id.eq(*s)),
        Scope::Community(c) => q.filter(estates::community_id.eq(*c)),
        Scope::Estates(set) => {
            q.filter(estates::id.eq_any(set.iter().copied().collect::<Vec<_>>()))
        }
    };
    if let Some(d) = filter.district_id {
        q = q.filter(estates::district_id.eq(d));
    }
    if let Some(s) = filter.subdistrict_id {
        q = q.filter(estates::subdistrict_id.eq(s));
    }
    if let Some(c) = filter.community_id {
        q = q.filter(estates::community_id.eq(c));
    }
    if let Some(name) = filter.name_contains.as_deref().filter(|n| !n.is_empty()) {
        let escaped = name
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q = q.filter(estates::name.like(format!("%{escaped}%")).escape('\\'));
    }
    if let Some(after) = &page.after {
        let bad =
            || AppError::bad_input("the `after` cursor does not belong to this list and order");
        let (id, key) = after.split_once('|').ok_or_else(bad)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        q = match (sort, descending) {
            (EstateSort::Name, false) => q.filter(
                estates::name
                    .gt(key.to_string())
                    .or(estates::name.eq(key.to_string()).and(estates::id.gt(id))),
            ),
            (EstateSort::Name, true) => q.filter(
                estates::name
                    .lt(key.to_string())
                    .or(estates::name.eq(key.to_string()).and(estates::id.lt(id))),
            ),
            (EstateSort::Households | EstateSort::RegistrationRate, _) => {
                let key: i64 = key.parse().map_err(|_| bad())?;
                let column_is = |greater: bool| -> Box<
                    dyn BoxableExpression<_, DbBackend, SqlType = diesel::sql_types::Bool>,
                > {
                    match (sort, greater) {
                        (EstateSort::Households, true) => Box::new(
                            estate_stats::households
                                .gt(key)
                                .or(estate_stats::households.eq(key).and(estates::id.gt(id))),
                        ),
                        (EstateSort::Households, false) => Box::new(
                            estate_stats::households
                                .lt(key)
                                .or(estate_stats::households.eq(key).and(estates::id.lt(id))),
                        ),
                        (_, true) => Box::new(
                            estate_stats::registration_ppm.gt(key).or(
                                estate_stats::registration_ppm
                                    .eq(key)
                                    .and(estates::id.gt(id)),
                            ),
                        ),
                        (_, false) => Box::new(
                            estate_stats::registration_ppm.lt(key).or(
                                estate_stats::registration_ppm
                                    .eq(key)
                                    .and(estates::id.lt(id)),
                            ),
                        ),
                    }
                };
                q.filter(column_is(!descending))
            }
        };
    }
    q = match (sort, descending) {
        (EstateSort::Name, false) => q.order((estates::name.asc(), estates::id.asc())),
        (EstateSort::Name, true) => q.order((estates::name.desc(), estates::id.desc())),
        (EstateSort::Households, false) => {
            q.order((estate_stats::households.asc(), estates::id.asc()))
        }
        (EstateSort::Households, true) => {
            q.order((estate_stats::households.desc(), estates::id.desc()))
        }
        (EstateSort::RegistrationRate, false) => {
            q.order((estate_stats::registration_ppm.asc(), estates::id.asc()))
        }
        (EstateSort::RegistrationRate, true) => {
            q.order((estate_stats::registration_ppm.desc(), estates::id.desc()))
        }
    };
    Ok(q.limit(page.fetch_limit()).load(conn).await?)
}

pub async fn districts_page(
    conn: &mut DbConnection,
    page: &Page,
) -> Result<Vec<DistrictRow>, AppError> {
    let after = page.after_id()?;
    Ok(districts::table
        .filter(districts::id.gt(after))
        .order(districts::id)
        .limit(page.fetch_limit())
        .load(conn)
        .await?)
}

pub async fn companies_page(
    conn: &mut DbConnection,
    page: &Page,
) -> Result<Vec<CompanyRow>, AppError> {
    let after = page.after_id()?;
    Ok(property_companies::table
        .filter(property_companies::id.gt(after))
        .order(property_companies::id)
        .limit(page.fetch_limit())
        .load(conn)
        .await?)
}

/// All estates' running totals with their district, for city-wide figures.
pub async fn all_stats_with_district(conn: &mut DbConnection) -> QResult<Vec<(i64, StatsRow)>> {
    estate_stats::table
        .inner_join(estates::table)
        .select((estates::district_id, estate_stats::all_columns))
        .load(conn)
        .await
}

/// Recomputes the running totals of the given estates from the register. Call inside the
/// transaction that changed the register, so totals and register never disagree.
pub async fn refresh_estate_stats(conn: &mut DbConnection, estate_ids: &[i64]) -> QResult<()> {
    if estate_ids.is_empty() {
        return Ok(());
    }
    let house_rows: Vec<(i64, i64, String, i64)> = houses::table
        .filter(houses::estate_id.eq_any(estate_ids))
        .select((
            houses::id,
            houses::estate_id,
            houses::usage,
            houses::area_centi,
        ))
        .load(conn)
        .await?;
    let holdings: Vec<(i64, i64, String)> = ownerships::table
        .inner_join(houses::table)
        .inner_join(owners::table)
        .filter(houses::estate_id.eq_any(estate_ids))
        .filter(ownerships::until.is_null())
        .select((houses::id, owners::id, owners::verification_status))
        .load(conn)
        .await?;
    let estate_of: HashMap<i64, i64> = house_rows.iter().map(|(h, e, _, _)| (*h, *e)).collect();
    let mut totals: HashMap<i64, NewStats> = estate_ids
        .iter()
        .map(|&e| {
            (
                e,
                NewStats {
                    estate_id: e,
                    households: 0,
                    houses: 0,
                    area_centi: 0,
                    owners: 0,
                    registered_owners: 0,
                    registered_houses: 0,
                    registration_ppm: 0,
                },
            )
        })
        .collect();
    for (_, estate, usage, area) in &house_rows {
        if let Some(t) = totals.get_mut(estate) {
            t.houses += 1;
            t.area_centi += area;
            if usage == "RESIDENTIAL" {
                t.households += 1;
            }
        }
    }
    let mut owners_seen: HashMap<i64, HashMap<i64, bool>> = HashMap::new();
    let mut registered_houses: HashMap<i64, std::collections::HashSet<i64>> = HashMap::new();
    for (house, owner, status) in &holdings {
        let Some(estate) = estate_of.get(house) else {
            continue;
        };
        let verified = status == "VERIFIED";
        owners_seen
            .entry(*estate)
            .or_default()
            .insert(*owner, verified);
        if verified {
            registered_houses.entry(*estate).or_default().insert(*house);
        }
    }
    for (estate, t) in totals.iter_mut() {
        if let Some(seen) = owners_seen.get(estate) {
            t.owners = seen.len() as i64;
            t.registered_owners = seen.values().filter(|v| **v).count() as i64;
        }
        t.registered_houses = registered_houses.get(estate).map_or(0, |s| s.len() as i64);
        t.registration_ppm = registration_ppm(t.registered_houses, t.houses);
    }
    diesel::delete(estate_stats::table.filter(estate_stats::estate_id.eq_any(estate_ids)))
        .execute(conn)
        .await?;
    let rows: Vec<NewStats> = totals.into_values().collect();
    for row in &rows {
        diesel::insert_into(estate_stats::table)
            .values(row)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Whether the owner sits on the estate's committee of the current term.
pub async fn sits_on_committee_of(
    conn: &mut DbConnection,
    owner_id: i64,
    estate_id: i64,
) -> QResult<bool> {
    let today = chrono::Utc::now().date_naive();
    let n: i64 = committee_members::table
        .inner_join(committees::table)
        .filter(committee_members::owner_id.eq(owner_id))
        .filter(committees::estate_id.eq(estate_id))
        .filter(committees::term_start.le(today))
        .filter(committees::term_end.ge(today))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}

/// Changes an estate's settings and returns the estate as stored.
pub async fn update_settings(
    conn: &mut DbConnection,
    estate_id: i64,
    notice_days: Option<i32>,
    nonvoter_rule: Option<&'static str>,
) -> Result<EstateRow, AppError> {
    if let Some(days) = notice_days {
        diesel::update(estates::table.find(estate_id))
            .set(estates::notice_days.eq(days))
            .execute(conn)
            .await?;
    }
    if let Some(rule) = nonvoter_rule {
        diesel::update(estates::table.find(estate_id))
            .set(estates::nonvoter_rule.eq(rule))
            .execute(conn)
            .await?;
    }
    estates::table
        .find(estate_id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("no such estate"))
}
