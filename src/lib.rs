//! bloodsim: Monte Carlo simulation of emergency blood supply.

pub mod results;
