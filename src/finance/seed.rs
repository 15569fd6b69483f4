//! Demo finances: 逸景公馆's common-fund account with two years of bank statements and the
//! 420,000-yuan distribution (about 30% of its accumulated public income) voted in 2024, and
//! 福林苑's public income kept by its property company. Written through the same functions the
//! API uses.

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::graphql::mask_account_number;
use super::model::NewAccount;
use super::repo::{self, EntryDraft, Recorder, Split};
use crate::db::schema::*;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::graphql::scalars::format_hundredths;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// Writes the demo's finances. Expects the demo register and ballots.
pub async fn seed_demo_finances(
    c: &mut DbConnection,
    now: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    let yijing: i64 = estates::table
        .filter(estates::name.eq("逸景公馆"))
        .select(estates::id)
        .first(c)
        .await?;
    let fulin: i64 = estates::table
        .filter(estates::name.eq("福林苑"))
        .select(estates::id)
        .first(c)
        .await?;
    let bank_feed = Recorder {
        role: "CITY_ADMIN",
        subject: 0,
    };
    let account: i64 = diesel::insert_into(accounts::table)
        .values(NewAccount {
            estate_id: yijing,
            kind: "COMMON_FUND",
            name: "逸景公馆业主共有资金账户".into(),
            bank: Some("青岛农商银行李沧支行".into()),
            account_number_masked: Some(mask_account_number("6228480018861234")),
            opened_on: Some(date(2023, 1, 10)),
            agreement_ref: Some("LC-FSL-三方-2023-011".into()),
            assembly_code: Some("LC-FSL-2024-007".into()),
            holder_company_id: None,
            created_at: now,
        })
        .returning(accounts::id)
        .get_result(c)
        .await?;
    // Two years of monthly statements: parking, advertising, venue rental, elevator ads, and
    // the account's small costs.
    let mut csv = format!("{}\n", super::rules::STATEMENT_HEADER_WITH_CATEGORY);
    let mut balance: i64 = 0;
    let mut n = 0;
    for month in 0..24 {
        let (y, m) = (2023 + month / 12, (month % 12) as u32 + 1);
        let rows: [(&str, i64, &str, &str); 5] = [
            (
                "青岛泊安停车管理有限公司",
                4_150_000 + (month as i64 % 5) * 120_000,
                "地面停车位收益",
                "PARKING",
            ),
            (
                "青岛分众传媒有限公司",
                980_000,
                "电梯广告收益",
                "ELEVATOR_ADVERTISING",
            ),
            (
                "青岛鑫源广告有限公司",
                420_000 + (month as i64 % 3) * 15_000,
                "道闸及宣传栏广告",
                "ADVERTISING",
            ),
            ("业主活动室租用", 86_000, "会所场地租金", "VENUE_RENTAL"),
            ("青岛农商银行", -2_500, "账户管理费", "OTHER"),
        ];
        for (day, (counterparty, amount, memo, category)) in rows.iter().enumerate() {
            n += 1;
            balance += amount;
            csv.push_str(&format!(
                "{},YJ{y}{m:02}{:03},{counterparty},{},CNY,{},{memo},{category}\n",
                date(y, m, 5 + day as u32 * 4),
                n,
                format_hundredths(*amount),
                format_hundredths(balance)
            ));
        }
    }
    repo::import_statement(c, account, &csv, bank_feed, now).await?;
    // The distribution decided by the tallied 2024 ballot.
    let item: Option<i64> = ballot_items::table
        .inner_join(ballots::table)
        .filter(ballots::estate_id.eq(yijing))
        .filter(ballots::title.eq("2024年公共收益分配方案"))
        .filter(ballot_items::outcome.eq("PASSED"))
        .select(ballot_items::id)
        .first(c)
        .await
        .optional()?;
    if let Some(item) = item {
        let chair: i64 = committee_members::table
            .inner_join(committees::table)
            .filter(committees::estate_id.eq(yijing))
            .filter(committee_members::position.eq("CHAIR"))
            .select(committee_members::owner_id)
            .first(c)
            .await?;
        let when = date(2024, 12, 20).and_hms_opt(10, 0, 0).unwrap_or(now);
        repo::distribute(
            c,
            yijing,
            item,
            account,
            Split::PerHousehold,
            repo::Amount::Total(42_000_000),
            Recorder {
                role: "COMMITTEE_MEMBER",
                subject: chair,
            },
            when,
        )
        .await?;
    }

    // 福林苑 has no account yet: its property company keeps the public income.
    let company: i64 = estate_managements::table
        .filter(estate_managements::estate_id.eq(fulin))
        .select(estate_managements::company_id)
        .first(c)
        .await?;
    let manager: i64 = staff::table
        .filter(staff::company_id.eq(company))
        .select(staff::id)
        .order(staff::id)
        .first(c)
        .await?;
    let ledger: i64 = diesel::insert_into(accounts::table)
        .values(NewAccount {
            estate_id: fulin,
            kind: "PUBLIC_INCOME_LEDGER",
            name: "福林苑公共收益台账（物业代管）".into(),
            bank: None,
            account_number_masked: None,
            opened_on: Some(date(2025, 1, 1)),
            agreement_ref: None,
            assembly_code: None,
            holder_company_id: Some(company),
            created_at: now,
        })
        .returning(accounts::id)
        .get_result(c)
        .await?;
    let account_row = repo::account(c, ledger).await?;
    let mut drafts = Vec::new();
    for q in 0..6 {
        let (y, quarter) = (2025 + q / 4, q % 4 + 1);
        let booked = date(y, quarter as u32 * 3, 25);
        for (category, amount, who) in [
            ("PARKING", 3_260_000, "福林苑停车场"),
            ("ADVERTISING", 450_000, "青岛鑫源广告有限公司"),
            ("OTHER", -120_000, "公共收益代管费"),
        ] {
            drafts.push(EntryDraft {
                booked_on: booked,
                reference: None,
                counterparty: who.into(),
                amount,
                bank_balance: None,
                memo: format!("{}年第{}季度", booked.year(), quarter),
                category: Some(category.into()),
                period: Some(format!("{y}-Q{quarter}")),
                source: "MANUAL",
                reverses: None,
                reason: None,
            });
        }
    }
    repo::append(
        c,
        &account_row,
        &drafts,
        Recorder {
            role: "PROPERTY_MANAGER",
            subject: manager,
        },
        now,
    )
    .await?;

    disclose(c, yijing, fulin, manager, now).await
}

