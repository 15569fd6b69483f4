//! GraphQL of disclosures, compliance, service contracts and the analysts' money summaries.

use std::collections::{BTreeMap, HashMap};

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::{Stream, StreamExt};

use super::repo::{self, DisclosureRow, Publication};
use super::rules::{quarterly_status, visible_long_enough, DisclosureKind, Quarter};
use crate::auth::Role;
use crate::db::schema::*;
use crate::error::{AppError, AppResult};
use crate::events::Event;
use crate::graphql::context::ContextExt;
use crate::graphql::relay::{
    connection_from_rows, decode_id_of, global_id, Cursor, NodeKind, Page,
};
use crate::graphql::scalars::{format_percent, parse_hundredths, Money, Percent};
use crate::registry::graphql::{readable_estate, District, Estate, PropertyCompany};
use crate::registry::model::EstateRow;

crate::connection_type!(
    DisclosureConnection,
    DisclosureEdge,
    Disclosure,
    "disclosures"
);

fn utc(t: chrono::NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// A published disclosure.
pub struct Disclosure(pub DisclosureRow);

/// A published disclosure: immutable, hash-chained per estate; a correction supersedes it and
/// it stays readable, marked superseded.
#[Object]
impl Disclosure {
    /// The disclosure's id.
    async fn id(&self) -> ID {
        global_id(NodeKind::Disclosure, self.0.id)
    }

    /// What it discloses.
    async fn kind(&self) -> Option<DisclosureKind> {
        DisclosureKind::from_db(&self.0.kind)
    }

    /// Its title.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The quarter or month it covers, e.g. "2026-Q3".
    async fn period(&self) -> Option<&str> {
        self.0.period.as_deref()
    }

    /// The content as published: canonical JSON (statements carry their figures as exact
    /// decimal strings).
    async fn content(&self) -> &str {
        &self.0.content
    }

    /// SHA-256 of the content.
    async fn content_hash(&self) -> &str {
        &self.0.content_hash
    }

    /// The hash of the estate's previous disclosure.
    async fn previous_hash(&self) -> &str {
        &self.0.prev_hash
    }

    /// This disclosure's link in the estate's chain.
    async fn hash(&self) -> &str {
        &self.0.hash
    }

    /// Position in the estate's chain, from 1.
    async fn sequence(&self) -> i64 {
        self.0.chain_seq
    }

    /// When it was published.
    async fn published_at(&self) -> DateTime<Utc> {
        utc(self.0.published_at)
    }

    /// Shown until (null: indefinitely).
    async fn visible_until(&self) -> Option<DateTime<Utc>> {
        self.0.visible_until.map(utc)
    }

    /// Who published it: PROPERTY_MANAGER, COMMITTEE_MEMBER, or SYSTEM for ballot results.
    async fn published_by_role(&self) -> &str {
        &self.0.published_by_role
    }

    /// The disclosure this one corrects.
    async fn supersedes(&self) -> Option<ID> {
        self.0
            .supersedes_id
            .map(|id| global_id(NodeKind::Disclosure, id))
    }

    /// The disclosure that corrects this one, if any.
    async fn superseded_by(&self, ctx: &Context<'_>) -> Result<Option<ID>> {
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let id: Option<i64> = disclosures::table
            .filter(disclosures::supersedes_id.eq(self.0.id))
            .select(disclosures::id)
            .first(&mut *conn)
            .await
            .optional()
            .map_err(AppError::from)?;
        Ok(id.map(|id| global_id(NodeKind::Disclosure, id)))
    }
}

/// A disclosure to publish.
#[derive(InputObject)]
pub struct PublishDisclosureInput {
    /// The estate.
    pub estate_id: ID,
    /// What to publish (not BALLOT_RESULT, which is published when a ballot is tallied).
    pub kind: DisclosureKind,
    /// The title.
    pub title: String,
    /// The quarter, e.g. "2026-Q3" (required for statements, which are generated from the books).
    pub period: Option<String>,
    /// The text of contracts, standards and reports (ignored for generated statements).
    pub body: Option<String>,
    /// WORK_REPORT: last month done.
    pub work_done: Option<String>,
    /// WORK_REPORT: this month planned.
    pub work_planned: Option<String>,
    /// Shown until (statements: at least one month after publication).
    pub visible_until: Option<DateTime<Utc>>,
    /// The disclosure this one corrects.
    pub supersedes_id: Option<ID>,
}

/// Compliance of one required kind of disclosure.
#[derive(SimpleObject)]
pub struct ComplianceItem {
    /// The kind.
    pub kind: DisclosureKind,
    /// The latest publication of that kind.
    pub last_published_at: Option<DateTime<Utc>>,
    /// When the next one is due.
    pub next_due_on: Option<NaiveDate>,
    /// True when a due date passed without a publication.
    pub overdue: bool,
    /// The periods missing (quarterly kinds), latest first.
    pub overdue_periods: Vec<String>,
}

/// An estate with overdue disclosures.
#[derive(SimpleObject)]
pub struct OverdueEstate {
    /// The estate.
    pub estate: Estate,
    /// The kinds overdue.
    pub kinds: Vec<DisclosureKind>,
}

/// Compliance of one district.
#[derive(SimpleObject)]
pub struct DistrictCompliance {
    /// The district.
    pub district: District,
    /// Estates considered.
    pub estates: i64,
    /// Estates with something overdue.
    pub overdue_estates: i64,
    /// Share of estates with nothing overdue.
    pub compliance_rate: Percent,
}

/// Disclosure compliance across the caller's estates.
#[derive(SimpleObject)]
pub struct ComplianceOverview {
    /// Estates considered.
    pub estates: i64,
    /// Estates with something overdue (a plain list: the point is to see them all).
    pub overdue_estates: Vec<OverdueEstate>,
    /// Per district.
    pub districts: Vec<DistrictCompliance>,
}

/// How to group public income.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum IncomeGroup {
    /// By quarter.
    Quarter,
    /// By category.
    Category,
    /// By estate.
    Estate,
    /// By community.
    Community,
    /// By subdistrict.
    Subdistrict,
    /// By district.
    District,
}

