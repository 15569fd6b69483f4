//! Finance queries and the transactions that write money. Every write locks its account first
//! (an UPDATE on the account row), so concurrent writers append in order on both backends.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::model::*;
use super::rules::{
    parse_statement, split_largest_remainder, Books, StatementRow, PAYOUT_CATEGORY,
};
use crate::db::schema::*;
use crate::db::{is_unique_violation, DbConnection};
use crate::error::AppError;

type QResult<T> = Result<T, diesel::result::Error>;

pub async fn accounts_for(conn: &mut DbConnection, estate_ids: &[i64]) -> QResult<Vec<AccountRow>> {
    accounts::table
        .filter(accounts::estate_id.eq_any(estate_ids))
        .order(accounts::id)
        .load(conn)
        .await
}

pub async fn account(conn: &mut DbConnection, id: i64) -> Result<AccountRow, AppError> {
    accounts::table
        .find(id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("no such account"))
}

/// A page of an account's entries, newest first.
pub async fn entries_page(
    conn: &mut DbConnection,
    account_id: i64,
    before_id: i64,
    limit: i64,
) -> QResult<Vec<EntryRow>> {
    account_entries::table
        .filter(account_entries::account_id.eq(account_id))
        .filter(account_entries::id.lt(before_id))
        .order(account_entries::id.desc())
        .limit(limit)
        .load(conn)
        .await
}

pub async fn distributions_for_accounts(
    conn: &mut DbConnection,
    account_ids: &[i64],
) -> QResult<Vec<DistributionRow>> {
    distributions::table
        .filter(distributions::account_id.eq_any(account_ids))
        .order(distributions::id)
        .load(conn)
        .await
}

pub async fn payouts_page(
    conn: &mut DbConnection,
    distribution_id: i64,
    after_house: i64,
    limit: i64,
) -> QResult<Vec<(i64, i64)>> {
    payouts::table
        .filter(payouts::distribution_id.eq(distribution_id))
        .filter(payouts::house_id.gt(after_house))
        .order(payouts::house_id)
        .limit(limit)
        .select((payouts::house_id, payouts::amount_fen))
        .load(conn)
        .await
}

/// An entry to append; the sequence and running balance are filled in under the account's lock.
#[derive(Debug, Clone)]
pub struct EntryDraft {
    pub booked_on: NaiveDate,
    pub reference: Option<String>,
    pub counterparty: String,
    pub amount: i64,
    /// The bank's balance after the row (imports); computed for other entries.
    pub bank_balance: Option<i64>,
    pub memo: String,
    pub category: Option<String>,
    pub period: Option<String>,
    pub source: &'static str,
    pub reverses: Option<i64>,
    pub reason: Option<String>,
}

/// Who wrote an entry.
#[derive(Debug, Clone, Copy)]
pub struct Recorder {
    pub role: &'static str,
    pub subject: i64,
}

/// Claims the account's lock inside a transaction and returns it as it now stands.
async fn lock_account(c: &mut DbConnection, account_id: i64) -> Result<AccountRow, AppError> {
    let n = diesel::update(accounts::table.find(account_id))
        .set(accounts::entry_count.eq(accounts::entry_count))
        .execute(c)
        .await?;
    if n != 1 {
        return Err(AppError::not_found("no such account"));
    }
    Ok(accounts::table.find(account_id).first(c).await?)
}

