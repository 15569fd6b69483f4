//! The estate register: the administrative chain, estates, buildings, houses, owners,
//! ownerships, property companies, committees and staff.

pub mod graphql;
pub mod loaders;
pub mod model;
pub mod repo;
pub mod rules;
pub mod seed;