/// Which public income to sum.
#[derive(InputObject, Default)]
pub struct IncomeFilter {
    /// Only this district.
    pub district_id: Option<ID>,
    /// Only this subdistrict.
    pub subdistrict_id: Option<ID>,
    /// From this quarter on, e.g. "2025-Q1".
    pub from_quarter: Option<String>,
    /// Up to this quarter.
    pub to_quarter: Option<String>,
}

/// One group of public income.
#[derive(SimpleObject)]
pub struct IncomeRow {
    /// The quarter (when grouped by quarter).
    pub quarter: Option<String>,
    /// The category (when grouped by category); UNCLASSIFIED for bank rows imported without one.
    pub category: Option<String>,
    /// The estate's name (when grouped by estate).
    pub estate: Option<String>,
    /// The community's name.
    pub community: Option<String>,
    /// The subdistrict's name.
    pub subdistrict: Option<String>,
    /// The district's name.
    pub district: Option<String>,
    /// Income.
    pub income: Money,
    /// Expenses (distributions included).
    pub expense: Money,
    /// Income less expenses.
    pub net: Money,
    /// Entries summed.
    pub entries: i64,
}

/// Balances by kind of account.
#[derive(SimpleObject)]
pub struct AccountsTotal {
    /// COMMON_FUND, MAINTENANCE_FUND or PUBLIC_INCOME_LEDGER.
    pub kind: String,
    /// Accounts of that kind.
    pub accounts: i64,
    /// Their balances summed.
    pub balance: Money,
}

/// A service contract between an estate and its property company.
#[derive(Clone)]
pub struct ServiceContract {
    row: (i64, i64, i64, NaiveDate, NaiveDate, String, String),
    fees: Vec<(String, i64)>,
}

/// A property service contract (物业服务合同) with its fee standards.
#[Object]
impl ServiceContract {
    /// The company.
    async fn company(&self, ctx: &Context<'_>) -> Result<Option<PropertyCompany>> {
        Ok(ctx
            .loaders()
            .company
            .load_one(self.row.2)
            .await?
            .map(PropertyCompany))
    }

    /// First day of the term.
    async fn starts_on(&self) -> NaiveDate {
        self.row.3
    }

    /// Last day of the term.
    async fn ends_on(&self) -> NaiveDate {
        self.row.4
    }

    /// The service standard agreed.
    async fn service_standard(&self) -> &str {
        &self.row.5
    }

    /// SHA-256 of the signed document.
    async fn document_hash(&self) -> &str {
        &self.row.6
    }

    /// Fees per square metre per month, by house usage.
    async fn fee_standards(&self) -> Vec<FeeStandard> {
        self.fees
            .iter()
            .map(|(usage, fen)| FeeStandard {
                usage: usage.clone(),
                per_square_metre_monthly: Money(*fen),
            })
            .collect()
    }
}

/// A fee standard.
#[derive(SimpleObject)]
pub struct FeeStandard {
    /// RESIDENTIAL, COMMERCIAL, PARKING or OTHER.
    pub usage: String,
    /// Yuan per square metre per month.
    pub per_square_metre_monthly: Money,
}

