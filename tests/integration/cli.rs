//! The command line as a user meets it.

use assert_cmd::Command;

fn bloodsim() -> Command {
    Command::cargo_bin("bloodsim").unwrap()
}

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/single-hospital.toml"
);

#[test]
fn check_accepts_a_good_file() {
    let out = bloodsim().args(["check", SCENARIO]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("ok"), "{text}");
}

#[test]
fn check_rejects_a_broken_file_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    let text = std::fs::read_to_string(SCENARIO)
        .unwrap()
        .replace("shelf_life_days = 42", "shelf_life_days = 0");
    std::fs::write(&path, text).unwrap();
    let out = bloodsim()
        .args(["check", path.to_str().unwrap()])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("broken.toml:") && err.contains("shelf_life_days"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = bloodsim()
        .args(["check", "no/such/file.toml"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("no/such/file.toml") && err.contains("cannot read"),
        "{err}"
    );
}

#[test]
fn run_prints_a_table_and_writes_results_charts_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    let out = bloodsim()
        .args([
            "run",
            SCENARIO,
            "--replications",
            "20",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&results)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("fill") && text.contains("P(any shortage)"),
        "{text}"
    );
    assert!(text.contains("red_cells"), "{text}");
    // Every file holds a run's content, consistent with the others.
    let summary: bloodsim::results::Summary =
        serde_json::from_str(&std::fs::read_to_string(results.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!((summary.run.seed, summary.run.replications), (3, 20));
    let periods = std::fs::read_to_string(results.join("periods.csv")).unwrap();
    assert!(
        periods.starts_with("period,time,site,product,group,metric,mean,p05,p25,p50,p75,p95\n"),
        "{}",
        &periods[..100]
    );
    // 364 periods x 2 series (network, hospital) x 5 metrics, and the header.
    assert_eq!(periods.lines().count(), 1 + 364 * 2 * 5);
    let reps: Vec<bloodsim::results::ReplicationRow> =
        bloodsim::results::read_rows(&results, "replications.csv").unwrap();
    // 20 replications x one product; a scenario without blood groups has only the `all` row.
    assert_eq!(reps.len(), 20);
    assert!(reps.iter().all(|r| r.group == "all"), "{:?}", reps[0]);
    let all: Vec<_> = reps.iter().filter(|r| r.group == "all").collect();
    let mean_demand = all.iter().map(|r| r.demand as f64).sum::<f64>() / all.len() as f64;
    let headline = summary.headline.iter().find(|h| h.group == "all").unwrap();
    assert!(
        (headline.demand.mean - mean_demand).abs() < 1e-6 * mean_demand,
        "headline demand {} vs replications.csv {mean_demand}",
        headline.demand.mean
    );
    let report = std::fs::read_to_string(results.join("report.html")).unwrap();
    assert!(
        report.contains(&summary.scenario.name) && report.contains("<svg"),
        "report.html"
    );
    let png = std::fs::read(results.join("plots/fill_and_outdate_rates.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    // No temporary files left behind by the atomic writes.
    let leftovers: Vec<_> = std::fs::read_dir(&results)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // `plot` redraws from the directory alone.
    std::fs::remove_file(results.join("report.html")).unwrap();
    bloodsim().arg("plot").arg(&results).assert().success();
    assert!(results.join("report.html").exists());
}

#[test]
fn plot_on_a_directory_without_results_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = bloodsim().arg("plot").arg(dir.path()).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("summary.json"), "{err}");
}

fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).to_string()
}

#[test]
fn replications_and_threads_out_of_range_are_errors_not_panics() {
    for (flag, value) in [
        ("--replications", "18446744073709551615"),
        ("--replications", "0"),
        ("--replications", "10000001"),
        ("--threads", "100000"),
        ("--threads", "0"),
    ] {
        let out = bloodsim()
            .args(["run", SCENARIO, flag, value])
            .assert()
            .code(2);
        let err = stderr_of(&out);
        assert!(
            err.starts_with("error:") && err.contains(flag) && !err.contains("panicked"),
            "{flag} {value}: {err}"
        );
    }
}

