//! The `bloodsim` command: a thin layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use bloodsim::metrics::TotalsTable;
use bloodsim::monte_carlo::{self, RunSpec};
use bloodsim::scenario::Scenario;
use bloodsim::scenario::limits::MAX_REPLICATIONS;
use bloodsim::scenario::overrides::{self, Setting};
use bloodsim::{compare, plot, report, results, scenario, shard};

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
        /// Run only shard I (from 0) of N: a contiguous block of the replications, written
        /// as a shard directory for `bloodsim merge` (default --out: results/<scenario>-shard-I-of-N).
        #[arg(long, value_name = "I/N", value_parser = monte_carlo::Shard::parse)]
        shard: Option<monte_carlo::Shard>,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Merge the shard directories of one run (`run --shard I/N`, every I once) into one
    /// results directory, identical to a single run of all the replications.
    Merge {
        /// Shard directories, in any order.
        #[arg(num_args = 1.., required = true)]
        shards: Vec<PathBuf>,
        /// Results directory to write.
        #[arg(long)]
        out: PathBuf,
        /// No messages but errors.
        #[arg(long)]
        quiet: bool,
        /// Skip the charts and report.html.
        #[arg(long)]
        no_plots: bool,
    },
    /// Run variants of a plan on common random numbers and print their paired differences
    /// from the first (the base), with 95% confidence intervals.
    Compare {
        /// Scenario files (TOML): the base first, then one or more variants; or one plan
        /// file (a `base` scenario and named `[[variants]]` setting some of its fields).
        #[arg(num_args = 1.., required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Run a grid of settings of one scenario on common random numbers and print each
    /// setting's headline metrics.
    Sweep {
        /// Scenario file (TOML).
        file: PathBuf,
        /// A field and the values to try, e.g. `policy.replenishment.red_cells.days=3,5`
        /// (repeat for a grid); the field must be written in the file.
        #[arg(long, required = true, value_name = "PATH=V1,V2,...")]
        set: Vec<String>,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Redraw the charts and report.html of a results directory without re-running.
    Plot {
        /// Results directory written by `bloodsim run`, `compare` or `sweep`.
        dir: PathBuf,
    },
    /// Print a JSON Schema of the scenario format (for editors: see `scenarios/README.md`).
    Schema,
    /// Validate a scenario file and report every problem found.
    Check {
        /// Scenario file (TOML).
        file: PathBuf,
    },
    /// Play one replication in a local web page for a class: step through it, inject events,
    /// and ask for the odds from the present (see README, "For trainers").
    Serve {
        /// Scenario file (TOML), or a lesson file (a `title`, its `scenario` and `[[steps]]`
        /// of prompts and events; see scenarios/lessons/).
        file: PathBuf,
        /// Port to listen on (0: any free port; the address is printed).
        #[arg(long, default_value_t = 8017)]
        port: u16,
        /// Address to bind; the default serves this machine only. 0.0.0.0 serves the room's
        /// network: anyone who can reach the port can drive the session.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Which replication of the scenario's seed to play (a lesson names its own).
        #[arg(long, default_value_t = 0)]
        replication: u64,
    },
}

/// A file's text, or a located error.
fn read_text(file: &std::path::Path) -> Result<String, Failure> {
    let bytes = scenario::read(file)?;
    String::from_utf8(bytes).map_err(|_| {
        Failure::BadInput(format!(
            "error: {}: the file is not UTF-8 text\n",
            file.display()
        ))
    })
}

/// The trainer's session for `file`: a scenario, or a lesson naming its scenario.
fn trainer_session(
    file: &std::path::Path,
    replication: u64,
) -> Result<bloodsim::trainer::Session, Failure> {
    use bloodsim::trainer::{Lesson, Session};
    let text = read_text(file)?;
    let name = file.display().to_string();
    if !Lesson::looks_like(&text) {
        return Ok(Session::new(&text, &name, replication)?);
    }
    let lesson =
        Lesson::parse(&text, &name).map_err(|e| Failure::BadInput(format!("error: {e}\n")))?;
    let path = file
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join(&lesson.scenario);
    let scenario_text = read_text(&path)?;
    Session::with_lesson(&scenario_text, &path.display().to_string(), &lesson)
        .map_err(|e| Failure::BadInput(format!("error: {name}: {e}\n")))
}

/// How to run replications: shared by `run` and `compare`.
#[derive(clap::Args)]
struct RunOptions {
    /// Seed (default: the scenario's; for `compare`, the base's).
    #[arg(long)]
    seed: Option<u64>,
    /// Number of replications (default: the scenario's), 1 to 10,000,000.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_REPLICATIONS))]
    replications: Option<u64>,
    /// Worker threads (default: all cores), 1 to 1024.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_THREADS)))]
    threads: Option<u16>,
    /// Refuse to start a run estimated to need more memory than this, in GB.
    #[arg(long, default_value_t = 8.0)]
    max_memory_gb: f64,
    /// Refuse to start a run whose result files are estimated above this size, in GB.
    #[arg(long, default_value_t = 8.0)]
    max_output_gb: f64,
    /// Results directory (default: results/<scenario file name>, or
    /// results/compare-<base>-vs-<variant> for `compare`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Skip the charts and report.html.
    #[arg(long)]
    no_plots: bool,
}

/// Exit status for input the user must fix.
const EXIT_BAD_INPUT: u8 = 2;
/// Most worker threads (`--threads`).
const MAX_THREADS: u16 = 1024;

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
        Command::Schema => {
            print!("{}", scenario::json_schema());
            Ok(())
        }
        Command::Serve {
            file,
            port,
            bind,
            replication,
        } => {
            let session = trainer_session(&file, replication)?;
            let running = bloodsim::serve::start(session, std::net::SocketAddr::new(bind, port))
                .map_err(|e| Failure::Other(format!("cannot listen on {bind}:{port}: {e}")))?;
            println!(
                "trainer: http://{}/ ({}; Ctrl-C to stop)",
                running.addr,
                file.display()
            );
            use std::io::Write;
            let _ = std::io::stdout().flush();
            running.wait();
            Ok(())
        }
        Command::Check { file } => {
            let s = scenario::load(&file)?;
            println!(
                "{}: ok — \"{}\", {}, {}, {} of {} h",
                file.display(),
                s.name,
                plural(s.sites.len() as u64, "site"),
                plural(s.products.len() as u64, "product"),
                plural(u64::from(s.calendar.periods), "period"),
                s.calendar.period_hours
            );
            Ok(())
        }
        Command::Run {
            file,
            shard: Some(shard),
            options,
        } => run_shard(&file, shard, &options),
        Command::Merge {
            shards,
            out,
            quiet,
            no_plots,
        } => merge(&shards, &out, quiet, no_plots),
        Command::Run {
            file,
            shard: None,
            options,
        } => {
            let (bytes, s) = load(&file, &options)?;
            let out = options.out.clone().unwrap_or_else(|| default_out(&file));
            let pool = pool(&options)?;
            check_estimate(&[&s], pool.current_num_threads(), &options)?;
            // The results are built aside and swapped in whole; this also checks that `--out`
            // is writable before anything is simulated.
            let staging = stage(&out)?;
            test_hook("started");
            let bar = progress_bar(s.replications, options.quiet);
            let started = Instant::now();
            let output =
                pool.install(|| monte_carlo::run(&s, RunSpec::from_scenario(&s), &|| bar.inc(1)));
            let wall_seconds = started.elapsed().as_secs_f64();
            bar.finish_and_clear();
            let meta = run_meta(&file, &bytes, pool.current_num_threads(), wall_seconds);
            let cannot_write = cannot_write(&out);
            // Writing formats in parallel too: within `--threads`, in the run's pool.
            let summary =
                pool.install(|| write_variant(staging.dir(), &s, &output, &meta, &options))?;
            test_hook("drawn");
            staging.commit(test_hook).map_err(cannot_write)?;
            interrupt::forget();
            print!("{}", report::table(&s, &summary.headline, s.replications));
            println!(
                "results: {} ({wall_seconds:.1} s simulating)",
                out.display()
            );
            Ok(())
        }
        Command::Compare { files, options } => {
            let (variants, default_name) = match files.as_slice() {
                [plan] => (plan_variants(plan, &options)?, plan_name(plan)),
                _ => {
                    let variants = file_variants(&files, &options)?;
                    let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
                    let name = format!("compare-{}", names.join("-vs-"));
                    (variants, name)
                }
            };
            let names: Vec<String> = variants.iter().map(|v| v.name.clone()).collect();
            let out = options
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("results").join(default_name));
            let (staging, outputs, wall_seconds) = run_variants(variants, &out, &options)?;
            let rows = compare::differences(&outputs.scenarios(), &names, &outputs.totals());
            results::write_rows(staging.dir(), results::COMPARISON_FILE, &rows)
                .map_err(cannot_write(&out))?;
            let by_period =
                compare::period_differences(outputs.scenarios()[0], &names, &outputs.paired);
            results::write_rows(staging.dir(), results::PERIOD_DIFFERENCES_FILE, by_period)
                .map_err(cannot_write(&out))?;
            if !options.no_plots {
                let failed = |e: plot::PlotError| Failure::Other(e.to_string());
                plot::draw_differences(staging.dir()).map_err(failed)?;
                report::html::write_comparison_report(staging.dir(), &names).map_err(failed)?;
            }
            staging.commit(|_| {}).map_err(cannot_write(&out))?;
            interrupt::forget();
            print!("{}", compare::table(&names, &rows, outputs.replications()));
            println!(
                "results: {} (comparison.csv, comparison.html, and one results directory per variant; {wall_seconds:.1} s simulating)",
                out.display()
            );
            Ok(())
        }
        Command::Sweep { file, set, options } => {
            let text = &read_text(&file)?;
            let name = file.display().to_string();
            let bad = |e: overrides::SettingError| Failure::BadInput(format!("error: {e}\n"));
            let settings: Vec<Setting> = set
                .iter()
                .map(|a| Setting::parse(a))
                .collect::<Result<_, _>>()
                .map_err(bad)?;
            // Per setting: its name and what it sets (for sweep.csv), and the scenario.
            let (mut labels, mut variants) = (Vec::new(), Vec::new());
            for (i, point) in grid(&settings).into_iter().enumerate() {
                let pairs: Vec<(&str, &str)> = point
                    .iter()
                    .map(|(p, v)| (p.as_str(), v.as_str()))
                    .collect();
                let edited = overrides::apply(text, &pairs)
                    .map_err(|e| Failure::BadInput(format!("error: --set {e}\n")))?;
                let scenario =
                    scenario::parse(&edited, &name)?.with_run(options.seed, options.replications);
                let values: Vec<String> = point.iter().map(|(p, v)| format!("{p}={v}")).collect();
                let setting = format!("setting-{}", i + 1);
                labels.push((setting.clone(), values.join("; ")));
                variants.push(Variant {
                    name: setting,
                    file: &file,
                    bytes: edited.into_bytes(),
                    scenario,
                });
            }
            let out = options.out.clone().unwrap_or_else(|| {
                let stem = default_out(&file);
                stem.with_file_name(format!(
                    "sweep-{}",
                    stem.file_name().map_or("".into(), |n| n.to_string_lossy())
                ))
            });
            let (staging, outputs, wall_seconds) = run_variants(variants, &out, &options)?;
            let rows = compare::sweep_rows(&outputs.scenarios(), &labels, &outputs.totals());
            results::write_rows(staging.dir(), results::SWEEP_FILE, &rows)
                .map_err(cannot_write(&out))?;
            if !options.no_plots {
                plot::draw_trade_off(staging.dir()).map_err(|e| Failure::Other(e.to_string()))?;
            }
            staging.commit(|_| {}).map_err(cannot_write(&out))?;
            interrupt::forget();
            print!("{}", compare::sweep_table(&rows, outputs.replications()));
            println!(
                "results: {} (sweep.csv, and one results directory per setting; {wall_seconds:.1} s simulating)",
                out.display()
            );
            Ok(())
        }
        Command::Plot { dir } => {
            if dir.join(results::COMPARISON_FILE).exists() {
                let names = compared_names(&dir)?;
                for name in &names {
                    draw(&dir.join(name))?;
                }
                let failed = |e: plot::PlotError| Failure::BadInput(format!("error: {e}\n"));
                plot::draw_differences(&dir).map_err(failed)?;
                report::html::write_comparison_report(&dir, &names).map_err(failed)?;
            } else if dir.join(results::SWEEP_FILE).exists() {
                let rows: Vec<compare::SweepRow> = results::read_rows(&dir, results::SWEEP_FILE)
                    .map_err(|e| Failure::BadInput(format!("error: {e}\n")))?;
                let mut settings: Vec<&str> = rows.iter().map(|r| r.setting.as_str()).collect();
                settings.dedup();
                for setting in settings {
                    draw(&dir.join(setting))?;
                }
                plot::draw_trade_off(&dir)
                    .map_err(|e| Failure::BadInput(format!("error: {e}\n")))?;
            } else {
                draw(&dir)?;
            }
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

/// The variants of a comparison directory, base first: the results directories beside
/// `comparison.csv`, the one it never names as a variant being the base.
fn compared_names(dir: &Path) -> Result<Vec<String>, Failure> {
    let bad = |e: std::io::Error| Failure::BadInput(format!("error: {}: {e}\n", dir.display()));
    let rows: Vec<compare::DifferenceRow> =
        results::read_rows(dir, results::COMPARISON_FILE).map_err(bad)?;
    let mut variants: Vec<String> = rows.into_iter().map(|r| r.variant).collect();
    variants.dedup();
    let mut base = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(bad)? {
        let path = entry.map_err(bad)?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(name) = name.filter(|n| !n.starts_with('.'))
            && path.join(results::SUMMARY_FILE).exists()
            && !variants.contains(&name)
        {
            base.push(name);
        }
    }
    match base.as_slice() {
        [one] => Ok(std::iter::once(one.clone()).chain(variants).collect()),
        _ => Err(Failure::BadInput(format!(
            "error: {}: not one comparison: expected the base's results directory beside the variants' ({})\n",
            dir.display(),
            variants.join(", ")
        ))),
    }
}

/// Reads a scenario once (the hash must be of the bytes parsed: a pipe cannot be read
/// twice) and applies the run options.
fn load(file: &Path, options: &RunOptions) -> Result<(Vec<u8>, Scenario), Failure> {
    let bytes = scenario::read(file)?;
    let s = scenario::parse_bytes(&bytes, &file.display().to_string())?
        .with_run(options.seed, options.replications);
    Ok((bytes, s))
}

fn pool(options: &RunOptions) -> Result<rayon::ThreadPool, Failure> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.map_or(0, usize::from))
        .build()
        .map_err(|e| Failure::Other(format!("cannot start worker threads: {e}")))
}