/// The service contract in force for each estate, with its fee standards.
pub struct ContractByEstate(pub crate::db::Db, pub crate::ballots::scheduler::Clock);

impl async_graphql::dataloader::Loader<i64> for ContractByEstate {
    type Value = std::sync::Arc<ServiceContract>;
    type Error = crate::registry::loaders::LoadError;

    async fn load(
        &self,
        keys: &[i64],
    ) -> std::result::Result<HashMap<i64, Self::Value>, Self::Error> {
        use crate::registry::loaders::load_error;
        let mut conn = self.0.conn().await.map_err(load_error)?;
        // The server's clock, which the rest of the API (and the tests) go by.
        let today = self.1.now().date();
        let rows: Vec<(i64, i64, i64, NaiveDate, NaiveDate, String, String)> =
            service_contracts::table
                .filter(service_contracts::estate_id.eq_any(keys))
                .filter(service_contracts::starts_on.le(today))
                .filter(service_contracts::ends_on.ge(today))
                .order(service_contracts::id)
                .select((
                    service_contracts::id,
                    service_contracts::estate_id,
                    service_contracts::company_id,
                    service_contracts::starts_on,
                    service_contracts::ends_on,
                    service_contracts::service_standard,
                    service_contracts::document_hash,
                ))
                .load(&mut *conn)
                .await
                .map_err(load_error)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let fees: Vec<(i64, String, i64)> = fee_standards::table
            .filter(fee_standards::contract_id.eq_any(&ids))
            .order(fee_standards::usage)
            .select((
                fee_standards::contract_id,
                fee_standards::usage,
                fee_standards::fen_per_m2_month,
            ))
            .load(&mut *conn)
            .await
            .map_err(load_error)?;
        // The latest contract in force wins.
        let mut out = HashMap::new();
        for row in rows {
            let f = fees
                .iter()
                .filter(|f| f.0 == row.0)
                .map(|f| (f.1.clone(), f.2))
                .collect();
            out.insert(row.1, std::sync::Arc::new(ServiceContract { row, fees: f }));
        }
        Ok(out)
    }
}

/// The current service contract of an estate.
pub async fn current_contract(
    ctx: &Context<'_>,
    estate_id: i64,
) -> AppResult<Option<std::sync::Arc<ServiceContract>>> {
    Ok(ctx
        .disclosure_loaders()
        .contracts
        .load_one(estate_id)
        .await?)
}

/// A house's monthly fee under the estate's current contract.
pub async fn house_monthly_fee(
    ctx: &Context<'_>,
    estate_id: i64,
    usage: &str,
    area_centi: i64,
) -> AppResult<Option<Money>> {
    let Some(contract) = current_contract(ctx, estate_id).await? else {
        return Ok(None);
    };
    Ok(contract
        .fees
        .iter()
        .find(|(u, _)| u == usage)
        .map(|(_, fen)| Money(super::rules::monthly_fee(area_centi, *fen))))
}

/// An estate's disclosures, newest first (used by `Estate.disclosures`).
pub async fn estate_disclosures(
    ctx: &Context<'_>,
    estate_id: i64,
    first: Option<i32>,
    after: Option<String>,
    kind: Option<DisclosureKind>,
) -> AppResult<DisclosureConnection> {
    let page = Page::new(first, after)?;
    let before = if page.after.is_some() {
        page.after_id()?
    } else {
        i64::MAX
    };
    let key = super::loaders::DisclosurePageKey {
        estate_id,
        kind,
        before_id: before,
        limit: page.fetch_limit(),
    };
    let rows = ctx
        .disclosure_loaders()
        .pages
        .load_one(key)
        .await?
        .unwrap_or_default();
    Ok(connection_from_rows(
        &page,
        rows,
        |r| Cursor::of_id(r.id),
        Disclosure,
    ))
}

/// Facts compliance is computed from, per estate.
#[derive(Default)]
pub struct EstateFacts {
    published: HashMap<String, Vec<(Option<String>, chrono::NaiveDateTime)>>,
    ledger_since: Option<NaiveDate>,
    common_fund_since: Option<NaiveDate>,
    /// Since when a maintenance-fund account exists (its yearly report is due from then).
    maintenance_fund_since: Option<NaiveDate>,
    /// Since when a company manages the estate (its work reports are due from then).
    managed_since: Option<NaiveDate>,
}

