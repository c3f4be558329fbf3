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
    for file in [
        "summary.json",
        "periods.csv",
        "replications.csv",
        "report.html",
        "plots/fill_and_outdate_rates.png",
    ] {
        let len = std::fs::metadata(results.join(file))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 0, "{file} missing or empty");
    }
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
