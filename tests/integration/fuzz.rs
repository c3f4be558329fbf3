//! A mutation fuzzer on stable Rust: mutates the bundled scenarios' values, keys and lines,
//! validates each mutant, runs two short replications of those that validate, and fails on
//! any panic (integer overflow included: tests build with overflow checks) or a mutant
//! taking longer than a time bound. `cargo test` runs a few hundred mutants;
//! `BLOODSIM_FUZZ_CASES=100000 cargo test --test integration fuzz -- --nocapture` runs
//! more (and `BLOODSIM_FUZZ_SEED` varies them).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bloodsim::monte_carlo::{self, RunSpec};
use bloodsim::scenario;

const SCENARIOS: [(&str, &str); 4] = [
    (
        "single-hospital",
        include_str!("../../scenarios/single-hospital.toml"),
    ),
    (
        "korea-baseline",
        include_str!("../../scenarios/korea-baseline.toml"),
    ),
    (
        "centralisation-regional",
        include_str!("../../scenarios/centralisation-regional.toml"),
    ),
    (
        "centralisation-central",
        include_str!("../../scenarios/centralisation-central.toml"),
    ),
];

/// Values a mutated number or string takes: limits, their neighbours, and nonsense.
const VALUES: [&str; 24] = [
    "0",
    "-1",
    "1",
    "0.5",
    "1e-300",
    "1e300",
    "-1e300",
    "nan",
    "inf",
    "-inf",
    "1e9",
    "4e9",
    "4294967296",
    "18446744073709551615",
    "9223372036854775807",
    "36500",
    "36501",
    "3650.1",
    "2000.5",
    "1e6",
    "1000001",
    "\"x\"",
    "\"=1+1\"",
    "2026-02-30",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One to three mutations of a scenario: a value replaced, a line deleted or duplicated, or
/// a key renamed.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for _ in 0..1 + rng.below(3) {
        let i = rng.below(lines.len());
        match rng.below(6) {
            0..=2 => {
                if let Some(eq) = lines[i].find('=') {
                    // Replace the value after `=` (or a number inside an inline table).
                    let value = VALUES[rng.below(VALUES.len())];
                    let rest = &lines[i][eq + 1..];
                    let mutated = match rest.find(|c: char| c.is_ascii_digit()) {
                        Some(d) if rng.below(2) == 0 => {
                            let start = eq + 1 + d;
                            let end = lines[i][start..]
                                .find(|c: char| !(c.is_ascii_alphanumeric() || ".-+_".contains(c)))
                                .map_or(lines[i].len(), |e| start + e);
                            format!("{}{value}{}", &lines[i][..start], &lines[i][end..])
                        }
                        _ => format!("{}= {value}", &lines[i][..eq]),
                    };
                    lines[i] = mutated;
                }
            }
            3 => {
                lines.remove(i);
            }
            4 => {
                let copy = lines[i].clone();
                lines.insert(i, copy);
            }
            _ => {
                if let Some(eq) = lines[i].find('=') {
                    lines[i] = format!("x{}", &lines[i][eq..]);
                }
            }
        }
    }
    lines.join("\n")
}

/// A number from the environment (a longer or different campaign), or the CI default.
fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A bundled year-long scenario cut to four weeks, so a run of a mutant takes a fraction of a
/// second.
fn four_weeks(base: &str) -> String {
    base.replace("horizon_days = 396", "horizon_days = 28")
        .replace("warm_up_days = 31", "warm_up_days = 14")
}

#[test]
fn mutated_scenarios_never_panic_or_hang() {
    let cases = env_or("BLOODSIM_FUZZ_CASES", 300) as usize;
    let seed = env_or("BLOODSIM_FUZZ_SEED", 12);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let bound = Duration::from_secs(20);
    // A hung mutant never returns to be timed: a watchdog ends the process, naming it.
    let current: Arc<Mutex<Option<(Instant, String)>>> = Arc::new(Mutex::new(None));
    let watched = Arc::clone(&current);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let guard = watched.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((started, text)) = guard.as_ref()
                && started.elapsed() > bound * 3
            {
                eprintln!("fuzz: a mutant hung for over {:?}:\n{text}", bound * 3);
                std::process::abort();
            }
        }
    });
    let (mut valid, mut ran, mut slowest) = (0, 0, Duration::ZERO);
    for case in 0..cases {
        let (name, base) = SCENARIOS[case % SCENARIOS.len()];
        let base = four_weeks(base);
        let text = mutate(&base, &mut rng);
        let started = Instant::now();
        *current.lock().unwrap_or_else(|e| e.into_inner()) = Some((started, text.clone()));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let Ok(s) = scenario::parse(&text, name) else {
                return (false, false);
            };
            // Short runs only: the limits and the CLI's estimate bound long ones.
            let e = monte_carlo::estimate(&s, 2, 1);
            if s.calendar.periods > 800 || e.memory_bytes > 1e9 {
                return (true, false);
            }
            let spec = RunSpec {
                seed: 1,
                replications: 2,
            };
            monte_carlo::run(&s, spec, &|| {});
            (true, true)
        }));
        let took = started.elapsed();
        *current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        slowest = slowest.max(took);
        match outcome {
            Ok((v, r)) => {
                valid += usize::from(v);
                ran += usize::from(r);
            }
            Err(_) => panic!("mutant {case} of {name} panicked:\n{text}"),
        }
        assert!(
            took < bound,
            "mutant {case} of {name} took {took:?}:\n{text}"
        );
    }
    eprintln!(
        "fuzz: {cases} mutants, {valid} valid, {ran} run; slowest {:.2} s",
        slowest.as_secs_f64()
    );
    assert!(
        valid > 0 && ran > 0,
        "the mutants exercise validation and the engine"
    );
}

