//! bloodsim: Monte Carlo simulation of emergency blood supply.
//!
//! Data flow: a scenario file is parsed and validated once ([`scenario`]) into domain types
//! ([`blood`], [`network`], [`supply`], [`demand`], [`policy`], [`calendar`]); the
//! [`engine`] simulates one replication from an explicit seed and reports each period to a
//! [`record::Recorder`]; [`monte_carlo`] runs many replications and aggregates them;
//! [`report`] turns aggregates into tables and rows, [`results`] reads and writes the
//! results directory, and [`plot`] draws charts from it.

pub mod alert;
pub mod blood;
pub mod calendar;
pub mod compare;
pub mod demand;
pub mod engine;
pub mod events;
pub mod inventory;
pub mod metrics;
pub mod monte_carlo;
pub mod network;
pub mod plot;
pub mod policy;
pub mod random;
pub mod record;
pub mod report;
pub mod responses;
pub mod results;
pub mod scenario;
pub mod serve;
pub mod shard;
pub mod supply;
pub mod trainer;