/// Appends entries inside the caller's transaction, in order, keeping the running balance.
pub async fn append(
    c: &mut DbConnection,
    account: &AccountRow,
    drafts: &[EntryDraft],
    by: Recorder,
    now: NaiveDateTime,
) -> Result<Vec<i64>, AppError> {
    let mut balance = account.balance_fen;
    let mut seq = account.entry_count;
    let mut rows = Vec::new();
    for d in drafts {
        balance = match d.bank_balance {
            Some(b) => b,
            None => balance
                .checked_add(d.amount)
                .ok_or_else(|| AppError::bad_input("amount out of range"))?,
        };
        seq += 1;
        rows.push(NewEntry {
            account_id: account.id,
            seq,
            booked_on: d.booked_on,
            reference: d.reference.clone(),
            counterparty: d.counterparty.clone(),
            amount_fen: d.amount,
            balance_fen: balance,
            memo: d.memo.clone(),
            category: d.category.clone(),
            period: d.period.clone(),
            source: d.source,
            reverses_entry_id: d.reverses,
            reason: d.reason.clone(),
            recorded_by_role: by.role,
            recorded_by_subject: by.subject,
            created_at: now,
        });
    }
    crate::insert_all!(&mut *c, account_entries::table, &rows)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::Conflict(
                    "an entry with this reference already exists on the account".into(),
                )
            } else {
                AppError::from(e)
            }
        })?;
    diesel::update(accounts::table.find(account.id))
        .set((
            accounts::balance_fen.eq(balance),
            accounts::entry_count.eq(seq),
        ))
        .execute(c)
        .await?;
    Ok(account_entries::table
        .filter(account_entries::account_id.eq(account.id))
        .filter(account_entries::seq.gt(account.entry_count))
        .order(account_entries::seq)
        .select(account_entries::id)
        .load(c)
        .await?)
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportOutcome {
    pub imported: Vec<StatementRow>,
    pub already_imported: Vec<StatementRow>,
}

/// Imports a bank statement, all or nothing. Rows whose reference was imported before with the
/// same content are skipped (so re-importing adds nothing); the same reference with other
/// content is refused; new rows must continue the account's balance.
pub async fn import_statement(
    conn: &mut DbConnection,
    account_id: i64,
    csv: &str,
    by: Recorder,
    now: NaiveDateTime,
) -> Result<ImportOutcome, AppError> {
    let rows = parse_statement(csv, None).map_err(AppError::BadUserInput)?;
    conn.transaction(async |c| {
        let account = lock_account(c, account_id).await?;
        let references: Vec<String> = rows.iter().map(|r| r.reference.clone()).collect();
        let existing: Vec<EntryRow> = account_entries::table
            .filter(account_entries::account_id.eq(account_id))
            .filter(account_entries::reference.eq_any(&references))
            .load(c)
            .await?;
        let mut outcome = ImportOutcome::default();
        for r in &rows {
            match existing.iter().find(|e| e.reference.as_deref() == Some(r.reference.as_str())) {
                Some(e) => {
                    let same = e.booked_on == r.date && e.amount_fen == r.amount && e.balance_fen == r.balance && e.counterparty == r.counterparty && e.memo == r.memo;
                    if !same {
                        return Err(AppError::bad_input(format!(
                            "line {}: reference {} was imported before with different content",
                            r.line, r.reference
                        )));
                    }
                    if !outcome.imported.is_empty() {
                        return Err(AppError::bad_input(format!(
                            "line {}: reference {} was imported before, but follows new rows: a statement continues the account in order",
                            r.line, r.reference
                        )));
                    }
                    outcome.already_imported.push(r.clone());
                }
                None => outcome.imported.push(r.clone()),
            }
        }
        if let Some(first) = outcome.imported.first() {
            // A statement continues the bank's own balance after its last imported row, not the
            // running balance: a distribution booked since is provisional until the bank's row
            // for it arrives, and the bank's balance then stands.
            let last_bank_balance: Option<i64> = account_entries::table
                .filter(account_entries::account_id.eq(account.id))
                .filter(account_entries::source.eq("BANK_IMPORT"))
                .order(account_entries::seq.desc())
                .select(account_entries::balance_fen)
                .first(c)
                .await
                .optional()?;
            let stands_at = last_bank_balance
                .or((account.entry_count > 0).then_some(account.balance_fen));
            let continues_from = first.balance.checked_sub(first.amount).ok_or_else(|| {
                AppError::bad_input(format!("line {}: amount or balance out of range", first.line))
            })?;
            if let Some(stands_at) = stands_at.filter(|b| *b != continues_from) {
                return Err(AppError::bad_input(format!(
                    "line {}: balance break: the account stands at {}, the statement continues from {}",
                    first.line,
                    crate::graphql::scalars::format_hundredths(stands_at),
                    crate::graphql::scalars::format_hundredths(continues_from)
                )));
            }
            let drafts: Vec<EntryDraft> = outcome
                .imported
                .iter()
                .map(|r| EntryDraft {
                    booked_on: r.date,
                    reference: Some(r.reference.clone()),
                    counterparty: r.counterparty.clone(),
                    amount: r.amount,
                    bank_balance: Some(r.balance),
                    memo: r.memo.clone(),
                    category: r.category.clone(),
                    period: None,
                    source: "BANK_IMPORT",
                    reverses: None,
                    reason: None,
                })
                .collect();
            // The books stand at the bank's new balance less the distributions it has not paid
            // out yet (which the new rows may settle).
            let mut books = open_books(c, account.id).await?;
            for r in &outcome.imported {
                if r.category.as_deref() == Some(PAYOUT_CATEGORY) && -r.amount > books.pending() {
                    return Err(AppError::bad_input(format!(
                        "line {}: a payout of {} marked {PAYOUT_CATEGORY}, but only {} of distributions await payment",
                        r.line,
                        crate::graphql::scalars::format_hundredths(-r.amount),
                        crate::graphql::scalars::format_hundredths(books.pending())
                    )));
                }
                books.apply("BANK_IMPORT", r.category.as_deref(), r.amount, r.balance);
            }
            append(c, &account, &drafts, by, now).await?;
            diesel::update(accounts::table.find(account.id))
                .set(accounts::balance_fen.eq(books.balance()))
                .execute(c)
                .await?;
        }
        Ok(outcome)
    })
    .await
}

