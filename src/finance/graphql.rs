//! GraphQL types and resolvers of finances.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::{Stream, StreamExt};

use super::model::*;
use super::repo::{self, Amount, EntryDraft, Recorder, Split};
use crate::auth::{Role, Viewer};
use crate::ballots::rules::MatterType;
use crate::db::schema::*;
use crate::error::{AppError, AppResult};
use crate::events::Event;
use crate::graphql::context::ContextExt;
use crate::graphql::relay::{
    connection_from_rows, decode_id_of, global_id, Cursor, NodeKind, Page,
};
use crate::graphql::scalars::Money;
use crate::registry::graphql::{readable_estate, Estate, House, PropertyCompany};
use crate::registry::model::EstateRow;

crate::connection_type!(AccountConnection, AccountEdge, Account, "accounts");
crate::connection_type!(
    AccountEntryConnection,
    AccountEntryEdge,
    AccountEntry,
    "account entries"
);
crate::connection_type!(PayoutConnection, PayoutEdge, Payout, "payouts");

/// What an account is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AccountKind {
    /// The owners' common-fund account (共有资金账户), held by the committee at a bank.
    CommonFund,
    /// The maintenance-fund account (维修资金).
    MaintenanceFund,
    /// Public income held by the property company where the estate has no account yet.
    PublicIncomeLedger,
}

impl AccountKind {
    pub fn as_db(self) -> &'static str {
        match self {
            AccountKind::CommonFund => "COMMON_FUND",
            AccountKind::MaintenanceFund => "MAINTENANCE_FUND",
            AccountKind::PublicIncomeLedger => "PUBLIC_INCOME_LEDGER",
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s {
            "MAINTENANCE_FUND" => AccountKind::MaintenanceFund,
            "PUBLIC_INCOME_LEDGER" => AccountKind::PublicIncomeLedger,
            _ => AccountKind::CommonFund,
        }
    }
}

/// Categories of public income (income from common parts).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum IncomeCategory {
    /// Parking on common parts.
    Parking,
    /// Advertising on common parts.
    Advertising,
    /// Renting out common venues.
    VenueRental,
    /// Advertising in elevators.
    ElevatorAdvertising,
    /// Anything else, including expenses charged to public income.
    Other,
}

impl IncomeCategory {
    pub fn as_db(self) -> &'static str {
        match self {
            IncomeCategory::Parking => "PARKING",
            IncomeCategory::Advertising => "ADVERTISING",
            IncomeCategory::VenueRental => "VENUE_RENTAL",
            IncomeCategory::ElevatorAdvertising => "ELEVATOR_ADVERTISING",
            IncomeCategory::Other => "OTHER",
        }
    }
}

/// How a distribution divides the money.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DistributionMethod {
    /// By each house's share of the exclusive area (Civil Code Art. 283, the default).
    ByArea,
    /// Equal shares per household (e.g. 逸景公馆's 500 yuan per household).
    PerHousehold,
}

