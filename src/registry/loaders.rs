//! Per-request DataLoaders of the register: every relation resolves through one of these, so a
//! nested query costs one statement per level, not one per parent row.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};

use super::model::*;
use super::repo::{self, HouseFilterKey};
use crate::db::Db;
use crate::error::AppError;

/// Loader errors must be cloneable; the detail is logged when it becomes an `AppError`.
#[derive(Debug, Clone)]
pub struct LoadError(pub String);

impl From<LoadError> for AppError {
    fn from(e: LoadError) -> Self {
        AppError::Internal(e.0)
    }
}

impl From<LoadError> for async_graphql::Error {
    fn from(e: LoadError) -> Self {
        AppError::from(e).into()
    }
}

/// A loader's error from any error with a message (the database's, the pool's).
pub fn load_error(e: impl std::fmt::Display) -> LoadError {
    LoadError(e.to_string())
}

/// Groups rows into a map of key to the rows that share it, keeping their order.
pub fn group<K: std::hash::Hash + Eq, V>(
    rows: impl IntoIterator<Item = (K, V)>,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for (k, v) in rows {
        map.entry(k).or_default().push(v);
    }
    map
}

/// Declares a loader struct holding the request's `Db` and its `Loader` impl, given the query
/// that loads all keys at once and how to turn its rows into the map.
macro_rules! loader {
    ($(#[$doc:meta])* $name:ident, $key:ty => $value:ty, |$conn:ident, $keys:ident| $body:expr) => {
        $(#[$doc])*
        pub struct $name(pub Db);

        impl Loader<$key> for $name {
            type Value = $value;
            type Error = LoadError;

            async fn load(&self, $keys: &[$key]) -> Result<HashMap<$key, $value>, LoadError> {
                let mut conn = self.0.conn().await.map_err(load_error)?;
                let $conn = &mut *conn;
                let map: HashMap<$key, $value> = $body.map_err(load_error)?;
                Ok(map)
            }
        }
    };
}

macro_rules! by_id {
    ($name:ident, $row:ty, $query:path) => {
        loader!(
            /// Rows by primary key.
            $name, i64 => $row, |conn, keys| $query(conn, keys).await.map(|rows| rows.into_iter().map(|r| (r.id, r)).collect())
        );
    };
}

by_id!(DistrictById, DistrictRow, repo::districts_by_ids);
by_id!(SubdistrictById, SubdistrictRow, repo::subdistricts_by_ids);
by_id!(CommunityById, CommunityRow, repo::communities_by_ids);
by_id!(EstateById, EstateRow, repo::estates_by_ids);
by_id!(BuildingById, BuildingRow, repo::buildings_by_ids);
by_id!(HouseById, HouseRow, repo::houses_by_ids);
by_id!(OwnerById, OwnerRow, repo::owners_by_ids);
by_id!(CompanyById, CompanyRow, repo::companies_by_ids);
by_id!(CommitteeById, CommitteeRow, repo::committees_by_ids);

loader!(
    /// Running totals by estate id.
    StatsByEstate, i64 => StatsRow,
    |conn, keys| repo::stats_for(conn, keys).await.map(|rows| rows.into_iter().map(|r| (r.estate_id, r)).collect())
);
loader!(
    /// The subdistricts of each district.
    SubdistrictsByDistrict, i64 => Vec<SubdistrictRow>,
    |conn, keys| repo::subdistricts_for(conn, keys).await.map(|rows| group(rows.into_iter().map(|r| (r.district_id, r))))
);
loader!(
    /// The communities of each subdistrict.
    CommunitiesBySubdistrict, i64 => Vec<CommunityRow>,
    |conn, keys| repo::communities_for(conn, keys).await.map(|rows| group(rows.into_iter().map(|r| (r.subdistrict_id, r))))
);
loader!(
    /// The estates of each community.
    EstatesByCommunity, i64 => Vec<EstateRow>,
    |conn, keys| repo::estates_for_communities(conn, keys).await.map(|rows| group(rows.into_iter().map(|r| (r.community_id, r))))
);
loader!(
    /// The buildings of each estate.
    BuildingsByEstate, i64 => Vec<BuildingRow>,
    |conn, keys| repo::buildings_for(conn, keys).await.map(|rows| group(rows.into_iter().map(|r| (r.estate_id, r))))
);
loader!(
    /// The houses of each building.
    HousesByBuilding, i64 => Vec<HouseRow>,
    |conn, keys| repo::houses_for_buildings(conn, keys).await.map(|rows| group(rows.into_iter().map(|r| (r.building_id, r))))
);
loader!(
    /// The current owners of each house.
    OwnersByHouse, i64 => Vec<OwnerRow>,
    |conn, keys| repo::current_owners_for(conn, keys).await.map(group)
);
loader!(
    /// The houses each owner currently owns.
    HousesByOwner, i64 => Vec<HouseRow>,
    |conn, keys| repo::current_houses_of(conn, keys).await.map(group)
);
loader!(
    /// The company currently managing each estate.
    ManagerByEstate, i64 => CompanyRow,
    |conn, keys| repo::current_managers_for(conn, keys).await.map(|rows| rows.into_iter().collect())
);
loader!(
    /// The estates each company currently manages.
    EstatesByCompany, i64 => Vec<EstateRow>,
    |conn, keys| repo::managed_estates_for(conn, keys).await.map(group)
);
loader!(
    /// The committees of each estate, latest term first.
    CommitteesByEstate, i64 => Vec<CommitteeRow>,
    |conn, keys| repo::committees_for(conn, keys).await.map(|rows| group(rows.into_iter().map(|r| (r.estate_id, r))))
);
loader!(
    /// The members of each committee.
    MembersByCommittee, i64 => Vec<CommitteeMemberRow>,
    |conn, keys| repo::members_for(conn, keys).await.map(|rows| group(rows.into_iter().map(|r| (r.committee_id, r))))
);

/// One estate's page of houses: the estate, the filter, and the page position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HousePageKey {
    pub estate_id: i64,
    pub filter: HouseFilterKey,
    pub after_id: i64,
    pub limit: i64,
}

/// Pages of houses per estate. Keys that share filter and position (the usual case: the same
/// field under many estates) are answered by one statement.
pub struct HousePagesByEstate(pub Db);

impl Loader<HousePageKey> for HousePagesByEstate {
    type Value = Vec<HouseRow>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[HousePageKey],
    ) -> Result<HashMap<HousePageKey, Vec<HouseRow>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(load_error)?;
        let groups = group(
            keys.iter()
                .map(|k| ((k.filter, k.after_id, k.limit), k.estate_id)),
        );
        let mut out = HashMap::new();
        for ((filter, after_id, limit), estate_ids) in groups {
            let rows =
                repo::house_pages_for_estates(&mut conn, &estate_ids, &filter, after_id, limit)
                    .await
                    .map_err(load_error)?;
            let mut by_estate = group(rows.into_iter().map(|r| (r.estate_id, r)));
            for estate_id in estate_ids {
                let key = HousePageKey {
                    estate_id,
                    filter,
                    after_id,
                    limit,
                };
                out.insert(key, by_estate.remove(&estate_id).unwrap_or_default());
            }
        }
        Ok(out)
    }
}

