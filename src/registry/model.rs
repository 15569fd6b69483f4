//! Rows of the register as stored. GraphQL types wrap these; they are not exposed directly.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::EstatePlace;
use crate::db::schema::*;

#[derive(Debug, Clone, Queryable)]
pub struct DistrictRow {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Queryable)]
pub struct SubdistrictRow {
    pub id: i64,
    pub district_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Queryable)]
pub struct CommunityRow {
    pub id: i64,
    pub subdistrict_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Queryable)]
pub struct EstateRow {
    pub id: i64,
    pub community_id: i64,
    pub subdistrict_id: i64,
    pub district_id: i64,
    pub name: String,
    pub address: String,
    pub notice_days: i32,
    pub nonvoter_rule: String,
    pub created_at: NaiveDateTime,
}

impl EstateRow {
    pub fn place(&self) -> EstatePlace {
        EstatePlace {
            estate_id: self.id,
            community_id: self.community_id,
            subdistrict_id: self.subdistrict_id,
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct BuildingRow {
    pub id: i64,
    pub estate_id: i64,
    pub label: String,
    pub floors: i32,
}

#[derive(Debug, Clone, Queryable, QueryableByName)]
#[diesel(table_name = houses)]
pub struct HouseRow {
    pub id: i64,
    pub estate_id: i64,
    pub building_id: i64,
    pub unit_label: String,
    pub room_label: String,
    pub floor: i32,
    pub usage: String,
    pub area_centi: i64,
    pub area_source: String,
    pub certificate_number: Option<String>,
    pub developer_held: bool,
}

#[derive(Debug, Clone, Queryable)]
pub struct OwnerRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub id_number_hash: Option<String>,
    pub phone_hash: Option<String>,
    pub verification_status: String,
    pub verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
pub struct CompanyRow {
    pub id: i64,
    pub name: String,
    pub credit_code: String,
}

#[derive(Debug, Clone, Queryable)]
pub struct CommitteeRow {
    pub id: i64,
    pub estate_id: i64,
    pub assembly_code: String,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
}

#[derive(Debug, Clone, Queryable)]
pub struct CommitteeMemberRow {
    pub id: i64,
    pub committee_id: i64,
    pub owner_id: i64,
    pub position: String,
}

#[derive(Debug, Clone, Default, Queryable)]
pub struct StatsRow {
    pub estate_id: i64,
    pub households: i64,
    pub houses: i64,
    pub area_centi: i64,
    pub owners: i64,
    pub registered_owners: i64,
    pub registered_houses: i64,
    pub registration_ppm: i64,
}

// Forms for inserting (used by the seeder and the register import).

#[derive(Insertable)]
#[diesel(table_name = districts)]
pub struct NewDistrict<'a> {
    pub name: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = subdistricts)]
pub struct NewSubdistrict<'a> {
    pub district_id: i64,
    pub name: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = communities)]
pub struct NewCommunity<'a> {
    pub subdistrict_id: i64,
    pub name: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = estates)]
pub struct NewEstate<'a> {
    pub community_id: i64,
    pub subdistrict_id: i64,
    pub district_id: i64,
    pub name: &'a str,
    pub address: &'a str,
    pub notice_days: i32,
    pub nonvoter_rule: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = buildings)]
pub struct NewBuilding {
    pub estate_id: i64,
    pub label: String,
    pub floors: i32,
}

#[derive(Insertable, Clone)]
#[diesel(table_name = houses)]
pub struct NewHouse {
    pub estate_id: i64,
    pub building_id: i64,
    pub unit_label: String,
    pub room_label: String,
    pub floor: i32,
    pub usage: &'static str,
    pub area_centi: i64,
    pub area_source: &'static str,
    pub certificate_number: Option<String>,
    pub developer_held: bool,
}

#[derive(Insertable, Clone)]
#[diesel(table_name = owners)]
pub struct NewOwner {
    pub name: String,
    pub kind: &'static str,
    pub id_number_hash: Option<String>,
    pub phone_hash: Option<String>,
    pub verification_status: &'static str,
    pub verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable, Clone)]
#[diesel(table_name = ownerships)]
pub struct NewOwnership {
    pub house_id: i64,
    pub owner_id: i64,
    pub since: NaiveDateTime,
    pub until: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = property_companies)]
pub struct NewCompany<'a> {
    pub name: &'a str,
    pub credit_code: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = estate_managements)]
pub struct NewManagement {
    pub estate_id: i64,
    pub company_id: i64,
    pub since: NaiveDateTime,
    pub until: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = committees)]
pub struct NewCommittee<'a> {
    pub estate_id: i64,
    pub assembly_code: &'a str,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
}

#[derive(Insertable)]
#[diesel(table_name = committee_members)]
pub struct NewCommitteeMember {
    pub committee_id: i64,
    pub owner_id: i64,
    pub position: &'static str,
}

#[derive(Insertable)]
#[diesel(table_name = staff)]
pub struct NewStaff<'a> {
    pub name: &'a str,
    pub role: &'static str,
    pub company_id: Option<i64>,
    pub community_id: Option<i64>,
    pub subdistrict_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = estate_stats)]
pub struct NewStats {
    pub estate_id: i64,
    pub households: i64,
    pub houses: i64,
    pub area_centi: i64,
    pub owners: i64,
    pub registered_owners: i64,
    pub registered_houses: i64,
    pub registration_ppm: i64,
}