/// A results directory built aside (see [`results::Staging`]), removed if interrupted.
fn stage(out: &Path) -> Result<results::Staging, Failure> {
    let staging = results::Staging::new(out).map_err(cannot_write(out))?;
    interrupt::remove_on_interrupt(staging.dir());
    Ok(staging)
}

fn cannot_write(out: &Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure::Other(format!("cannot write results to {}: {e}", out.display()))
}

fn run_meta(file: &Path, bytes: &[u8], threads: usize, wall_seconds: f64) -> report::RunMeta {
    report::RunMeta {
        file: file.display().to_string(),
        file_sha256: results::sha256_hex(bytes),
        threads,
        wall_seconds,
        shards: None,
    }
}

/// `run --shard I/N`: simulates the shard's replications (and the pilot, for the layout)
/// and writes its shard directory.
fn run_shard(file: &Path, shard: monte_carlo::Shard, options: &RunOptions) -> Result<(), Failure> {
    let (bytes, s) = load(file, options)?;
    let spec = RunSpec::from_scenario(&s);
    let out = options.out.clone().unwrap_or_else(|| {
        let stem = default_out(file);
        let name = stem.file_name().map_or("".into(), |n| n.to_string_lossy());
        stem.with_file_name(format!("{name}-shard-{}-of-{}", shard.index, shard.count))
    });
    let pool = pool(options)?;
    check_estimate(&[&s], pool.current_num_threads(), options)?;
    let staging = stage(&out)?;
    let bar = progress_bar(shard.replications_run(spec.replications), options.quiet);
    let started = Instant::now();
    let (outputs, _) = pool.install(|| monte_carlo::run_shard(&[&s], spec, shard, &|| bar.inc(1)));
    let wall_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let run = shard::ShardRun {
        scenario_file: &file.display().to_string(),
        scenario_text: &bytes,
        spec,
        shard,
        threads: pool.current_num_threads(),
        wall_seconds,
    };
    let meta = shard::write(staging.dir(), &run, &outputs).map_err(cannot_write(&out))?;
    staging.commit(test_hook).map_err(cannot_write(&out))?;
    interrupt::forget();
    let last = (meta.first_replication + meta.own_replications).saturating_sub(1);
    println!(
        "shard {} of {}: replications {}..={last} of {} ({wall_seconds:.1} s simulating)\nshard: {} (merge all {} with `bloodsim merge DIR... --out DIR`)",
        shard.index,
        shard.count,
        meta.first_replication,
        meta.replications,
        out.display(),
        shard.count
    );
    Ok(())
}

