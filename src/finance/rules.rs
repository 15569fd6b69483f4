//! Pure rules of money: bank statements checked row by row, and payouts split to the fen so that
//! they sum exactly to the total (largest remainder).

use chrono::NaiveDate;

use crate::graphql::scalars::parse_hundredths;

/// Splits `total` fen in proportion to `weights` (e.g. exclusive areas in hundredths of m²):
/// everyone gets the floor of their exact share, and the fen left over go one each to the
/// largest remainders (ties to the earlier entry), so the payouts sum exactly to the total.
/// Exact in i128; an empty or all-zero weight list gets nothing.
pub fn split_largest_remainder(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| *w as i128).sum();
    if sum <= 0 || total <= 0 {
        return vec![0; weights.len()];
    }
    let total = total as i128;
    let mut shares: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = total * (*w as i128);
        shares.push((exact / sum) as i64);
        remainders.push((exact % sum, i));
    }
    let given: i128 = shares.iter().map(|s| *s as i128).sum();
    let mut left = (total - given) as usize;
    // Largest remainder first; on equal remainders the earlier entry wins.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
}

/// What one entry does to the books.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookEffect {
    /// A row of the bank's statement that moves money.
    BankRow,
    /// A row of the bank's statement that pays out a distribution already debited in the books:
    /// it moves the bank's balance but not the book balance, and is not counted a second time.
    SettlesDistribution,
    /// Any other entry (a distribution's debit, a manual entry, a reversal).
    Booked,
}

/// An account as the books see it, entry by entry in the order they were written.
///
/// A bank account's rows carry the bank's own balance, but a distribution is debited in the
/// books when the committee decides it, before the bank pays it out. Until the bank's row for the
/// payout arrives the money is committed, so the book balance is the bank's balance less the
/// open distribution debits; without this, the next import (interest, say) would put the
/// committed money back and let it be distributed twice. The bank's payout is recognised as the
/// first outgoing row of exactly the debit's amount that follows it (oldest debit first), or as
/// outgoing rows the committee marks with the category [`PAYOUT_CATEGORY`] (a bank that pays
/// each household in its own row), which settle the oldest open debits by their amount.
#[derive(Debug, Clone, Default)]
pub struct Books {
    balance: i64,
    open_debits: Vec<i64>,
}

impl Books {
    /// Books that stand at `balance` with no distribution awaiting the bank.
    pub fn new(balance: i64) -> Self {
        Books {
            balance,
            open_debits: Vec::new(),
        }
    }

    /// Applies one entry: its source (`BANK_IMPORT`, `DISTRIBUTION`, …), its signed amount and
    /// the balance stored with it (the bank's for bank rows, the books' for the others).
    pub fn apply(
        &mut self,
        source: &str,
        category: Option<&str>,
        amount: i64,
        stored_balance: i64,
    ) -> BookEffect {
        match source {
            "BANK_IMPORT" => {
                let exact = self.open_debits.iter().position(|d| *d == amount);
                let effect = match exact {
                    Some(i) if amount < 0 => {
                        self.open_debits.remove(i);
                        BookEffect::SettlesDistribution
                    }
                    _ if amount < 0 && category == Some(PAYOUT_CATEGORY) => {
                        let mut left = -amount;
                        for d in &mut self.open_debits {
                            let take = left.min(-*d);
                            *d += take;
                            left -= take;
                        }
                        self.open_debits.retain(|d| *d != 0);
                        BookEffect::SettlesDistribution
                    }
                    _ => BookEffect::BankRow,
                };
                self.balance = stored_balance.saturating_sub(self.pending());
                effect
            }
            "DISTRIBUTION" => {
                self.open_debits.push(amount);
                self.balance = stored_balance;
                BookEffect::Booked
            }
            _ => {
                self.balance = stored_balance;
                BookEffect::Booked
            }
        }
    }

    /// The book balance: what the account holds less what it has committed.
    pub fn balance(&self) -> i64 {
        self.balance
    }

    /// Distributions debited in the books that the bank has not yet paid out, in fen (positive).
    pub fn pending(&self) -> i64 {
        self.open_debits
            .iter()
            .fold(0i64, |sum, d| sum.saturating_sub(*d))
    }
}

/// One row of a bank statement, as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    /// 1-based line in the file (the header is line 1).
    pub line: usize,
    pub date: NaiveDate,
    pub reference: String,
    pub counterparty: String,
    /// Fen; negative for money going out.
    pub amount: i64,
    /// The balance after this row, in fen.
    pub balance: i64,
    pub memo: String,
    /// The public-income category the committee gives the row (one of [`CATEGORIES`]), if any.
    pub category: Option<String>,
}