/// The account's books as far as distributions are concerned: only the entries that can open or
/// settle a distribution debit are read (its debits and the bank's outgoing rows), so the
/// balance is set by the next bank row applied.
async fn open_books(c: &mut DbConnection, account_id: i64) -> Result<Books, AppError> {
    let entries: Vec<(String, Option<String>, i64, i64)> = account_entries::table
        .filter(account_entries::account_id.eq(account_id))
        .filter(
            account_entries::source
                .eq("DISTRIBUTION")
                .or(account_entries::source
                    .eq("BANK_IMPORT")
                    .and(account_entries::amount_fen.lt(0))),
        )
        .order(account_entries::seq)
        .select((
            account_entries::source,
            account_entries::category,
            account_entries::amount_fen,
            account_entries::balance_fen,
        ))
        .load(c)
        .await?;
    let mut books = Books::new(0);
    for (source, category, amount, balance) in &entries {
        books.apply(source, category.as_deref(), *amount, *balance);
    }
    Ok(books)
}

/// Appends one entry in its own transaction; returns its id.
pub async fn append_one(
    conn: &mut DbConnection,
    account_id: i64,
    draft: EntryDraft,
    by: Recorder,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    conn.transaction(async |c| {
        let account = lock_account(c, account_id).await?;
        let ids = append(c, &account, std::slice::from_ref(&draft), by, now).await?;
        ids.first()
            .copied()
            .ok_or_else(|| AppError::Internal("entry not written".into()))
    })
    .await
}