#[test]
fn a_run_estimated_beyond_the_memory_limit_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let korea = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/korea-baseline.toml");
    let started = std::time::Instant::now();
    let out = bloodsim()
        .args([
            "run",
            korea,
            "--replications",
            "10000000",
            "--threads",
            "2",
            "--out",
        ])
        .arg(dir.path().join("r"))
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(
        err.starts_with("error: this run would need about")
            && err.contains("GB of memory")
            && err.contains("--max-memory-gb"),
        "{err}"
    );
    assert!(
        started.elapsed().as_secs() < 10,
        "refused before simulating"
    );
    assert!(!dir.path().join("r").exists());
    // The output limit too: a century of hourly periods.
    let text = std::fs::read_to_string(korea)
        .unwrap()
        .replace("horizon_days = 396", "horizon_days = 36500")
        .replace("period_hours = 24", "period_hours = 1");
    let path = dir.path().join("century.toml");
    std::fs::write(&path, text).unwrap();
    let out = bloodsim()
        .args([
            "run",
            path.to_str().unwrap(),
            "--replications",
            "1",
            "--max-memory-gb",
            "1000",
        ])
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(
        err.contains("result files would take about") && err.contains("--max-output-gb"),
        "{err}"
    );
}

#[test]
fn check_and_run_use_singular_nouns_for_one() {
    let out = bloodsim().args(["check", SCENARIO]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("2 sites, 1 product, 364 periods of 24 h"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = bloodsim()
        .args([
            "run",
            SCENARIO,
            "--replications",
            "1",
            "--no-plots",
            "--quiet",
            "--out",
        ])
        .arg(dir.path().join("r"))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("— 1 replication, 336 days"), "{text}");
}

/// A scenario read from a pipe is read once: the summary's hash is of the bytes parsed.
#[test]
fn a_piped_scenario_is_hashed_as_parsed() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(SCENARIO).unwrap();
    bloodsim()
        .args([
            "run",
            "/dev/stdin",
            "--replications",
            "2",
            "--no-plots",
            "--quiet",
            "--out",
        ])
        .arg(dir.path().join("r"))
        .write_stdin(text.clone())
        .assert()
        .success();
    let summary = bloodsim::results::read_summary(&dir.path().join("r")).unwrap();
    let expected: String = Sha256::digest(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(summary.scenario.file_sha256, expected);
}

#[test]
fn compare_prints_paired_differences_and_writes_one_directory_per_variant() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("cmp");
    let longer = dir.path().join("longer.toml");
    let text = std::fs::read_to_string(SCENARIO).unwrap();
    std::fs::write(
        &longer,
        text.replace("horizon_days = 364", "horizon_days = 365"),
    )
    .unwrap();
    let out = bloodsim()
        .args([
            "compare",
            SCENARIO,
            SCENARIO,
            "--replications",
            "5",
            "--quiet",
            "--no-plots",
        ])
        .arg("--out")
        .arg(&results)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("single-hospital-2 vs base \"single-hospital\"")
            && text.contains("fill_rate"),
        "{text}"
    );
    for file in [
        "comparison.csv",
        "single-hospital/summary.json",
        "single-hospital-2/replications.csv",
    ] {
        assert!(results.join(file).exists(), "{file}");
    }
    let csv = std::fs::read_to_string(results.join("comparison.csv")).unwrap();
    assert!(
        csv.starts_with("variant,product,group,metric,base,value,difference,ci_low,ci_high,pairs"),
        "{csv}"
    );
    // A variant measured over other days cannot be paired: a clear error, nothing written.
    let refused = dir.path().join("refused");
    let out = bloodsim()
        .args(["compare", SCENARIO, longer.to_str().unwrap(), "--quiet"])
        .arg("--out")
        .arg(&refused)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("cannot compare")
            && err.contains("longer.toml")
            && err.contains("time settings differ"),
        "{err}"
    );
    assert!(!refused.exists());
}

