//! The viewer: who is asking, and which estates they may read.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{Claims, Role};
use crate::db::schema::{
    ballot_voter_owners, ballots, committee_members, committees, estate_managements, houses,
    owners, ownerships, staff,
};
use crate::db::Db;
use crate::error::AppError;

/// Which estates a viewer may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole city.
    All,
    /// The estates of one subdistrict.
    Subdistrict(i64),
    /// The estates of one community.
    Community(i64),
    /// An explicit set of estates (owners, committee members, property managers).
    Estates(BTreeSet<i64>),
}

/// The authenticated caller of a request or WebSocket connection.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub role: Role,
    /// Owner id for OWNER and COMMITTEE_MEMBER, staff id otherwise.
    pub subject: i64,
    pub scope: Scope,
    /// Token expiry (seconds since the epoch), so long-lived sockets can be closed on time.
    pub expires_at: i64,
}

/// Where an estate sits, enough to decide whether a viewer may read it.
#[derive(Debug, Clone, Copy)]
pub struct EstatePlace {
    pub estate_id: i64,
    pub community_id: i64,
    pub subdistrict_id: i64,
}

impl Viewer {
    pub fn can_read_estate(&self, place: EstatePlace) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Subdistrict(s) => *s == place.subdistrict_id,
            Scope::Community(c) => *c == place.community_id,
            Scope::Estates(set) => set.contains(&place.estate_id),
        }
    }

    /// Analysts see figures only: no owner, no name, no certificate.
    pub fn may_see_personal_data(&self) -> bool {
        self.role != Role::Analyst
    }

    /// Whose full name the viewer may see: their own, or anyone's for a city admin.
    pub fn may_see_full_name_of(&self, owner_id: i64) -> bool {
        self.role == Role::CityAdmin || (self.role.subject_is_owner() && self.subject == owner_id)
    }

    /// The owner id behind the viewer, for OWNER and COMMITTEE_MEMBER.
    pub fn owner_id(&self) -> Option<i64> {
        self.role.subject_is_owner().then_some(self.subject)
    }

    pub fn require_role(&self, allowed: &[Role], what: &str) -> Result<(), AppError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "{what} is not available to the role {}",
                self.role.as_str()
            )))
        }
    }
}

