//! Shards of a run (`run --shard I/N`, then `merge`) give exactly the run: the same
//! `periods.csv` and `replications.csv` bytes whatever the number of shards and the order
//! they are merged in. Shards of another run are refused, and missing or repeated shards
//! named.

use std::fs;
use std::path::{Path, PathBuf};

use bloodsim::monte_carlo::{self, BATCH, RunOutput, RunSpec, Shard};
use bloodsim::scenario::Scenario;
use bloodsim::shard::{self, MergeError, ShardRun};
use bloodsim::{report, results};

use crate::compare::plan_text;
use crate::support::parse;

/// A few more replications than the pilot, so every shard but the first runs the pilot
/// again for the layout, and some shards hold pilot replications, some not.
const REPLICATIONS: u64 = BATCH as u64 + 9;

/// The comparison tests' small network over a month (shards re-run the pilot: keep it quick).
fn plan(level_days: f64) -> String {
    let text = plan_text(level_days);
    let short = text
        .replace("horizon_days = 90", "horizon_days = 30")
        .replace("warm_up_days = 20", "warm_up_days = 5");
    assert_ne!(text, short);
    short
}

fn spec(seed: u64) -> RunSpec {
    RunSpec {
        seed,
        replications: REPLICATIONS,
    }
}

/// The result files a run writes for `output`.
fn files(dir: &Path, s: &Scenario, output: &RunOutput) -> [Vec<u8>; 2] {
    let meta = report::RunMeta {
        file: "plan.toml".into(),
        file_sha256: "0".repeat(64),
        threads: 1,
        wall_seconds: 0.0,
        shards: None,
    };
    let summary = report::summary(s, &output.totals, &output.aggregate, &meta);
    let periods = report::PeriodRows::new(s, &output.aggregate);
    let reps = report::replication_rows(s, &output.totals);
    results::write_results(dir, &summary, &periods, reps).unwrap();
    [results::PERIODS_FILE, results::REPLICATIONS_FILE].map(|f| fs::read(dir.join(f)).unwrap())
}

/// Writes every shard of a `count`-shard run under `root`, in shard order.
fn write_shards(root: &Path, text: &str, spec: RunSpec, count: u64) -> Vec<PathBuf> {
    let s = parse(text);
    (0..count)
        .map(|index| {
            let dir = root.join(format!("seed-{}-shard-{index}-of-{count}", spec.seed));
            fs::create_dir_all(&dir).unwrap();
            let shard = Shard { index, count };
            let (outputs, _) = monte_carlo::run_shard(&[&s], spec, shard, &|| {});
            let run = ShardRun {
                scenario_file: "plan.toml",
                scenario_text: text.as_bytes(),
                spec,
                shard,
                threads: 1,
                wall_seconds: 0.0,
            };
            shard::write(&dir, &run, &outputs).unwrap();
            dir
        })
        .collect()
}

/// Checks and merges shard directories given in any order, as `bloodsim merge` does.
fn merge(dirs: &[PathBuf], s: &Scenario) -> Result<RunOutput, MergeError> {
    let metas = shard::read_metas(dirs)?;
    let order = shard::order(dirs, &metas)?;
    let dirs: Vec<&Path> = order.iter().map(|&i| dirs[i].as_path()).collect();
    let metas: Vec<_> = order.iter().map(|&i| &metas[i]).collect();
    shard::merge(&dirs, &metas, s)
}

#[test]
fn shards_merge_into_the_files_of_one_run_in_any_order() {
    let text = plan(3.0);
    let s = parse(&text);
    let root = tempfile::tempdir().unwrap();
    let whole = monte_carlo::run(&s, spec(42), &|| {});
    let expected = files(&root.path().join("whole"), &s, &whole);
    for count in [1, 2, 3, 7] {
        let mut dirs = write_shards(root.path(), &text, spec(42), count);
        let merged = merge(&dirs, &s).unwrap();
        let out = root.path().join(format!("merged-{count}"));
        assert!(files(&out, &s, &merged) == expected, "{count} shards");
        // Given in another order; and added in another order (not through `order`).
        dirs.reverse();
        dirs.rotate_left(count as usize / 2);
        let merged = merge(&dirs, &s).unwrap();
        let out = root.path().join(format!("merged-{count}-shuffled"));
        assert!(
            files(&out, &s, &merged) == expected,
            "{count} shards, shuffled"
        );
        let metas: Vec<_> = shard::read_metas(&dirs).unwrap();
        let dirs_as_given: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
        let merged = shard::merge(&dirs_as_given, &metas.iter().collect::<Vec<_>>(), &s).unwrap();
        let out = root.path().join(format!("merged-{count}-added-shuffled"));
        assert!(
            files(&out, &s, &merged) == expected,
            "{count} shards, added shuffled"
        );
    }
}

