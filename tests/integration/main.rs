//! All integration tests, in one binary (one link step).

mod support;

mod cli;
mod closed_form;
mod determinism;
mod invariants;
mod validation;
