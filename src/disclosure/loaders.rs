//! Per-request DataLoaders of disclosures, so that a list of estates with their disclosures,
//! chain checks, compliance and contracts costs one statement (or a few) per field, not one per
//! estate.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::graphql::{facts, ContractByEstate, EstateFacts};
use super::repo::{self, DisclosureRow};
use super::rules::DisclosureKind;
use crate::db::schema::disclosures;
use crate::db::Db;
use crate::registry::loaders::{group, load_error, LoadError, LOADER_DELAY};

fn app_error(e: crate::error::AppError) -> LoadError {
    // The detail of an internal error is logged, never answered: keep it for the log.
    LoadError(match e {
        crate::error::AppError::Internal(detail) => detail,
        other => other.message(),
    })
}

/// The facts each estate's compliance is evaluated from.
pub struct ComplianceFactsByEstate(pub Db);

impl Loader<i64> for ComplianceFactsByEstate {
    type Value = Arc<EstateFacts>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, LoadError> {
        let mut conn = self.0.conn().await.map_err(load_error)?;
        let all = facts(&mut conn, keys).await.map_err(app_error)?;
        Ok(all.into_iter().map(|(e, f)| (e, Arc::new(f))).collect())
    }
}

/// Whether each estate's chain of disclosures recomputes.
pub struct ChainIntactByEstate(pub Db);

impl Loader<i64> for ChainIntactByEstate {
    type Value = bool;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, bool>, LoadError> {
        let mut conn = self.0.conn().await.map_err(load_error)?;
        repo::chains_intact(&mut conn, keys)
            .await
            .map_err(app_error)
    }
}

/// One page of an estate's disclosures, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DisclosurePageKey {
    pub estate_id: i64,
    pub kind: Option<DisclosureKind>,
    /// Only disclosures with a smaller id (the cursor).
    pub before_id: i64,
    pub limit: i64,
}

/// Pages of disclosures: one statement per (kind, cursor, size) for all estates asking, with the
/// page cut per estate by a window function.
pub struct DisclosurePagesByEstate(pub Db);

impl Loader<DisclosurePageKey> for DisclosurePagesByEstate {
    type Value = Vec<DisclosureRow>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[DisclosurePageKey],
    ) -> Result<HashMap<DisclosurePageKey, Vec<DisclosureRow>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(load_error)?;
        let groups = group(
            keys.iter()
                .map(|k| ((k.kind, k.before_id, k.limit), k.estate_id)),
        );
        let mut out = HashMap::new();
        for ((kind, before_id, limit), estate_ids) in groups {
            // Only an enum's fixed names are spliced in.
            let filter = kind.map_or(String::new(), |k| format!(" AND t.kind = '{}'", k.as_db()));
            let page = crate::db::NewestPerEstate {
                table: "disclosures",
                estate_ids: &estate_ids,
                before_id,
                filter: &filter,
                limit,
            };
            let page_ids = crate::db::newest_ids_per_estate(&mut conn, page)
                .await
                .map_err(load_error)?;
            let rows: Vec<DisclosureRow> = disclosures::table
                .filter(disclosures::id.eq_any(&page_ids))
                .order(disclosures::id.desc())
                .load(&mut *conn)
                .await
                .map_err(load_error)?;
            let mut by_estate = group(rows.into_iter().map(|r| (r.estate_id, r)));
            for estate_id in estate_ids {
                let key = DisclosurePageKey {
                    estate_id,
                    kind,
                    before_id,
                    limit,
                };
                out.insert(key, by_estate.remove(&estate_id).unwrap_or_default());
            }
        }
        Ok(out)
    }
}

/// All the disclosure loaders of one request.
pub struct DisclosureLoaders {
    pub contracts: DataLoader<ContractByEstate>,
    pub compliance: DataLoader<ComplianceFactsByEstate>,
    pub chains: DataLoader<ChainIntactByEstate>,
    pub pages: DataLoader<DisclosurePagesByEstate>,
}

impl DisclosureLoaders {
    pub fn new(db: &Db, clock: &crate::ballots::scheduler::Clock) -> Self {
        Self {
            contracts: DataLoader::new(ContractByEstate(db.clone(), clock.clone()), tokio::spawn)
                .delay(LOADER_DELAY),
            compliance: DataLoader::new(ComplianceFactsByEstate(db.clone()), tokio::spawn)
                .delay(LOADER_DELAY),
            chains: DataLoader::new(ChainIntactByEstate(db.clone()), tokio::spawn)
                .delay(LOADER_DELAY),
            pages: DataLoader::new(DisclosurePagesByEstate(db.clone()), tokio::spawn)
                .delay(LOADER_DELAY),
        }
    }
}
