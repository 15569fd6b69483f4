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
        if reference.is_empty() || reference.len() > 64 {
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
            Some(c) => {
                return Err(format!(
                    "line {line}: category {c:?} is not one of {}",
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
