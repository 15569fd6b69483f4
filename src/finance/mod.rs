//! Finances: common-fund and maintenance-fund accounts, the public-income ledger a property
//! company keeps where an estate has no account, bank-statement imports, manual entries and
//! reversals, and distributions of public income after a passed ballot item.

pub mod graphql;
pub mod model;
pub mod repo;
pub mod rules;
pub mod seed;
