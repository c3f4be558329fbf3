//! `bloodsim schema` for editors: the schema committed beside the bundled scenarios is the
//! one the parser's types give, every bundled scenario points at it on its first line
//! (`#:schema`, read by taplo / Even Better TOML) and validates against it, and a misspelled
//! field does not.

use std::fs;
use std::process::Command;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
const SCHEMA: &str = "scenario.schema.json";

fn bundled() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4);
    files
}

#[test]
fn the_committed_schema_is_the_parsers() {
    let committed = fs::read_to_string(format!("{DIR}/{SCHEMA}")).unwrap();
    assert!(
        committed == bloodsim::scenario::json_schema(),
        "scenarios/{SCHEMA} is stale: regenerate it with `cargo run --release -- schema > scenarios/{SCHEMA}`"
    );
}

/// Runs `tests/schema/check.py` (Python's jsonschema, as an editor would check): `None` if
/// Python or the module is missing (a failure in CI).
fn check(files: &[std::path::PathBuf]) -> Option<std::process::Output> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schema/check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("{DIR}/{SCHEMA}"))
        .args(files)
        .output();
    match out {
        Ok(o) if o.status.code() != Some(3) => Some(o),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but python3 with jsonschema is missing: the schema check cannot run"
            );
            eprintln!("note: python3 with jsonschema not found; schema check skipped");
            None
        }
    }
}

#[test]
fn bundled_scenarios_point_at_the_schema_and_validate_against_it() {
    let files = bundled();
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("#:schema ./scenario.schema.json"),
            "{}",
            f.display()
        );
    }
    let Some(out) = check(&files) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The check can fail: a misspelled field and a wrong type are flagged.
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(&files[0]).unwrap();
    let bad = text.replacen("horizon_days", "horizon_dayz", 1).replacen(
        "replications = ",
        "replications = \"many\" # ",
        1,
    );
    assert_ne!(bad, text);
    let path = dir.path().join("bad.toml");
    fs::write(&path, bad).unwrap();
    let out = check(&[path]).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("horizon_dayz") && err.contains("many"),
        "{err}"
    );
}
