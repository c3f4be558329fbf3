//! A results directory is either the old complete result or the new one, whenever a run is
//! killed or interrupted (test hooks in `main.rs` stop the process at each stage).

use std::path::Path;
use std::process::Command;

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/single-hospital.toml"
);

fn run(out: &Path, seed: &str, env: Option<(&str, &str)>) -> std::process::Output {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("bloodsim"));
    cmd.args([
        "run",
        SCENARIO,
        "--replications",
        "3",
        "--quiet",
        "--seed",
        seed,
        "--out",
    ])
    .arg(out);
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Every file of the directory, with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.strip_prefix(dir).unwrap().display().to_string();
                files.push((name, std::fs::read(&p).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn building_dirs(parent: &Path) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".building-"))
        .collect()
}

#[test]
fn a_killed_run_leaves_the_old_results_or_the_new_ones() {
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("results");
    assert!(run(&out, "1", None).status.success());
    let old = snapshot(&out);
    assert!(old.iter().any(|(n, _)| n == "report.html") && old.len() > 5);

    for stage in ["started", "simulated", "written", "drawn"] {
        let killed = run(&out, "2", Some(("BLOODSIM_TEST_EXIT_AT", stage)));
        assert_eq!(killed.status.code(), Some(99), "{stage}");
        assert!(snapshot(&out) == old, "{stage}: the old results changed");
    }
    // Killed after the swap, before the old results are deleted: the new results are in
    // place, whole.
    let killed = run(&out, "2", Some(("BLOODSIM_TEST_EXIT_AT", "exchanged")));
    assert_eq!(killed.status.code(), Some(99));
    let new = snapshot(&out);
    let summary = bloodsim::results::read_summary(&out).unwrap();
    assert_eq!(summary.run.seed, 2);
    assert_eq!(
        new.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        old.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "the same files"
    );
    // Leftovers of killed runs are removed by the next run.
    assert!(!building_dirs(parent.path()).is_empty());
    assert!(run(&out, "3", None).status.success());
    assert_eq!(building_dirs(parent.path()), Vec::<String>::new());
    assert_eq!(bloodsim::results::read_summary(&out).unwrap().run.seed, 3);
}

#[test]
#[cfg(target_os = "linux")]
fn an_interrupted_run_removes_what_it_built_and_keeps_the_old_results() {
    use std::io::{BufRead, BufReader};
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("results");
    assert!(run(&out, "1", None).status.success());
    let old = snapshot(&out);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("bloodsim"))
        .args([
            "run",
            SCENARIO,
            "--replications",
            "3",
            "--quiet",
            "--seed",
            "2",
            "--out",
        ])
        .arg(&out)
        .env("BLOODSIM_TEST_PAUSE_AT", "written")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    // The reader is dropped here, closing stderr: the interrupt must still be clean.
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "paused at written");
    assert_eq!(
        building_dirs(parent.path()).len(),
        1,
        "results being built aside"
    );
    // SAFETY: sends SIGINT to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(building_dirs(parent.path()), Vec::<String>::new());
    assert!(snapshot(&out) == old);
}

#[test]
fn an_unwritable_or_foreign_out_is_refused_before_simulating() {
    let parent = tempfile::tempdir().unwrap();
    // A directory with other files is not replaced.
    let foreign = parent.path().join("home");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let o = run(&foreign, "1", None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is not a results directory"), "{err}");
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "mine"
    );
    // A file in the way.
    let file = parent.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let o = run(
        &file.join("results"),
        "1",
        Some(("BLOODSIM_TEST_EXIT_AT", "simulated")),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "not simulated first: {err}");
    assert!(err.contains("cannot write results to"), "{err}");
}

fn run_into(out: &std::path::Path, seed: &str) {
    let o = Command::new(assert_cmd::cargo::cargo_bin("bloodsim"))
        .args(["run", SCENARIO, "--replications", "3", "--seed", seed])
        .args(["--quiet", "--no-plots", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success());
}

fn plot_error(out: &std::path::Path) -> String {
    let o = Command::new(assert_cmd::cargo::cargo_bin("bloodsim"))
        .arg("plot")
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn plot_refuses_a_truncated_periods_file() {
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("results");
    run_into(&out, "1");
    let periods = std::fs::read_to_string(out.join("periods.csv")).unwrap();
    let header = periods.lines().next().unwrap().to_string();
    let half: String = periods
        .lines()
        .take(periods.lines().count() / 2)
        .map(|l| format!("{l}\n"))
        .collect();
    // summary.json records each file's size and SHA-256: a cut file is not the one written.
    for (what, text) in [
        ("header only", format!("{header}\n")),
        ("truncated", half.clone()),
    ] {
        std::fs::write(out.join("periods.csv"), text).unwrap();
        let err = plot_error(&out);
        assert!(
            err.contains("periods.csv") && err.contains("not the file this run wrote"),
            "{what}: {err}"
        );
    }
    // Results written before the digests: the row count still tells.
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert!(json.as_object_mut().unwrap().remove("files").is_some());
    std::fs::write(out.join("summary.json"), json.to_string()).unwrap();
    let err = plot_error(&out);
    assert!(
        err.contains("periods.csv") && err.contains("incomplete"),
        "{err}"
    );
}

#[test]
fn plot_refuses_files_of_another_run() {
    let parent = tempfile::tempdir().unwrap();
    let (a, b) = (parent.path().join("a"), parent.path().join("b"));
    run_into(&a, "1");
    run_into(&b, "2");
    for file in ["periods.csv", "replications.csv"] {
        let kept = std::fs::read(a.join(file)).unwrap();
        std::fs::copy(b.join(file), a.join(file)).unwrap();
        let err = plot_error(&a);
        assert!(
            err.contains(file) && err.contains("mixes files of different runs"),
            "{file}: {err}"
        );
        std::fs::write(a.join(file), kept).unwrap();
    }
    // And the summary of the other run beside this run's files.
    std::fs::copy(b.join("summary.json"), a.join("summary.json")).unwrap();
    let err = plot_error(&a);
    assert!(err.contains("mixes files of different runs"), "{err}");
}
