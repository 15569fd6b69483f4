//! GraphQL types and resolvers of the register. Every object here is built only after the
//! viewer was found allowed to read it; relations resolve through the request's loaders.

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};

use super::loaders::HousePageKey;
use super::model::*;
use super::repo::{self, EstateFilter, EstateSort, HouseFilterKey};
use super::rules::{house_address, mask_name};
use crate::auth::{Role, Viewer};
use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::relay::{
    connection_from_rows, connection_from_slice, decode_id_of, global_id, Cursor, NodeKind, Page,
};
use crate::graphql::scalars::{format_percent, Area, Count, Percent};

fn utc(t: chrono::NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// Loads an estate and checks that the viewer may read it.
pub async fn readable_estate(ctx: &Context<'_>, estate_id: i64) -> AppResult<EstateRow> {
    let viewer = ctx.viewer()?;
    let row = ctx
        .loaders()
        .estate
        .load_one(estate_id)
        .await?
        .ok_or_else(|| {
            AppError::not_found(format!(
                "no estate {}",
                global_id(NodeKind::Estate, estate_id).0
            ))
        })?;
    if !viewer.can_read_estate(row.place()) {
        return Err(AppError::forbidden("this estate is outside your scope"));
    }
    Ok(row)
}

/// An owner as the viewer may see them; analysts see no owners at all.
pub fn owner_for(viewer: &Viewer, row: OwnerRow) -> AppResult<Owner> {
    if !viewer.may_see_personal_data() {
        return Err(AppError::forbidden("analysts see figures, not owners"));
    }
    Ok(Owner(row))
}

crate::connection_type!(DistrictConnection, DistrictEdge, District, "districts");
crate::connection_type!(
    SubdistrictConnection,
    SubdistrictEdge,
    Subdistrict,
    "subdistricts"
);
crate::connection_type!(CommunityConnection, CommunityEdge, Community, "communities");
crate::connection_type!(EstateConnection, EstateEdge, Estate, "estates");
crate::connection_type!(BuildingConnection, BuildingEdge, Building, "buildings");
crate::connection_type!(HouseConnection, HouseEdge, House, "houses");
crate::connection_type!(OwnerConnection, OwnerEdge, Owner, "owners");
crate::connection_type!(
    PropertyCompanyConnection,
    PropertyCompanyEdge,
    PropertyCompany,
    "property companies"
);
crate::connection_type!(
    CommitteeMemberConnection,
    CommitteeMemberEdge,
    CommitteeMember,
    "committee members"
);

// ---------------------------------------------------------------------------------------------
// Enums

/// What an exclusive part is used for.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HouseUsage {
    /// A dwelling.
    Residential,
    /// A shop or office.
    Commercial,
    /// A parking space.
    Parking,
    /// Anything else (storage, clubhouse…).
    Other,
}

impl HouseUsage {
    pub fn as_db(self) -> &'static str {
        match self {
            HouseUsage::Residential => "RESIDENTIAL",
            HouseUsage::Commercial => "COMMERCIAL",
            HouseUsage::Parking => "PARKING",
            HouseUsage::Other => "OTHER",
        }
    }

    fn from_db(s: &str) -> Self {
        match s {
            "RESIDENTIAL" => HouseUsage::Residential,
            "COMMERCIAL" => HouseUsage::Commercial,
            "PARKING" => HouseUsage::Parking,
            _ => HouseUsage::Other,
        }
    }
}

/// Where a house's exclusive area comes from (SPC interpretation on building-division
/// ownership, Art. 8): the register first, else the survey, else the sale contract.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AreaSource {
    /// The area recorded in the real-estate register.
    Registered,
    /// Not registered: the surveyed area.
    Surveyed,
    /// Neither registered nor surveyed: the area in the sale contract.
    Contract,
}

/// Whether an owner's identity has been verified against their identity document.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum VerificationStatus {
    /// Not yet verified.
    Unverified,
    /// Verified: the owner counts as registered.
    Verified,
    /// Verification failed.
    Rejected,
}

/// What kind of party an owner is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OwnerKind {
    /// A natural person.
    Person,
    /// The developer, holding unsold or undelivered units.
    Developer,
    /// A company or other organisation.
    Organization,
}

/// A committee member's position.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CommitteePosition {
    /// 主任
    Chair,
    /// 副主任
    ViceChair,
    /// 委员
    Member,
    /// 候补委员
    Alternate,
}

/// How an estate's rules of procedure treat owners who do not vote (DESIGN.md).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum NonVoterRule {
    /// Non-voters do not take part (the default).
    None,
    /// A voter may choose "follow the majority": that ballot joins the leading side.
    FollowMajorityChoice,
    /// Non-voters are counted as taking part and joining the leading side.
    NonvotersFollowMajority,
}