/// Reverses an entry with a reason (once).
pub async fn reverse(
    conn: &mut DbConnection,
    entry_id: i64,
    reason: &str,
    by: Recorder,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    conn.transaction(async |c| {
        let original: EntryRow = account_entries::table
            .find(entry_id)
            .first(c)
            .await
            .optional()?
            .ok_or_else(|| AppError::not_found("no such entry"))?;
        match original.source.as_str() {
            "REVERSAL" => {
                return Err(AppError::Conflict(
                    "a reversal is not reversed: record a new entry instead".into(),
                ))
            }
            // The bank's statement is the record of a bank account: its rows are corrected by
            // the bank's own later rows, which the next import brings.
            "BANK_IMPORT" => {
                return Err(AppError::Conflict(
                    "a bank statement row is corrected by the bank, in a later statement".into(),
                ))
            }
            // Reversing the debit would leave the payouts and their disclosure standing.
            "DISTRIBUTION" => {
                return Err(AppError::Conflict(
                    "a distribution's debit is not reversed: its payouts stand once made".into(),
                ))
            }
            _ => {}
        }
        let account = lock_account(c, original.account_id).await?;
        let already: i64 = account_entries::table
            .filter(account_entries::reverses_entry_id.eq(entry_id))
            .count()
            .get_result(c)
            .await?;
        if already > 0 {
            return Err(AppError::Conflict(
                "this entry has already been reversed".into(),
            ));
        }
        let draft = EntryDraft {
            booked_on: now.date(),
            reference: None,
            counterparty: original.counterparty.clone(),
            amount: -original.amount_fen,
            bank_balance: None,
            memo: format!("冲正 #{}: {}", original.seq, original.memo),
            category: original.category.clone(),
            period: original.period.clone(),
            source: "REVERSAL",
            reverses: Some(entry_id),
            reason: Some(reason.to_string()),
        };
        let ids = append(c, &account, &[draft], by, now).await?;
        ids.first()
            .copied()
            .ok_or_else(|| AppError::Internal("reversal not written".into()))
    })
    .await
}

/// How a distribution divides the money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// By each house's share of the exclusive area (Civil Code Art. 283).
    ByArea,
    /// Equal shares per household (residential house).
    PerHousehold,
}

/// How much a distribution pays out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// A total in fen, divided by the split.
    Total(i64),
    /// So many fen to each recipient (the total follows from the recipients counted in the
    /// distribution's own transaction, so each is paid exactly this).
    Each(i64),
}

