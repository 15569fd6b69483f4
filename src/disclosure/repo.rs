//! Publishing disclosures (one estate's chain is appended under a lock on the estate row) and
//! generating statements from the accounts, never typed by hand.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::json;

use super::rules::{content_hash, genesis, DisclosureKind, Quarter};
use crate::db::schema::*;
use crate::db::{is_unique_violation, DbConnection};
use crate::error::AppError;
use crate::finance::model::{AccountRow, EntryRow};
use crate::finance::rules::{BookEffect, Books};
use crate::graphql::scalars::format_hundredths;

#[derive(Debug, Clone, Queryable)]
pub struct DisclosureRow {
    pub id: i64,
    pub estate_id: i64,
    pub chain_seq: i64,
    pub kind: String,
    pub title: String,
    pub period: Option<String>,
    pub content: String,
    pub content_hash: String,
    pub prev_hash: String,
    pub hash: String,
    pub published_at: NaiveDateTime,
    pub visible_until: Option<NaiveDateTime>,
    pub published_by_role: String,
    pub published_by_subject: i64,
    pub supersedes_id: Option<i64>,
}

/// What to publish.
#[derive(Debug, Clone)]
pub struct Publication {
    pub estate_id: i64,
    pub kind: DisclosureKind,
    pub title: String,
    pub period: Option<String>,
    pub content: String,
    pub visible_until: Option<NaiveDateTime>,
    pub supersedes: Option<i64>,
    pub role: String,
    pub subject: i64,
}

/// What a disclosure's chain link covers: everything published about it — its estate,
/// position, kind, title, period, content hash, publication time, visibility end, the
/// disclosure it corrects and who published it — so that none of it can change unnoticed.
struct Linked<'a> {
    estate_id: i64,
    seq: i64,
    kind: &'a str,
    title: &'a str,
    period: Option<&'a str>,
    content_hash: &'a str,
    published_at: NaiveDateTime,
    visible_until: Option<NaiveDateTime>,
    supersedes: Option<i64>,
    role: &'a str,
    subject: i64,
}

impl Linked<'_> {
    /// The link after `prev`.
    fn link(&self, prev: &str) -> String {
        crate::chain::link(
            prev,
            &[
                &self.estate_id.to_string(),
                &self.seq.to_string(),
                self.kind,
                self.title,
                self.period.unwrap_or(""),
                self.content_hash,
                &rfc3339(self.published_at),
                &self.visible_until.map(rfc3339).unwrap_or_default(),
                &self.supersedes.map(|s| s.to_string()).unwrap_or_default(),
                self.role,
                &self.subject.to_string(),
            ],
        )
    }
}

impl<'a> From<&'a DisclosureRow> for Linked<'a> {
    fn from(r: &'a DisclosureRow) -> Self {
        Linked {
            estate_id: r.estate_id,
            seq: r.chain_seq,
            kind: &r.kind,
            title: &r.title,
            period: r.period.as_deref(),
            content_hash: &r.content_hash,
            published_at: r.published_at,
            visible_until: r.visible_until,
            supersedes: r.supersedes_id,
            role: &r.published_by_role,
            subject: r.published_by_subject,
        }
    }
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Appends a disclosure to its estate's chain inside the caller's transaction.
pub async fn append(
    c: &mut DbConnection,
    p: &Publication,
    now: NaiveDateTime,
) -> Result<DisclosureRow, AppError> {
    // The estate row is the chain's lock.
    diesel::update(estates::table.find(p.estate_id))
        .set(estates::notice_days.eq(estates::notice_days))
        .execute(c)
        .await?;
    if let Some(old) = p.supersedes {
        let previous: Option<(i64, String)> = disclosures::table
            .find(old)
            .select((disclosures::estate_id, disclosures::kind))
            .first(c)
            .await
            .optional()?;
        match previous {
            Some((estate, kind)) if estate == p.estate_id && kind == p.kind.as_db() => {}
            _ => {
                return Err(AppError::bad_input(
                    "supersedesId must name an earlier disclosure of the same estate and kind",
                ))
            }
        }
    }
    let last: Option<(i64, String)> = disclosures::table
        .filter(disclosures::estate_id.eq(p.estate_id))
        .order(disclosures::chain_seq.desc())
        .select((disclosures::chain_seq, disclosures::hash))
        .first(c)
        .await
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, genesis(p.estate_id)),
    };
    let published_at = crate::db::truncate_micros(now);
    let c_hash = content_hash(&p.content);
    let visible_until = p.visible_until.map(crate::db::truncate_micros);
    let hash = Linked {
        estate_id: p.estate_id,
        seq,
        kind: p.kind.as_db(),
        title: &p.title,
        period: p.period.as_deref(),
        content_hash: &c_hash,
        published_at,
        visible_until,
        supersedes: p.supersedes,
        role: &p.role,
        subject: p.subject,
    }
    .link(&prev);
    let id: i64 = diesel::insert_into(disclosures::table)
        .values((
            disclosures::estate_id.eq(p.estate_id),
            disclosures::chain_seq.eq(seq),
            disclosures::kind.eq(p.kind.as_db()),
            disclosures::title.eq(&p.title),
            disclosures::period.eq(&p.period),
            disclosures::content.eq(&p.content),
            disclosures::content_hash.eq(&c_hash),
            disclosures::prev_hash.eq(&prev),
            disclosures::hash.eq(&hash),
            disclosures::published_at.eq(published_at),
            disclosures::visible_until.eq(visible_until),
            disclosures::published_by_role.eq(&p.role),
            disclosures::published_by_subject.eq(p.subject),
            disclosures::supersedes_id.eq(p.supersedes),
        ))
        .returning(disclosures::id)
        .get_result(c)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::Conflict("that disclosure has already been superseded".into())
            } else {
                AppError::from(e)
            }
        })?;
    Ok(disclosures::table.find(id).first(c).await?)
}

