//! The `bloodsim` command: a thin layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bloodsim::monte_carlo::{RunSpec, run_totals};
use bloodsim::{report, scenario};

/// Emergency blood-supply planning simulator.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario's replications and print a summary table.
    Run {
        /// Scenario file (TOML).
        file: PathBuf,
        /// Seed (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Number of replications (default: the scenario's).
        #[arg(long)]
        replications: Option<u64>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Validate a scenario file and report every problem found.
    Check {
        /// Scenario file (TOML).
        file: PathBuf,
    },
}

/// Exit status for input the user must fix.
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(msg)) => {
            eprint!("{msg}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(Failure::Other(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    BadInput(String),
    Other(String),
}

impl From<scenario::ScenarioError> for Failure {
    fn from(e: scenario::ScenarioError) -> Failure {
        Failure::BadInput(e.to_string())
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Check { file } => {
            let s = scenario::load(&file)?;
            println!(
                "{}: ok — \"{}\", {} sites, {} products, {} periods of {} h",
                file.display(),
                s.name,
                s.sites.len(),
                s.products.len(),
                s.calendar.periods,
                s.calendar.period_hours
            );
            Ok(())
        }
        Command::Run {
            file,
            seed,
            replications,
            threads,
        } => {
            let s = scenario::load(&file)?.with_run(seed, replications);
            if s.replications == 0 {
                return Err(Failure::BadInput(
                    "--replications must be at least 1\n".into(),
                ));
            }
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads.unwrap_or(0))
                .build()
                .map_err(|e| Failure::Other(format!("cannot start worker threads: {e}")))?;
            let runs = pool.install(|| run_totals(&s, RunSpec::from_scenario(&s)));
            let rows = report::headlines(&s, &runs);
            print!("{}", report::table(&s, &rows, s.replications));
            Ok(())
        }
    }
}