pub(super) async fn facts(
    conn: &mut crate::db::DbConnection,
    estate_ids: &[i64],
) -> AppResult<HashMap<i64, EstateFacts>> {
    let mut out: HashMap<i64, EstateFacts> = estate_ids
        .iter()
        .map(|e| (*e, EstateFacts::default()))
        .collect();
    let published: Vec<(i64, String, Option<String>, chrono::NaiveDateTime)> = disclosures::table
        .filter(disclosures::estate_id.eq_any(estate_ids))
        .select((
            disclosures::estate_id,
            disclosures::kind,
            disclosures::period,
            disclosures::published_at,
        ))
        .load(conn)
        .await?;
    for (e, kind, period, at) in published {
        if let Some(f) = out.get_mut(&e) {
            f.published.entry(kind).or_default().push((period, at));
        }
    }
    let accounts: Vec<(i64, String, Option<NaiveDate>, chrono::NaiveDateTime)> = accounts::table
        .filter(accounts::estate_id.eq_any(estate_ids))
        .select((
            accounts::estate_id,
            accounts::kind,
            accounts::opened_on,
            accounts::created_at,
        ))
        .load(conn)
        .await?;
    for (e, kind, opened, created) in accounts {
        let Some(f) = out.get_mut(&e) else { continue };
        let since = opened.unwrap_or(created.date());
        match kind.as_str() {
            "COMMON_FUND" => {
                f.common_fund_since = Some(since);
                f.ledger_since = Some(f.ledger_since.map_or(since, |s| s.min(since)));
            }
            "PUBLIC_INCOME_LEDGER" => {
                f.ledger_since = Some(f.ledger_since.map_or(since, |s| s.min(since)))
            }
            _ => {
                f.maintenance_fund_since =
                    Some(f.maintenance_fund_since.map_or(since, |s| s.min(since)))
            }
        }
    }
    let managed: Vec<(i64, chrono::NaiveDateTime)> = estate_managements::table
        .filter(estate_managements::estate_id.eq_any(estate_ids))
        .filter(estate_managements::until.is_null())
        .select((estate_managements::estate_id, estate_managements::since))
        .load(conn)
        .await?;
    for (e, since) in managed {
        if let Some(f) = out.get_mut(&e) {
            f.managed_since = Some(since.date());
        }
    }
    Ok(out)
}

