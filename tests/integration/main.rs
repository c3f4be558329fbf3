//! The single integration-test binary of bloodsim.

mod browser;
mod plots;
mod report;
mod synthetic;
