//! Disclosures: what property companies and committees must publish, generated from the books
//! where it is a statement, immutable and hash-chained per estate; compliance with the
//! publication duties; service contracts and fee standards.

pub mod graphql;
pub mod loaders;
pub mod repo;
pub mod rules;