#[test]
fn shards_of_another_run_or_an_incomplete_set_are_refused_by_name() {
    let text = plan(3.0);
    let s = parse(&text);
    let root = tempfile::tempdir().unwrap();
    let ours = write_shards(root.path(), &text, spec(42), 3);
    let err = |dirs: &[PathBuf]| merge(dirs, &s).err().expect("refused").to_string();

    let other_seed = write_shards(root.path(), &text, spec(7), 3);
    let e = err(&[ours[0].clone(), other_seed[1].clone(), ours[2].clone()]);
    assert!(
        e.contains("seed-7-shard-1-of-3") && e.contains("seed 7"),
        "{e}"
    );

    let other_text = plan(4.0);
    let other_scenario = tempfile::tempdir().unwrap();
    let other = write_shards(other_scenario.path(), &other_text, spec(42), 3);
    let e = err(&[ours[0].clone(), ours[1].clone(), other[2].clone()]);
    assert!(e.contains("scenario text"), "{e}");

    let e = err(&[ours[0].clone(), ours[2].clone()]);
    assert!(e.contains("shards missing: 1 of 3"), "{e}");
    let e = err(&[
        ours[0].clone(),
        ours[1].clone(),
        ours[1].clone(),
        ours[2].clone(),
    ]);
    assert!(e.contains("both shard 1 of 3"), "{e}");

    // Another bloodsim version (edited into a copy's shard.json).
    let copy = root.path().join("copy");
    fs::create_dir_all(&copy).unwrap();
    for f in [shard::META_FILE, shard::DATA_FILE, shard::SCENARIO_FILE] {
        fs::copy(ours[2].join(f), copy.join(f)).unwrap();
    }
    let meta = fs::read_to_string(copy.join(shard::META_FILE)).unwrap();
    let edited = meta.replace(env!("CARGO_PKG_VERSION"), "0.0.0-other");
    assert_ne!(meta, edited);
    fs::write(copy.join(shard::META_FILE), edited).unwrap();
    let e = err(&[ours[0].clone(), ours[1].clone(), copy.clone()]);
    assert!(e.contains("bloodsim version 0.0.0-other"), "{e}");

    // A damaged data file is named, not merged.
    fs::write(copy.join(shard::META_FILE), meta).unwrap();
    let mut data = fs::read(copy.join(shard::DATA_FILE)).unwrap();
    let last = data.len() - 1;
    data[last] ^= 1;
    fs::write(copy.join(shard::DATA_FILE), data).unwrap();
    let e = err(&[ours[0].clone(), ours[1].clone(), copy]);
    assert!(e.contains("copy") && e.contains("SHA-256 differs"), "{e}");
}

#[test]
fn shard_blocks_cover_the_replications_once_in_order() {
    for replications in [0, 1, 5, 32, 33, 1000, 1001] {
        for count in 1..=9 {
            let mut next = 0;
            for index in 0..count {
                let r = Shard { index, count }.range(replications);
                assert_eq!(r.start, next, "{index}/{count} of {replications}");
                assert!(r.end - r.start <= replications.div_ceil(count));
                next = r.end;
            }
            assert_eq!(next, replications);
        }
    }
    assert!(Shard::parse("3/3").is_err() && Shard::parse("1-4").is_err());
    assert_eq!(Shard::parse("2/5"), Ok(Shard { index: 2, count: 5 }));
}

/// `bloodsim run --shard` and `bloodsim merge` end to end: the merged directory's result
/// files are the single run's, and its summary differs only in the run's metadata.
#[test]
fn merge_on_the_command_line_writes_the_single_runs_results() {
    use assert_cmd::Command;
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/single-hospital.toml"
    );
    let root = tempfile::tempdir().unwrap();
    let dir = |name: &str| root.path().join(name).display().to_string();
    let run = |extra: &[&str], out: &str| {
        let mut args = vec!["run", scenario, "--replications", "40", "--seed", "11"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out, "--quiet", "--no-plots"]);
        Command::cargo_bin("bloodsim")
            .unwrap()
            .args(&args)
            .assert()
            .success();
    };
    run(&[], &dir("whole"));
    run(&["--shard", "1/2"], &dir("s1"));
    run(&["--shard", "0/2"], &dir("s0"));
    let merged = dir("merged");
    let merge = |shards: &[&str]| {
        let mut args = vec!["merge"];
        args.extend_from_slice(shards);
        args.extend_from_slice(&["--out", &merged, "--quiet", "--no-plots"]);
        Command::cargo_bin("bloodsim")
            .unwrap()
            .args(&args)
            .output()
            .unwrap()
    };
    assert!(merge(&[&dir("s1"), &dir("s0")]).status.success());
    for f in [results::PERIODS_FILE, results::REPLICATIONS_FILE] {
        let (a, b) = (
            root.path().join("whole").join(f),
            root.path().join("merged").join(f),
        );
        assert!(fs::read(a).unwrap() == fs::read(b).unwrap(), "{f} differs");
    }
    let summary = |name: &str| {
        let path = root.path().join(name).join(results::SUMMARY_FILE);
        let mut v: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        let run = v["run"].as_object_mut().unwrap();
        let shards = run.remove("shards");
        for field in ["threads", "wall_seconds"] {
            run.remove(field);
        }
        (v, shards)
    };
    let ((whole, none), (merged, two)) = (summary("whole"), summary("merged"));
    assert_eq!(whole, merged);
    assert_eq!((none, two), (None, Some(serde_json::json!(2))));

    let out = merge(&[&dir("s1")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("shards missing: 0 of 2"), "{err}");
}