impl NonVoterRule {
    pub fn as_db(self) -> &'static str {
        match self {
            NonVoterRule::None => "NONE",
            NonVoterRule::FollowMajorityChoice => "FOLLOW_MAJORITY_CHOICE",
            NonVoterRule::NonvotersFollowMajority => "NONVOTERS_FOLLOW_MAJORITY",
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s {
            "FOLLOW_MAJORITY_CHOICE" => NonVoterRule::FollowMajorityChoice,
            "NONVOTERS_FOLLOW_MAJORITY" => NonVoterRule::NonvotersFollowMajority,
            _ => NonVoterRule::None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Administrative chain

/// A district (区) of the city.
pub struct District(pub DistrictRow);

/// A district (区) of the city.
#[Object]
impl District {
    /// The district's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::District, self.0.id)
    }

    /// The district's name, e.g. "李沧区".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The subdistricts of the district.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn subdistricts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<SubdistrictConnection> {
        ctx.viewer()?;
        let page = Page::new(first, after)?;
        let rows = ctx
            .loaders()
            .subdistricts_of
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(connection_from_slice(&page, &rows, |r| r.id, Subdistrict)?)
    }
}

/// A subdistrict (街道), whose office approves ballots.
pub struct Subdistrict(pub SubdistrictRow);

/// A subdistrict (街道), whose office approves ballots.
#[Object]
impl Subdistrict {
    /// The subdistrict's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Subdistrict, self.0.id)
    }

    /// The subdistrict's name, e.g. "浮山路街道".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The district it belongs to.
    async fn district(&self, ctx: &Context<'_>) -> Result<District> {
        load_district(ctx, self.0.district_id).await
    }

    /// The communities of the subdistrict.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn communities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<CommunityConnection> {
        ctx.viewer()?;
        let page = Page::new(first, after)?;
        let rows = ctx
            .loaders()
            .communities_of
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(connection_from_slice(&page, &rows, |r| r.id, Community)?)
    }
}

/// A community (社区) with its residents' committee (居委会).
pub struct Community(pub CommunityRow);

/// A community (社区) with its residents' committee (居委会).
#[Object]
impl Community {
    /// The community's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Community, self.0.id)
    }

    /// The community's name, e.g. "旭东社区".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The subdistrict it belongs to.
    async fn subdistrict(&self, ctx: &Context<'_>) -> Result<Subdistrict> {
        load_subdistrict(ctx, self.0.subdistrict_id).await
    }

    /// The community's estates that the viewer may read.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn estates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<EstateConnection> {
        let viewer = ctx.viewer()?;
        let page = Page::new(first, after)?;
        let rows: Vec<EstateRow> = ctx
            .loaders()
            .estates_of_community
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|e| viewer.can_read_estate(e.place()))
            .collect();
        Ok(connection_from_slice(&page, &rows, |r| r.id, Estate)?)
    }
}

async fn load_district(ctx: &Context<'_>, id: i64) -> Result<District> {
    ctx.viewer()?;
    let row = ctx.loaders().district.load_one(id).await?;
    Ok(District(row.ok_or_else(|| {
        AppError::Internal(format!("district {id} missing"))
    })?))
}

async fn load_subdistrict(ctx: &Context<'_>, id: i64) -> Result<Subdistrict> {
    ctx.viewer()?;
    let row = ctx.loaders().subdistrict.load_one(id).await?;
    Ok(Subdistrict(row.ok_or_else(|| {
        AppError::Internal(format!("subdistrict {id} missing"))
    })?))
}

async fn load_community(ctx: &Context<'_>, id: i64) -> Result<Community> {
    ctx.viewer()?;
    let row = ctx.loaders().community.load_one(id).await?;
    Ok(Community(row.ok_or_else(|| {
        AppError::Internal(format!("community {id} missing"))
    })?))
}

// ---------------------------------------------------------------------------------------------
// Estates

/// An estate (小区): the unit of self-governance.
pub struct Estate(pub EstateRow);

/// Settings from the estate's rules of procedure (议事规则).
#[derive(SimpleObject)]
pub struct EstateSettings {
    /// Days between publishing a ballot's agenda and the opening of voting (default 15).
    pub notice_days: i32,
    /// How owners who do not vote are treated.
    pub non_voter_rule: NonVoterRule,
}

/// Filters for an estate's houses.
#[derive(InputObject, Default)]
pub struct HouseFilter {
    /// Only houses of this building.
    pub building_id: Option<ID>,
    /// Only houses of this usage.
    pub usage: Option<HouseUsage>,
}

