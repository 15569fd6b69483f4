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
use crate::registry::loaders::{LoadError, LOADER_DELAY};

fn load_error(e: impl std::fmt::Display) -> LoadError {
    LoadError(e.to_string())
}

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
        let mut groups: HashMap<(Option<DisclosureKind>, i64, i64), Vec<i64>> = HashMap::new();
        for k in keys {
            groups
                .entry((k.kind, k.before_id, k.limit))
                .or_default()
                .push(k.estate_id);
        }
        let mut out = HashMap::new();
        for ((kind, before_id, limit), estate_ids) in groups {
            // Only integers and an enum's fixed names are spliced in.
            let ids = estate_ids
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let mut conditions = format!("t.estate_id IN ({ids}) AND t.id < {before_id}");
            if let Some(k) = kind {
                conditions.push_str(&format!(" AND t.kind = '{}'", k.as_db()));
            }
            let page_ids =
                crate::db::newest_ids_per_estate(&mut conn, "disclosures", &conditions, limit)
                    .await
                    .map_err(load_error)?;
            let rows: Vec<DisclosureRow> = disclosures::table
                .filter(disclosures::id.eq_any(&page_ids))
                .order(disclosures::id.desc())
                .load(&mut *conn)
                .await
                .map_err(load_error)?;
            let mut by_estate: HashMap<i64, Vec<DisclosureRow>> = HashMap::new();
            for r in rows {
                by_estate.entry(r.estate_id).or_default().push(r);
            }
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