/// Publishes in its own transaction.
pub async fn publish(
    conn: &mut DbConnection,
    p: &Publication,
    now: NaiveDateTime,
) -> Result<DisclosureRow, AppError> {
    conn.transaction(async |c| append(c, p, now).await).await
}

/// Recomputes each estate's chain from its first disclosure: true where every link holds.
pub async fn chains_intact(
    conn: &mut DbConnection,
    estate_ids: &[i64],
) -> Result<HashMap<i64, bool>, AppError> {
    let rows: Vec<DisclosureRow> = disclosures::table
        .filter(disclosures::estate_id.eq_any(estate_ids))
        .order((disclosures::estate_id, disclosures::chain_seq))
        .load(conn)
        .await?;
    let by_estate = crate::registry::loaders::group(rows.into_iter().map(|r| (r.estate_id, r)));
    Ok(estate_ids
        .iter()
        .map(|e| {
            (
                *e,
                chain_holds(*e, by_estate.get(e).map_or(&[], Vec::as_slice)),
            )
        })
        .collect())
}

/// Whether one estate's disclosures, in chain order, link from the genesis to the last.
fn chain_holds(estate_id: i64, rows: &[DisclosureRow]) -> bool {
    let mut prev = genesis(estate_id);
    for (i, r) in rows.iter().enumerate() {
        // The link over the content as stored now, not over the hash stored beside it.
        let recomputed = content_hash(&r.content);
        let h = Linked {
            content_hash: &recomputed,
            ..Linked::from(r)
        }
        .link(&prev);
        if r.chain_seq != i as i64 + 1
            || r.prev_hash != prev
            || r.content_hash != recomputed
            || r.hash != h
        {
            return false;
        }
        prev = h;
    }
    true
}

async fn estate_accounts(
    c: &mut DbConnection,
    estate_id: i64,
) -> Result<Vec<AccountRow>, AppError> {
    Ok(accounts::table
        .filter(accounts::estate_id.eq(estate_id))
        .order(accounts::id)
        .load(c)
        .await?)
}

/// A statement's sum as Money; sums are taken in i128 so that no row can overflow them.
fn money(fen: i128) -> Result<String, AppError> {
    i64::try_from(fen)
        .map(format_hundredths)
        .map_err(|_| AppError::bad_input("the statement's totals are out of range"))
}

fn in_quarter(e: &EntryRow, q: Quarter) -> bool {
    match e.period.as_deref().and_then(Quarter::parse) {
        Some(p) => p == q,
        None => Quarter::of(e.booked_on) == q,
    }
}

/// A quarter's public income and expenses by category, from the estate's ledger and common
/// fund (never typed by hand).
pub async fn public_income_statement(
    c: &mut DbConnection,
    estate_id: i64,
    q: Quarter,
) -> Result<String, AppError> {
    let accounts: Vec<AccountRow> = estate_accounts(c, estate_id)
        .await?
        .into_iter()
        .filter(|a| a.kind != "MAINTENANCE_FUND")
        .collect();
    if accounts.is_empty() {
        return Err(AppError::bad_input(
            "the estate has no public-income account or ledger to state",
        ));
    }
    let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
    let entries: Vec<EntryRow> = account_entries::table
        .filter(account_entries::account_id.eq_any(&ids))
        .order(account_entries::id)
        .load(c)
        .await?;
    // The bank's row paying out a distribution is the debit already counted, not a second
    // expense; each account's books say which rows those are.
    let mut books: HashMap<i64, Books> = HashMap::new();
    let mut lines: BTreeMap<String, (i128, i128)> = BTreeMap::new();
    for e in &entries {
        let effect = books.entry(e.account_id).or_default().apply(
            &e.source,
            e.category.as_deref(),
            e.amount_fen,
            e.balance_fen,
        );
        if effect == BookEffect::SettlesDistribution || !in_quarter(e, q) {
            continue;
        }
        let category = e.category.clone().unwrap_or_else(|| "UNCLASSIFIED".into());
        let line = lines.entry(category).or_default();
        let amount = i128::from(e.amount_fen);
        // Money in is income and money out an expense, but a reversal nets against the side of
        // the entry it reverses (a refunded parking fee is less income, not an expense).
        let income_side = (amount >= 0) != e.reverses_entry_id.is_some();
        if income_side {
            line.0 += amount;
        } else {
            line.1 -= amount;
        }
    }
    let (income, expense) = lines.values().fold((0, 0), |a, l| (a.0 + l.0, a.1 + l.1));
    Ok(json!({
        "period": q.label(),
        "accounts": accounts.iter().map(|a| a.name.clone()).collect::<Vec<_>>(),
        "lines": lines.iter().map(|(k, (i, e))| Ok(json!({"category": k, "income": money(*i)?, "expense": money(*e)?}))).collect::<Result<Vec<_>, AppError>>()?,
        "totalIncome": money(income)?,
        "totalExpense": money(expense)?,
        "net": money(income - expense)?,
    })
    .to_string())
}