/// An estate (小区): the unit of self-governance.
#[Object]
impl Estate {
    /// The estate's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Estate, self.0.id)
    }

    /// The estate's name, e.g. "逸景公馆".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The estate's street address.
    async fn address(&self) -> &str {
        &self.0.address
    }

    /// The community the estate belongs to.
    async fn community(&self, ctx: &Context<'_>) -> Result<Community> {
        load_community(ctx, self.0.community_id).await
    }

    /// The subdistrict the estate belongs to.
    async fn subdistrict(&self, ctx: &Context<'_>) -> Result<Subdistrict> {
        load_subdistrict(ctx, self.0.subdistrict_id).await
    }

    /// The district the estate belongs to.
    async fn district(&self, ctx: &Context<'_>) -> Result<District> {
        load_district(ctx, self.0.district_id).await
    }

    /// Settings from the estate's rules of procedure.
    async fn settings(&self) -> EstateSettings {
        EstateSettings {
            notice_days: self.0.notice_days,
            non_voter_rule: NonVoterRule::from_db(&self.0.nonvoter_rule),
        }
    }

    /// Households, area and registration figures of the estate.
    async fn stats(&self, ctx: &Context<'_>) -> Result<RegisterStats> {
        let row = ctx
            .loaders()
            .stats
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(RegisterStats::from_rows(std::iter::once(&row)))
    }

    /// The estate's buildings, in register order.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn buildings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<BuildingConnection> {
        let page = Page::new(first, after)?;
        let rows = ctx
            .loaders()
            .buildings_of
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(connection_from_slice(&page, &rows, |r| r.id, Building)?)
    }

    /// The estate's houses (exclusive parts), in register order.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn houses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
        #[graphql(desc = "Restrict to a building or a usage.")] filter: Option<HouseFilter>,
    ) -> Result<HouseConnection> {
        let page = Page::new(first, after)?;
        let filter = filter.unwrap_or_default();
        let key = HousePageKey {
            estate_id: self.0.id,
            filter: HouseFilterKey {
                usage: filter.usage,
                building_id: filter
                    .building_id
                    .map(|b| decode_id_of(NodeKind::Building, &b))
                    .transpose()?,
            },
            after_id: page.after_id()?,
            limit: page.fetch_limit(),
        };
        let rows = ctx
            .loaders()
            .house_pages
            .load_one(key)
            .await?
            .unwrap_or_default();
        Ok(connection_from_rows(
            &page,
            rows,
            |r| Cursor::of_id(r.id),
            House,
        ))
    }

    /// The property company currently managing the estate, if any.
    async fn property_company(&self, ctx: &Context<'_>) -> Result<Option<PropertyCompany>> {
        Ok(ctx
            .loaders()
            .manager_of
            .load_one(self.0.id)
            .await?
            .map(PropertyCompany))
    }

    /// The estate's ballots, newest first.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn ballots(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only ballots in this state.")] state: Option<
            crate::ballots::lifecycle::BallotState,
        >,
        #[graphql(desc = "Only ballots with an item of this kind.")] item_kind: Option<
            crate::ballots::choices::ItemKind,
        >,
    ) -> Result<crate::ballots::graphql::BallotConnection> {
        Ok(
            crate::ballots::graphql::estate_ballots(ctx, self.0.id, first, after, state, item_kind)
                .await?,
        )
    }

    /// The estate's accounts: common fund, maintenance fund, public-income ledger.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<crate::finance::graphql::AccountConnection> {
        Ok(crate::finance::graphql::estate_accounts(ctx, self.0.id, first, after).await?)
    }

    /// What the estate's property company and committee have published, newest first.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn disclosures(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only this kind.")] kind: Option<crate::disclosure::rules::DisclosureKind>,
    ) -> Result<crate::disclosure::graphql::DisclosureConnection> {
        Ok(
            crate::disclosure::graphql::estate_disclosures(ctx, self.0.id, first, after, kind)
                .await?,
        )
    }

    /// True when the estate's chain of disclosures recomputes from the first to the last.
    async fn disclosure_chain_intact(&self, ctx: &Context<'_>) -> Result<bool> {
        let intact = ctx.disclosure_loaders().chains.load_one(self.0.id).await?;
        Ok(intact.unwrap_or(true))
    }

    /// Per required kind of disclosure: the last publication, the next due date, overdue or not.
    async fn disclosure_compliance(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::disclosure::graphql::ComplianceItem>> {
        Ok(crate::disclosure::graphql::estate_compliance(ctx, self.0.id).await?)
    }

    /// The service contract in force, with its fee standards.
    async fn service_contract(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::disclosure::graphql::ServiceContract>> {
        Ok(crate::disclosure::graphql::current_contract(ctx, self.0.id)
            .await?
            .map(std::sync::Arc::unwrap_or_clone))
    }

    /// The owners' committee of the latest term, if the estate has one.
    async fn committee(&self, ctx: &Context<'_>) -> Result<Option<Committee>> {
        let committees = ctx
            .loaders()
            .committees_of
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(committees.into_iter().next().map(Committee))
    }
}

/// Register figures of an estate, a district or the city. Counts are decimal strings, since
/// city-wide totals may outgrow GraphQL's 32-bit Int.
#[derive(SimpleObject)]
pub struct RegisterStats {
    /// Estates counted.
    pub estates: Count,
    /// Households: residential exclusive parts.
    pub households: Count,
    /// All exclusive parts (dwellings, shops, parking spaces…).
    pub houses: Count,
    /// The sum of the exclusive areas of all parts.
    pub total_exclusive_area: Area,
    /// Distinct current owners.
    pub owners: Count,
    /// Distinct current owners whose identity is verified.
    pub registered_owners: Count,
    /// Exclusive parts with at least one identity-verified owner.
    pub registered_houses: Count,
    /// registeredHouses / houses.
    pub registration_rate: Percent,
}

impl RegisterStats {
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a StatsRow>) -> Self {
        let mut t = StatsRow::default();
        let mut estates = 0;
        for r in rows {
            estates += 1;
            t.households += r.households;
            t.houses += r.houses;
            t.area_centi += r.area_centi;
            t.owners += r.owners;
            t.registered_owners += r.registered_owners;
            t.registered_houses += r.registered_houses;
        }
        let rate = format_percent(t.registered_houses, t.houses);
        Self {
            estates: Count(estates),
            households: Count(t.households),
            houses: Count(t.houses),
            total_exclusive_area: Area(t.area_centi),
            owners: Count(t.owners),
            registered_owners: Count(t.registered_owners),
            registered_houses: Count(t.registered_houses),
            registration_rate: Percent(
                crate::graphql::scalars::parse_hundredths(&rate).unwrap_or(0),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Buildings and houses

/// A building (楼栋) of an estate.
pub struct Building(pub BuildingRow);

/// A building (楼栋) of an estate.
#[Object]
impl Building {
    /// The building's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Building, self.0.id)
    }

    /// The building's label, e.g. "3号楼".
    async fn label(&self) -> &str {
        &self.0.label
    }

    /// Number of floors above ground.
    async fn floors(&self) -> i32 {
        self.0.floors
    }

    /// The estate the building belongs to.
    async fn estate(&self, ctx: &Context<'_>) -> Result<Estate> {
        Ok(Estate(readable_estate(ctx, self.0.estate_id).await?))
    }

    /// The building's houses, in register order.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn houses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only houses of this usage.")] usage: Option<HouseUsage>,
    ) -> Result<HouseConnection> {
        let page = Page::new(first, after)?;
        let rows: Vec<HouseRow> = ctx
            .loaders()
            .houses_of_building
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|h| usage.is_none_or(|u| u.as_db() == h.usage))
            .collect();
        Ok(connection_from_slice(&page, &rows, |r| r.id, House)?)
    }
}

/// A house: one exclusive part (专有部分) — a dwelling, shop or parking space.
pub struct House(pub HouseRow);

/// A house: one exclusive part (专有部分) — a dwelling, shop or parking space.
#[Object]
impl House {
    /// The house's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::House, self.0.id)
    }

    /// The address within the estate, e.g. "3号楼2单元301".
    async fn address(&self, ctx: &Context<'_>) -> Result<String> {
        let building = ctx.loaders().building.load_one(self.0.building_id).await?;
        let label = building.map(|b| b.label).unwrap_or_default();
        Ok(house_address(
            &label,
            &self.0.unit_label,
            &self.0.room_label,
        ))
    }

    /// The unit (单元) label; empty where the building has no units.
    async fn unit_label(&self) -> &str {
        &self.0.unit_label
    }

    /// The room (房号) label, e.g. "301".
    async fn room_label(&self) -> &str {
        &self.0.room_label
    }

    /// The floor, negative below ground.
    async fn floor(&self) -> i32 {
        self.0.floor
    }

    /// What the part is used for.
    async fn usage(&self) -> HouseUsage {
        HouseUsage::from_db(&self.0.usage)
    }

    /// The exclusive area that counts in ballots.
    async fn exclusive_area(&self) -> Area {
        Area(self.0.area_centi)
    }

    /// Where the exclusive area comes from.
    async fn area_source(&self) -> AreaSource {
        match self.0.area_source.as_str() {
            "REGISTERED" => AreaSource::Registered,
            "SURVEYED" => AreaSource::Surveyed,
            _ => AreaSource::Contract,
        }
    }

    /// The real-estate certificate number: shown only to the house's own owners and city
    /// administrators, null for everyone else.
    async fn certificate_number(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let viewer = ctx.viewer()?;
        let allowed = viewer.role == Role::CityAdmin
            || match viewer.owner_id() {
                Some(me) => ctx
                    .loaders()
                    .owners_of
                    .load_one(self.0.id)
                    .await?
                    .unwrap_or_default()
                    .iter()
                    .any(|o| o.id == me),
                None => false,
            };
        Ok(allowed.then(|| self.0.certificate_number.clone()).flatten())
    }

    /// The monthly property fee under the estate's contract in force (area × fee standard for
    /// the house's usage, rounded to the fen); null without a contract.
    async fn monthly_fee(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::graphql::scalars::Money>> {
        Ok(crate::disclosure::graphql::house_monthly_fee(
            ctx,
            self.0.estate_id,
            &self.0.usage,
            self.0.area_centi,
        )
        .await?)
    }

    /// True for a developer's unsold or undelivered unit (all of them count as one voter).
    async fn developer_held(&self) -> bool {
        self.0.developer_held
    }

    /// The building the house is in.
    async fn building(&self, ctx: &Context<'_>) -> Result<Building> {
        let row = ctx.loaders().building.load_one(self.0.building_id).await?;
        Ok(Building(row.ok_or_else(|| {
            AppError::Internal("building missing".into())
        })?))
    }

    /// The estate the house is in.
    async fn estate(&self, ctx: &Context<'_>) -> Result<Estate> {
        Ok(Estate(readable_estate(ctx, self.0.estate_id).await?))
    }

    /// The current owners (several for a co-owned house). Not available to analysts.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn owners(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<OwnerConnection> {
        let viewer = ctx.viewer()?;
        if !viewer.may_see_personal_data() {
            return Err(AppError::forbidden("analysts see figures, not owners").into());
        }
        let page = Page::new(first, after)?;
        let rows = ctx
            .loaders()
            .owners_of
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(connection_from_slice(&page, &rows, |r| r.id, Owner)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Owners

/// An owner (业主). Identity numbers and phones are kept only as keyed hashes and never leave
/// the server; the name is masked ("张*明") for everyone but the owner and city administrators.
pub struct Owner(pub OwnerRow);

/// An owner (业主). Identity numbers and phones are kept only as keyed hashes and never leave
/// the server; the name is masked ("张*明") for everyone but the owner and city administrators.
#[Object]
impl Owner {
    /// The owner's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Owner, self.0.id)
    }

    /// The owner's name, masked unless the viewer is this owner or a city administrator.
    async fn display_name(&self, ctx: &Context<'_>) -> Result<String> {
        let viewer = ctx.viewer()?;
        Ok(
            if viewer.may_see_full_name_of(self.0.id) || self.0.kind != "PERSON" {
                self.0.name.clone()
            } else {
                mask_name(&self.0.name)
            },
        )
    }

    /// Person, developer or organisation.
    async fn kind(&self) -> OwnerKind {
        match self.0.kind.as_str() {
            "DEVELOPER" => OwnerKind::Developer,
            "ORGANIZATION" => OwnerKind::Organization,
            _ => OwnerKind::Person,
        }
    }

    /// Whether the owner's identity is verified (verified owners count as registered); null for
    /// anyone but the owner themself and city administrators, since it is identity data (the
    /// estate's registration rate gives the share to everyone).
    async fn verification_status(&self, ctx: &Context<'_>) -> Result<Option<VerificationStatus>> {
        if !ctx.viewer()?.may_see_full_name_of(self.0.id) {
            return Ok(None);
        }
        Ok(Some(match self.0.verification_status.as_str() {
            "VERIFIED" => VerificationStatus::Verified,
            "REJECTED" => VerificationStatus::Rejected,
            _ => VerificationStatus::Unverified,
        }))
    }

    /// When the identity was verified; null for anyone but the owner themself and city
    /// administrators.
    async fn verified_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        if !ctx.viewer()?.may_see_full_name_of(self.0.id) {
            return Ok(None);
        }
        Ok(self.0.verified_at.map(utc))
    }

    /// The houses the owner currently owns, limited to estates the viewer may read.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn houses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<HouseConnection> {
        let viewer = ctx.viewer()?;
        let page = Page::new(first, after)?;
        let houses = ctx
            .loaders()
            .houses_of_owner
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let estate_ids: Vec<i64> = houses.iter().map(|h| h.estate_id).collect();
        let estates = ctx.loaders().estate.load_many(estate_ids).await?;
        let visible: Vec<HouseRow> = houses
            .into_iter()
            .filter(|h| {
                estates
                    .get(&h.estate_id)
                    .is_some_and(|e| viewer.can_read_estate(e.place()))
            })
            .collect();
        Ok(connection_from_slice(&page, &visible, |r| r.id, House)?)
    }
}