fn utc(t: chrono::NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// An account of an estate, readable by everyone who may read the estate, at any hour.
pub struct Account(pub AccountRow);

/// An account of an estate: the common fund, the maintenance fund, or the property company's
/// public-income ledger.
#[Object]
impl Account {
    /// The account's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Account, self.0.id)
    }

    /// What the account is.
    async fn kind(&self) -> AccountKind {
        AccountKind::from_db(&self.0.kind)
    }

    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The bank (bank accounts).
    async fn bank(&self) -> Option<&str> {
        self.0.bank.as_deref()
    }

    /// The account number, masked ("6222 **** **** 1234").
    async fn account_number(&self) -> Option<&str> {
        self.0.account_number_masked.as_deref()
    }

    /// When it was opened.
    async fn opened_on(&self) -> Option<NaiveDate> {
        self.0.opened_on
    }

    /// The three-party agreement between bank, subdistrict and committee.
    async fn agreement_ref(&self) -> Option<&str> {
        self.0.agreement_ref.as_deref()
    }

    /// The owners' assembly's code the account was opened under.
    async fn assembly_code(&self) -> Option<&str> {
        self.0.assembly_code.as_deref()
    }

    /// The company holding a public-income ledger.
    async fn holder(&self, ctx: &Context<'_>) -> Result<Option<PropertyCompany>> {
        let Some(id) = self.0.holder_company_id else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()
            .company
            .load_one(id)
            .await?
            .map(PropertyCompany))
    }

    /// The balance after the latest entry.
    async fn balance(&self) -> Money {
        Money(self.0.balance_fen)
    }

    /// The estate.
    async fn estate(&self, ctx: &Context<'_>) -> Result<Estate> {
        Ok(Estate(readable_estate(ctx, self.0.estate_id).await?))
    }

    /// Entries, newest first. Entries are never changed: corrections are reversing entries.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<AccountEntryConnection> {
        let page = Page::new(first, after)?;
        let before = if page.after.is_some() {
            page.after_id()?
        } else {
            i64::MAX
        };
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let rows = repo::entries_page(&mut conn, self.0.id, before, page.fetch_limit())
            .await
            .map_err(AppError::from)?;
        Ok(connection_from_rows(
            &page,
            rows,
            |r| Cursor::of_id(r.id),
            AccountEntry,
        ))
    }

    /// Distributions paid from the account (a handful per year: a plain list).
    async fn distributions(&self, ctx: &Context<'_>) -> Result<Vec<Distribution>> {
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let rows = repo::distributions_for_accounts(&mut conn, &[self.0.id])
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(Distribution).collect())
    }
}

/// One entry of an account.
pub struct AccountEntry(pub EntryRow);

/// One entry of an account: a bank row, a manual entry, a reversal or a distribution debit.
#[Object]
impl AccountEntry {
    /// The entry's id (for `reverseEntry`).
    async fn id(&self) -> ID {
        global_id(NodeKind::AccountEntry, self.0.id)
    }

    /// Position in the account, from 1.
    async fn sequence(&self) -> i64 {
        self.0.seq
    }

    /// The booking date.
    async fn booked_on(&self) -> NaiveDate {
        self.0.booked_on
    }

    /// The bank's transaction reference (imports).
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }

    /// Who paid or was paid (null for analysts: it may name a person).
    async fn counterparty(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(ctx
            .viewer()?
            .may_see_personal_data()
            .then_some(self.0.counterparty.as_str()))
    }

    /// The amount: positive in, negative out.
    async fn amount(&self) -> Money {
        Money(self.0.amount_fen)
    }

    /// The balance after this entry.
    async fn balance(&self) -> Money {
        Money(self.0.balance_fen)
    }

    /// The memo.
    async fn memo(&self) -> &str {
        &self.0.memo
    }

    /// The public-income category (ledger entries).
    async fn category(&self) -> Option<&str> {
        self.0.category.as_deref()
    }

    /// The period it belongs to, e.g. "2026-Q1".
    async fn period(&self) -> Option<&str> {
        self.0.period.as_deref()
    }

    /// BANK_IMPORT, MANUAL, REVERSAL or DISTRIBUTION.
    async fn source(&self) -> &str {
        &self.0.source
    }

    /// The entry this one reverses.
    async fn reverses(&self) -> Option<ID> {
        self.0
            .reverses_entry_id
            .map(|id| global_id(NodeKind::AccountEntry, id))
    }

    /// Why it was reversed (reversals).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// When it was recorded.
    async fn recorded_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }
}

/// A distribution of public income.
pub struct Distribution(pub DistributionRow);

/// A distribution of public income to the owners, after a passed ballot item.
#[Object]
impl Distribution {
    /// The distribution's id.
    async fn id(&self) -> ID {
        global_id(NodeKind::Distribution, self.0.id)
    }

    /// By area or per household.
    async fn method(&self) -> DistributionMethod {
        if self.0.method == "PER_HOUSEHOLD" {
            DistributionMethod::PerHousehold
        } else {
            DistributionMethod::ByArea
        }
    }

