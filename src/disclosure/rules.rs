//! Pure rules of disclosure: quarters and their due dates, the one-month minimum, compliance,
//! the hash chain, and a house's monthly fee.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use sha2::{Digest, Sha256};

/// The kinds of disclosure (Civil Code Arts. 281 and 943; Qingdao's platform).
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DisclosureKind {
    /// A quarter's public income and expenses by category, generated from the ledger.
    PublicIncomeStatement,
    /// The property service contract.
    ServiceContract,
    /// Fee items and standards.
    FeeStandard,
    /// The service standard.
    ServiceStandard,
    /// Last month done, this month planned.
    WorkReport,
    /// Raising and use of the maintenance fund.
    MaintenanceFundReport,
    /// A quarter's account statement, generated from the account.
    AccountStatement,
    /// A ballot's certified result, published automatically when it is tallied.
    BallotResult,
    /// A distribution of public income with its figures, published automatically when made.
    Distribution,
}

impl DisclosureKind {
    pub const ALL: [DisclosureKind; 9] = [
        DisclosureKind::PublicIncomeStatement,
        DisclosureKind::ServiceContract,
        DisclosureKind::FeeStandard,
        DisclosureKind::ServiceStandard,
        DisclosureKind::WorkReport,
        DisclosureKind::MaintenanceFundReport,
        DisclosureKind::AccountStatement,
        DisclosureKind::BallotResult,
        DisclosureKind::Distribution,
    ];

    pub fn as_db(self) -> &'static str {
        match self {
            DisclosureKind::PublicIncomeStatement => "PUBLIC_INCOME_STATEMENT",
            DisclosureKind::ServiceContract => "SERVICE_CONTRACT",
            DisclosureKind::FeeStandard => "FEE_STANDARD",
            DisclosureKind::ServiceStandard => "SERVICE_STANDARD",
            DisclosureKind::WorkReport => "WORK_REPORT",
            DisclosureKind::MaintenanceFundReport => "MAINTENANCE_FUND_REPORT",
            DisclosureKind::AccountStatement => "ACCOUNT_STATEMENT",
            DisclosureKind::BallotResult => "BALLOT_RESULT",
            DisclosureKind::Distribution => "DISTRIBUTION",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_db() == s)
    }
}

/// A calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i32,
    pub q: u32,
}

impl Quarter {
    pub fn parse(s: &str) -> Option<Self> {
        let (y, q) = s.trim().split_once("-Q")?;
        let (year, q) = (y.parse().ok()?, q.parse().ok()?);
        ((2000..=2100).contains(&year) && (1..=4).contains(&q)).then_some(Quarter { year, q })
    }

    pub fn of(d: NaiveDate) -> Self {
        Quarter {
            year: d.year(),
            q: (d.month() - 1) / 3 + 1,
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, (self.q - 1) * 3 + 1, 1).unwrap_or_default()
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or_default()
    }

    pub fn next(self) -> Self {
        if self.q == 4 {
            Quarter {
                year: self.year + 1,
                q: 1,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q + 1,
            }
        }
    }

    pub fn previous(self) -> Self {
        if self.q == 1 {
            Quarter {
                year: self.year - 1,
                q: 4,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q - 1,
            }
        }
    }

    /// The last day a statement for this quarter may be published on time.
    pub fn due(self, due_days: i64) -> NaiveDate {
        self.last_day() + chrono::Duration::days(due_days)
    }

    pub fn label(self) -> String {
        format!("{}-Q{}", self.year, self.q)
    }
}

/// A public-income statement must stay visible for at least a month (Qingdao's platform keeps
/// each quarterly statement up at least one month).
pub fn visible_long_enough(
    published_at: NaiveDateTime,
    visible_until: Option<NaiveDateTime>,
) -> bool {
    match visible_until {
        None => true,
        Some(until) => published_at
            .checked_add_months(Months::new(1))
            .is_some_and(|min| until >= min),
    }
}

/// Compliance of one quarterly kind: what should have been published by `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarterlyStatus {
    /// The quarter whose statement is the next one due.
    pub next_quarter: Quarter,
    pub next_due: NaiveDate,
    /// Quarters whose due date passed without a statement (the latest first).
    pub overdue: Vec<Quarter>,
}