/// Creates a distribution tied to a passed ballot item: payouts per house exact to the fen, the
/// debit on the account, all in one transaction. Returns the distribution id.
#[allow(clippy::too_many_arguments)]
pub async fn distribute(
    conn: &mut DbConnection,
    estate_id: i64,
    item_id: i64,
    account_id: i64,
    split: Split,
    amount: Amount,
    by: Recorder,
    now: NaiveDateTime,
) -> Result<Distributed, AppError> {
    conn.transaction(async |c| {
        let account = lock_account(c, account_id).await?;
        if account.estate_id != estate_id {
            return Err(AppError::bad_input("the account belongs to another estate"));
        }
        if account.kind == "MAINTENANCE_FUND" {
            return Err(AppError::bad_input(
                "public income is not paid out of the maintenance fund",
            ));
        }
        let houses: Vec<(i64, String, i64)> = houses::table
            .filter(houses::estate_id.eq(estate_id))
            .order(houses::id)
            .select((houses::id, houses::usage, houses::area_centi))
            .load(c)
            .await?;
        let recipients: Vec<(i64, i64)> = match split {
            Split::ByArea => houses.iter().map(|(id, _, area)| (*id, *area)).collect(),
            Split::PerHousehold => houses
                .iter()
                .filter(|(_, usage, _)| usage == "RESIDENTIAL")
                .map(|(id, _, _)| (*id, 1))
                .collect(),
        };
        if recipients.is_empty() {
            return Err(AppError::Conflict("the estate has no houses to pay".into()));
        }
        let total = match amount {
            Amount::Total(total) => total,
            Amount::Each(each) => i64::try_from(recipients.len())
                .ok()
                .and_then(|n| each.checked_mul(n))
                .ok_or_else(|| AppError::bad_input("amount out of range"))?,
        };
        // The book balance: distributions the bank has not paid out yet are already deducted.
        if total > account.balance_fen {
            return Err(AppError::Conflict(format!(
                "the account holds {} not yet committed, less than the {} to distribute",
                crate::graphql::scalars::format_hundredths(account.balance_fen),
                crate::graphql::scalars::format_hundredths(total)
            )));
        }
        let already: i64 = distributions::table
            .filter(distributions::ballot_item_id.eq(item_id))
            .count()
            .get_result(c)
            .await?;
        if already > 0 {
            return Err(AppError::Conflict(
                "this ballot item has already been distributed".into(),
            ));
        }
        let weights: Vec<i64> = recipients.iter().map(|r| r.1).collect();
        let shares = split_largest_remainder(total, &weights);
        let debit = EntryDraft {
            booked_on: now.date(),
            reference: None,
            counterparty: "全体业主".into(),
            amount: -total,
            bank_balance: None,
            memo: format!("公共收益分配（表决事项 #{item_id}）"),
            category: Some("DISTRIBUTION".into()),
            period: None,
            source: "DISTRIBUTION",
            reverses: None,
            reason: None,
        };
        let entry_id = append(c, &account, &[debit], by, now)
            .await?
            .first()
            .copied()
            .ok_or_else(|| AppError::Internal("debit not written".into()))?;
        let distribution_id: i64 = diesel::insert_into(distributions::table)
            .values(NewDistribution {
                estate_id,
                ballot_item_id: item_id,
                account_id,
                method: match split {
                    Split::ByArea => "BY_AREA",
                    Split::PerHousehold => "PER_HOUSEHOLD",
                },
                total_fen: total,
                households: recipients.len() as i64,
                entry_id,
                created_by: by.subject,
                created_at: now,
            })
            .returning(distributions::id)
            .get_result(c)
            .await
            .map_err(|e| {
                // Two committee members distributing the same item at once, from two accounts.
                if is_unique_violation(&e) {
                    AppError::Conflict("this ballot item has already been distributed".into())
                } else {
                    AppError::from(e)
                }
            })?;
        let payouts_rows: Vec<NewPayout> = recipients
            .iter()
            .zip(shares)
            .map(|((house_id, _), amount_fen)| NewPayout {
                distribution_id,
                house_id: *house_id,
                amount_fen,
            })
            .collect();
        crate::insert_all!(&mut *c, payouts::table, &payouts_rows).await?;
        // The distribution is disclosed in the same transaction.
        let (min, max) = payouts_rows.iter().fold((i64::MAX, 0), |(lo, hi), p| (lo.min(p.amount_fen), hi.max(p.amount_fen)));
        let content = serde_json::json!({
            "ballotItemId": crate::graphql::relay::global_id(crate::graphql::relay::NodeKind::BallotItem, item_id).0,
            "account": account.name,
            "method": match split { Split::ByArea => "BY_AREA", Split::PerHousehold => "PER_HOUSEHOLD" },
            "total": crate::graphql::scalars::format_hundredths(total),
            "recipients": payouts_rows.len(),
            "smallestPayout": crate::graphql::scalars::format_hundredths(min),
            "largestPayout": crate::graphql::scalars::format_hundredths(max),
        })
        .to_string();
        let disclosure = crate::disclosure::repo::append(
            c,
            &crate::disclosure::repo::Publication {
                estate_id,
                kind: crate::disclosure::rules::DisclosureKind::Distribution,
                title: format!("公共收益分配：{}元", crate::graphql::scalars::format_hundredths(total)),
                period: None,
                content,
                visible_until: None,
                supersedes: None,
                role: by.role.to_string(),
                subject: by.subject,
            },
            now,
        )
        .await?;
        Ok(Distributed {
            distribution_id,
            disclosure_id: disclosure.id,
        })
    })
    .await
}

/// What a distribution wrote: the distribution and its disclosure.
pub struct Distributed {
    pub distribution_id: i64,
    pub disclosure_id: i64,
}
