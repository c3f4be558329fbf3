//! All integration tests, in one binary (one link step).

mod support;
mod synthetic;

mod aggregates;
mod browser;
mod cli;
mod closed_form;
mod common_random_numbers;
mod compare;
mod determinism;
mod draws;
mod events;
mod fuzz;
mod interrupted;
mod invariants;
mod kubernetes;
mod mass_casualty;
mod plots;
mod report;
mod responses;
mod schema;
mod shards;
mod shipping;
mod slurm;
mod trainer;
mod trainer_browser;
mod validation;