/// How a mutant's `bloodsim` process ended.
#[cfg(target_os = "linux")]
struct Ended {
    /// The exit code; `None` when a signal ended it (an abort, the memory cap, the timer).
    code: Option<i32>,
    timed_out: bool,
    /// Peak resident memory, bytes.
    peak_bytes: u64,
}

/// Runs the CLI with `args` under an address-space cap, killed past `bound`; the peak
/// resident memory comes from the kernel's accounting of the child (`wait4`).
#[cfg(target_os = "linux")]
fn run_cli(args: &[&std::ffi::OsStr], bound: Duration, stderr: &std::path::Path) -> Ended {
    use std::os::unix::process::CommandExt;
    const ADDRESS_SPACE: u64 = 8 << 30;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bloodsim"));
    command
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let cap = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &cap) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Reaped below by wait4, which also reports its peak memory.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("bloodsim starts");
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: pid is our child, not yet reaped; status and usage are valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if !timed_out && started.elapsed() > bound {
            timed_out = true;
            // SAFETY: signalling our own, unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ended {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        timed_out,
        peak_bytes: usage.ru_maxrss as u64 * 1024,
    }
}

/// The fuzzer through the command line, as a planner meets it: each mutant is written to a
/// file, `bloodsim check` and (when it passes) a two-replication `bloodsim run` must exit 0
/// or 2 (a located error), within a time bound and a memory bound. Prints the figures the
/// issue asks for: mutants run, exit codes, and the largest memory from a file under 10 KB.
/// `BLOODSIM_FUZZ_CLI_CASES=5000 cargo test --test integration fuzz_cli -- --nocapture`
/// runs longer.
#[cfg(target_os = "linux")]
#[test]
fn fuzz_cli_mutants_exit_0_or_2_within_time_and_memory() {
    let cases = env_or("BLOODSIM_FUZZ_CLI_CASES", 40) as usize;
    let seed = env_or("BLOODSIM_FUZZ_SEED", 12);
    let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
    let bound = Duration::from_secs(60);
    const MEMORY_BOUND: u64 = 1 << 30;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mutant.toml");
    let out = dir.path().join("results");
    let stderr = dir.path().join("stderr.txt");
    let (mut codes, mut small_peak, mut peak) = (std::collections::BTreeMap::new(), 0u64, 0u64);
    for case in 0..cases {
        let (name, base) = SCENARIOS[case % SCENARIOS.len()];
        let base = four_weeks(base);
        let text = mutate(&base, &mut rng);
        std::fs::write(&file, &text).unwrap();
        let check = ["check".as_ref(), file.as_os_str()];
        let run = [
            "run".as_ref(),
            file.as_os_str(),
            "--replications".as_ref(),
            "2".as_ref(),
            "--threads".as_ref(),
            "1".as_ref(),
            "--quiet".as_ref(),
            "--no-plots".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        for (command, args) in [("check", &check[..]), ("run", &run[..])] {
            let ended = run_cli(args, bound, &stderr);
            let said = std::fs::read_to_string(&stderr).unwrap_or_default();
            assert!(
                !ended.timed_out,
                "mutant {case} of {name}: `{command}` ran past {bound:?}:\n{text}"
            );
            assert!(
                matches!(ended.code, Some(0 | 2)),
                "mutant {case} of {name}: `{command}` ended with {:?} (0 or 2 allowed):\n{said}\n{text}",
                ended.code
            );
            assert!(
                ended.peak_bytes <= MEMORY_BOUND,
                "mutant {case} of {name}: `{command}` used {} MB:\n{text}",
                ended.peak_bytes >> 20
            );
            *codes.entry((command, ended.code)).or_insert(0usize) += 1;
            peak = peak.max(ended.peak_bytes);
            if text.len() < 10 * 1024 {
                small_peak = small_peak.max(ended.peak_bytes);
            }
            if ended.code != Some(0) {
                break;
            }
        }
    }
    eprintln!(
        "fuzz (CLI): {cases} mutants; exits {codes:?}; peak memory {:.1} MB (files under 10 KB), {:.1} MB (all)",
        small_peak as f64 / 1e6,
        peak as f64 / 1e6
    );
    assert!(
        codes.contains_key(&("run", Some(0))) && codes.contains_key(&("check", Some(2))),
        "the mutants reach both a rejection and a run: {codes:?}"
    );
}