/// Builds the viewer for verified claims, checking that the subject still holds the role.
pub async fn resolve_viewer(db: &Db, claims: &Claims, subject: i64) -> Result<Viewer, AppError> {
    let mut conn = db.conn().await?;
    let conn = &mut *conn;
    let scope = match claims.role {
        Role::Owner | Role::CommitteeMember => {
            let exists: i64 = owners::table
                .filter(owners::id.eq(subject))
                .count()
                .get_result(conn)
                .await?;
            if exists == 0 {
                return Err(AppError::InvalidToken(
                    "the token's owner does not exist".into(),
                ));
            }
            let mut estates: BTreeSet<i64> = ownerships::table
                .inner_join(houses::table)
                .filter(ownerships::owner_id.eq(subject))
                .filter(ownerships::until.is_null())
                .select(houses::estate_id)
                .distinct()
                .load::<i64>(conn)
                .await?
                .into_iter()
                .collect();
            // The roll is frozen when a ballot opens: an owner who sold since still holds that
            // vote, and so still reads the estate while the ballot is open.
            let on_open_rolls: Vec<i64> = ballot_voter_owners::table
                .inner_join(ballots::table.on(ballots::id.eq(ballot_voter_owners::ballot_id)))
                .filter(ballot_voter_owners::owner_id.eq(subject))
                .filter(ballots::state.eq("OPEN"))
                .select(ballots::estate_id)
                .distinct()
                .load(conn)
                .await?;
            estates.extend(on_open_rolls);
            if claims.role == Role::CommitteeMember {
                let today = chrono::Utc::now().date_naive();
                let committee_estates: Vec<i64> = committee_members::table
                    .inner_join(committees::table)
                    .filter(committee_members::owner_id.eq(subject))
                    .filter(committees::term_start.le(today))
                    .filter(committees::term_end.ge(today))
                    .select(committees::estate_id)
                    .load(conn)
                    .await?;
                if committee_estates.is_empty() {
                    return Err(AppError::InvalidToken(
                        "the token's owner is not a member of a sitting committee".into(),
                    ));
                }
                estates.extend(committee_estates);
            }
            Scope::Estates(estates)
        }
        role => {
            // (role, company, community, subdistrict)
            type StaffScope = (String, Option<i64>, Option<i64>, Option<i64>);
            let row: Option<StaffScope> = staff::table
                .filter(staff::id.eq(subject))
                .select((
                    staff::role,
                    staff::company_id,
                    staff::community_id,
                    staff::subdistrict_id,
                ))
                .first(conn)
                .await
                .optional()?;
            let Some((staff_role, company, community, subdistrict)) = row else {
                return Err(AppError::InvalidToken(
                    "the token's staff account does not exist".into(),
                ));
            };
            if staff_role != role.as_str() {
                return Err(AppError::InvalidToken(format!(
                    "the staff account does not hold the role {}",
                    role.as_str()
                )));
            }
            let missing = || {
                AppError::Internal(format!(
                    "staff {subject} ({staff_role}) has no organisation"
                ))
            };
            match role {
                Role::PropertyManager => {
                    let company = company.ok_or_else(missing)?;
                    let estates = estate_managements::table
                        .filter(estate_managements::company_id.eq(company))
                        .filter(estate_managements::until.is_null())
                        .select(estate_managements::estate_id)
                        .load::<i64>(conn)
                        .await?;
                    Scope::Estates(estates.into_iter().collect())
                }
                Role::CommunityStaff => Scope::Community(community.ok_or_else(missing)?),
                Role::SubdistrictOfficer => Scope::Subdistrict(subdistrict.ok_or_else(missing)?),
                _ => Scope::All,
            }
        }
    };
    Ok(Viewer {
        role: claims.role,
        subject,
        scope,
        expires_at: claims.exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(e: i64, c: i64, s: i64) -> EstatePlace {
        EstatePlace {
            estate_id: e,
            community_id: c,
            subdistrict_id: s,
        }
    }

    fn viewer(role: Role, scope: Scope) -> Viewer {
        Viewer {
            role,
            subject: 7,
            scope,
            expires_at: 0,
        }
    }

    #[test]
    fn scopes_decide_estate_access() {
        let owner = viewer(Role::Owner, Scope::Estates([1, 2].into()));
        assert!(owner.can_read_estate(place(1, 9, 9)));
        assert!(!owner.can_read_estate(place(3, 9, 9)));
        let officer = viewer(Role::SubdistrictOfficer, Scope::Subdistrict(5));
        assert!(officer.can_read_estate(place(3, 1, 5)));
        assert!(!officer.can_read_estate(place(3, 1, 6)));
        let community = viewer(Role::CommunityStaff, Scope::Community(4));
        assert!(community.can_read_estate(place(3, 4, 5)));
        assert!(!community.can_read_estate(place(3, 5, 5)));
        assert!(viewer(Role::Analyst, Scope::All).can_read_estate(place(99, 1, 1)));
    }

    #[test]
    fn personal_data_rules() {
        let analyst = viewer(Role::Analyst, Scope::All);
        assert!(!analyst.may_see_personal_data());
        assert!(!analyst.may_see_full_name_of(7));
        let owner = viewer(Role::Owner, Scope::Estates(BTreeSet::new()));
        assert!(owner.may_see_full_name_of(7));
        assert!(!owner.may_see_full_name_of(8));
        // A staff id equal to an owner id must not unlock that owner's name.
        let manager = viewer(Role::PropertyManager, Scope::Estates(BTreeSet::new()));
        assert!(!manager.may_see_full_name_of(7));
        assert!(viewer(Role::CityAdmin, Scope::All).may_see_full_name_of(8));
    }
}