/// `merge`: checks the shards are one run's, each once, and writes the merged results as
/// `run` writes them.
fn merge(dirs: &[PathBuf], out: &Path, quiet: bool, no_plots: bool) -> Result<(), Failure> {
    let bad = |e: shard::MergeError| Failure::BadInput(format!("error: {e}\n"));
    let metas = shard::read_metas(dirs).map_err(bad)?;
    let order = shard::order(dirs, &metas).map_err(bad)?;
    let first = &metas[order[0]];
    let text = shard::scenario_text(&dirs[order[0]], first).map_err(bad)?;
    let s = scenario::parse_bytes(&text, &first.scenario_file)?
        .with_run(Some(first.seed), Some(first.replications));
    let staging = stage(out)?;
    let started = Instant::now();
    let sorted_dirs: Vec<&Path> = order.iter().map(|&i| dirs[i].as_path()).collect();
    let sorted_metas: Vec<&shard::ShardMeta> = order.iter().map(|&i| &metas[i]).collect();
    let output = shard::merge(&sorted_dirs, &sorted_metas, &s).map_err(bad)?;
    let meta = report::RunMeta {
        file: first.scenario_file.clone(),
        file_sha256: first.scenario_sha256.clone(),
        threads: metas.iter().map(|m| m.threads).max().unwrap_or(1),
        wall_seconds: metas.iter().map(|m| m.wall_seconds).sum(),
        shards: Some(first.shard_count),
    };
    let options = RunOptions {
        seed: None,
        replications: None,
        threads: None,
        max_memory_gb: f64::INFINITY,
        max_output_gb: f64::INFINITY,
        out: Some(out.to_path_buf()),
        quiet,
        no_plots,
    };
    let summary = write_variant(staging.dir(), &s, &output, &meta, &options)?;
    staging.commit(test_hook).map_err(cannot_write(out))?;
    interrupt::forget();
    if !quiet {
        print!("{}", report::table(&s, &summary.headline, s.replications));
    }
    println!(
        "results: {} ({} shards merged in {:.1} s)",
        out.display(),
        first.shard_count,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes one scenario's results (summary, rows, and unless `--no-plots` charts and
/// report.html) into `dir`.
fn write_variant(
    dir: &Path,
    s: &Scenario,
    output: &monte_carlo::RunOutput,
    meta: &report::RunMeta,
    options: &RunOptions,
) -> Result<results::Summary, Failure> {
    let summary = report::summary(s, &output.totals, &output.aggregate, meta);
    let approximate = summary.run.approximate_percentiles;
    if approximate > 0 && !options.quiet {
        let reported = output.aggregate.windows() as f64 * report::QUANTILES.len() as f64;
        eprintln!(
            "note: {approximate} of {reported} per-period percentiles ({:.3}%) lie beyond the range set by the first 32 replications and are reported as the floor of a coarser bin (see ARCHITECTURE.md)",
            100.0 * approximate as f64 / reported
        );
    }
    test_hook("simulated");
    let periods = report::PeriodRows::new(s, &output.aggregate);
    let reps = report::replication_rows(s, &output.totals);
    results::write_results(dir, &summary, &periods, reps).map_err(cannot_write(dir))?;
    test_hook("written");
    if !options.no_plots {
        draw(dir)?;
    }
    Ok(summary)
}

/// One scenario of a comparison or sweep, with where it came from.
struct Variant<'a> {
    name: String,
    file: &'a Path,
    /// The text simulated (for a sweep setting, the file with its values put in), hashed
    /// into its summary.
    bytes: Vec<u8>,
    scenario: Scenario,
}

/// The variants and what their runs produced, in variant order.
struct Outputs<'a> {
    variants: Vec<Variant<'a>>,
    runs: Vec<monte_carlo::RunOutput>,
    /// Paired differences from the first variant, by period.
    paired: monte_carlo::paired::PairedSums,
}

