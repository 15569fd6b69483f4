//! Per-request DataLoaders of ballots, so that lists of estates with their ballots, items and
//! figures cost one statement per level.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};

use super::choices::ItemKind;
use super::lifecycle::BallotState;
use super::model::{BallotRow, ItemRow, OptionRow, TallyRow};
use super::repo;
use crate::db::Db;
use crate::registry::loaders::{group, load_error, LoadError, LOADER_DELAY};

/// The items of each ballot.
pub struct ItemsByBallot(pub Db);

impl Loader<i64> for ItemsByBallot {
    type Value = Vec<ItemRow>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<ItemRow>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(load_error)?;
        let rows = repo::items_for(&mut conn, keys).await.map_err(load_error)?;
        Ok(group(rows.into_iter().map(|r| (r.ballot_id, r))))
    }
}

/// The options of each item.
pub struct OptionsByItem(pub Db);

impl Loader<i64> for OptionsByItem {
    type Value = Vec<OptionRow>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<OptionRow>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(load_error)?;
        let rows = repo::options_for(&mut conn, keys)
            .await
            .map_err(load_error)?;
        Ok(group(rows.into_iter().map(|r| (r.item_id, r))))
    }
}

/// The running tallies of each ballot.
pub struct TalliesByBallot(pub Db);

impl Loader<i64> for TalliesByBallot {
    type Value = Vec<TallyRow>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<TallyRow>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(load_error)?;
        let rows = repo::tallies_for(&mut conn, keys)
            .await
            .map_err(load_error)?;
        Ok(group(rows.into_iter().map(|r| (r.ballot_id, r))))
    }
}

/// One estate's page of ballots: newest first, with optional filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BallotPageKey {
    pub estate_id: i64,
    pub state: Option<BallotState>,
    pub item_kind: Option<ItemKind>,
    /// Only ballots with a smaller id (the `after` cursor), or i64::MAX.
    pub before_id: i64,
    pub limit: i64,
}

/// Pages of ballots per estate; keys sharing filters and position are one statement (a window
/// function numbers each estate's ballots). Only integers and closed-set literals are written
/// into the SQL text.
pub struct BallotPagesByEstate(pub Db);

impl Loader<BallotPageKey> for BallotPagesByEstate {
    type Value = Vec<BallotRow>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[BallotPageKey],
    ) -> Result<HashMap<BallotPageKey, Vec<BallotRow>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(load_error)?;
        let groups = group(
            keys.iter()
                .map(|k| ((k.state, k.item_kind, k.before_id, k.limit), k.estate_id)),
        );
        let mut out = HashMap::new();
        for ((state, item_kind, before_id, limit), estate_ids) in groups {
            let mut filter = String::new();
            if let Some(s) = state {
                filter.push_str(&format!(" AND t.state = '{}'", s.as_db()));
            }
            if let Some(k) = item_kind {
                filter.push_str(&format!(
                    " AND t.id IN (SELECT ballot_id FROM ballot_items WHERE kind = '{}')",
                    k.as_db()
                ));
            }
            let page = crate::db::NewestPerEstate {
                table: "ballots",
                estate_ids: &estate_ids,
                before_id,
                filter: &filter,
                limit,
            };
            let ids = crate::db::newest_ids_per_estate(&mut conn, page)
                .await
                .map_err(load_error)?;
            let mut rows = repo::ballots_by_ids(&mut conn, &ids)
                .await
                .map_err(load_error)?;
            rows.sort_by_key(|r| std::cmp::Reverse(r.id));
            let mut by_estate = group(rows.into_iter().map(|r| (r.estate_id, r)));
            for estate_id in estate_ids {
                let key = BallotPageKey {
                    estate_id,
                    state,
                    item_kind,
                    before_id,
                    limit,
                };
                out.insert(key, by_estate.remove(&estate_id).unwrap_or_default());
            }
        }
        Ok(out)
    }
}

/// All the ballot loaders of one request.
pub struct BallotLoaders {
    pub items: DataLoader<ItemsByBallot>,
    pub options: DataLoader<OptionsByItem>,
    pub tallies: DataLoader<TalliesByBallot>,
    pub pages: DataLoader<BallotPagesByEstate>,
}

impl BallotLoaders {
    pub fn new(db: &Db) -> Self {
        Self {
            items: DataLoader::new(ItemsByBallot(db.clone()), tokio::spawn).delay(LOADER_DELAY),
            options: DataLoader::new(OptionsByItem(db.clone()), tokio::spawn).delay(LOADER_DELAY),
            tallies: DataLoader::new(TalliesByBallot(db.clone()), tokio::spawn).delay(LOADER_DELAY),
            pages: DataLoader::new(BallotPagesByEstate(db.clone()), tokio::spawn)
                .delay(LOADER_DELAY),
        }
    }
}