    /// The total paid: exactly the sum of the payouts.
    async fn total(&self) -> Money {
        Money(self.0.total_fen)
    }

    /// Houses paid.
    async fn recipients(&self) -> i64 {
        self.0.households
    }

    /// The ballot item that decided it.
    async fn ballot_item_id(&self) -> ID {
        global_id(NodeKind::BallotItem, self.0.ballot_item_id)
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// Payouts per house, exact to the fen (largest remainder).
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<PayoutConnection> {
        let page = Page::new(first, after)?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let rows = repo::payouts_page(&mut conn, self.0.id, page.after_id()?, page.fetch_limit())
            .await
            .map_err(AppError::from)?;
        Ok(connection_from_rows(
            &page,
            rows,
            |r| Cursor::of_id(r.0),
            |(house_id, amount)| Payout { house_id, amount },
        ))
    }
}

/// One house's payout.
pub struct Payout {
    house_id: i64,
    amount: i64,
}

/// One house's payout.
#[Object]
impl Payout {
    /// The house.
    async fn house(&self, ctx: &Context<'_>) -> Result<Option<House>> {
        Ok(ctx
            .loaders()
            .house
            .load_one(self.house_id)
            .await?
            .map(House))
    }

    /// The amount, exact to the fen.
    async fn amount(&self) -> Money {
        Money(self.amount)
    }
}

/// What a statement import did.
#[derive(SimpleObject)]
pub struct ImportReport {
    /// Rows added.
    pub imported: i32,
    /// Rows already imported before (same reference and content), skipped.
    pub already_imported: i32,
    /// The account's balance afterwards.
    pub balance: Money,
}

/// A new account of an estate.
#[derive(InputObject)]
pub struct RegisterAccountInput {
    /// The estate.
    pub estate_id: ID,
    /// What it is.
    pub kind: AccountKind,
    /// Its name.
    pub name: String,
    /// The bank (bank accounts).
    pub bank: Option<String>,
    /// The full account number: only its masked form is kept.
    pub account_number: Option<String>,
    /// When it was opened.
    pub opened_on: Option<NaiveDate>,
    /// The three-party agreement's reference.
    pub agreement_ref: Option<String>,
    /// The owners' assembly's code.
    pub assembly_code: Option<String>,
}

/// A bank statement to import.
#[derive(InputObject)]
pub struct ImportBankStatementInput {
    /// The account.
    pub account_id: ID,
    /// CSV with the header `date,reference,counterparty,amount,currency,balance,memo` (see README).
    pub csv: String,
}

/// A manual public-income entry by the property manager.
#[derive(InputObject)]
pub struct RecordPublicIncomeInput {
    /// The public-income ledger.
    pub account_id: ID,
    /// The category.
    pub category: IncomeCategory,
    /// The quarter, e.g. "2026-Q1".
    pub period: String,
    /// Positive income, negative expense.
    pub amount: Money,
    /// The booking date.
    pub booked_on: NaiveDate,
    /// Who paid or was paid.
    pub counterparty: String,
    /// A note.
    #[graphql(default)]
    pub memo: String,
}

/// A reversal.
#[derive(InputObject)]
pub struct ReverseEntryInput {
    /// The entry to reverse.
    pub entry_id: ID,
    /// Why (kept with the reversal).
    pub reason: String,
}

/// A distribution of public income.
#[derive(InputObject)]
pub struct CreateDistributionInput {
    /// The passed ballot item that decided it.
    pub ballot_item_id: ID,
    /// The account paying it.
    pub account_id: ID,
    /// By area (default) or per household.
    #[graphql(default_with = "DistributionMethod::ByArea")]
    pub method: DistributionMethod,
    /// The total to divide.
    pub total: Option<Money>,
    /// For PER_HOUSEHOLD: a flat amount per household instead of a total.
    pub per_household: Option<Money>,
}

/// Masks all but the last four digits of an account number.
pub fn mask_account_number(n: &str) -> String {
    let digits: Vec<char> = n.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let tail: String = digits.iter().skip(digits.len().saturating_sub(4)).collect();
    format!("**** **** **** {tail}")
}

fn quarter(period: &str) -> AppResult<String> {
    let bad = || AppError::bad_input(format!("period {period:?} is not a quarter like 2026-Q1"));
    let (year, q) = period.trim().split_once("-Q").ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let q: u32 = q.parse().map_err(|_| bad())?;
    if !(2000..=2100).contains(&year) || !(1..=4).contains(&q) {
        return Err(bad());
    }
    Ok(format!("{year}-Q{q}"))
}

async fn writable_account(
    ctx: &Context<'_>,
    id: &ID,
) -> AppResult<(AccountRow, EstateRow, Recorder)> {
    let id = decode_id_of(NodeKind::Account, id)?;
    let mut conn = ctx.db().conn().await?;
    let account = repo::account(&mut conn, id).await?;
    drop(conn);
    let estate = readable_estate(ctx, account.estate_id).await?;
    let recorder = may_write(ctx, &estate, AccountKind::from_db(&account.kind)).await?;
    // A ledger is the company's own book: after a change of manager the new company (whose
    // staff may now read the estate) does not write into its predecessor's ledger.
    if let Some(holder) = account.holder_company_id {
        let manager = ctx.loaders().manager_of.load_one(estate.id).await?;
        if manager.map(|c| c.id) != Some(holder) {
            return Err(AppError::forbidden(
                "this public-income ledger is held by a company that no longer manages the estate",
            ));
        }
    }
    Ok((account, estate, recorder))
}

/// Who may write an account: the sitting committee (or a city administrator, for the bank
/// feed) writes bank accounts; the managing company's staff write the public-income ledger.
async fn may_write(
    ctx: &Context<'_>,
    estate: &EstateRow,
    kind: AccountKind,
) -> AppResult<Recorder> {
    let viewer: &Viewer = ctx.viewer()?;
    let recorder = Recorder {
        role: viewer.role.as_str(),
        subject: viewer.subject,
    };
    match (kind, viewer.role) {
        (AccountKind::PublicIncomeLedger, Role::PropertyManager)
            if viewer.can_read_estate(estate.place()) =>
        {
            Ok(recorder)
        }
        (AccountKind::CommonFund | AccountKind::MaintenanceFund, Role::CityAdmin) => Ok(recorder),
        (AccountKind::CommonFund | AccountKind::MaintenanceFund, Role::CommitteeMember) => {
            let mut conn = ctx.db().conn().await?;
            if crate::registry::repo::sits_on_committee_of(&mut conn, viewer.subject, estate.id)
                .await?
            {
                Ok(recorder)
            } else {
                Err(AppError::forbidden(
                    "only the estate's sitting committee keeps its accounts",
                ))
            }
        }
        (AccountKind::PublicIncomeLedger, _) => Err(AppError::forbidden(
            "the public-income ledger is kept by the company managing the estate",
        )),
        _ => Err(AppError::forbidden(
            "bank accounts are kept by the estate's committee (and the bank feed)",
        )),
    }
}

/// The accounts of an estate (used by `Estate.accounts`).
pub async fn estate_accounts(
    ctx: &Context<'_>,
    estate_id: i64,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<AccountConnection> {
    let page = Page::new(first, after)?;
    let rows = ctx
        .finance_loaders()
        .accounts
        .load_one(estate_id)
        .await?
        .unwrap_or_default();
    crate::graphql::relay::connection_from_slice(&page, &rows, |r| r.id, Account)
}

/// Finance mutations.
#[derive(Default)]
pub struct FinanceMutation;

#[Object]
impl FinanceMutation {
    /// Registers an account of an estate (committee or city admin for bank accounts; the
    /// managing company for a public-income ledger). One account of each kind per estate.
    async fn register_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account.")] input: RegisterAccountInput,
    ) -> Result<Account> {
        let estate_id = decode_id_of(NodeKind::Estate, &input.estate_id)?;
        let estate = readable_estate(ctx, estate_id).await?;
        may_write(ctx, &estate, input.kind).await?;
        let name = input.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::bad_input("the name must have 1 to 100 characters").into());
        }
        let holder = if input.kind == AccountKind::PublicIncomeLedger {
            ctx.loaders()
                .manager_of
                .load_one(estate_id)
                .await?
                .map(|c| c.id)
        } else {
            None
        };
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let id: i64 = diesel::insert_into(accounts::table)
            .values(NewAccount {
                estate_id,
                kind: input.kind.as_db(),
                name,
                bank: input.bank,
                account_number_masked: input.account_number.as_deref().map(mask_account_number),
                opened_on: input.opened_on,
                agreement_ref: input.agreement_ref,
                assembly_code: input.assembly_code,
                holder_company_id: holder,
                created_at: ctx.clock().now(),
            })
            .returning(accounts::id)
            .get_result(&mut *conn)
            .await
            .map_err(|e| {
                if crate::db::is_unique_violation(&e) {
                    AppError::Conflict("the estate already has an account of this kind".into())
                } else {
                    AppError::from(e)
                }
            })?;
        Ok(Account(repo::account(&mut conn, id).await?))
    }

    /// Imports a bank statement: idempotent by the bank's reference, checked row by row
    /// (dates, CNY, two decimals, balance continuity), all or nothing.
    async fn import_bank_statement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The statement.")] input: ImportBankStatementInput,
    ) -> Result<ImportReport> {
        let (account, _, recorder) = writable_account(ctx, &input.account_id).await?;
        if account.kind == "PUBLIC_INCOME_LEDGER" {
            return Err(AppError::bad_input(
                "a public-income ledger has no bank statement: record entries instead",
            )
            .into());
        }
        if input.csv.len() > 512 * 1024 {
            return Err(AppError::bad_input("a statement is at most 512 KiB: split it").into());
        }
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let outcome = repo::import_statement(
            &mut conn,
            account.id,
            &input.csv,
            recorder,
            ctx.clock().now(),
        )
        .await?;
        let after = repo::account(&mut conn, account.id).await?;
        drop(conn);
        if !outcome.imported.is_empty() {
            ctx.bus().publish(Event::AccountChanged {
                account_id: account.id,
                estate_id: account.estate_id,
            });
        }
        Ok(ImportReport {
            imported: outcome.imported.len() as i32,
            already_imported: outcome.already_imported.len() as i32,
            balance: Money(after.balance_fen),
        })
    }

    /// Records public income (or an expense, negative) in the property company's ledger.
    async fn record_public_income(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The entry.")] input: RecordPublicIncomeInput,
    ) -> Result<AccountEntry> {
        let (account, _, recorder) = writable_account(ctx, &input.account_id).await?;
        if account.kind != "PUBLIC_INCOME_LEDGER" {
            return Err(AppError::bad_input(
                "manual entries go to a public-income ledger; bank accounts are imported",
            )
            .into());
        }
        if input.amount.0 == 0 {
            return Err(AppError::bad_input("amount is zero").into());
        }
        let counterparty = input.counterparty.trim().to_string();
        if counterparty.is_empty() {
            return Err(AppError::bad_input("counterparty is required").into());
        }
        let draft = EntryDraft {
            booked_on: input.booked_on,
            reference: None,
            counterparty,
            amount: input.amount.0,
            bank_balance: None,
            memo: input.memo,
            category: Some(input.category.as_db().to_string()),
            period: Some(quarter(&input.period)?),
            source: "MANUAL",
            reverses: None,
            reason: None,
        };
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let id =
            repo::append_one(&mut conn, account.id, draft, recorder, ctx.clock().now()).await?;
        let row: EntryRow = account_entries::table
            .find(id)
            .first(&mut *conn)
            .await
            .map_err(AppError::from)?;
        drop(conn);
        ctx.bus().publish(Event::AccountChanged {
            account_id: account.id,
            estate_id: account.estate_id,
        });
        Ok(AccountEntry(row))
    }

    /// Reverses an entry with its reason: entries are never edited or deleted.
    async fn reverse_entry(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The entry and the reason.")] input: ReverseEntryInput,
    ) -> Result<AccountEntry> {
        let entry_id = decode_id_of(NodeKind::AccountEntry, &input.entry_id)?;
        if input.reason.trim().is_empty() {
            return Err(AppError::bad_input("a reversal needs its reason").into());
        }
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let original: Option<EntryRow> = account_entries::table
            .find(entry_id)
            .first(&mut *conn)
            .await
            .optional()
            .map_err(AppError::from)?;
        let original = original.ok_or_else(|| AppError::not_found("no such entry"))?;
        drop(conn);
        let (account, _, recorder) =
            writable_account(ctx, &global_id(NodeKind::Account, original.account_id)).await?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let id = repo::reverse(
            &mut conn,
            entry_id,
            input.reason.trim(),
            recorder,
            ctx.clock().now(),
        )
        .await?;
        let row: EntryRow = account_entries::table
            .find(id)
            .first(&mut *conn)
            .await
            .map_err(AppError::from)?;
        drop(conn);
        ctx.bus().publish(Event::AccountChanged {
            account_id: account.id,
            estate_id: account.estate_id,
        });
        Ok(AccountEntry(row))
    }

    /// Distributes public income after a passed ballot item (the estate's committee): payouts
    /// per house exact to the fen, the debit recorded on the account.
    async fn create_distribution(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The distribution.")] input: CreateDistributionInput,
    ) -> Result<Distribution> {
        let viewer = ctx.viewer()?;
        let item_id = decode_id_of(NodeKind::BallotItem, &input.ballot_item_id)?;
        let account_id = decode_id_of(NodeKind::Account, &input.account_id)?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let item: Option<(i64, String, Option<String>, String, String)> = ballot_items::table
            .inner_join(ballots::table)
            .filter(ballot_items::id.eq(item_id))
            .select((
                ballots::estate_id,
                ballots::state,
                ballot_items::outcome,
                ballot_items::kind,
                ballot_items::matter_type,
            ))
            .first(&mut *conn)
            .await
            .optional()
            .map_err(AppError::from)?;
        drop(conn);
        let (estate_id, state, outcome, kind, matter_type) =
            item.ok_or_else(|| AppError::not_found("no such ballot item"))?;
        let estate = readable_estate(ctx, estate_id).await?;
        if viewer.role != Role::CommitteeMember {
            return Err(
                AppError::forbidden("distributions are made by the estate's committee").into(),
            );
        }
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        if !crate::registry::repo::sits_on_committee_of(&mut conn, viewer.subject, estate.id)
            .await?
        {
            return Err(AppError::forbidden(
                "distributions are made by the estate's own sitting committee",
            )
            .into());
        }
        if kind != "MATTER" || state != "TALLIED" || outcome.as_deref() != Some("PASSED") {
            return Err(AppError::Conflict(
                "a distribution needs a passed ballot item (tallied, PASSED)".into(),
            )
            .into());
        }
        // How public income is distributed is an "other major matter" (Civil Code Art. 278(9));
        // a passed item of another kind (rules of procedure, the maintenance fund) decides
        // nothing about it.
        if matter_type != MatterType::OtherMajor.as_db() {
            return Err(AppError::Conflict(
                "a distribution needs a passed item on the distribution of public income \
                 (matter type OTHER_MAJOR)"
                    .into(),
            )
            .into());
        }
        let (split, amount) = match (input.method, input.total, input.per_household) {
            (DistributionMethod::ByArea, Some(t), None) => (Split::ByArea, Amount::Total(t.0)),
            (DistributionMethod::PerHousehold, Some(t), None) => {
                (Split::PerHousehold, Amount::Total(t.0))
            }
            (DistributionMethod::PerHousehold, None, Some(each)) => {
                (Split::PerHousehold, Amount::Each(each.0))
            }
            _ => {
                return Err(AppError::bad_input(
                    "give `total`, or `perHousehold` with method PER_HOUSEHOLD",
                )
                .into())
            }
        };
        if matches!(amount, Amount::Total(v) | Amount::Each(v) if v <= 0) {
            return Err(AppError::bad_input("the amount to distribute must be positive").into());
        }
        let recorder = Recorder {
            role: viewer.role.as_str(),
            subject: viewer.subject,
        };
        let distributed = repo::distribute(
            &mut conn,
            estate.id,
            item_id,
            account_id,
            split,
            amount,
            recorder,
            ctx.clock().now(),
        )
        .await?;
        let row: DistributionRow = distributions::table
            .find(distributed.distribution_id)
            .first(&mut *conn)
            .await
            .map_err(AppError::from)?;
        drop(conn);
        ctx.bus().publish(Event::AccountChanged {
            account_id,
            estate_id: estate.id,
        });
        ctx.bus().publish(Event::DisclosurePublished {
            estate_id: estate.id,
            disclosure_id: distributed.disclosure_id,
        });
        Ok(Distribution(row))
    }
}