/// Whether the viewer may see this owner: themselves, or an owner of an estate in scope.
pub async fn owner_visible(ctx: &Context<'_>, owner_id: i64) -> AppResult<bool> {
    let viewer = ctx.viewer()?;
    if viewer.owner_id() == Some(owner_id) {
        return Ok(true);
    }
    let houses = ctx
        .loaders()
        .houses_of_owner
        .load_one(owner_id)
        .await?
        .unwrap_or_default();
    let estates = ctx
        .loaders()
        .estate
        .load_many(houses.iter().map(|h| h.estate_id))
        .await?;
    Ok(estates.values().any(|e| viewer.can_read_estate(e.place())))
}

// ---------------------------------------------------------------------------------------------
// Companies and committees

/// A property service company (物业服务企业).
pub struct PropertyCompany(pub CompanyRow);

/// A property service company (物业服务企业).
#[Object]
impl PropertyCompany {
    /// The company's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::PropertyCompany, self.0.id)
    }

    /// The company's registered name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The 18-character unified social credit code.
    async fn credit_code(&self) -> &str {
        &self.0.credit_code
    }

    /// The estates it currently manages that the viewer may read.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn estates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<EstateConnection> {
        let viewer = ctx.viewer()?;
        let page = Page::new(first, after)?;
        let rows: Vec<EstateRow> = ctx
            .loaders()
            .estates_of_company
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|e| viewer.can_read_estate(e.place()))
            .collect();
        Ok(connection_from_slice(&page, &rows, |r| r.id, Estate)?)
    }
}