impl Outputs<'_> {
    fn scenarios(&self) -> Vec<&Scenario> {
        self.variants.iter().map(|v| &v.scenario).collect()
    }

    fn totals(&self) -> Vec<&TotalsTable> {
        self.runs.iter().map(|o| &o.totals).collect()
    }

    fn replications(&self) -> u64 {
        self.variants[0].scenario.replications
    }
}

/// Runs the variants on common random numbers (the first's seed and replications for all,
/// so pairs line up), after checking they report the same lines, and writes each one's
/// results directory under a staging directory for `out`.
fn run_variants<'a>(
    mut variants: Vec<Variant<'a>>,
    out: &Path,
    options: &RunOptions,
) -> Result<(results::Staging, Outputs<'a>, f64), Failure> {
    let (seed, replications) = (variants[0].scenario.seed, variants[0].scenario.replications);
    for v in &mut variants {
        v.scenario = v.scenario.clone().with_run(Some(seed), Some(replications));
    }
    for v in &variants[1..] {
        compare::comparable(&variants[0].scenario, &v.scenario).map_err(|e| {
            Failure::BadInput(format!(
                "error: cannot compare {} ({}) with {} ({}): {e}\n",
                v.name,
                v.file.display(),
                variants[0].name,
                variants[0].file.display()
            ))
        })?;
    }
    let pool = pool(options)?;
    let scenarios: Vec<&Scenario> = variants.iter().map(|v| &v.scenario).collect();
    check_estimate(&scenarios, pool.current_num_threads(), options)?;
    let staging = stage(out)?;
    let bar = progress_bar(replications, options.quiet);
    let started = Instant::now();
    let spec = RunSpec { seed, replications };
    let (runs, paired) = pool.install(|| monte_carlo::run_paired(&scenarios, spec, &|| bar.inc(1)));
    let wall_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    for (v, output) in variants.iter().zip(&runs) {
        let meta = run_meta(v.file, &v.bytes, pool.current_num_threads(), wall_seconds);
        let dir = staging.dir().join(&v.name);
        pool.install(|| write_variant(&dir, &v.scenario, output, &meta, options))?;
    }
    let outputs = Outputs {
        variants,
        runs,
        paired,
    };
    Ok((staging, outputs, wall_seconds))
}