/// Finance subscriptions.
#[derive(Default)]
pub struct FinanceSubscription;

#[async_graphql::Subscription]
impl FinanceSubscription {
    /// The account now, and again after each committed change (import, entry, reversal,
    /// distribution), to those allowed to read it.
    async fn account_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to follow.")] account_id: ID,
    ) -> Result<impl Stream<Item = Result<Account>>> {
        let id = decode_id_of(NodeKind::Account, &account_id)?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let account = repo::account(&mut conn, id).await?;
        drop(conn);
        readable_estate(ctx, account.estate_id).await?;
        let db = ctx.db().clone();
        let changes = ctx.bus().subscribe_all().filter_map(move |e| async move {
            match e {
                Some(Event::AccountChanged { account_id, .. }) if account_id == id => Some(()),
                None => Some(()),
                _ => None,
            }
        });
        Ok(futures_util::stream::once(async {})
            .chain(changes)
            .then(move |_| {
                let db = db.clone();
                async move {
                    let mut conn = db.conn().await.map_err(AppError::from)?;
                    Ok(Account(repo::account(&mut conn, id).await?))
                }
            }))
    }
}

/// Loaders of finances.
pub struct FinanceLoaders {
    pub accounts: async_graphql::dataloader::DataLoader<AccountsByEstate>,
}