/// An owners' committee (业主委员会) for one term.
pub struct Committee(pub CommitteeRow);

/// An owners' committee (业主委员会) for one term.
#[Object]
impl Committee {
    /// The committee's global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Committee, self.0.id)
    }

    /// The code the owners' assembly was registered under.
    async fn assembly_code(&self) -> &str {
        &self.0.assembly_code
    }

    /// First day of the term.
    async fn term_start(&self) -> NaiveDate {
        self.0.term_start
    }

    /// Last day of the term (Qingdao: at most five years after the start).
    async fn term_end(&self) -> NaiveDate {
        self.0.term_end
    }

    /// The estate the committee serves.
    async fn estate(&self, ctx: &Context<'_>) -> Result<Estate> {
        Ok(Estate(readable_estate(ctx, self.0.estate_id).await?))
    }

    /// The members and their positions.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<CommitteeMemberConnection> {
        let page = Page::new(first, after)?;
        let rows = ctx
            .loaders()
            .members_of
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(connection_from_slice(
            &page,
            &rows,
            |r| r.id,
            CommitteeMember,
        )?)
    }
}

/// A seat on an owners' committee.
pub struct CommitteeMember(pub CommitteeMemberRow);

/// A seat on an owners' committee.
#[Object]
impl CommitteeMember {
    /// The member's position.
    async fn position(&self) -> CommitteePosition {
        match self.0.position.as_str() {
            "CHAIR" => CommitteePosition::Chair,
            "VICE_CHAIR" => CommitteePosition::ViceChair,
            "ALTERNATE" => CommitteePosition::Alternate,
            _ => CommitteePosition::Member,
        }
    }

