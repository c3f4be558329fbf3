//! The `bloodsim` command: a thin layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use bloodsim::monte_carlo::{self, RunSpec};
use bloodsim::{plot, report, results, scenario};

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
        /// Results directory (default: results/<scenario file name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Skip the charts and report.html.
        #[arg(long)]
        no_plots: bool,
    },
    /// Redraw the charts and report.html of a results directory without re-running.
    Plot {
        /// Results directory written by `bloodsim run`.
        dir: PathBuf,
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
            out,
            quiet,
            no_plots,
        } => {
            let s = scenario::load(&file)?.with_run(seed, replications);
            if s.replications == 0 {
                return Err(Failure::BadInput(
                    "--replications must be at least 1\n".into(),
                ));
            }
            let bytes = std::fs::read(&file)
                .map_err(|e| Failure::Other(format!("{}: {e}", file.display())))?;
            let out = out.unwrap_or_else(|| default_out(&file));
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads.unwrap_or(0))
                .build()
                .map_err(|e| Failure::Other(format!("cannot start worker threads: {e}")))?;
            let bar = progress_bar(s.replications, quiet);
            let started = Instant::now();
            let output =
                pool.install(|| monte_carlo::run(&s, RunSpec::from_scenario(&s), &|| bar.inc(1)));
            let wall_seconds = started.elapsed().as_secs_f64();
            bar.finish_and_clear();
            let meta = report::RunMeta {
                file: file.display().to_string(),
                file_sha256: Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
                threads: pool.current_num_threads(),
                wall_seconds,
            };
            let summary = report::summary(&s, &output.totals, &output.aggregate, &meta);
            let approximate = summary.run.approximate_percentiles;
            if approximate > 0 && !quiet {
                let reported = output.aggregate.windows() as f64 * report::QUANTILES.len() as f64;
                eprintln!(
                    "note: {approximate} of {reported} per-period percentiles ({:.3}%) lie beyond the range set by the first 32 replications and are reported as the floor of a coarser bin (see ARCHITECTURE.md)",
                    100.0 * approximate as f64 / reported
                );
            }
            let periods = report::period_rows(&s, &output.aggregate);
            let reps = report::replication_rows(&s, &output.totals);
            results::write_results(&out, &summary, periods, reps).map_err(|e| {
                Failure::Other(format!("cannot write results to {}: {e}", out.display()))
            })?;
            print!("{}", report::table(&s, &summary.headline, s.replications));
            if !no_plots {
                draw(&out)?;
            }
            println!(
                "results: {} ({wall_seconds:.1} s simulating)",
                out.display()
            );
            Ok(())
        }
        Command::Plot { dir } => {
            draw(&dir)?;
            println!("charts and report: {}", dir.display());
            Ok(())
        }
    }
}

/// Charts into DIR/plots and DIR/report.html, from the files in DIR.
fn draw(dir: &Path) -> Result<(), Failure> {
    let data =
        plot::ResultsData::load(dir).map_err(|e| Failure::BadInput(format!("error: {e}\n")))?;
    plot::draw_all_from(&data, dir).map_err(|e| Failure::Other(e.to_string()))?;
    report::html::write_report_from(&data, dir).map_err(|e| Failure::Other(e.to_string()))?;
    Ok(())
}

fn default_out(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map_or("results".into(), |s| s.to_string_lossy().to_string());
    PathBuf::from("results").join(stem)
}

/// A progress bar with ETA on a terminal; nothing when stderr is not a terminal or `--quiet`.
fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} replications  {elapsed} elapsed, ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}
