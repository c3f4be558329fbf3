//! bloodsim: Monte Carlo simulation of emergency blood supply.

pub mod plot;
pub mod report;
pub mod results;