/// The columns a statement must have, in this order.
pub const STATEMENT_HEADER: &str = "date,reference,counterparty,amount,currency,balance,memo";

/// The same with the optional last column that classifies each row for the public-income
/// statements (a bank knows nothing of parking or advertising; the committee does).
pub const STATEMENT_HEADER_WITH_CATEGORY: &str =
    "date,reference,counterparty,amount,currency,balance,memo,category";

/// The categories of public income, as stored (the GraphQL enum `IncomeCategory`).
pub const CATEGORIES: [&str; 5] = [
    "PARKING",
    "ADVERTISING",
    "VENUE_RENTAL",
    "ELEVATOR_ADVERTISING",
    "OTHER",
];

/// The category that marks a bank row as (part of) the payout of a distribution already debited
/// in the books; it is also the category of the debit itself.
pub const PAYOUT_CATEGORY: &str = "DISTRIBUTION";

/// Splits one CSV line into fields: commas separate, double quotes enclose fields that contain
/// commas or quotes ("" is a quote inside them).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') => {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err("text after a closing quote".into());
                    }
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            (_, c) => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("an unclosed quote".into());
    }
    fields.push(field);
    Ok(fields)
}

/// Parses and checks a statement: the header, every field, CNY only, at most two decimals, and
/// balance continuity (each balance equals the previous one plus the row's amount, the first
/// one continuing `opening_balance` when given). Errors name the line and the field.
pub fn parse_statement(
    csv: &str,
    opening_balance: Option<i64>,
) -> Result<Vec<StatementRow>, String> {
    let mut lines = csv
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err("the statement is empty".into());
    };
    let header = header
        .trim_start_matches('\u{feff}')
        .trim()
        .replace(' ', "")
        .to_lowercase();
    let columns = match header.as_str() {
        STATEMENT_HEADER => 7,
        STATEMENT_HEADER_WITH_CATEGORY => 8,
        _ => {
            return Err(format!(
                "line 1: the header must be `{STATEMENT_HEADER}` (or with `,category` at the end)"
            ))
        }
    };
    let mut rows = Vec::new();
    let mut previous = opening_balance;
    for (index, raw) in lines {
        let line = index + 1;
        let fields =
            csv_fields(raw.trim_end_matches('\r')).map_err(|e| format!("line {line}: {e}"))?;
        if fields.len() != columns {
            return Err(format!(
                "line {line}: expected {columns} fields, found {}",
                fields.len()
            ));
        }
        let f = |i: usize| fields[i].trim();
        let date = NaiveDate::parse_from_str(f(0), "%Y-%m-%d")
            .map_err(|_| format!("line {line}: date {:?} is not a date like 2026-03-31", f(0)))?;
        let reference = f(1).to_string();
        if reference.is_empty() || reference.chars().count() > 64 {
            return Err(format!(
                "line {line}: reference must have 1 to 64 characters"
            ));
        }
        let currency = f(4);
        if currency != "CNY" {
            return Err(format!("line {line}: currency {currency:?} is not CNY"));
        }
        let amount = parse_hundredths(f(3)).map_err(|e| format!("line {line}: amount: {e}"))?;
        if amount == 0 {
            return Err(format!("line {line}: amount is zero"));
        }
        let balance = parse_hundredths(f(5)).map_err(|e| format!("line {line}: balance: {e}"))?;
        if let Some(prev) = previous {
            let expected = prev
                .checked_add(amount)
                .ok_or_else(|| format!("line {line}: amount out of range"))?;
            if balance != expected {
                return Err(format!(
                    "line {line}: balance break: {} + {} should give {}, the statement says {}",
                    crate::graphql::scalars::format_hundredths(prev),
                    crate::graphql::scalars::format_hundredths(amount),
                    crate::graphql::scalars::format_hundredths(expected),
                    crate::graphql::scalars::format_hundredths(balance)
                ));
            }
        }
        let category = match fields.get(7).map(|c| c.trim()) {
            None | Some("") => None,
            Some(c) if CATEGORIES.contains(&c) => Some(c.to_string()),
            Some(PAYOUT_CATEGORY) if amount < 0 => Some(PAYOUT_CATEGORY.to_string()),
            Some(PAYOUT_CATEGORY) => {
                return Err(format!(
                    "line {line}: category {PAYOUT_CATEGORY} marks a payout: its amount must be negative"
                ))
            }
            Some(c) => {
                return Err(format!(
                    "line {line}: category {c:?} is not one of {}, {PAYOUT_CATEGORY}",
                    CATEGORIES.join(", ")
                ))
            }
        };
        previous = Some(balance);
        rows.push(StatementRow {
            line,
            date,
            reference,
            counterparty: f(2).to_string(),
            amount,
            balance,
            memo: f(6).to_string(),
            category,
        });
    }
    let mut seen = std::collections::HashSet::new();
    for r in &rows {
        if !seen.insert(&r.reference) {
            return Err(format!(
                "line {}: reference {} appears twice in the statement",
                r.line, r.reference
            ));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_distribution_stays_committed_until_the_bank_pays_it_out() {
        let mut books = Books::new(0);
        assert_eq!(
            books.apply("BANK_IMPORT", None, 100_000, 100_000),
            BookEffect::BankRow
        );
        // The committee distributes 60,000: the books hold 40,000 at once.
        assert_eq!(
            books.apply("DISTRIBUTION", None, -60_000, 40_000),
            BookEffect::Booked
        );
        assert_eq!((books.balance(), books.pending()), (40_000, 60_000));
        // Interest arrives before the payout: the bank says 100,500, the books 40,500.
        assert_eq!(
            books.apply("BANK_IMPORT", None, 500, 100_500),
            BookEffect::BankRow
        );
        assert_eq!(books.balance(), 40_500);
        // An outgoing row of another amount is not the payout.
        assert_eq!(
            books.apply("BANK_IMPORT", None, -500, 100_000),
            BookEffect::BankRow
        );
        assert_eq!(books.balance(), 40_000);
        // The payout itself moves the bank, not the books.
        assert_eq!(
            books.apply("BANK_IMPORT", None, -60_000, 40_000),
            BookEffect::SettlesDistribution
        );
        assert_eq!((books.balance(), books.pending()), (40_000, 0));
        // A second row of the same amount is an ordinary payment.
        assert_eq!(
            books.apply("BANK_IMPORT", None, -60_000, -20_000),
            BookEffect::BankRow
        );
        assert_eq!(books.balance(), -20_000);
    }

    #[test]
    fn the_oldest_of_equal_distributions_is_settled_first_and_an_income_row_settles_none() {
        let mut books = Books::new(10_000);
        books.apply("DISTRIBUTION", None, -1_000, 9_000);
        books.apply("DISTRIBUTION", None, -1_000, 8_000);
        assert_eq!(
            books.apply("BANK_IMPORT", None, 1_000, 11_000),
            BookEffect::BankRow
        );
        assert_eq!((books.balance(), books.pending()), (9_000, 2_000));
        assert_eq!(
            books.apply("BANK_IMPORT", None, -1_000, 10_000),
            BookEffect::SettlesDistribution
        );
        assert_eq!((books.balance(), books.pending()), (9_000, 1_000));
    }

    #[test]
    fn rows_marked_as_payouts_settle_the_oldest_debits_by_their_amount() {
        let mut books = Books::new(10_000);
        books.apply("DISTRIBUTION", None, -3_000, 7_000);
        books.apply("DISTRIBUTION", None, -2_000, 5_000);
        // One household's payout of 500, then 2,700 across both debits.
        let payout = Some(PAYOUT_CATEGORY);
        assert_eq!(
            books.apply("BANK_IMPORT", payout, -500, 9_500),
            BookEffect::SettlesDistribution
        );
        assert_eq!((books.balance(), books.pending()), (5_000, 4_500));
        books.apply("BANK_IMPORT", payout, -2_700, 6_800);
        assert_eq!((books.balance(), books.pending()), (5_000, 1_800));
        // An unmarked row of another amount is ordinary money going out.
        assert_eq!(
            books.apply("BANK_IMPORT", None, -800, 6_000),
            BookEffect::BankRow
        );
        assert_eq!((books.balance(), books.pending()), (4_200, 1_800));
    }

    #[test]
    fn payouts_sum_exactly_to_the_total() {
        // 逸景公馆: 420,000.00 yuan to 842 households, 500 each would be 421,000; the flat
        // amount is separate — here the same total split evenly.
        let shares = split_largest_remainder(42_000_000, &vec![1; 842]);
        assert_eq!(shares.iter().sum::<i64>(), 42_000_000);
        let (min, max) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
        assert!(max - min <= 1);
        // Awkward totals by area.
        let areas = [8950, 12386, 9181, 13651, 7033];
        for total in [1, 2, 99, 10_000, 3_333_333, 100_000_001] {
            let s = split_largest_remainder(total, &areas);
            assert_eq!(s.iter().sum::<i64>(), total, "{total}");
            let sum: i128 = areas.iter().map(|a| *a as i128).sum();
            for (share, area) in s.iter().zip(areas) {
                let exact = total as i128 * area as i128;
                assert!(
                    (*share as i128) * sum <= exact + sum && (*share as i128) * sum + sum >= exact,
                    "{share} of {total}"
                );
            }
        }
        // One fen among three equal shares goes to the first.
        assert_eq!(split_largest_remainder(1, &[1, 1, 1]), vec![1, 0, 0]);
        assert_eq!(split_largest_remainder(2, &[1, 1, 1]), vec![1, 1, 0]);
        assert_eq!(split_largest_remainder(100, &[]), Vec::<i64>::new());
        assert_eq!(split_largest_remainder(100, &[0, 0]), vec![0, 0]);
    }

    const HEADER: &str = "date,reference,counterparty,amount,currency,balance,memo\n";

    #[test]
    fn a_good_statement_parses() {
        let csv = format!("{HEADER}2026-01-05,B001,青岛停车管理有限公司,12000.50,CNY,112000.50,\"停车费, 12月\"\n2026-01-09,B002,业委会办公,-300,CNY,111700.50,办公用品\n");
        let rows = parse_statement(&csv, Some(10_000_000)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].amount, 1_200_050);
        assert_eq!(rows[0].memo, "停车费, 12月");
        assert_eq!(rows[1].balance, 11_170_050);
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn rows_may_carry_a_category() {
        let csv = format!("{STATEMENT_HEADER_WITH_CATEGORY}\n2026-01-05,B1,停车公司,10.00,CNY,10.00,停车费,PARKING\n2026-01-06,B2,银行,-1.00,CNY,9.00,手续费,\n");
        let rows = parse_statement(&csv, None).unwrap();
        assert_eq!(rows[0].category.as_deref(), Some("PARKING"));
        assert_eq!(rows[1].category, None);
        let csv = format!(
            "{STATEMENT_HEADER_WITH_CATEGORY}\n2026-01-05,B1,x,10.00,CNY,10.00,m,CAR_WASH\n"
        );
        let e = parse_statement(&csv, None).unwrap_err();
        assert!(e.contains("line 2: category \"CAR_WASH\""), "{e}");
        // Without the column in the header, an eighth field is an error.
        let csv = format!("{STATEMENT_HEADER}\n2026-01-05,B1,x,10.00,CNY,10.00,m,PARKING\n");
        assert!(parse_statement(&csv, None)
            .unwrap_err()
            .contains("expected 7 fields"));
    }

    #[test]
    fn bad_statements_name_the_line_and_field() {
        let bad = |body: &str, opening: Option<i64>| {
            parse_statement(&format!("{HEADER}{body}"), opening).unwrap_err()
        };
        assert!(bad("2026-01-05,B1,x,1.234,CNY,1.23,m\n", None).contains("line 2: amount"));
        assert!(
            bad("2026-01-05,B1,x,1.00,USD,1.00,m\n", None).contains("currency \"USD\" is not CNY")
        );
        assert!(bad("2026-13-05,B1,x,1.00,CNY,1.00,m\n", None).contains("line 2: date"));
        assert!(bad("2026-01-05,B1,x,1.00,CNY\n", None).contains("expected 7 fields"));
        assert!(bad(
            "2026-01-05,B1,x,1.00,CNY,1.00,m\n2026-01-06,B2,x,1.00,CNY,3.00,m\n",
            None
        )
        .contains("line 3: balance break"));
        assert!(
            bad("2026-01-05,B1,x,1.00,CNY,5.00,m\n", Some(100)).contains("line 2: balance break")
        );
        assert!(bad(
            "2026-01-05,B1,x,1.00,CNY,1.00,m\n2026-01-06,B1,x,1.00,CNY,2.00,m\n",
            None
        )
        .contains("appears twice"));
        assert!(bad("2026-01-05,B1,\"x,1.00,CNY,1.00,m\n", None).contains("unclosed quote"));
        assert!(parse_statement("date,ref\n", None)
            .unwrap_err()
            .contains("header"));
        assert!(parse_statement("", None).unwrap_err().contains("empty"));
    }
}