/// The compliance rules: quarterly statements within the due days after each quarter (from
/// when the ledger or account exists), the contract and fee standards published at least once
/// by a managed estate, a work report in the last 45 days, a maintenance-fund report in the
/// last 13 months where there is such a fund.
fn evaluate(f: &EstateFacts, today: NaiveDate, due_days: i64) -> Vec<ComplianceItem> {
    let last = |kind: DisclosureKind| {
        f.published
            .get(kind.as_db())
            .and_then(|v| v.iter().map(|p| p.1).max())
    };
    let quarters = |kind: DisclosureKind| -> Vec<Quarter> {
        f.published
            .get(kind.as_db())
            .map(|v| {
                v.iter()
                    .filter_map(|p| p.0.as_deref().and_then(Quarter::parse))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut items = Vec::new();
    for (kind, since) in [
        (DisclosureKind::PublicIncomeStatement, f.ledger_since),
        (DisclosureKind::AccountStatement, f.common_fund_since),
    ] {
        if let Some(since) = since {
            let s = quarterly_status(&quarters(kind), since, today, due_days);
            items.push(ComplianceItem {
                kind,
                last_published_at: last(kind).map(utc),
                next_due_on: Some(s.next_due),
                overdue: !s.overdue.is_empty(),
                overdue_periods: s.overdue.iter().map(|q| q.label()).collect(),
            });
        }
    }
    // A periodic report never published is due one period after the duty began.
    let periodic = |kind: DisclosureKind, since: NaiveDate, every_days: i64| {
        let l = last(kind);
        let due = l.map_or(since, |at| at.date()) + chrono::Duration::days(every_days);
        ComplianceItem {
            kind,
            last_published_at: l.map(utc),
            next_due_on: Some(due),
            overdue: due < today,
            overdue_periods: vec![],
        }
    };
    if let Some(managed_since) = f.managed_since {
        for kind in [DisclosureKind::ServiceContract, DisclosureKind::FeeStandard] {
            let l = last(kind);
            items.push(ComplianceItem {
                kind,
                last_published_at: l.map(utc),
                next_due_on: None,
                overdue: l.is_none(),
                overdue_periods: vec![],
            });
        }
        items.push(periodic(DisclosureKind::WorkReport, managed_since, 45));
    }
    if let Some(fund_since) = f.maintenance_fund_since {
        items.push(periodic(
            DisclosureKind::MaintenanceFundReport,
            fund_since,
            396,
        ));
    }
    items
}

/// An estate's compliance (used by `Estate.disclosureCompliance`).
pub async fn estate_compliance(
    ctx: &Context<'_>,
    estate_id: i64,
) -> AppResult<Vec<ComplianceItem>> {
    let f = ctx
        .disclosure_loaders()
        .compliance
        .load_one(estate_id)
        .await?
        .unwrap_or_default();
    Ok(evaluate(
        &f,
        ctx.clock().now().date(),
        ctx.disclosure_due_days(),
    ))
}

/// Disclosure queries.
#[derive(Default)]
pub struct DisclosureQuery;

#[Object]
impl DisclosureQuery {
    /// Disclosure compliance across the caller's estates (subdistrict officers, community staff,
    /// city administrators, analysts): overdue estates and rates per district.
    async fn disclosure_compliance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this district.")] district_id: Option<ID>,
        #[graphql(desc = "Only this subdistrict.")] subdistrict_id: Option<ID>,
    ) -> Result<ComplianceOverview> {
        let viewer = ctx.viewer()?;
        viewer.require_role(
            &[
                Role::SubdistrictOfficer,
                Role::CommunityStaff,
                Role::CityAdmin,
                Role::Analyst,
            ],
            "the compliance overview",
        )?;
        let district = district_id
            .map(|d| decode_id_of(NodeKind::District, &d))
            .transpose()?;
        let subdistrict = subdistrict_id
            .map(|d| decode_id_of(NodeKind::Subdistrict, &d))
            .transpose()?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let estates: Vec<EstateRow> = estates::table
            .order(estates::id)
            .load(&mut *conn)
            .await
            .map_err(AppError::from)?;
        let estates: Vec<EstateRow> = estates
            .into_iter()
            .filter(|e| viewer.can_read_estate(e.place()))
            .filter(|e| district.is_none_or(|d| e.district_id == d))
            .filter(|e| subdistrict.is_none_or(|s| e.subdistrict_id == s))
            .collect();
        let ids: Vec<i64> = estates.iter().map(|e| e.id).collect();
        let mut all = facts(&mut conn, &ids).await?;
        drop(conn);
        let today = ctx.clock().now().date();
        let due_days = ctx.disclosure_due_days();
        let mut overdue_estates = Vec::new();
        let mut per_district: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for e in &estates {
            let items = evaluate(&all.remove(&e.id).unwrap_or_default(), today, due_days);
            let kinds: Vec<DisclosureKind> =
                items.iter().filter(|i| i.overdue).map(|i| i.kind).collect();
            let d = per_district.entry(e.district_id).or_default();
            d.0 += 1;
            if !kinds.is_empty() {
                d.1 += 1;
                overdue_estates.push(OverdueEstate {
                    estate: Estate(e.clone()),
                    kinds,
                });
            }
        }
        let districts = ctx
            .loaders()
            .district
            .load_many(per_district.keys().copied())
            .await?;
        Ok(ComplianceOverview {
            estates: estates.len() as i64,
            overdue_estates,
            districts: per_district
                .into_iter()
                .filter_map(|(id, (n, overdue))| {
                    districts.get(&id).map(|d| DistrictCompliance {
                        district: District(d.clone()),
                        estates: n,
                        overdue_estates: overdue,
                        compliance_rate: Percent(
                            parse_hundredths(&format_percent(n - overdue, n)).unwrap_or(0),
                        ),
                    })
                })
                .collect(),
        })
    }

    /// Public income summed by the groups asked for (analysts and city administrators; others
    /// within their scope). Figures only: no personal data.
    async fn public_income_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to group by (nothing: one total).")] group_by: Vec<IncomeGroup>,
        #[graphql(desc = "Which income to sum.")] filter: Option<IncomeFilter>,
    ) -> Result<Vec<IncomeRow>> {
        let viewer = ctx.viewer()?;
        let filter = filter.unwrap_or_default();
        let district = filter
            .district_id
            .map(|d| decode_id_of(NodeKind::District, &d))
            .transpose()?;
        let subdistrict = filter
            .subdistrict_id
            .map(|d| decode_id_of(NodeKind::Subdistrict, &d))
            .transpose()?;
        let parse_q = |q: Option<String>| -> AppResult<Option<Quarter>> {
            q.map(|q| {
                Quarter::parse(&q).ok_or_else(|| {
                    AppError::bad_input(format!("{q:?} is not a quarter like 2026-Q1"))
                })
            })
            .transpose()
        };
        let (from, to) = (parse_q(filter.from_quarter)?, parse_q(filter.to_quarter)?);
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        type Row = (
            i64,
            String,
            String,
            i64,
            i64,
            i64,
            Option<String>,
            Option<String>,
            NaiveDate,
            i64,
        );
        let rows: Vec<Row> = account_entries::table
            .inner_join(accounts::table.inner_join(estates::table))
            .filter(accounts::kind.ne("MAINTENANCE_FUND"))
            .select((
                estates::id,
                estates::name,
                accounts::kind,
                estates::community_id,
                estates::subdistrict_id,
                estates::district_id,
                account_entries::category,
                account_entries::period,
                account_entries::booked_on,
                account_entries::amount_fen,
            ))
            .load(&mut *conn)
            .await
            .map_err(AppError::from)?;
        let communities: HashMap<i64, String> = communities::table
            .select((communities::id, communities::name))
            .load(&mut *conn)
            .await
            .map_err(AppError::from)?
            .into_iter()
            .collect();
        let subdistricts: HashMap<i64, String> = subdistricts::table
            .select((subdistricts::id, subdistricts::name))
            .load(&mut *conn)
            .await
            .map_err(AppError::from)?
            .into_iter()
            .collect();
        let districts: HashMap<i64, String> = districts::table
            .select((districts::id, districts::name))
            .load(&mut *conn)
            .await
            .map_err(AppError::from)?
            .into_iter()
            .collect();
        let places: HashMap<i64, crate::auth::EstatePlace> = estates::table
            .select((estates::id, estates::community_id, estates::subdistrict_id))
            .load::<(i64, i64, i64)>(&mut *conn)
            .await
            .map_err(AppError::from)?
            .into_iter()
            .map(|(e, c, s)| {
                (
                    e,
                    crate::auth::EstatePlace {
                        estate_id: e,
                        community_id: c,
                        subdistrict_id: s,
                    },
                )
            })
            .collect();
        drop(conn);
        let mut groups: BTreeMap<Vec<String>, (i64, i64, i64, IncomeRow)> = BTreeMap::new();
        for (estate_id, estate, _kind, community, sub, dist, category, period, booked_on, amount) in
            rows
        {
            if !places
                .get(&estate_id)
                .is_some_and(|p| viewer.can_read_estate(*p))
            {
                continue;
            }
            if district.is_some_and(|d| d != dist) || subdistrict.is_some_and(|s| s != sub) {
                continue;
            }
            let quarter = period
                .as_deref()
                .and_then(Quarter::parse)
                .unwrap_or_else(|| Quarter::of(booked_on));
            if from.is_some_and(|f| quarter < f) || to.is_some_and(|t| quarter > t) {
                continue;
            }
            let category = category.unwrap_or_else(|| "UNCLASSIFIED".into());
            let pick = |g: IncomeGroup, v: String| group_by.contains(&g).then_some(v);
            let row = IncomeRow {
                quarter: pick(IncomeGroup::Quarter, quarter.label()),
                category: pick(IncomeGroup::Category, category),
                estate: pick(IncomeGroup::Estate, estate),
                community: pick(
                    IncomeGroup::Community,
                    communities.get(&community).cloned().unwrap_or_default(),
                ),
                subdistrict: pick(
                    IncomeGroup::Subdistrict,
                    subdistricts.get(&sub).cloned().unwrap_or_default(),
                ),
                district: pick(
                    IncomeGroup::District,
                    districts.get(&dist).cloned().unwrap_or_default(),
                ),
                income: Money(0),
                expense: Money(0),
                net: Money(0),
                entries: 0,
            };
            let key = vec![
                row.district.clone().unwrap_or_default(),
                row.subdistrict.clone().unwrap_or_default(),
                row.community.clone().unwrap_or_default(),
                row.estate.clone().unwrap_or_default(),
                row.quarter.clone().unwrap_or_default(),
                row.category.clone().unwrap_or_default(),
            ];
            let g = groups.entry(key).or_insert((0, 0, 0, row));
            if amount >= 0 {
                g.0 += amount;
            } else {
                g.1 -= amount;
            }
            g.2 += 1;
        }
        Ok(groups
            .into_values()
            .map(|(income, expense, n, mut row)| {
                row.income = Money(income);
                row.expense = Money(expense);
                row.net = Money(income - expense);
                row.entries = n;
                row
            })
            .collect())
    }

    /// Balances by kind of account across the caller's estates.
    async fn accounts_summary(&self, ctx: &Context<'_>) -> Result<Vec<AccountsTotal>> {
        let viewer = ctx.viewer()?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let ids: Vec<(String, i64, i64)> = accounts::table
            .select((accounts::kind, accounts::estate_id, accounts::balance_fen))
            .load(&mut *conn)
            .await
            .map_err(AppError::from)?;
        let places: HashMap<i64, crate::auth::EstatePlace> = estates::table
            .select((estates::id, estates::community_id, estates::subdistrict_id))
            .load::<(i64, i64, i64)>(&mut *conn)
            .await
            .map_err(AppError::from)?
            .into_iter()
            .map(|(e, c, s)| {
                (
                    e,
                    crate::auth::EstatePlace {
                        estate_id: e,
                        community_id: c,
                        subdistrict_id: s,
                    },
                )
            })
            .collect();
        let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for (kind, estate, balance) in ids {
            if places
                .get(&estate)
                .is_some_and(|p| viewer.can_read_estate(*p))
            {
                let t = totals.entry(kind).or_default();
                t.0 += 1;
                t.1 += balance;
            }
        }
        Ok(totals
            .into_iter()
            .map(|(kind, (n, b))| AccountsTotal {
                kind,
                accounts: n,
                balance: Money(b),
            })
            .collect())
    }
}

/// Disclosure mutations.
#[derive(Default)]
pub struct DisclosureMutation;

async fn may_publish(ctx: &Context<'_>, estate: &EstateRow) -> AppResult<()> {
    let viewer = ctx.viewer()?;
    match viewer.role {
        Role::PropertyManager if viewer.can_read_estate(estate.place()) => Ok(()),
        Role::CommitteeMember => {
            let mut conn = ctx.db().conn().await?;
            if crate::registry::repo::sits_on_committee_of(&mut conn, viewer.subject, estate.id)
                .await?
            {
                Ok(())
            } else {
                Err(AppError::forbidden(
                    "only the estate's sitting committee publishes for it",
                ))
            }
        }
        _ => Err(AppError::forbidden(
            "disclosures are published by the estate's property company or committee",
        )),
    }
}

#[Object]
impl DisclosureMutation {
    /// Publishes a disclosure (the managing company or the sitting committee). Statements are
    /// generated from the books for the given quarter; published content never changes.
    async fn publish_disclosure(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The disclosure.")] input: PublishDisclosureInput,
    ) -> Result<Disclosure> {
        let estate_id = decode_id_of(NodeKind::Estate, &input.estate_id)?;
        let estate = readable_estate(ctx, estate_id).await?;
        may_publish(ctx, &estate).await?;
        let viewer = ctx.viewer()?;
        let title = input.title.trim().to_string();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(AppError::bad_input("the title must have 1 to 200 characters").into());
        }
        let now = ctx.clock().now();
        let visible_until = input.visible_until.map(|t| t.naive_utc());
        if visible_until.is_some_and(|u| u <= now) {
            return Err(AppError::bad_input("visibleUntil is in the past").into());
        }
        let supersedes = input
            .supersedes_id
            .map(|s| decode_id_of(NodeKind::Disclosure, &s))
            .transpose()?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let (period, content) = match input.kind {
            DisclosureKind::BallotResult | DisclosureKind::Distribution => {
                return Err(AppError::bad_input(
                    "ballot results and distributions are disclosed automatically when they happen",
                )
                .into())
            }
            DisclosureKind::PublicIncomeStatement | DisclosureKind::AccountStatement => {
                let period = input.period.ok_or_else(|| {
                    AppError::bad_input("a statement needs its period, e.g. 2026-Q3")
                })?;
                let q = Quarter::parse(&period).ok_or_else(|| {
                    AppError::bad_input(format!("period {period:?} is not a quarter like 2026-Q3"))
                })?;
                if q.last_day() >= now.date() {
                    return Err(
                        AppError::bad_input(format!("{} has not ended yet", q.label())).into(),
                    );
                }
                if input.kind == DisclosureKind::PublicIncomeStatement
                    && !visible_long_enough(now, visible_until)
                {
                    return Err(AppError::bad_input("a public-income statement stays visible at least one month: visibleUntil is too early").into());
                }
                let content = if input.kind == DisclosureKind::PublicIncomeStatement {
                    repo::public_income_statement(&mut conn, estate_id, q).await?
                } else {
                    repo::account_statement(&mut conn, estate_id, q).await?
                };
                (Some(q.label()), content)
            }
            DisclosureKind::WorkReport => {
                let done = input.work_done.unwrap_or_default();
                let planned = input.work_planned.unwrap_or_default();
                if done.trim().is_empty() || planned.trim().is_empty() {
                    return Err(AppError::bad_input("a work report says what was done last month and what is planned this month").into());
                }
                (
                    input.period,
                    serde_json::json!({"done": done, "planned": planned, "body": input.body})
                        .to_string(),
                )
            }
            _ => {
                let body = input.body.unwrap_or_default();
                if body.trim().is_empty() || body.chars().count() > 100_000 {
                    return Err(
                        AppError::bad_input("the body must have 1 to 100,000 characters").into(),
                    );
                }
                (input.period, serde_json::json!({"body": body}).to_string())
            }
        };
        let publication = Publication {
            estate_id,
            kind: input.kind,
            title,
            period,
            content,
            visible_until,
            supersedes,
            role: viewer.role.as_str().to_string(),
            subject: viewer.subject,
        };
        let row = repo::publish(&mut conn, &publication, now).await?;
        drop(conn);
        ctx.bus().publish(Event::DisclosurePublished {
            estate_id,
            disclosure_id: row.id,
        });
        Ok(Disclosure(row))
    }

    /// Records the estate's service contract and its fee standards (the managing company or the
    /// sitting committee).
    async fn record_service_contract(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contract.")] input: ServiceContractInput,
    ) -> Result<bool> {
        let estate_id = decode_id_of(NodeKind::Estate, &input.estate_id)?;
        let estate = readable_estate(ctx, estate_id).await?;
        may_publish(ctx, &estate).await?;
        if input.ends_on <= input.starts_on {
            return Err(AppError::bad_input("endsOn must be after startsOn").into());
        }
        let hash = input.document_hash.trim().to_lowercase();
        if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(AppError::bad_input(
                "documentHash is a SHA-256 in 64 hexadecimal characters",
            )
            .into());
        }
        if input
            .fee_standards
            .iter()
            .any(|f| f.per_square_metre_monthly.0 < 0)
        {
            return Err(AppError::bad_input("a fee cannot be negative").into());
        }
        let company = ctx
            .loaders()
            .manager_of
            .load_one(estate_id)
            .await?
            .ok_or_else(|| AppError::Conflict("the estate has no property company".into()))?;
        let now = ctx.clock().now();
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        use diesel_async::AsyncConnection;
        conn.transaction(async |c| {
            let id: i64 = diesel::insert_into(service_contracts::table)
                .values((
                    service_contracts::estate_id.eq(estate_id),
                    service_contracts::company_id.eq(company.id),
                    service_contracts::starts_on.eq(input.starts_on),
                    service_contracts::ends_on.eq(input.ends_on),
                    service_contracts::service_standard.eq(&input.service_standard),
                    service_contracts::document_hash.eq(&hash),
                    service_contracts::created_at.eq(now),
                ))
                .returning(service_contracts::id)
                .get_result(c)
                .await?;
            for f in &input.fee_standards {
                diesel::insert_into(fee_standards::table)
                    .values((
                        fee_standards::contract_id.eq(id),
                        fee_standards::usage.eq(f.usage.as_db()),
                        fee_standards::fen_per_m2_month.eq(f.per_square_metre_monthly.0),
                    ))
                    .execute(c)
                    .await
                    .map_err(|e| {
                        if crate::db::is_unique_violation(&e) {
                            AppError::bad_input("a usage is listed twice")
                        } else {
                            AppError::from(e)
                        }
                    })?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
        Ok(true)
    }
}

/// A service contract to record.
#[derive(InputObject)]
pub struct ServiceContractInput {
    /// The estate.
    pub estate_id: ID,
    /// First day of the term.
    pub starts_on: NaiveDate,
    /// Last day of the term.
    pub ends_on: NaiveDate,
    /// The service standard agreed.
    pub service_standard: String,
    /// SHA-256 of the signed document.
    pub document_hash: String,
    /// Fees by house usage.
    pub fee_standards: Vec<FeeStandardInput>,
}

/// A fee standard to record.
#[derive(InputObject)]
pub struct FeeStandardInput {
    /// The house usage it applies to.
    pub usage: crate::registry::graphql::HouseUsage,
    /// Yuan per square metre per month.
    pub per_square_metre_monthly: Money,
}

/// Disclosure subscriptions.
#[derive(Default)]
pub struct DisclosureSubscription;

#[async_graphql::Subscription]
impl DisclosureSubscription {
    /// Each disclosure of the estate as it is published (after commit).
    async fn disclosure_published(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The estate to follow.")] estate_id: ID,
    ) -> Result<impl Stream<Item = Result<Disclosure>>> {
        let id = decode_id_of(NodeKind::Estate, &estate_id)?;
        readable_estate(ctx, id).await?;
        let db = ctx.db().clone();
        Ok(ctx
            .bus()
            .subscribe_all()
            .filter_map(move |e| async move {
                match e {
                    Some(Event::DisclosurePublished {
                        estate_id,
                        disclosure_id,
                    }) if estate_id == id => Some(disclosure_id),
                    _ => None,
                }
            })
            .then(move |disclosure_id| {
                let db = db.clone();
                async move {
                    let mut conn = db.conn().await.map_err(AppError::from)?;
                    let row: DisclosureRow = disclosures::table
                        .find(disclosure_id)
                        .first(&mut *conn)
                        .await
                        .map_err(AppError::from)?;
                    Ok(Disclosure(row))
                }
            }))
    }
}
