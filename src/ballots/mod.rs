//! Ballots: owners' decisions from draft to certified result, online and on paper, with live
//! progress. The law lives in `rules.rs` (pure); the roll in `roll.rs`; the lifecycle in
//! `lifecycle.rs`; choices and the hash chain in `choices.rs`.

pub mod choices;
pub mod graphql;
pub mod hub;
pub mod lifecycle;
pub mod loaders;
pub mod model;
pub mod progress;
pub mod repo;
pub mod roll;
pub mod rules;
pub mod scheduler;
pub mod seed;
pub mod tally;