    /// The owner holding the seat (not available to analysts).
    async fn owner(&self, ctx: &Context<'_>) -> Result<Owner> {
        let viewer = ctx.viewer()?;
        let row = ctx
            .loaders()
            .owner
            .load_one(self.0.owner_id)
            .await?
            .ok_or_else(|| AppError::Internal("committee member without owner".into()))?;
        Ok(owner_for(viewer, row)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Root fields

/// How to sort a list of estates.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum EstateOrderField {
    /// By name.
    Name,
    /// By number of households.
    Households,
    /// By registration rate.
    RegistrationRate,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// The order of an estate list; ties are broken by id.
#[derive(InputObject)]
pub struct EstateOrder {
    /// The sort key.
    pub field: EstateOrderField,
    /// The direction (ascending by default).
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Which estates to list.
#[derive(InputObject, Default)]
pub struct EstateListFilter {
    /// Only estates of this district.
    pub district_id: Option<ID>,
    /// Only estates of this subdistrict.
    pub subdistrict_id: Option<ID>,
    /// Only estates of this community.
    pub community_id: Option<ID>,
    /// Only estates whose name contains this text.
    pub name_contains: Option<String>,
}

/// Register figures of one district.
#[derive(SimpleObject)]
pub struct DistrictStats {
    /// The district.
    pub district: District,
    /// Its figures.
    pub stats: RegisterStats,
}

/// City-wide register figures.
#[derive(SimpleObject)]
pub struct CityStats {
    /// The whole city.
    pub total: RegisterStats,
    /// Each district with at least one estate, in district order (a handful per city, so a
    /// plain list rather than a connection).
    pub districts: Vec<DistrictStats>,
}

/// The caller, as the server sees them.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ViewerInfo {
    /// The caller's role.
    pub role: Role,
    /// When the caller's token expires.
    pub token_expires_at: DateTime<Utc>,
    #[graphql(skip)]
    pub owner_id: Option<i64>,
}

#[ComplexObject]
impl ViewerInfo {
    /// The caller's own owner record, for OWNER and COMMITTEE_MEMBER.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<Owner>> {
        let Some(id) = self.owner_id else {
            return Ok(None);
        };
        Ok(ctx.loaders().owner.load_one(id).await?.map(Owner))
    }
}

/// Queries on the register.
#[derive(Default)]
pub struct RegistryQuery;

#[Object]
impl RegistryQuery {
    /// Estates the caller may read, filtered and sorted.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn estates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
        #[graphql(desc = "Which estates to list.")] filter: Option<EstateListFilter>,
        #[graphql(desc = "Sort order (by name by default).")] order_by: Option<EstateOrder>,
    ) -> Result<EstateConnection> {
        let viewer = ctx.viewer()?;
        let page = Page::new(first, after)?;
        let filter = filter.unwrap_or_default();
        let decode = |id: Option<ID>, kind| id.map(|i| decode_id_of(kind, &i)).transpose();
        let filter = EstateFilter {
            district_id: decode(filter.district_id, NodeKind::District)?,
            subdistrict_id: decode(filter.subdistrict_id, NodeKind::Subdistrict)?,
            community_id: decode(filter.community_id, NodeKind::Community)?,
            name_contains: filter.name_contains,
        };
        let (sort, descending) = match order_by {
            None => (EstateSort::Name, false),
            Some(o) => (
                match o.field {
                    EstateOrderField::Name => EstateSort::Name,
                    EstateOrderField::Households => EstateSort::Households,
                    EstateOrderField::RegistrationRate => EstateSort::RegistrationRate,
                },
                o.direction == OrderDirection::Desc,
            ),
        };
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let rows =
            repo::estates_page(&mut conn, &viewer.scope, &filter, sort, descending, &page).await?;
        Ok(connection_from_rows(
            &page,
            rows,
            |(e, s)| Cursor(repo::estate_cursor(sort, e, s)),
            |(e, _)| Estate(e),
        ))
    }

    /// One estate by id.
    async fn estate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The estate's id.")] id: ID,
    ) -> Result<Estate> {
        let id = decode_id_of(NodeKind::Estate, &id)?;
        Ok(Estate(readable_estate(ctx, id).await?))
    }

