//! Empty: this package holds the engine's benchmarks (`engine.rs`); see `Cargo.toml`.