/// A quarter's statement of the estate's common-fund account.
pub async fn account_statement(
    c: &mut DbConnection,
    estate_id: i64,
    q: Quarter,
) -> Result<String, AppError> {
    let account = estate_accounts(c, estate_id)
        .await?
        .into_iter()
        .find(|a| a.kind == "COMMON_FUND")
        .ok_or_else(|| AppError::bad_input("the estate has no common-fund account"))?;
    let entries: Vec<EntryRow> = account_entries::table
        .filter(account_entries::account_id.eq(account.id))
        .order(account_entries::seq)
        .load(c)
        .await?;
    // Balances are the books' (the bank's less distributions it has not paid out yet), so
    // opening + in - out = closing; the bank's payout row of a distribution already debited is
    // not counted again.
    let mut books = Books::new(0);
    let (mut opening, mut closing, mut count) = (0i64, None, 0usize);
    let (mut pending_at_opening, mut pending_at_closing) = (0i64, None);
    let (mut money_in, mut money_out) = (0i128, 0i128);
    for e in &entries {
        let effect = books.apply(
            &e.source,
            e.category.as_deref(),
            e.amount_fen,
            e.balance_fen,
        );
        if e.booked_on < q.first_day() {
            opening = books.balance();
            pending_at_opening = books.pending();
        } else if Quarter::of(e.booked_on) == q {
            closing = Some(books.balance());
            pending_at_closing = Some(books.pending());
            count += 1;
            if effect != BookEffect::SettlesDistribution {
                if e.amount_fen > 0 {
                    money_in += i128::from(e.amount_fen);
                } else {
                    money_out -= i128::from(e.amount_fen);
                }
            }
        }
    }
    let closing = closing.unwrap_or(opening);
    let pending = pending_at_closing.unwrap_or(pending_at_opening);
    Ok(json!({
        "period": q.label(),
        "account": account.name,
        "bank": account.bank,
        "accountNumber": account.account_number_masked,
        "openingBalance": format_hundredths(opening),
        "in": money(money_in)?,
        "out": money(money_out)?,
        "closingBalance": format_hundredths(closing),
        "pendingDistributions": format_hundredths(pending),
        "entries": count,
    })
    .to_string())
}

/// The certified result of a ballot, published when it is tallied (inside the tally's
/// transaction).
pub async fn publish_ballot_result(
    c: &mut DbConnection,
    ballot_id: i64,
    now: NaiveDateTime,
) -> Result<DisclosureRow, AppError> {
    let (estate_id, title): (i64, String) = ballots::table
        .find(ballot_id)
        .select((ballots::estate_id, ballots::title))
        .first(c)
        .await?;
    let items: Vec<(i32, String, Option<String>, Option<String>)> = ballot_items::table
        .filter(ballot_items::ballot_id.eq(ballot_id))
        .order(ballot_items::position)
        .select((
            ballot_items::position,
            ballot_items::title,
            ballot_items::outcome,
            ballot_items::summary,
        ))
        .load(c)
        .await?;
    let content = json!({
        "ballotId": crate::graphql::relay::global_id(crate::graphql::relay::NodeKind::Ballot, ballot_id).0,
        "title": title,
        "items": items.iter().map(|(pos, t, o, s)| json!({"position": pos, "title": t, "outcome": o, "summary": s})).collect::<Vec<_>>(),
    })
    .to_string();
    append(
        c,
        &Publication {
            estate_id,
            kind: DisclosureKind::BallotResult,
            title: format!("表决结果：{title}"),
            period: None,
            content,
            visible_until: None,
            supersedes: None,
            role: "SYSTEM".into(),
            subject: 0,
        },
        now,
    )
    .await
}