/// Checks a quarterly obligation from `since` (e.g. when the account or management began): every
/// completed quarter from then on needs its statement within `due_days`.
pub fn quarterly_status(
    published: &[Quarter],
    since: NaiveDate,
    today: NaiveDate,
    due_days: i64,
) -> QuarterlyStatus {
    let mut overdue = Vec::new();
    let mut q = Quarter::of(since);
    let current = Quarter::of(today);
    let mut next = None;
    while q < current {
        if !published.contains(&q) {
            if q.due(due_days) < today {
                overdue.push(q);
            } else if next.is_none() {
                next = Some(q);
            }
        }
        q = q.next();
    }
    overdue.reverse();
    let next_quarter = next.unwrap_or(current);
    QuarterlyStatus {
        next_quarter,
        next_due: next_quarter.due(due_days),
        overdue,
    }
}

/// The SHA-256 of a disclosure's content.
pub fn content_hash(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

/// The first "previous hash" of an estate's chain.
pub fn genesis(estate_id: i64) -> String {
    crate::chain::genesis(&format!("quorum-disclosures-{estate_id}"))
}

/// A house's monthly fee in fen: area (hundredths of m²) × fee (fen per m² per month), rounded
/// half up to the fen.
pub fn monthly_fee(area_centi: i64, fen_per_m2_month: i64) -> i64 {
    let product = area_centi as i128 * fen_per_m2_month as i128;
    ((product + 50) / 100) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn quarters() {
        let q = Quarter::parse("2026-Q1").unwrap();
        assert_eq!(q.first_day(), d(2026, 1, 1));
        assert_eq!(q.last_day(), d(2026, 3, 31));
        assert_eq!(q.due(30), d(2026, 4, 30));
        assert_eq!(Quarter::of(d(2026, 12, 3)), Quarter { year: 2026, q: 4 });
        assert_eq!(
            Quarter { year: 2026, q: 4 }.next(),
            Quarter { year: 2027, q: 1 }
        );
        assert_eq!(
            Quarter { year: 2026, q: 1 }.previous(),
            Quarter { year: 2025, q: 4 }
        );
        assert!(Quarter::parse("2026-Q5").is_none());
        assert!(Quarter::parse("2026Q1").is_none());
    }

    #[test]
    fn a_month_at_least() {
        let at = d(2026, 1, 31).and_hms_opt(9, 0, 0).unwrap();
        assert!(visible_long_enough(at, None));
        assert!(visible_long_enough(
            at,
            Some(d(2026, 2, 28).and_hms_opt(9, 0, 0).unwrap())
        ));
        assert!(!visible_long_enough(
            at,
            Some(d(2026, 2, 28).and_hms_opt(8, 59, 59).unwrap())
        ));
        assert!(!visible_long_enough(
            at,
            Some(d(2026, 2, 10).and_hms_opt(9, 0, 0).unwrap())
        ));
    }

    #[test]
    fn quarterly_compliance_at_the_boundary() {
        let q3 = Quarter { year: 2026, q: 3 };
        // Due 2026-10-30: on that day not yet overdue, the next day overdue.
        let s = quarterly_status(&[], d(2026, 7, 1), d(2026, 10, 30), 30);
        assert!(s.overdue.is_empty());
        assert_eq!((s.next_quarter, s.next_due), (q3, d(2026, 10, 30)));
        let s = quarterly_status(&[], d(2026, 7, 1), d(2026, 10, 31), 30);
        assert_eq!(s.overdue, vec![q3]);
        let s = quarterly_status(&[q3], d(2026, 7, 1), d(2026, 12, 3), 30);
        assert!(s.overdue.is_empty());
        assert_eq!(s.next_quarter, Quarter { year: 2026, q: 4 });
        assert_eq!(s.next_due, d(2027, 1, 30));
        let s = quarterly_status(&[q3], d(2026, 1, 15), d(2026, 12, 3), 30);
        assert_eq!(
            s.overdue,
            vec![Quarter { year: 2026, q: 2 }, Quarter { year: 2026, q: 1 }]
        );
    }

    #[test]
    fn fees_round_half_up_to_the_fen() {
        // 89.50 m² at 2.35 yuan/m²/month = 210.325 yuan → 210.33.
        assert_eq!(monthly_fee(8950, 235), 21033);
        assert_eq!(monthly_fee(100, 235), 235);
        assert_eq!(monthly_fee(1, 49), 0);
        assert_eq!(monthly_fee(1, 50), 1);
    }

    #[test]
    fn chains_differ_per_estate() {
        assert_ne!(genesis(1), genesis(2));
        assert_eq!(content_hash("x").len(), 64);
    }
}