/// Variants from scenario files, named by their file names.
fn file_variants<'a>(
    files: &'a [PathBuf],
    options: &RunOptions,
) -> Result<Vec<Variant<'a>>, Failure> {
    let names = variant_names(files);
    let mut variants = Vec::with_capacity(files.len());
    for (file, name) in files.iter().zip(names) {
        let bytes = scenario::read(file)?;
        if scenario::plan::is_plan(std::str::from_utf8(&bytes).unwrap_or("")) {
            return Err(Failure::BadInput(format!(
                "error: {}: a plan file is compared alone (`bloodsim compare {0}`), not beside scenario files\n",
                file.display()
            )));
        }
        let scenario = scenario::parse_bytes(&bytes, &file.display().to_string())?
            .with_run(options.seed, options.replications);
        variants.push(Variant {
            name,
            file,
            bytes,
            scenario,
        });
    }
    Ok(variants)
}

/// Variants from a plan file: its base, then each variant (the base's text with the
/// variant's values put in). One file that is not a plan is refused: a comparison needs two.
fn plan_variants<'a>(plan: &'a Path, options: &RunOptions) -> Result<Vec<Variant<'a>>, Failure> {
    let bytes = scenario::read(plan)?;
    let text = std::str::from_utf8(&bytes).unwrap_or("");
    if !scenario::plan::is_plan(text) {
        return Err(Failure::BadInput(format!(
            "error: {}: compare needs two scenario files (the base first), or one plan file with `base` and [[variants]]\n",
            plan.display()
        )));
    }
    let parsed = scenario::plan::parse(text, plan)?;
    let (base_bytes, base) = load(&parsed.base, options).map_err(|e| match e {
        Failure::BadInput(msg) => {
            Failure::BadInput(format!("{msg}(the base of plan {})\n", plan.display()))
        }
        other => other,
    })?;
    let base_text = String::from_utf8_lossy(&base_bytes).into_owned();
    let base_file = parsed.base.display().to_string();
    let mut variants = vec![Variant {
        name: parsed.base_name.clone(),
        file: plan,
        bytes: base_bytes,
        scenario: base,
    }];
    for v in &parsed.variants {
        let edited = v.apply(&base_text).map_err(|e| {
            Failure::BadInput(format!(
                "error: {}: variant `{}` sets {e}\n",
                plan.display(),
                v.name
            ))
        })?;
        let label = format!("{base_file} (variant `{}` of {})", v.name, plan.display());
        let scenario =
            scenario::parse(&edited, &label)?.with_run(options.seed, options.replications);
        variants.push(Variant {
            name: v.name.clone(),
            file: plan,
            bytes: edited.into_bytes(),
            scenario,
        });
    }
    Ok(variants)
}