/// How long a loader waits for more keys before it queries. Sibling resolvers register their
/// keys within one poll of the request, but a debug build under load can spread one level of a
/// large nested query over a few milliseconds; 1 ms (async-graphql's default) then splits
/// batches. 5 ms keeps them whole at a bounded cost per nesting level.
pub const LOADER_DELAY: std::time::Duration = std::time::Duration::from_millis(5);

/// All the register's loaders of one request.
pub struct RegistryLoaders {
    pub district: DataLoader<DistrictById>,
    pub subdistrict: DataLoader<SubdistrictById>,
    pub community: DataLoader<CommunityById>,
    pub estate: DataLoader<EstateById>,
    pub building: DataLoader<BuildingById>,
    pub house: DataLoader<HouseById>,
    pub owner: DataLoader<OwnerById>,
    pub company: DataLoader<CompanyById>,
    pub committee: DataLoader<CommitteeById>,
    pub stats: DataLoader<StatsByEstate>,
    pub subdistricts_of: DataLoader<SubdistrictsByDistrict>,
    pub communities_of: DataLoader<CommunitiesBySubdistrict>,
    pub estates_of_community: DataLoader<EstatesByCommunity>,
    pub buildings_of: DataLoader<BuildingsByEstate>,
    pub houses_of_building: DataLoader<HousesByBuilding>,
    pub house_pages: DataLoader<HousePagesByEstate>,
    pub owners_of: DataLoader<OwnersByHouse>,
    pub houses_of_owner: DataLoader<HousesByOwner>,
    pub manager_of: DataLoader<ManagerByEstate>,
    pub estates_of_company: DataLoader<EstatesByCompany>,
    pub committees_of: DataLoader<CommitteesByEstate>,
    pub members_of: DataLoader<MembersByCommittee>,
}

impl RegistryLoaders {
    pub fn new(db: &Db) -> Self {
        fn dl<T: Send + Sync + 'static>(t: T) -> DataLoader<T> {
            DataLoader::new(t, tokio::spawn).delay(LOADER_DELAY)
        }
        Self {
            district: dl(DistrictById(db.clone())),
            subdistrict: dl(SubdistrictById(db.clone())),
            community: dl(CommunityById(db.clone())),
            estate: dl(EstateById(db.clone())),
            building: dl(BuildingById(db.clone())),
            house: dl(HouseById(db.clone())),
            owner: dl(OwnerById(db.clone())),
            company: dl(CompanyById(db.clone())),
            committee: dl(CommitteeById(db.clone())),
            stats: dl(StatsByEstate(db.clone())),
            subdistricts_of: dl(SubdistrictsByDistrict(db.clone())),
            communities_of: dl(CommunitiesBySubdistrict(db.clone())),
            estates_of_community: dl(EstatesByCommunity(db.clone())),
            buildings_of: dl(BuildingsByEstate(db.clone())),
            houses_of_building: dl(HousesByBuilding(db.clone())),
            house_pages: dl(HousePagesByEstate(db.clone())),
            owners_of: dl(OwnersByHouse(db.clone())),
            houses_of_owner: dl(HousesByOwner(db.clone())),
            manager_of: dl(ManagerByEstate(db.clone())),
            estates_of_company: dl(EstatesByCompany(db.clone())),
            committees_of: dl(CommitteesByEstate(db.clone())),
            members_of: dl(MembersByCommittee(db.clone())),
        }
    }
}