    /// The city's districts.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn districts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<DistrictConnection> {
        ctx.viewer()?;
        let page = Page::new(first, after)?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let rows = repo::districts_page(&mut conn, &page).await?;
        Ok(connection_from_rows(
            &page,
            rows,
            |r| Cursor::of_id(r.id),
            District,
        ))
    }

    /// Property companies registered in the city.
    #[graphql(complexity = "crate::graphql::relay::page_cost(first, child_complexity)")]
    async fn property_companies(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last item of the previous page.")] after: Option<String>,
    ) -> Result<PropertyCompanyConnection> {
        ctx.viewer()?;
        let page = Page::new(first, after)?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let rows = repo::companies_page(&mut conn, &page).await?;
        Ok(connection_from_rows(
            &page,
            rows,
            |r| Cursor::of_id(r.id),
            PropertyCompany,
        ))
    }

    /// City-wide and per-district register figures (city administrators and analysts).
    async fn city_stats(&self, ctx: &Context<'_>) -> Result<CityStats> {
        let viewer = ctx.viewer()?;
        viewer.require_role(&[Role::CityAdmin, Role::Analyst], "city statistics")?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        let rows = repo::all_stats_with_district(&mut conn)
            .await
            .map_err(AppError::from)?;
        drop(conn);
        let mut by_district: std::collections::BTreeMap<i64, Vec<StatsRow>> = Default::default();
        for (district, row) in &rows {
            by_district.entry(*district).or_default().push(row.clone());
        }
        let districts = ctx
            .loaders()
            .district
            .load_many(by_district.keys().copied())
            .await?;
        let total = RegisterStats::from_rows(rows.iter().map(|(_, r)| r));
        let districts = by_district
            .into_iter()
            .filter_map(|(id, rows)| {
                districts.get(&id).map(|d| DistrictStats {
                    district: District(d.clone()),
                    stats: RegisterStats::from_rows(rows.iter()),
                })
            })
            .collect();
        Ok(CityStats { total, districts })
    }

    /// Who the caller is.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<ViewerInfo> {
        let viewer = ctx.viewer()?;
        Ok(ViewerInfo {
            role: viewer.role,
            token_expires_at: DateTime::from_timestamp(viewer.expires_at, 0).unwrap_or_default(),
            owner_id: viewer.owner_id(),
        })
    }
}

/// Mutations on the register.
#[derive(Default)]
pub struct RegistryMutation;

/// New settings from an estate's rules of procedure; omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateEstateSettingsInput {
    /// The estate.
    pub estate_id: ID,
    /// Days of notice before voting opens (0–365).
    pub notice_days: Option<i32>,
    /// How non-voters are treated.
    pub non_voter_rule: Option<NonVoterRule>,
}

#[Object]
impl RegistryMutation {
    /// Records a change of the estate's rules of procedure (committee members of that estate
    /// and city administrators).
    async fn update_estate_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The estate and its new settings.")] input: UpdateEstateSettingsInput,
    ) -> Result<Estate> {
        let viewer = ctx.viewer()?;
        viewer.require_role(
            &[Role::CommitteeMember, Role::CityAdmin],
            "changing an estate's rules",
        )?;
        let estate_id = decode_id_of(NodeKind::Estate, &input.estate_id)?;
        if let Some(days) = input.notice_days {
            if !(0..=365).contains(&days) {
                return Err(AppError::bad_input(format!(
                    "noticeDays must be between 0 and 365 (got {days})"
                ))
                .into());
            }
        }
        readable_estate(ctx, estate_id).await?;
        let mut conn = ctx.db().conn().await.map_err(AppError::from)?;
        if viewer.role == Role::CommitteeMember
            && !super::repo::sits_on_committee_of(&mut conn, viewer.subject, estate_id).await?
        {
            return Err(AppError::forbidden(
                "only the estate's own committee may change its rules",
            )
            .into());
        }
        let row = super::repo::update_settings(
            &mut conn,
            estate_id,
            input.notice_days,
            input.non_voter_rule.map(NonVoterRule::as_db),
        )
        .await?;
        ctx.bus()
            .publish(crate::events::Event::EstateChanged { estate_id });
        Ok(Estate(row))
    }
}