impl FinanceLoaders {
    pub fn new(db: &crate::db::Db) -> Self {
        use async_graphql::dataloader::DataLoader;
        let delay = crate::registry::loaders::LOADER_DELAY;
        Self {
            accounts: DataLoader::new(AccountsByEstate(db.clone()), tokio::spawn).delay(delay),
        }
    }
}

/// The accounts of each estate.
pub struct AccountsByEstate(pub crate::db::Db);

impl async_graphql::dataloader::Loader<i64> for AccountsByEstate {
    type Value = Vec<AccountRow>;
    type Error = crate::registry::loaders::LoadError;

    async fn load(
        &self,
        keys: &[i64],
    ) -> std::result::Result<std::collections::HashMap<i64, Vec<AccountRow>>, Self::Error> {
        use crate::registry::loaders::load_error;
        let mut conn = self.0.conn().await.map_err(load_error)?;
        let rows = repo::accounts_for(&mut conn, keys)
            .await
            .map_err(load_error)?;
        let mut map: std::collections::HashMap<i64, Vec<AccountRow>> =
            std::collections::HashMap::new();
        for r in rows {
            map.entry(r.estate_id).or_default().push(r);
        }
        Ok(map)
    }
}

#[cfg(test)]
mod category_tests {
    use super::IncomeCategory;

    #[test]
    fn categories_match_the_statement_rules() {
        use async_graphql::resolver_utils::EnumType;
        let names: Vec<&str> = IncomeCategory::items()
            .iter()
            .map(|i| i.value.as_db())
            .collect();
        assert_eq!(names, super::super::rules::CATEGORIES);
    }
}