/// The demo's disclosures: 逸景公馆 keeps up (statements for every quarter, contract, fee and
/// service standards, a recent work report); 福林苑 has one quarter's statement missing, so it
/// shows as overdue.
async fn disclose(
    c: &mut DbConnection,
    yijing: i64,
    fulin: i64,
    manager: i64,
    now: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    use crate::disclosure::repo::{
        account_statement, append, public_income_statement, Publication,
    };
    use crate::disclosure::rules::{DisclosureKind, Quarter};
    let publish =
        |estate_id, kind, title: String, period: Option<String>, content: String| Publication {
            estate_id,
            kind,
            title,
            period,
            content,
            visible_until: None,
            supersedes: None,
            role: "PROPERTY_MANAGER".into(),
            subject: manager,
        };
    let latest_done = Quarter::of(now.date()).previous();
    let at = |q: Quarter| {
        (q.last_day() + chrono::Duration::days(10))
            .and_hms_opt(9, 0, 0)
            .unwrap_or(now)
    };
    let mut q = Quarter { year: 2023, q: 1 };
    while q <= latest_done {
        let content = public_income_statement(c, yijing, q).await?;
        append(
            c,
            &publish(
                yijing,
                DisclosureKind::PublicIncomeStatement,
                format!("{} 公共收益收支情况", q.label()),
                Some(q.label()),
                content,
            ),
            at(q),
        )
        .await?;
        let content = account_statement(c, yijing, q).await?;
        append(
            c,
            &publish(
                yijing,
                DisclosureKind::AccountStatement,
                format!("{} 共有资金账户对账单", q.label()),
                Some(q.label()),
                content,
            ),
            at(q),
        )
        .await?;
        q = q.next();
    }
    for (kind, title, body) in [
        (
            DisclosureKind::ServiceContract,
            "物业服务合同（2024—2029）",
            "甲方：逸景公馆业主大会；乙方：青岛旭景物业服务有限公司；服务期限五年。",
        ),
        (
            DisclosureKind::FeeStandard,
            "物业服务收费标准",
            "住宅2.35元/平方米·月；商业4.80元/平方米·月；车位1.20元/平方米·月。",
        ),
        (
            DisclosureKind::ServiceStandard,
            "物业服务标准",
            "参照《青岛市住宅物业服务等级标准》二级标准执行。",
        ),
    ] {
        append(
            c,
            &publish(
                yijing,
                kind,
                title.into(),
                None,
                serde_json::json!({"body": body}).to_string(),
            ),
            now - chrono::Duration::days(30),
        )
        .await?;
    }
    append(
        c,
        &publish(
            yijing,
            DisclosureKind::WorkReport,
            "月度工作报告".into(),
            None,
            serde_json::json!({"done": "完成3号楼电梯年检、地下车库照明改造", "planned": "冬季供暖巡检、外墙清洗"}).to_string(),
        ),
        now - chrono::Duration::days(5),
    )
    .await?;
    let company: i64 = estate_managements::table
        .filter(estate_managements::estate_id.eq(yijing))
        .select(estate_managements::company_id)
        .first(c)
        .await?;
    let contract: i64 = diesel::insert_into(service_contracts::table)
        .values((
            service_contracts::estate_id.eq(yijing),
            service_contracts::company_id.eq(company),
            service_contracts::starts_on.eq(date(2024, 6, 1)),
            service_contracts::ends_on.eq(date(2029, 5, 31)),
            service_contracts::service_standard.eq("《青岛市住宅物业服务等级标准》二级"),
            service_contracts::document_hash.eq(crate::disclosure::rules::content_hash(
                "逸景公馆物业服务合同2024",
            )),
            service_contracts::created_at.eq(now),
        ))
        .returning(service_contracts::id)
        .get_result(c)
        .await?;
    for (usage, fen) in [
        ("RESIDENTIAL", 235i64),
        ("COMMERCIAL", 480),
        ("PARKING", 120),
    ] {
        diesel::insert_into(fee_standards::table)
            .values((
                fee_standards::contract_id.eq(contract),
                fee_standards::usage.eq(usage),
                fee_standards::fen_per_m2_month.eq(fen),
            ))
            .execute(c)
            .await?;
    }
    // 福林苑: every quarter of its ledger stated except one that is long overdue.
    let skipped = latest_done.previous();
    let mut q = Quarter { year: 2025, q: 1 };
    while q <= latest_done {
        if q != skipped {
            let content = public_income_statement(c, fulin, q).await?;
            append(
                c,
                &publish(
                    fulin,
                    DisclosureKind::PublicIncomeStatement,
                    format!("{} 公共收益收支情况", q.label()),
                    Some(q.label()),
                    content,
                ),
                at(q),
            )
            .await?;
        }
        q = q.next();
    }
    Ok(())
}