/// `results/compare-<plan file name>` by default.
fn plan_name(plan: &Path) -> String {
    let stem = plan
        .file_stem()
        .map_or("plan".into(), |s| s.to_string_lossy().to_string());
    format!("compare-{stem}")
}

/// Every combination of the settings' values, the first setting varying slowest.
fn grid(settings: &[Setting]) -> Vec<Vec<(String, String)>> {
    let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for s in settings {
        points = points
            .into_iter()
            .flat_map(|point| {
                s.values.iter().map(move |v| {
                    let mut next = point.clone();
                    next.push((s.path.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    points
}

/// Each file's stem, made unique (`a`, `a-2`) so each variant has its own directory.
fn variant_names(files: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(files.len());
    for file in files {
        let stem = file
            .file_stem()
            .map_or("variant".into(), |s| s.to_string_lossy().to_string());
        let mut name = stem.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{stem}-{k}");
            k += 1;
        }
        names.push(name);
    }
    names
}

/// Refuses a run estimated above the memory or output limits, before it starts; variants
/// run together add up.
fn check_estimate(
    variants: &[&Scenario],
    threads: usize,
    options: &RunOptions,
) -> Result<(), Failure> {
    let (max_memory_gb, max_output_gb) = (options.max_memory_gb, options.max_output_gb);
    let s = variants[0];
    let (memory, output) = variants.iter().fold((0.0, 0.0), |(m, o), v| {
        let e = monte_carlo::estimate(v, v.replications, threads);
        (m + e.memory_bytes, o + e.output_bytes)
    });
    let gb = |bytes: f64| bytes / 1e9;
    if gb(memory) > max_memory_gb {
        return Err(Failure::BadInput(format!(
            "error: this run would need about {:.1} GB of memory ({} of {} on {}), above the limit of {max_memory_gb} GB; lower the replications, horizon or sites, or raise the limit with --max-memory-gb\n",
            gb(memory),
            plural(s.replications, "replication"),
            plural(u64::from(s.calendar.periods), "period"),
            plural(threads as u64, "thread"),
        )));
    }
    if gb(output) > max_output_gb {
        return Err(Failure::BadInput(format!(
            "error: the result files would take about {:.1} GB ({} of {}), above the limit of {max_output_gb} GB; lower the replications, horizon or sites, or raise the limit with --max-output-gb\n",
            gb(output),
            plural(s.replications, "replication"),
            plural(u64::from(s.calendar.periods), "period"),
        )));
    }
    Ok(())
}

/// `1 product`, `3 products`.
fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// For tests of interrupted runs: with `BLOODSIM_TEST_EXIT_AT=<stage>` the process exits at
/// once at that stage (no clean-up, as if killed); with `BLOODSIM_TEST_PAUSE_AT=<stage>` it
/// waits there for a few seconds (for a signal).
fn test_hook(stage: &str) {
    if std::env::var_os("BLOODSIM_TEST_EXIT_AT").is_some_and(|s| s == stage) {
        std::process::exit(99);
    }
    if std::env::var_os("BLOODSIM_TEST_PAUSE_AT").is_some_and(|s| s == stage) {
        eprintln!("paused at {stage}");
        std::thread::sleep(std::time::Duration::from_secs(20));
    }
}

/// SIGINT (Ctrl-C) during a run removes the results being built aside.
mod interrupt {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    static BUILDING: Mutex<Option<PathBuf>> = Mutex::new(None);

    pub fn remove_on_interrupt(dir: &Path) {
        *BUILDING.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir.to_path_buf());
        // Only the first call installs the handler; a failure leaves the default (the
        // directory aside is then removed by the next run).
        let _ = ctrlc::set_handler(|| {
            let dir = BUILDING.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(dir) = dir {
                let _ = std::fs::remove_dir_all(dir);
            }
            // Not eprintln!: it panics when stderr is closed (a reader that went away).
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "interrupted: the results directory is unchanged"
            );
            std::process::exit(130);
        });
    }

    /// The results are in place: nothing to remove any more.
    pub fn forget() {
        BUILDING.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
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