#[test]
fn a_sweep_setting_equals_a_run_of_the_file_with_that_value() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep");
    let out = bloodsim()
        .args([
            "sweep",
            SCENARIO,
            "--replications",
            "6",
            "--quiet",
            "--no-plots",
        ])
        .args(["--set", "policy.replenishment.red_cells.units=50,70"])
        .args(["--set", "policy.issuing=fifo,lifo"])
        .arg("--out")
        .arg(&sweep)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("policy.replenishment.red_cells.units=70; policy.issuing=\"lifo\""),
        "{text}"
    );
    let csv = std::fs::read_to_string(sweep.join("sweep.csv")).unwrap();
    assert!(csv.contains("setting-4,"), "four settings: {csv}");
    // Setting 3 (units 70, FIFO) against a run of the file edited by hand.
    let edited = dir.path().join("edited.toml");
    let original = std::fs::read_to_string(SCENARIO).unwrap();
    std::fs::write(
        &edited,
        original.replace("units = 60\nreview_every", "units = 70\nreview_every"),
    )
    .unwrap();
    let run = dir.path().join("run");
    bloodsim()
        .args([
            "run",
            edited.to_str().unwrap(),
            "--replications",
            "6",
            "--quiet",
            "--no-plots",
        ])
        .arg("--out")
        .arg(&run)
        .assert()
        .success();
    for file in ["replications.csv", "periods.csv"] {
        let a = std::fs::read(sweep.join("setting-3").join(file)).unwrap();
        let b = std::fs::read(run.join(file)).unwrap();
        assert!(a == b, "{file} differs");
    }
    // A path the file does not have is refused before anything runs.
    let refused = dir.path().join("refused");
    let out = bloodsim()
        .args([
            "sweep",
            SCENARIO,
            "--set",
            "policy.replenishment.red_cells.level=3",
        ])
        .arg("--out")
        .arg(&refused)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("no field `level`"), "{err}");
    assert!(!refused.exists());
    // A value of the wrong type is a located scenario error.
    let out = bloodsim()
        .args([
            "sweep",
            SCENARIO,
            "--set",
            "policy.replenishment.red_cells.units=many",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("single-hospital.toml:") && err.contains("units"),
        "{err}"
    );
}

#[test]
fn a_plan_file_compares_named_variants_of_its_base() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "base = {SCENARIO:?}\nbase_name = \"60\"\n[[variants]]\nname = \"70\"\nset = {{ \"policy.replenishment.red_cells.units\" = 70 }}\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("compare");
    let printed = bloodsim()
        .args(["compare", plan.to_str().unwrap(), "--replications", "6"])
        .args(["--quiet", "--no-plots", "--out"])
        .arg(&out)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&printed.get_output().stdout).to_string();
    assert!(text.contains("70 vs base \"60\""), "{text}");
    let csv = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    assert!(csv.lines().skip(1).all(|l| l.starts_with("70,")), "{csv}");
    // The variant is what a run of the base edited by hand gives, byte for byte.
    let edited = dir.path().join("edited.toml");
    let original = std::fs::read_to_string(SCENARIO).unwrap();
    std::fs::write(
        &edited,
        original.replace("units = 60\nreview_every", "units = 70\nreview_every"),
    )
    .unwrap();
    let run = dir.path().join("run");
    bloodsim()
        .args(["run", edited.to_str().unwrap(), "--replications", "6"])
        .args(["--quiet", "--no-plots", "--out"])
        .arg(&run)
        .assert()
        .success();
    for file in ["replications.csv", "periods.csv"] {
        let a = std::fs::read(out.join("70").join(file)).unwrap();
        let b = std::fs::read(run.join(file)).unwrap();
        assert!(a == b, "{file} differs");
    }
    // A field the base does not have is refused, naming the plan and the variant.
    std::fs::write(
        &plan,
        format!(
            "base = {SCENARIO:?}\n[[variants]]\nname = \"x\"\nset = {{ \"policy.level\" = 1 }}\n"
        ),
    )
    .unwrap();
    let failed = bloodsim()
        .args(["compare", plan.to_str().unwrap(), "--out"])
        .arg(dir.path().join("refused"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&failed.get_output().stderr).to_string();
    assert!(
        err.contains("plan.toml: variant `x` sets policy.level: no field `level`"),
        "{err}"
    );
    // One file that is not a plan cannot be compared with nothing.
    let alone = bloodsim().args(["compare", SCENARIO]).assert().code(2);
    let err = String::from_utf8_lossy(&alone.get_output().stderr).to_string();
    assert!(err.contains("compare needs two scenario files"), "{err}");
}
