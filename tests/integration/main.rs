//! The single integration-test binary of bloodsim.

mod plots;
mod report;
mod synthetic;