/// Subscriptions on the register.
#[derive(Default)]
pub struct RegistrySubscription;

#[async_graphql::Subscription]
impl RegistrySubscription {
    /// The estate now, and again after each change to it is committed.
    async fn estate_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The estate to follow.")] estate_id: ID,
    ) -> Result<impl futures_util::Stream<Item = Result<Estate>>> {
        use futures_util::StreamExt;
        let id = decode_id_of(NodeKind::Estate, &estate_id)?;
        readable_estate(ctx, id).await?;
        let data = ctx.data_of_request();
        let (viewer, db) = (data.viewer.clone(), data.db.clone());
        let changes = data.bus.subscribe_estate(id);
        let initial = futures_util::stream::once(async {});
        Ok(initial.chain(changes).then(move |_| {
            let (viewer, db) = (viewer.clone(), db.clone());
            async move {
                // Access is re-checked on every event: the viewer may have lost the estate.
                let viewer = viewer.ok_or(AppError::Unauthenticated)?;
                let mut conn = db.conn().await.map_err(AppError::from)?;
                let row = super::repo::estates_by_ids(&mut conn, &[id])
                    .await
                    .map_err(AppError::from)?
                    .pop()
                    .ok_or_else(|| AppError::not_found("the estate no longer exists"))?;
                if !viewer.can_read_estate(row.place()) {
                    return Err(AppError::forbidden("this estate is outside your scope").into());
                }
                Ok(Estate(row))
            }
        }))
    }
}

/// Resolves a global id of the register to its object, under the same access rules as the
/// fields that lead to it.
pub async fn resolve_node(
    ctx: &Context<'_>,
    kind: NodeKind,
    id: i64,
) -> AppResult<crate::graphql::Node> {
    use crate::graphql::Node;
    let viewer = ctx.viewer()?;
    let l = ctx.loaders();
    let missing = || AppError::not_found(format!("no {} with this id", kind.type_name()));
    Ok(match kind {
        NodeKind::District => Node::District(District(
            l.district.load_one(id).await?.ok_or_else(missing)?,
        )),
        NodeKind::Subdistrict => Node::Subdistrict(Subdistrict(
            l.subdistrict.load_one(id).await?.ok_or_else(missing)?,
        )),
        NodeKind::Community => Node::Community(Community(
            l.community.load_one(id).await?.ok_or_else(missing)?,
        )),
        NodeKind::Estate => Node::Estate(Estate(readable_estate(ctx, id).await?)),
        NodeKind::Building => {
            let b = l.building.load_one(id).await?.ok_or_else(missing)?;
            readable_estate(ctx, b.estate_id).await?;
            Node::Building(Building(b))
        }
        NodeKind::House => {
            let h = l.house.load_one(id).await?.ok_or_else(missing)?;
            readable_estate(ctx, h.estate_id).await?;
            Node::House(House(h))
        }
        NodeKind::Owner => {
            let o = l.owner.load_one(id).await?.ok_or_else(missing)?;
            let o = owner_for(viewer, o)?;
            if !owner_visible(ctx, id).await? {
                return Err(AppError::forbidden("this owner is outside your scope"));
            }
            Node::Owner(o)
        }
        NodeKind::PropertyCompany => Node::PropertyCompany(PropertyCompany(
            l.company.load_one(id).await?.ok_or_else(missing)?,
        )),
        NodeKind::Committee => {
            let c = l.committee.load_one(id).await?.ok_or_else(missing)?;
            readable_estate(ctx, c.estate_id).await?;
            Node::Committee(Committee(c))
        }
        NodeKind::Ballot => Node::Ballot(crate::ballots::graphql::Ballot(
            crate::ballots::graphql::readable_ballot(ctx, id).await?.0,
        )),
        NodeKind::Account => {
            let mut conn = ctx.db().conn().await?;
            let a = crate::finance::repo::account(&mut conn, id).await?;
            drop(conn);
            readable_estate(ctx, a.estate_id).await?;
            Node::Account(crate::finance::graphql::Account(a))
        }
        NodeKind::BallotItem
        | NodeKind::BallotOption
        | NodeKind::Voter
        | NodeKind::AccountEntry
        | NodeKind::Distribution
        | NodeKind::Disclosure => {
            return Err(AppError::bad_input(format!(
                "a {} id is not a node: read it through its ballot, account or estate",
                kind.type_name()
            )))
        }
    })
}
