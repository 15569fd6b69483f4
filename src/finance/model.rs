//! Finance rows as stored.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::*;

#[derive(Debug, Clone, Queryable)]
pub struct AccountRow {
    pub id: i64,
    pub estate_id: i64,
    pub kind: String,
    pub name: String,
    pub bank: Option<String>,
    pub account_number_masked: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub agreement_ref: Option<String>,
    pub assembly_code: Option<String>,
    pub holder_company_id: Option<i64>,
    pub balance_fen: i64,
    pub entry_count: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
pub struct EntryRow {
    pub id: i64,
    pub account_id: i64,
    pub seq: i64,
    pub booked_on: NaiveDate,
    pub reference: Option<String>,
    pub counterparty: String,
    pub amount_fen: i64,
    pub balance_fen: i64,
    pub memo: String,
    pub category: Option<String>,
    pub period: Option<String>,
    pub source: String,
    pub reverses_entry_id: Option<i64>,
    pub reason: Option<String>,
    pub recorded_by_role: String,
    pub recorded_by_subject: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
pub struct DistributionRow {
    pub id: i64,
    pub estate_id: i64,
    pub ballot_item_id: i64,
    pub account_id: i64,
    pub method: String,
    pub total_fen: i64,
    pub households: i64,
    pub entry_id: i64,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount {
    pub estate_id: i64,
    pub kind: &'static str,
    pub name: String,
    pub bank: Option<String>,
    pub account_number_masked: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub agreement_ref: Option<String>,
    pub assembly_code: Option<String>,
    pub holder_company_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable, Clone)]
#[diesel(table_name = account_entries)]
pub struct NewEntry {
    pub account_id: i64,
    pub seq: i64,
    pub booked_on: NaiveDate,
    pub reference: Option<String>,
    pub counterparty: String,
    pub amount_fen: i64,
    pub balance_fen: i64,
    pub memo: String,
    pub category: Option<String>,
    pub period: Option<String>,
    pub source: &'static str,
    pub reverses_entry_id: Option<i64>,
    pub reason: Option<String>,
    pub recorded_by_role: &'static str,
    pub recorded_by_subject: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = distributions)]
pub struct NewDistribution {
    pub estate_id: i64,
    pub ballot_item_id: i64,
    pub account_id: i64,
    pub method: &'static str,
    pub total_fen: i64,
    pub households: i64,
    pub entry_id: i64,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = payouts)]
pub struct NewPayout {
    pub distribution_id: i64,
    pub house_id: i64,
    pub amount_fen: i64,
}
